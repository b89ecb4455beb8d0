"""Every file an event of the UI receives is checked before Gradio touches it.

A Gradio event's payload names files by server path (``{"path": ..., "meta": {"_type": "gradio.FileData"}}``), and
a mounted Blocks never runs Gradio's own allowed-path check (it is skipped until ``launch()``), so any readable
path on the server would be copied in and handed to the function. ``GuardedBlocks`` checks every file reference in
every event's inputs, whichever route called it (by name, by ``fn_index``, through the queue or not), before any
preprocessing: each must be the caller's own upload. New events are covered without being listed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import gradio as gr

from models.errors import StudioError

FileCheck = Callable[[Any, str], Path]  # (gr.Request, path) -> the checked path, or raise StudioError


def file_references(value: Any) -> Iterator[Any]:
    """Every ``path`` named anywhere in an event's inputs (FileData with or without its ``meta`` marker)."""
    if isinstance(value, dict):
        if "path" in value:
            yield value["path"]
        for item in value.values():
            yield from file_references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from file_references(item)


class GuardedBlocks(gr.Blocks):
    """gr.Blocks whose events refuse any file that ``file_check`` does not accept for the caller."""

    file_check: FileCheck | None = None

    async def process_api(self, block_fn, inputs, state=None, request=None, *args, **kwargs):
        if self.file_check is not None and inputs:
            caller = request[0] if isinstance(request, list) else request
            checked = []
            for path in file_references(inputs):
                if not isinstance(path, str) or not path:
                    raise gr.Error("A file in this request is not valid; upload it again.")
                try:
                    checked.append(await anyio.to_thread.run_sync(self.file_check, caller, path))
                except StudioError as exc:
                    raise gr.Error(str(exc)) from None
            if caller is not None:
                caller.studio_uploads = tuple(checked)  # the originals, for the event to release once used
        return await super().process_api(block_fn, inputs, state, request, *args, **kwargs)


# The parts of Gradio's app that the studio's page and script clients use. Everything else Gradio serves under
# /studio (its older /file/ route, process_recording, component_server, monitoring, MCP, vibe editing, …) answers
# 404: a route that is not listed cannot be used to read files, hold memory or bypass the upload rules.
_PUBLIC = {"/theme.css", "/favicon.ico", "/manifest.json", "/robots.txt"}  # no session needed: the page's furniture
_PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
_PAGE = {"", "/", "/config", "/config/"}
_API = {"info", "queue/join", "queue/data", "upload", "upload_progress", "startup-events", "cancel", "reset"}
_API_PREFIXES = ("heartbeat/", "call/", "file=")


def ui_route(path: str) -> str | None:
    """``path`` below the UI's mount point (already percent-decoded once, as routing sees it): "public" (static
    furniture), "app" (needs the caller's session), or None (not served)."""
    if path in _PUBLIC or path.startswith(_PUBLIC_PREFIXES):
        return "public"
    if path in _PAGE:
        return "app"
    if path.startswith("/gradio_api/"):
        rest = path[len("/gradio_api/"):]
        if rest in _API or rest.startswith(_API_PREFIXES):
            return "app"
    return None
