"""Domain exceptions shared by every layer.

They carry what went wrong and what to do about it; the UI and CLI turn them
into messages at their edge (gr.Error, a red CLI line), never tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Remedy:
    """What fixes the error, as data; each edge words it (the CLI as a command or flag, the API as fields,
    the UI in plain words), so no layer below the studio speaks in CLI flags.

    ``pull_weights``: fetch ``repo`` for ``stage`` (the ``profile``'s weights).
    ``pull_voice``: fetch the Piper voice named ``repo``.
    ``accept_licence``: the licence of the weights named ``repo`` must be accepted first.
    ``set_field``: give the request's ``field`` another value (``value``, when one is known to work).
    """

    action: str  # pull_weights | pull_voice | accept_licence | set_field
    profile: str | None = None
    stage: str | None = None
    repo: str | None = None
    field: str | None = None
    value: Any = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class StudioError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do, ``remedy`` the fix as data."""

    code = "studio_error"

    def __init__(self, message: str, hint: str = "", remedy: Remedy | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.remedy = remedy

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


class Cancelled(StudioError):
    """The work was stopped from outside (Ctrl-C reaches ffmpeg too), not a failure of the short's inputs."""

    code = "cancelled"
