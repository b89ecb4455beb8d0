"""The Gradio UI. It lays out widgets and maps their values to a ShortRequest; the studio does the work."""

from __future__ import annotations

import contextlib
import html
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from gradio import utils as gr_utils

from models.errors import InvalidRequest, Remedy, StudioError
from pipelines.types import ShortRequest
from studio.api.bundle_routes import bundle_link
from studio.core import Studio
from studio.jobs import JobCancelled
from studio.remedies import for_ui
from studio.ui_analytics import build_analytics_tab
from studio.ui_analytics_style import PLOT_CSS
from studio.ui_calendar import build_calendar_tab
from studio.ui_edit import EDIT_CSS, build_edit_tab
from studio.ui_guard import GuardedBlocks
from studio.ui_jobs import TabJobs
from studio.ui_models import build_models_tab
from studio.ui_result import RESULT_CSS, build_post_panel, made_html, plain, warnings_html

# errors whose remedy a button can apply: the field it sets, and the button's words
UI_FIXES = {"safety": "Let it through with a warning (image safety check: {value})",
            "duration": "Use {value:g} seconds",
            "voice_consent": "They agreed: tick the consent box"}

UI_CSS = """.stage-table {font-size: 0.9em}
.short-result video {width: 100%; max-height: 72vh; aspect-ratio: 9 / 16; background: #000; border-radius: 12px}
.short-files {display: flex; flex-wrap: wrap; gap: 8px 14px; margin-top: 8px; font-size: 0.95em}
.voice-pick audio {width: 100%} .voice-pick p {margin: 4px 0 0; font-size: 0.9em}
@media (max-width: 480px) {.form .wrap, .block label span {min-width: 0} .stage-table table {font-size: 0.85em}}
.job-notice {padding: 10px 12px; border-radius: 8px; background: var(--block-background-fill)}
.job-notice p {margin: 0 0 4px}
""" + RESULT_CSS + EDIT_CSS + PLOT_CSS
OUTLINE_NOTE = ("✏️ **This is an outline, not a script yet.** No language model is installed on this machine, so "
                "the built-in writer only filled a template from your topic. Put it in your own words (one line per "
                "scene), then press **Create short** again. For a script written for you, download models in the "
                "Models tab.")


def to_request(topic: str, script: str, platform: str, duration: float, voice: str, template: str, language: str,
               photos: list | None, profile: str = "auto", models: str = "", strict: bool = False,
               safety: str = "block", voice_sample: str | None = None, consent: bool = False,
               music: str | None = None) -> ShortRequest:
    """The one adapter from UI values to the typed request."""
    paths = tuple(Path(p if isinstance(p, str) else p.name) for p in (photos or []))
    has_script = bool((script or "").strip())
    overrides = tuple(line.strip() for line in (models or "").splitlines() if line.strip())
    return ShortRequest(topic=(topic or "") if not has_script else "", script=script or "", media=paths,
                        platform=platform, duration=None if has_script else float(duration), voice=voice,
                        template=template, language=language, profile=profile, models=overrides, strict=bool(strict),
                        safety=safety, voice_sample=Path(voice_sample) if voice_sample else None,
                        voice_consent=bool(consent), music=Path(music) if music else None)


def build_app(studio: Studio, hooks) -> gr.Blocks:
    """``hooks`` (studio.ui_hooks.UiHooks) is the UI's only way to the hosted studio: who is calling, their quota, and
    the job runner that makes shorts for the REST API too. This function lays out widgets and maps their values."""
    s = studio.settings
    platforms = [(p["label"], name) for name, p in s.platforms.items()]
    voices = [(v["label"], name) for name, v in s.voices.items()]
    templates = [(t["label"], name) for name, t in s.templates.items()]
    languages = [(f"{v['label']} ({k})", k) for k, v in s.languages.items()]
    profiles = ["auto", *s.profile_names()]

    def short_page(view) -> str:  # a short as the page shows it, with its download for manual posting
        return short_html(view, bundle_link(hooks.hosted, view.short_id))

    pending: dict[str, Remedy] = {}  # per browser tab: the fix its last error offers (applied by the fix button)
    tabs = TabJobs()  # per browser tab: the job its Create or Retry follows (what its Cancel and Retry act on)

    def offer(request: gr.Request | None, exc: StudioError | None) -> None:
        tab = getattr(request, "session_hash", None)
        if not tab:
            return
        pending.pop(tab, None)
        r = exc.remedy if exc is not None else None
        if r is not None and r.action == "set_field" and r.field in UI_FIXES:
            if len(pending) > 10_000:  # tabs that never came back
                pending.pop(next(iter(pending)))
            pending[tab] = r

    def follow(who, job_id: str, request: gr.Request | None, progress):
        """The job's short (as ShortView) once it is made, the bar showing its progress meanwhile."""
        if not tabs.started(_tab(request), job_id):  # Cancel was pressed while it was being queued
            with contextlib.suppress(StudioError):
                hooks.cancel(who, job_id)
        short_id = hooks.follow(who, job_id, lambda f, words: progress(f, desc=words))
        return hooks.view(who, short_id)

    def make(values: tuple, project, request: gr.Request | None, progress, outline_first: bool = False):
        """The short the values ask for (as ShortView), or, with ``outline_first``, the offline writer's outline
        of a topic no language model would write (as a tuple of scene lines), or JobCancelled."""
        photos, voice_sample, music = values[7], values[12], values[14]
        offer(request, None)
        try:
            who = hooks.account(request)
            req = to_request(*values)
            outline = hooks.outline(who, req) if outline_first else None
            if outline:
                return outline
            job_id = hooks.start(who, req, project=project or "", originals=getattr(request, "studio_uploads", ()))
            return follow(who, job_id, request, progress)
        except JobCancelled as exc:
            return exc
        except StudioError as exc:
            offer(request, exc)
            raise gr.Error(plain(f"{exc.message} {for_ui(exc)}".strip())) from None
        finally:
            _drop_cached_copies(photos, voice_sample, music)

    def create(topic, script, platform, duration, voice, template, language, photos, profile, models, strict, safety,
               voice_sample, consent, project="", music=None, request: gr.Request | None = None, progress=gr.Progress()):
        """The script clients' /create: a topic makes a short whatever writes its script (as it always did)."""
        view = make((topic, script, platform, duration, voice, template, language, photos, profile, models, strict,
                     safety, voice_sample, consent, music), project, request, progress)
        if isinstance(view, JobCancelled):
            raise gr.Error(view.message)
        notes = "\n".join(f"- ⚠️ {plain(w)}" for w in view.warnings) or "All stages ran the engines you chose."
        return short_page(view), view.stages, view.checks, notes

    def create_in_page(topic, script, platform, duration, voice, template, language, photos, profile, models, strict,
                       safety, voice_sample, consent, project="", music=None, request: gr.Request | None = None,
                       progress=gr.Progress()):
        """The Create button: a topic no language model would write becomes an outline in the script box to edit
        (nothing is rendered); otherwise the short, its post text and its warnings."""
        got = make((topic, script, platform, duration, voice, template, language, photos, profile, models, strict,
                    safety, voice_sample, consent, music), project, request, progress, outline_first=True)
        return page(got)

    def retry_in_page(job_id: str, request: gr.Request | None = None, progress=gr.Progress()):
        """The Retry button: the tab's failed or cancelled job queued again (what POST /api/jobs/{id}/retry does),
        followed like a new one."""
        offer(request, None)
        try:
            who = hooks.account(request)
            if not job_id:
                raise InvalidRequest("There is no short to retry.", "Press Create short.")
            hooks.retry(who, job_id)
            return page(follow(who, job_id, request, progress))
        except JobCancelled as exc:
            return page(exc)
        except StudioError as exc:
            offer(request, exc)
            raise gr.Error(plain(f"{exc.message} {for_ui(exc)}".strip())) from None

    def page(got) -> list:
        """The result column for a short, an outline (into the script box) or a cancelled job."""
        same, hidden = gr.update(), gr.update(visible=False)
        if isinstance(got, tuple):
            return ["\n".join(got), gr.update(value=OUTLINE_NOTE, visible=True), same, same, same, same, same,
                    same, same, *[same] * len(post.outputs)]
        if isinstance(got, JobCancelled):
            return [same, gr.update(value="", visible=False), notice_html("⏹", got.message), same, same, "", "",
                    hidden, hidden, *[same] * len(post.outputs)]
        return [same, gr.update(value="", visible=False), short_page(got), got.stages, got.checks,
                warnings_html(got.warnings), got.short_id, gr.update(visible=True), gr.update(visible=True),
                *post.values(got.post)]

    def busy(shown_now: str, request: gr.Request):
        """Create or Retry pressed: Create waits, Cancel shows (it works before the job is even queued), and the
        last job's notice goes (the bar would be drawn over its words)."""
        tabs.begin(_tab(request))
        return (gr.update(interactive=False), gr.update(visible=True, value="Cancel", interactive=True),
                gr.update(visible=False), gr.update(value="") if "job-notice" in (shown_now or "") else gr.update())

    def idle(request: gr.Request):
        """However a Create or Retry ended: Create usable again, Cancel gone; a job that failed or was cancelled
        offers Retry, and a failure is also said in the result area (the error's pop-up goes away)."""
        job_id, job = tabs.job(_tab(request)), None
        if job_id:
            with contextlib.suppress(StudioError):
                job = hooks.job(hooks.account(request), job_id)
        again = job_id if job is not None and job.status in ("failed", "cancelled") else ""
        shown = gr.update()
        if job is not None and job.status == "failed":
            exc = hooks.job_error(job)
            shown = gr.update(value=notice_html("⚠️", "Making the short failed: "
                                                + plain(f"{exc.message} {for_ui(exc)}".strip())))
        return gr.update(interactive=True), gr.update(visible=False), gr.update(visible=bool(again)), again, shown

    def cancel_making(request: gr.Request):
        """The Cancel button: what POST /api/jobs/{id}/cancel does, for the job this tab is making."""
        job_id = tabs.to_cancel(_tab(request))
        if job_id:
            with contextlib.suppress(StudioError):  # it ended meanwhile: that outcome shows as usual
                hooks.cancel(hooks.account(request), job_id)
        return gr.update(value="Cancelling…", interactive=False)

    def save_post(request: gr.Request, short_id, *values):  # the request first: Gradio passes none after *values
        if not short_id:
            raise gr.Error("Make a short first.")
        try:
            who = hooks.account(request)
            hooks.save_post(who, short_id, post.edits(values))
            view = hooks.view(who, short_id)
        except StudioError as exc:
            raise gr.Error(plain(f"{exc.message} {for_ui(exc)}".strip())) from None
        return "✓ Saved to post.json.", short_page(view)  # its link now names the new post.json

    with GuardedBlocks(title="Viral AI Studio") as demo:
        gr.Markdown("# Viral AI Studio\nTopic or script → a post-ready vertical short, made on this machine.")
        with gr.Row():
            whoami = gr.Markdown("", elem_id="whoami")
            if hooks.accounts_on:
                gr.HTML('<form method="post" action="/logout" style="text-align:right">'
                        '<button type="submit" id="signout" class="lg secondary sm">Sign out</button></form>')
        with gr.Tab("Create"):
            with gr.Row():
                with gr.Column(min_width=300):
                    topic = gr.Textbox(label="Topic", placeholder="5 habits that changed my mornings")
                    script = gr.Textbox(label="…or your own script", lines=4, max_lines=20, elem_id="script-box",
                                        placeholder="Your words, spoken as written (leave the topic empty)")
                    outline_note = gr.Markdown("", visible=False, elem_id="outline-note")
                    with gr.Row():
                        # wide enough for the longest choice: on a phone each gets its own line rather than cut words
                        platform = gr.Dropdown(platforms, value="reels", label="Platform", min_width=200)
                        duration = gr.Slider(5, 180, value=30, step=1, label="Duration (s, topic only)", min_width=200)
                    with gr.Row():
                        voice = gr.Dropdown(voices, value="narrator", label="Voice", min_width=200)
                        template = gr.Dropdown(templates, value="bold", label="Template", min_width=160)
                        language = gr.Dropdown(languages, value="en", label="Language", min_width=200)
                    voice_about = gr.HTML("", elem_id="voice-licence")
                    photos = gr.File(label="Your photos (optional)", file_count="multiple", file_types=["image"])
                    music = gr.Audio(label="Your music (optional): a track you may post, up to 10 minutes; looped or "
                                           "trimmed to fit and ducked under the voice", type="filepath",
                                     sources=["upload"], elem_id="music-track")
                    project = gr.Textbox(value="", label="Project (optional)", placeholder="Morning series",
                                         visible=hooks.accounts_on)
                    with gr.Accordion("Engines", open=False):
                        profile = gr.Dropdown(profiles, value="auto", label="Profile",
                                              info="auto = gpu on CUDA, else cpu; stages without weights run offline")
                        models = gr.Textbox(label="Model per stage (optional)", lines=2,
                                            placeholder="timing=Systran/faster-whisper-small\nstills=/models/sd-turbo")
                        with gr.Row():
                            strict = gr.Checkbox(label="Strict: fail instead of falling back", value=False)
                            safety = gr.Radio(["block", "warn", "off"], value="block", label="Image safety check")
                        voice_sample = gr.Audio(label="Clone a voice: 6–30 s of clear speech (XTTS-v2)",
                                                type="filepath", sources=["upload", "microphone"],
                                                elem_id="voice-sample-upload")
                        consent = gr.Checkbox(label="The person in this recording agreed to having their voice cloned",
                                              value=False)
                    with gr.Row(equal_height=True):
                        go = gr.Button("Create short", variant="primary", elem_id="create", min_width=150)
                        cancel = gr.Button("Cancel", visible=False, variant="stop", elem_id="cancel-job",
                                           min_width=100)
                        retry = gr.Button("Retry", visible=False, variant="secondary", elem_id="retry-job",
                                          min_width=100)
                    api_go = gr.Button("Create short", visible=False)  # the script clients' /create (no outline)
                    fix = gr.Button("", visible=False, variant="secondary", elem_id="fix")
                with gr.Column(min_width=300):
                    preview = gr.HTML("", elem_id="preview")
                    post = build_post_panel(platforms)
                    notes = gr.HTML("", elem_id="short-notes")
                    with gr.Column(visible=False) as measured:  # until there is a short to measure
                        stages = gr.Dataframe(headers=["stage", "engine", "seconds"], label="Engines per stage",
                                              elem_classes="stage-table", interactive=False, wrap=True)
                        checks = gr.Textbox(label="Checks measured on the video", interactive=False)
                    short_id = gr.State("")
                    retry_job = gr.State("")  # the failed or cancelled job Retry queues again
        build_edit_tab(hooks, short_page)
        build_models_tab(hooks)
        if hooks.accounts_on:
            _my_projects(hooks, short_page)
        build_calendar_tab(hooks, demo)  # signed-in creators only: it draws nothing in the anonymous demo
        build_analytics_tab(hooks)  # signed-in creators only too
        inputs = [topic, script, platform, duration, voice, template, language, photos, profile, models, strict, safety,
                  voice_sample, consent, project, music]
        # an event only follows its job (the job runner or the workers meter the work), so creators wait on the
        # jobs table, where the bar shows their place, not one behind another in this process
        api_go.click(create, inputs, [preview, stages, checks, notes], api_name="create", concurrency_limit=8,
                     concurrency_id="make")
        # Create is disabled and Cancel shown while a short is made; both come back whatever the outcome
        shown = [script, outline_note, preview, stages, checks, notes, short_id, post.panel, measured, *post.outputs]
        buttons = [go, cancel, retry]
        event = go.click(busy, preview, [*buttons, preview], show_progress="hidden", api_visibility="private").success(
            create_in_page, inputs, shown, show_progress_on=[preview], api_visibility="private", concurrency_limit=8,
            concurrency_id="make")
        again = retry.click(busy, preview, [*buttons, preview], show_progress="hidden",
                            api_visibility="private").success(
            retry_in_page, retry_job, shown, show_progress_on=[preview], api_visibility="private",
            concurrency_limit=8, concurrency_id="make")
        cancel.click(cancel_making, None, cancel, show_progress="hidden", api_visibility="private")
        post.save.click(save_post, [short_id, *post.outputs], [post.status, preview], show_progress_on=[post.status],
                        api_visibility="private")

        def show_quota(request: gr.Request):
            return hooks.quota_text(hooks.account(request))

        def show_fix(request: gr.Request):
            r = pending.get(getattr(request, "session_hash", None) or "")
            return gr.update(visible=r is not None, value=UI_FIXES[r.field].format(value=r.value) if r else "")

        def apply_fix(request: gr.Request):
            r = pending.pop(getattr(request, "session_hash", None) or "", None)
            updates = {name: gr.update() for name in UI_FIXES}
            if r is not None:
                updates[r.field] = gr.update(value=r.value)
            return updates["safety"], updates["duration"], updates["voice_consent"], gr.update(visible=False)

        def preview_voice(preset, lang):
            try:
                sample = hooks.voice_preview(preset, lang)
            except StudioError as exc:
                return f"<p>⚠️ {html.escape(exc.message)}</p>"
            return voice_html(preset, lang, sample)

        demo.load(show_quota, None, whoami)
        # the player appears when its sample is ready: no second progress indicator beside the short's
        for trigger in (demo.load, voice.change, language.change):
            trigger(preview_voice, [voice, language], voice_about, show_progress="hidden")
        for made in (event, again):
            for done in (made.success, made.failure):
                done(idle, None, [*buttons, retry_job, preview], show_progress="hidden", api_visibility="private")
                done(show_quota, None, whoami, api_visibility="private")
            made.failure(show_fix, None, fix)  # a refused request may come with a fix the button applies
        fix.click(apply_fix, None, [safety, duration, consent, fix])
    return demo


def _tab(request) -> str:
    return getattr(request, "session_hash", None) or ""


def notice_html(mark: str, text: str) -> str:
    """A cancelled or failed job in the result area."""
    return f'<div class="job-notice" role="status"><p>{mark} {html.escape(text)}</p></div>'


def voice_html(preset: str, language: str, sample) -> str:
    """The voice picker's player (the sample comes from GET /api/voices/{name}/sample) and the voice's licence."""
    esc = html.escape
    src = f"/api/voices/{quote(preset)}/sample?language={quote(language)}&voice={quote(sample.voice)}"
    notes = "".join(f"<br>⚠️ {esc(n.removeprefix('voice: '))}" for n in sample.notes)
    return (f'<div class="voice-pick"><audio controls preload="metadata" src="{esc(src)}" aria-label="Hear this voice">'
            f'</audio><p><b>{esc(sample.voice)}</b> ({esc(sample.engine)}) · licence: {esc(sample.licence)}{notes}'
            "</p></div>")


def short_html(view, bundle: str = "") -> str:
    """The short as the browser plays it: a phone-shaped player over signed links, and the files to download
    (``bundle``: the signed link to all of them as one zip, for posting by hand)."""
    links = view.links
    esc = html.escape
    player = (f'<video controls playsinline preload="metadata" src="{esc(links["short.mp4"])}"'
              + (f' poster="{esc(links["thumbnail.jpg"])}"' if "thumbnail.jpg" in links else "")
              + "></video>") if "short.mp4" in links else ""
    files = "".join(f'<a href="{esc(url)}" download="{esc(name)}">{esc(name)}</a>' for name, url in links.items())
    files += (f'<a href="{esc(bundle)}" download class="bundle-download" role="button">'
              "⬇ Download for manual posting (.zip)</a>") if bundle else ""
    title = f"<h3>{esc(view.title)}</h3>" if view.title else ""
    made = made_html(getattr(view, "run", None))  # its compute here, and what paid APIs would have charged
    return f'<div class="short-result">{title}{player}<nav class="short-files">{files}</nav>{made}</div>'


def _drop_cached_copies(*values) -> None:
    """Gradio copies each input file into its cache before the event runs; the studio has stored what it needs."""
    root = Path(gr_utils.get_upload_folder()).resolve()
    for value in values:
        for item in value if isinstance(value, (list, tuple)) else [value]:
            name = item if isinstance(item, str) else getattr(item, "name", None)
            if not name:
                continue
            path = Path(name)
            if path.resolve().is_relative_to(root) and path.resolve() != root:
                path.unlink(missing_ok=True)  # storage may already have taken it
                with contextlib.suppress(OSError):
                    path.parent.rmdir()


def _my_projects(hooks, shown) -> None:
    """The "My projects" tab: the signed-in creator's shorts, newest first, each opened through signed links."""
    with gr.Tab("My projects") as tab:
        refresh = gr.Button("Refresh", size="sm")
        table = gr.Dataframe(headers=["project", "title", "created", "id"], label="My shorts", interactive=False,
                             elem_id="my-shorts")
        pick = gr.Dropdown([], label="Open a short", allow_custom_value=False)
        opened = gr.HTML("", elem_id="opened-short")

    def listing(request: gr.Request):
        rows = hooks.my_shorts(hooks.account(request))
        choices = [(f"{r['title'] or r['id']} · {r['created']}", r["id"]) for r in rows]
        return ([[r["project"], r["title"], r["created"], r["id"]] for r in rows],
                gr.Dropdown(choices=choices, value=None))

    def open_short(short_id, request: gr.Request):
        if not short_id:
            return ""
        try:
            return shown(hooks.view(hooks.account(request), short_id))
        except StudioError as exc:
            raise gr.Error(f"{exc.message} {for_ui(exc)}".strip()) from None

    refresh.click(listing, None, [table, pick])
    tab.select(listing, None, [table, pick])
    pick.change(open_short, pick, opened)
