"""Domain exceptions shared by every layer.

They carry what went wrong and what to do about it; the UI and CLI turn them
into messages at their edge (gr.Error, a red CLI line), never tracebacks.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do."""

    code = "studio_error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InvalidRequest(StudioError):
    code = "invalid_request"


class InvalidMedia(StudioError):
    code = "invalid_media"


class EngineUnavailable(StudioError):
    code = "engine_unavailable"


class EngineFailed(StudioError):
    code = "engine_failed"


class RenderFailed(StudioError):
    code = "render_failed"
