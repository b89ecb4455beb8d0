"""What the API answers when it refuses, for the OpenAPI schema: every route lists the error statuses it can
really give, all with the one error body ``{"error": {"code", "message", "hint"?}}``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class RemedyDetail(BaseModel):
    """The fix as data: ``pull_weights`` (the server's operator fetches ``repo`` for ``stage`` of ``profile``) or
    ``set_field`` (send ``field`` again, as ``value`` when one is known to work)."""

    action: Literal["pull_weights", "set_field"]
    profile: str | None = None
    stage: str | None = None
    repo: str | None = None
    field: str | None = None
    value: Any = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None
    remedy: RemedyDetail | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_WHY = {400: "The request cannot be used as sent.", 401: "No valid credentials.",
        403: "Not allowed here (for example accounts are switched off, or the request came from another site).",
        404: "No such thing, or it belongs to someone else.", 409: "It already exists.",
        412: "The timeline changed since you read it (If-Match names an old ETag): read it again.",
        428: "Send If-Match with the ETag the timeline was read at.",
        413: "Too large.", 415: "Not a supported file type (read from its bytes).",
        422: "A field is missing or invalid; the message names it.",
        429: "Too many requests or the daily quota is spent; wait Retry-After seconds.",
        503: "A service the studio depends on did not answer."}

AUTHED = (401, 403)


def errors(*statuses: int) -> dict:
    out: dict = {}
    for status in statuses:
        out[status] = {"model": ErrorBody, "description": _WHY[status]}
        if status == 429:
            out[status]["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    return out


def redirect(description: str) -> dict:
    return {303: {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}}


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "One image, video or audio file; its type is read from its bytes."},
                   "project_id": {"type": "string", "description": "File it under one of your projects."}}}}}}}
