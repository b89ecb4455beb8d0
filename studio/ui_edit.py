"""The Edit tab: open a saved short (the last one made, or any of the creator's), change its scenes and its look,
preview a scene, render a new version through the job runner, and restore an earlier version.

Every change is saved at once as the short's draft timeline, through the same service (and the same ETag rule) as
``PUT /api/shorts/{id}/timeline``; rendering is ``POST /api/shorts/{id}/render``. Pictures reach the browser as
inline data, never as server paths.
"""

from __future__ import annotations

import base64
import html
import io
import random
import tempfile
from dataclasses import replace
from functools import wraps
from pathlib import Path

import gradio as gr

from models.errors import InvalidRequest, StudioError
from pipelines.timeline import (
    CAMERA_MOVES,
    CAPTION_STYLES,
    Motion,
    Timeline,
    TimelineScene,
    Visual,
    motion_name,
    named_motion,
    new_scene_id,
)
from studio.remedies import for_ui

MOTIONS = ["none", *CAMERA_MOVES, "generated clip"]
EDIT_CSS = """#edit-scenes .strip {display: flex; gap: 6px; overflow-x: auto; padding-bottom: 4px}
#edit-scenes figure {margin: 0; flex: 0 0 auto; width: 78px; text-align: center; font-size: 0.75em}
#edit-scenes figure.on img {outline: 3px solid var(--color-accent); outline-offset: -3px}
#edit-scenes img {width: 78px; aspect-ratio: 9 / 16; object-fit: cover; border-radius: 6px; display: block}
#edit-scenes figcaption {white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
#edit-preview img {width: 100%; max-width: 360px; border-radius: 10px; display: block; margin: auto}
"""


def plain_errors(fn):
    """Domain errors become plain-worded UI errors here, at the edge."""

    @wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StudioError as exc:
            raise gr.Error(f"{exc.message} {for_ui(exc)}".strip()) from None

    return run


def _data_uri(path: Path, width: int) -> str:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((width, width * 4))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def build_edit_tab(hooks, short_html) -> None:
    """Lay out the Edit tab inside the current Blocks. ``hooks``: studio.ui_hooks.UiHooks."""
    s = hooks.hosted.studio.settings
    templates = [(t["label"], name) for name, t in s.templates.items()]
    formats = [(f"{f.get('label', name)}", name) for name, f in s.formats.items()]

    with gr.Tab("Edit", elem_id="edit-tab") as tab:
        ed = gr.State({})
        with gr.Row():
            pick = gr.Dropdown([], label="Short to edit", elem_id="edit-pick", scale=4)
            listing = gr.Button("Refresh", size="sm", scale=1, min_width=80)
        status = gr.Markdown("Make a short first, then edit it here.", elem_id="edit-status")
        strip = gr.HTML("", elem_id="edit-scenes")
        scene = gr.Radio([], label="Scene", elem_id="edit-scene")
        with gr.Group():
            words = gr.Textbox(label="Words (spoken)", lines=2, elem_id="edit-words")
            caption = gr.Textbox(label="Caption shown instead (optional)", elem_id="edit-caption")
            with gr.Row():
                duration = gr.Number(label="Length in s (0: fit the words)", minimum=0, maximum=600, min_width=120)
                pause = gr.Number(label="Pause after the words (s)", minimum=0, maximum=600, min_width=120)
            visual = gr.Radio(["generated", "photo"], label="Picture", elem_id="edit-visual")
            with gr.Row():
                prompt = gr.Textbox(label="Prompt for a generated picture", scale=3, min_width=160)
                seed = gr.Number(label="Seed", precision=0, minimum=0, maximum=2**31 - 1, scale=1, min_width=90)
            with gr.Row(equal_height=True):
                photo_pick = gr.Dropdown([], label="One of your photos", scale=3, min_width=160)
                photo_up = gr.UploadButton("Upload a photo", file_types=["image"], type="filepath", scale=1,
                                           min_width=120, elem_id="edit-upload")
            motion = gr.Radio(MOTIONS, label="Motion", elem_id="edit-motion")
        with gr.Row():
            apply = gr.Button("Apply to scene", variant="primary", elem_id="edit-apply", min_width=120)
            new_picture = gr.Button("New picture", min_width=100)
            show = gr.Button("Preview", elem_id="edit-preview-btn", min_width=90)
        with gr.Row():
            up = gr.Button("↑ Earlier", size="sm", min_width=70)
            down = gr.Button("↓ Later", size="sm", min_width=70)
            insert = gr.Button("+ Insert after", size="sm", min_width=90)
            split = gr.Button("Split", size="sm", min_width=60)
            delete = gr.Button("Delete", size="sm", variant="stop", min_width=70)
        preview = gr.HTML("", elem_id="edit-preview")
        with gr.Accordion("Whole short: template, captions, music", open=False):
            template = gr.Dropdown(templates, label="Template")
            style = gr.Radio(list(CAPTION_STYLES), label="Captions")
            music = gr.Slider(-40, 0, step=1, label="Music level (dB)")
            apply_short = gr.Button("Apply to the short")
        chosen_formats = gr.CheckboxGroup(formats, value=["9:16"], label="Formats to render", elem_id="edit-formats")
        render = gr.Button("Render new version", variant="primary", elem_id="edit-render")
        result = gr.HTML("", elem_id="edit-result")
        with gr.Row():
            versions = gr.Dropdown([], label="Versions", elem_id="edit-versions", scale=3)
            restore = gr.Button("Restore this version", elem_id="edit-restore", scale=1, min_width=120)
        with gr.Accordion("A/B test: make a variant", open=False, elem_id="edit-ab"):
            gr.Markdown("A copy of this short with another hook or title, rendered as a new short. Post both; the "
                        "Analytics tab says which one leads, once the numbers are enough to say it.")
            ab_hook = gr.Textbox(label="The variant's hook (first words on screen)", elem_id="edit-ab-hook")
            ab_title = gr.Textbox(label="The variant's title (optional)", elem_id="edit-ab-title")
            ab_make = gr.Button("Make the variant", elem_id="edit-ab-make")
            ab_said = gr.Markdown("", elem_id="edit-ab-said")

    scene_fields = [scene, words, caption, duration, pause, visual, prompt, seed, photo_pick, motion]
    short_fields = [template, style, music]
    everything = [ed, status, strip, *scene_fields, *short_fields]

    def state_of(who, draft) -> dict:
        return {"short": draft.short_id, "doc": draft.timeline, "etag": draft.etag, "version": draft.version,
                "owner": who.owner}

    def draw(who, st: dict, index: int, note: str = "") -> tuple:
        t = Timeline.from_dict(st["doc"])
        index = min(max(index, 0), len(t.scenes) - 1)
        files = hooks.scene_files(who, st["doc"])
        studio = hooks.hosted.studio_for(who.owner)
        stills = studio.scene_stills(t, files)
        looks = [(v["label"], name) for name, v in studio.settings.templates.items()]
        figures = "".join(
            f'<figure class="{"on" if i == index else ""}"><img alt="scene {i + 1}" src="{_data_uri(p, 156)}">'
            f'<figcaption>{i + 1}. {html.escape(sc.shown_text[:40])}</figcaption></figure>'
            for i, (sc, p) in enumerate(zip(t.scenes, stills)))
        sc = t.scenes[index]
        kinds = ["generated", "photo", *(["clip"] if sc.visual.kind == "clip" else [])]
        photos = hooks.my_photos(who)
        if sc.visual.kind == "photo" and sc.visual.asset and sc.visual.asset not in {v for _, v in photos}:
            photos.append((f"(this scene's photo) {sc.visual.asset[:8]}", sc.visual.asset))
        line = (f"**{html.escape(t.title or 'Untitled')}** · version {st['version']} shown · {len(t.scenes)} scenes"
                + (f" · {note}" if note else ""))
        return (st, line, f'<div class="strip">{figures}</div>',
                gr.Radio(choices=[str(i + 1) for i in range(len(t.scenes))], value=str(index + 1)),
                sc.text, sc.caption or "", sc.duration or 0, sc.pause,
                gr.Radio(choices=kinds, value=sc.visual.kind), sc.visual.prompt, sc.visual.seed,
                gr.Dropdown(choices=photos, value=sc.visual.asset if sc.visual.kind == "photo" else None),
                gr.Radio(choices=MOTIONS if motion_name(sc.motion) in MOTIONS else [*MOTIONS, "camera path"],
                         value=motion_name(sc.motion)),
                gr.Dropdown(choices=looks, value=t.template), t.caption_style, t.music.level_db)

    def current(st: dict) -> Timeline:
        if not st.get("short"):
            raise InvalidRequest("Open a short first.", "Pick one in “Short to edit”.")
        return Timeline.from_dict(st["doc"])

    def save(who, st: dict, t: Timeline, index: int, note: str) -> tuple:
        draft = hooks.save_draft(who, st["short"], t.to_dict(), st["etag"])
        return draw(who, state_of(who, draft), index, note)

    def whose(request):
        return hooks.account(request)

    def caller_and_short(st: dict, request) -> tuple:
        """The caller and the short open in this tab; a state from another session is never trusted."""
        who = whose(request)
        if st.get("owner") and st["owner"] != who.owner:
            raise InvalidRequest("This page belongs to another session.", "Reload the page.")
        return who, current(st)

    @plain_errors
    def list_shorts(st: dict, request: gr.Request):
        who = whose(request)
        rows = hooks.my_shorts(who)
        choices = [(f"{r['title'] or 'Untitled'} · {r['created']}", r["id"]) for r in rows]
        if st.get("short") and st.get("owner") == who.owner and any(r["id"] == st["short"] for r in rows):
            return (gr.Dropdown(choices=choices, value=st["short"]), *draw(who, st, 0), *version_list(who, st))
        if not rows:
            return (gr.Dropdown(choices=[], value=None), *([gr.update()] * len(everything)), gr.update(), "")
        try:
            return (gr.Dropdown(choices=choices, value=rows[0]["id"]), *open_one(who, rows[0]["id"]))
        except StudioError as exc:  # the newest short cannot be edited: say why, and let another be picked
            unchanged = [gr.update()] * len(everything)
            unchanged[1] = f"{exc.message} {for_ui(exc)} Pick another short.".strip()
            return (gr.Dropdown(choices=choices, value=None), *unchanged, gr.update(), "")

    def version_list(who, st: dict) -> tuple:
        current_n, items = hooks.versions(who, st["short"])
        view = hooks.view(who, st["short"])
        return gr.Dropdown(choices=items, value=current_n), short_html(view)

    def open_one(who, short_id: str) -> tuple:
        st = state_of(who, hooks.open_draft(who, short_id))
        return (*draw(who, st, 0), *version_list(who, st))

    @plain_errors
    def open_picked(short_id: str, request: gr.Request):
        if not short_id:
            return (*([gr.update()] * len(everything)), gr.update(), gr.update())
        return open_one(whose(request), short_id)

    @plain_errors
    def select_scene(n: str, st: dict, request: gr.Request):
        who, _ = caller_and_short(st, request)
        return draw(who, st, int(n) - 1)

    @plain_errors
    def apply_scene(st, n, text, cap, length, gap, kind, prompt_text, seed_value, picked, uploaded, move,
                    request: gr.Request):
        return change_scene(st, n, text, cap, length, gap, kind, prompt_text, seed_value, picked, uploaded, move,
                            request, fresh_seed=False)

    def change_scene(st, n, text, cap, length, gap, kind, prompt_text, seed_value, picked, uploaded, move,
                     request, fresh_seed: bool):
        who, t = caller_and_short(st, request)
        i = int(n) - 1
        sc = t.scenes[i]
        changes: dict = {"duration": float(length) if length else None, "pause": float(gap or 0.0)}
        text = " ".join((text or "").split())
        if text != sc.text:
            changes["text"] = text
        cap = " ".join((cap or "").split()) or None
        if cap != sc.caption:
            changes["caption"], changes["words"] = cap, ()
        seed_n = random.randrange(2**31) if fresh_seed else int(seed_value or 0)
        if uploaded:
            asset_id = hooks.add_photo(who, Path(uploaded))
            changes["visual"] = Visual("photo", asset=asset_id)
            for original in getattr(request, "studio_uploads", ()):
                hooks.hosted.ui_uploads.discard(original)
        elif kind == "photo":
            if not picked and sc.visual.kind != "photo":
                raise InvalidRequest("Choose one of your photos, or upload one, for this scene.")
            if picked and picked != sc.visual.asset:
                changes["visual"] = Visual("photo", asset=picked)
        elif kind == "generated":
            wanted = Visual("generated", prompt=(prompt_text or "").strip() or text or sc.visual.prompt, seed=seed_n)
            if wanted != sc.visual:
                changes["visual"] = wanted
        changes["motion"] = named_motion(move, sc.motion, seed_n)
        return save(who, st, t.with_scene(sc.id, **changes), i, f"scene {i + 1} saved")

    @plain_errors
    def regenerate(st, n, text, cap, length, gap, kind, prompt_text, seed_value, picked, uploaded, move,
                   request: gr.Request):
        return change_scene(st, n, text, cap, length, gap, "generated", prompt_text, seed_value, None, None, move,
                            request, fresh_seed=True)

    def arrange(op: str):
        @plain_errors
        def run(st: dict, n: str, request: gr.Request):
            who, t = caller_and_short(st, request)
            i = int(n) - 1
            sc = t.scenes[i]
            if op == "up":
                return save(who, st, t.with_scene_moved(sc.id, -1), max(i - 1, 0), f"scene moved to {max(i, 1)}")
            if op == "down":
                j = min(i + 1, len(t.scenes) - 1)
                return save(who, st, t.with_scene_moved(sc.id, 1), j, f"scene moved to {j + 1}")
            if op == "split":
                return save(who, st, t.with_scene_split(sc.id), i, f"scene {i + 1} split in two")
            if op == "delete":
                return save(who, st, t.without_scene(sc.id), max(i - 1, 0), f"scene {i + 1} deleted")
            added = TimelineScene(new_scene_id(), "New scene.", Visual("generated", prompt=sc.visual.prompt or "new scene",
                                                                       seed=random.randrange(2**31)),
                                  Motion("camera", CAMERA_MOVES["zoom in"]))
            return save(who, st, t.with_scene_inserted(i + 1, added), i + 1, f"scene {i + 2} added: write its words")

        return run

    @plain_errors
    def apply_whole(st: dict, n: str, name: str, caption_style: str, level: float, request: gr.Request):
        who, t = caller_and_short(st, request)
        changed = replace(t, template=name, caption_style=caption_style, music=replace(t.music, level_db=float(level)))
        return save(who, st, changed, int(n or 1) - 1, "look saved")

    @plain_errors
    def show_preview(st: dict, n: str, request: gr.Request):
        who, t = caller_and_short(st, request)
        i = int(n) - 1
        file = hooks.scene_files(who, st["doc"]).get(t.scenes[i].id)
        with tempfile.TemporaryDirectory(prefix="studio-preview-") as tmp:
            still = hooks.hosted.studio_for(who.owner).preview(t, i, Path(tmp) / "preview.jpg", file=file)
            return f'<img alt="preview of scene {i + 1}" src="{_data_uri(still, 540)}">'

    @plain_errors
    def render_version(st: dict, fmts: list[str], request: gr.Request, progress=gr.Progress()):
        who, _ = caller_and_short(st, request)
        job_id = hooks.start_render(who, st["short"], list(fmts or ["9:16"]))
        hooks.follow(who, job_id, lambda f, words: progress(f, desc=words))
        return open_one(who, st["short"])

    @plain_errors
    def restore_version(st: dict, number, request: gr.Request):
        who, _ = caller_and_short(st, request)
        if number is None:
            raise InvalidRequest("Pick a version to restore.")
        hooks.restore(who, st["short"], int(number))
        return open_one(who, st["short"])

    @plain_errors
    def make_variant(st: dict, hook_text: str, title_text: str, request: gr.Request, progress=gr.Progress()):
        who, _ = caller_and_short(st, request)
        made = hooks.hosted.editing.variant(who.owner, st["short"], hook=(hook_text or "").strip() or None,
                                            title=(title_text or "").strip() or None, quota=hooks.render_quota(who))
        hooks.follow(who, made.job_id, lambda f, words: progress(f, desc=words))
        labels = {v["short_id"]: v["label"] for v in made.experiment["variants"]}
        return (f"✓ Variant {labels.get(made.short_id, '')} is made. The A/B test “{made.experiment['name']}” now "
                f"has {len(labels)} variants ({', '.join(labels.values())}): schedule each from the Calendar, "
                "then follow them in Analytics → A/B tests.")

    opened = [*everything, versions, result]
    tab.select(list_shorts, ed, [pick, *opened])
    listing.click(list_shorts, ed, [pick, *opened])
    pick.input(open_picked, pick, opened)
    scene.input(select_scene, [scene, ed], everything)
    no_file = gr.State(None)
    scene_inputs = [ed, scene, words, caption, duration, pause, visual, prompt, seed, photo_pick, no_file, motion]
    apply.click(apply_scene, scene_inputs, everything, concurrency_limit=4).success(show_preview, [ed, scene], preview)
    with_upload = [*scene_inputs[:10], photo_up, motion]
    photo_up.upload(apply_scene, with_upload, everything).success(show_preview, [ed, scene], preview)
    new_picture.click(regenerate, scene_inputs, everything).success(show_preview, [ed, scene], preview)
    show.click(show_preview, [ed, scene], preview, concurrency_limit=4)
    for button, op in ((up, "up"), (down, "down"), (insert, "insert"), (split, "split"), (delete, "delete")):
        button.click(arrange(op), [ed, scene], everything)
    apply_short.click(apply_whole, [ed, scene, template, style, music], everything)
    render.click(render_version, [ed, chosen_formats], opened, concurrency_limit=8)  # the job runner meters the work
    restore.click(restore_version, [ed, versions], opened)
    ab_make.click(make_variant, [ed, ab_hook, ab_title], ab_said, concurrency_limit=8)
