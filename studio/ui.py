"""The Gradio UI. It lays out widgets and maps their values to a ShortRequest; the studio does the work."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from models.errors import InvalidRequest, StudioError
from pipelines.types import ShortRequest
from studio.core import Studio, on_zero_gpu

_CSS = ".stage-table {font-size: 0.9em}"


def to_request(topic: str, script: str, platform: str, duration: float, voice: str, template: str, language: str,
               photos: list | None, profile: str = "auto", models: str = "", strict: bool = False,
               safety: str = "block", voice_sample: str | None = None, consent: bool = False) -> ShortRequest:
    """The one adapter from UI values to the typed request."""
    paths = tuple(Path(p if isinstance(p, str) else p.name) for p in (photos or []))
    has_script = bool((script or "").strip())
    overrides = tuple(line.strip() for line in (models or "").splitlines() if line.strip())
    return ShortRequest(topic=(topic or "") if not has_script else "", script=script or "", media=paths,
                        platform=platform, duration=None if has_script else float(duration), voice=voice,
                        template=template, language=language, profile=profile, models=overrides, strict=bool(strict),
                        safety=safety, voice_sample=Path(voice_sample) if voice_sample else None,
                        voice_consent=bool(consent))


def _ip(request: gr.Request | None) -> str:
    return (request.client.host if request is not None and request.client else "") or "unknown"


def build_app(studio: Studio, account=None) -> gr.Blocks:
    """``account`` (studio.web.AccountHooks) adds quotas, saving to "My projects" and sign-out; without it the UI is
    the single-user tool of ``python app.py``."""
    s = studio.settings
    platforms = [(p["label"], name) for name, p in s.platforms.items()]
    voices = [(v["label"], name) for name, v in s.voices.items()]
    templates = [(t["label"], name) for name, t in s.templates.items()]
    languages = [(f"{v['label']} ({k})", k) for k, v in s.languages.items()]
    profiles = ["auto", *s.profile_names()]
    make = on_zero_gpu(studio.make)

    def who(request: gr.Request | None):
        return account.account(getattr(request, "username", None), _ip(request)) if account else None

    def create(topic, script, platform, duration, voice, template, language, photos, profile, models, strict, safety,
               voice_sample, consent, project="", request: gr.Request = None, progress=gr.Progress()):
        try:
            req = to_request(topic, script, platform, duration, voice, template, language, photos, profile,
                             models, strict, safety, voice_sample, consent)
            caller = who(request)
            if caller is not None:
                if (models or "").strip():
                    raise InvalidRequest("Model paths can only be chosen on your own machine, not on a shared server.",
                                         "Clear the 'Model per stage' box.")
                studio.plan(req)  # a bad request costs no quota
                account.before_make(caller)
            result = make(req, on_progress=lambda f, stage, msg: progress(f, desc=f"{stage}: {msg}"))
            if caller is not None:
                account.after_make(caller, result, project or "")
        except StudioError as exc:
            raise gr.Error(str(exc)) from None
        rows = [[r.stage, r.engine, round(r.seconds, 2)] for r in result.stages]
        checks = result.report["checks"]
        summary = ", ".join(f"{k} {'✓' if v['ok'] else '✗'}" for k, v in checks.items())
        files = [str(p) for p in result.files]
        notes = "\n".join(f"- ⚠️ {w}" for w in result.warnings) or "All stages ran the engines you chose."
        return str(result.video), str(result.thumbnail), files, rows, summary, notes

    with gr.Blocks(title="Viral AI Studio") as demo:
        gr.Markdown("# Viral AI Studio\nTopic or script → a post-ready vertical short, made on this machine.")
        if account is not None:
            with gr.Row():
                whoami = gr.Markdown("", elem_id="whoami")
                if account.accounts_on:
                    gr.HTML('<form method="post" action="/logout" style="text-align:right">'
                            '<button type="submit" id="signout" class="lg secondary sm">Sign out</button></form>')
        with gr.Tab("Create"):
            with gr.Row():
                with gr.Column(min_width=300):
                    topic = gr.Textbox(label="Topic", placeholder="5 habits that changed my mornings")
                    script = gr.Textbox(label="…or your own script", lines=4,
                                        placeholder="Your words, spoken as written (leave the topic empty)")
                    with gr.Row():
                        platform = gr.Dropdown(platforms, value="reels", label="Platform")
                        duration = gr.Slider(5, 180, value=30, step=1, label="Duration (s, topic only)")
                    with gr.Row():
                        voice = gr.Dropdown(voices, value="narrator", label="Voice")
                        template = gr.Dropdown(templates, value="bold", label="Template")
                        language = gr.Dropdown(languages, value="en", label="Language")
                    photos = gr.File(label="Your photos (optional)", file_count="multiple", file_types=["image"])
                    project = gr.Textbox(value="", label="Project (optional)", placeholder="Morning series",
                                         visible=bool(account and account.accounts_on))
                    with gr.Accordion("Engines", open=False):
                        profile = gr.Dropdown(profiles, value="auto", label="Profile",
                                              info="auto = gpu on CUDA, else cpu; stages without weights run offline")
                        models = gr.Textbox(label="Model per stage (optional)", lines=2,
                                            placeholder="timing=Systran/faster-whisper-small\nstills=/models/sd-turbo")
                        with gr.Row():
                            strict = gr.Checkbox(label="Strict: fail instead of falling back", value=False)
                            safety = gr.Radio(["block", "warn", "off"], value="block", label="Image safety check")
                        voice_sample = gr.Audio(label="Clone a voice: 6–30 s of clear speech (XTTS-v2)",
                                                type="filepath", sources=["upload", "microphone"])
                        consent = gr.Checkbox(label="The person in this recording agreed to having their voice cloned",
                                              value=False)
                    go = gr.Button("Create short", variant="primary")
                with gr.Column(min_width=300):
                    video = gr.Video(label="Preview", height=560)
                    thumb = gr.Image(label="Thumbnail", type="filepath", height=240)
                    files = gr.File(label="Downloads", file_count="multiple")
                    stages = gr.Dataframe(headers=["stage", "engine", "seconds"], label="Engines per stage",
                                          elem_classes="stage-table")
                    checks = gr.Textbox(label="Checks measured on the video", interactive=False)
                    notes = gr.Markdown(label="Warnings")
        if account is not None and account.accounts_on:
            _my_projects(account, who)
        event = go.click(create, [topic, script, platform, duration, voice, template, language, photos, profile, models,
                                  strict, safety, voice_sample, consent, project],
                         [video, thumb, files, stages, checks, notes], api_name="create", concurrency_limit=1)
        if account is not None:
            def show_quota(request: gr.Request):
                return account.quota_text(who(request))

            demo.load(show_quota, None, whoami)
            event.then(show_quota, None, whoami)
    return demo


def _my_projects(account, who) -> None:
    """The "My projects" tab: the signed-in creator's shorts, newest first, with their files."""
    import tempfile

    with gr.Tab("My projects") as tab:
        refresh = gr.Button("Refresh", size="sm")
        table = gr.Dataframe(headers=["project", "title", "created", "id"], label="My shorts", interactive=False,
                             elem_id="my-shorts")
        pick = gr.Dropdown([], label="Open a short", allow_custom_value=False)
        with gr.Row():
            video = gr.Video(label="Short", height=480)
            files = gr.File(label="Files", file_count="multiple")

    def listing(request: gr.Request):
        rows = account.my_shorts(who(request))
        choices = [(f"{r['title'] or r['id']} · {r['created']}", r["id"]) for r in rows]
        return ([[r["project"], r["title"], r["created"], r["id"]] for r in rows],
                gr.Dropdown(choices=choices, value=None))

    def open_short(short_id, request: gr.Request):
        if not short_id:
            return None, None
        try:
            paths = account.short_files(who(request), short_id, Path(tempfile.mkdtemp(prefix="my-short-")))
        except StudioError as exc:
            raise gr.Error(str(exc)) from None
        return str(paths.get("short.mp4")) if "short.mp4" in paths else None, [str(p) for p in paths.values()]

    refresh.click(listing, None, [table, pick])
    tab.select(listing, None, [table, pick])
    pick.change(open_short, pick, [video, files])
