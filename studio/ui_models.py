"""The Models tab: which engine runs each stage on this machine (real, or a built-in floor), and on first run one
button that downloads the CPU models with progress, can be stopped, and continues where it stopped."""

from __future__ import annotations

import html
import threading

import gradio as gr

from models.errors import StudioError
from studio.remedies import for_ui
from studio.settings import LICENCE_NOTICES

_ACTIVE: dict[str, threading.Event] = {}  # the one download running on this server, and how to stop it
_LOCK = threading.Lock()


def _summary(rows: list[tuple[str, str, str]]) -> str:
    floors = [f"{stage} ({status.removeprefix('floor: ')})" for stage, _, status in rows if status.startswith("floor")]
    if not floors:
        return "Every stage runs its real engine on this machine."
    return (f"**{len(floors)} stage{'s' if len(floors) > 1 else ''} run a built-in floor**: {', '.join(floors)}. "
            "They make a real video, but the CPU models make a better one.")


def build_models_tab(hooks) -> None:
    with gr.Tab("Models") as tab:
        gr.Markdown("Which engine makes each part of a short on this machine. **real**: the profile's own model. "
                    "**floor**: the built-in engine that runs while the model is missing. **built in**: needs no "
                    "download.")
        table = gr.Dataframe(headers=["stage", "engine", "status"], interactive=False, elem_id="engines-table", wrap=True,
                             column_widths=["24%", "30%", "46%"],
                             label="Engines (profile auto)")
        summary = gr.Markdown("", elem_id="models-summary")
        with gr.Row():
            download = gr.Button("Download the CPU models", variant="primary", elem_id="download-models",
                                 visible=False)
            stop = gr.Button("Stop", variant="secondary", elem_id="stop-download", visible=False)
        status = gr.Markdown("", elem_id="download-status")
        with gr.Accordion("Generated music with MusicGen (optional, non-commercial)", open=False):
            gr.Markdown(html.escape(LICENCE_NOTICES["musicgen"]))
            agree = gr.Checkbox(label="I accept MusicGen's non-commercial licence (CC-BY-NC-4.0)", value=False)
            accept = gr.Button("Accept", size="sm")
            accepted = gr.Markdown("")

    def refresh(request: gr.Request):
        rows, todo = hooks.models_status()
        who = hooks.account(request)
        if not todo:
            return rows, _summary(rows), gr.update(visible=False), gr.update(visible=False), ""
        if not hooks.may_manage_models(who):
            return (rows, _summary(rows) + " Whoever runs this studio can fetch them with `studio models pull cpu`.",
                    gr.update(visible=False), gr.update(visible=False), "")
        try:
            size = f"{hooks.download_sizes(todo) / 2**30:.1f} GB"
        except StudioError as exc:
            return rows, _summary(rows), gr.update(visible=True, value="Download the CPU models"), \
                gr.update(visible=False), f"⚠️ {html.escape(exc.message)}"
        return (rows, _summary(rows), gr.update(visible=True, value=f"Download the CPU models ({size})"),
                gr.update(visible=False), "")

    def run(request: gr.Request, progress=gr.Progress()):
        who = hooks.account(request)
        if not hooks.may_manage_models(who):
            raise gr.Error("Only whoever runs this studio can download models onto it.")
        cancel = threading.Event()
        with _LOCK:
            if _ACTIVE:
                raise gr.Error("A download is already running on this studio.")
            _ACTIVE["download"] = cancel
        try:
            fetched = hooks.pull_models(who, lambda f, msg: progress(f, desc=msg), cancel)
        except StudioError as exc:
            raise gr.Error(f"{exc.message} {for_ui(exc) or exc.hint}".strip()) from None
        finally:
            with _LOCK:
                _ACTIVE.pop("download", None)
        rows, _ = hooks.models_status()
        done = "Downloaded:\n" + "\n".join(f"- {html.escape(line)}" for line in fetched) if fetched else \
            "Nothing to fetch."
        return rows, _summary(rows), gr.update(visible=False), gr.update(visible=False), done

    def halt(request: gr.Request):
        if not hooks.may_manage_models(hooks.account(request)):
            raise gr.Error("Only whoever runs this studio can stop its download.")
        with _LOCK:
            event = _ACTIVE.get("download")
        if event is not None:
            event.set()
        return "Stopping… what was downloaded is kept; click Download again to continue."

    def take(agreed: bool, request: gr.Request):
        if not agreed:
            raise gr.Error("Tick the box to accept the licence first.")
        try:
            hooks.accept_licence(hooks.account(request), "musicgen")
        except StudioError as exc:
            raise gr.Error(exc.message) from None
        return ("Accepted. MusicGen is now fetched by `studio models pull cpu --model music=facebook/musicgen-small`"
                " and used when a profile or a request names it; its licence is recorded with each short.")

    outputs = [table, summary, download, stop, status]
    tab.select(refresh, None, outputs)
    started = download.click(lambda: (gr.update(visible=True), "Downloading…"), None, [stop, status])
    running = started.then(run, None, outputs, concurrency_limit=1, show_progress_on=status)
    running.failure(lambda: gr.update(visible=False), None, stop)
    stop.click(halt, None, status)
    accept.click(take, agree, accepted)
