"""Meta's Graph API, as Instagram and Facebook publishing both use it: one httpx client per call site, Graph's error
answers turned into base.py's errors, the ``rupload`` byte upload, and the token exchanges.

Tokens go in headers (``Authorization: Bearer`` for Graph, ``Authorization: OAuth`` for rupload), never in a URL
this module builds; where Meta documents them as query parameters (the long-lived exchanges, Instagram's refresh),
:class:`HideSecrets` keeps them out of httpx's request log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from studio.publishing.base import (
    AuthRevoked,
    Deferred,
    Delivery,
    PostText,
    PublishError,
    Refused,
    Sink,
    Transient,
)

__all__ = ["Graph", "failure", "token_call", "video_of", "caption_of", "utcnow", "RATE_LIMIT_WAIT"]

log = logging.getLogger("studio.publishing")

TIMEOUT = httpx.Timeout(60.0, connect=15.0)
UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=15.0)  # per read or write: rupload answers only once every byte is in
UPLOAD_PIECE = 1024 * 1024  # bytes read from the file per write (progress is reported after each)
# Graph's throttling codes (graph-api/overview/rate-limiting): 4 app, 17 user, 32 Page, 613 custom; and Instagram's
# "maximum number of posts published" (code 9, subcode 2207042). Meta counts over a rolling hour.
RATE_LIMIT_CODES = {4, 17, 32, 613}
RATE_LIMIT_WAIT = timedelta(hours=1)
AUTH_CODES = {102, 190}  # API session / access token invalid or expired
SECRET_PARAMS = ("access_token", "client_secret", "fb_exchange_token", "input_token", "code")
_SECRET_RE = re.compile(r"((?:" + "|".join(SECRET_PARAMS) + r")=)[^&\s\"']+")


def utcnow() -> datetime:
    return datetime.now(UTC)


class HideSecrets(logging.Filter):
    """Blanks token and secret values in the query strings httpx logs ("HTTP Request: GET https://...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_SECRET_RE.sub(r"\1<hidden>", str(a)) if isinstance(a, httpx.URL | str) else a
                                for a in record.args)
        return True


def _hide_secrets_in_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, HideSecrets) for f in logger.filters):
        logger.addFilter(HideSecrets())


class Graph:
    """One Graph host (graph.instagram.com/vXX or graph.facebook.com/vXX) called with one token."""

    def __init__(self, base_url: str, token: str, label: str) -> None:
        _hide_secrets_in_httpx_log()
        self.base, self.label, self.token = base_url.rstrip("/"), label, token
        self._http = httpx.Client(timeout=TIMEOUT, headers={"Authorization": f"Bearer {token}"})

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> dict:
        return self._call("GET", path, params=params)

    def post(self, path: str, **data: Any) -> dict:
        return self._call("POST", path, data={k: _form(v) for k, v in data.items() if v is not None})

    def _call(self, method: str, path: str, **kw: Any) -> dict:
        url = path if path.startswith(("http://", "https://")) else f"{self.base}/{path.lstrip('/')}"
        try:
            r = self._http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise Transient(f"{self.label} did not answer ({type(exc).__name__}).",
                            "It is tried again shortly; nothing is posted twice.") from exc
        return answer(r, self.label)

    def upload(self, url: str, video: Path, offset: int, sink: Sink) -> dict:
        """Send ``video`` from ``offset`` to a rupload address in one POST, streamed from the file. Meta's resumable
        upload protocol: ``Authorization: OAuth <token>``, ``offset`` and ``file_size`` headers, the bytes as body."""
        total = video.stat().st_size
        headers = {"Authorization": f"OAuth {self.token}", "offset": str(offset), "file_size": str(total),
                   "Content-Type": "application/octet-stream", "Content-Length": str(total - offset)}
        try:
            r = self._http.post(url, headers=headers, content=_pieces(video, offset, total, sink),
                                timeout=UPLOAD_TIMEOUT)
        except httpx.HTTPError as exc:
            raise Transient(f"The upload to {self.label} was cut off ({type(exc).__name__}).",
                            "It is checked and resumed on the next try.") from exc
        if r.status_code < 300:
            return _json(r)
        body = _json(r)
        if r.status_code == 401 or (body.get("error") or {}).get("code") in AUTH_CODES:
            raise AuthRevoked(f"{self.label} no longer accepts this account's connection.",
                              f"Reconnect the {self.label} account.")
        why = (body.get("debug_info") or {}).get("message") or (body.get("error") or {}).get("message") or r.status_code
        raise Transient(f"{self.label} did not take the upload ({why}).", "It is checked and resumed on the next try.")


def _pieces(video: Path, offset: int, total: int, sink: Sink) -> Iterator[bytes]:
    sent = offset
    with video.open("rb") as f:
        f.seek(offset)
        while piece := f.read(UPLOAD_PIECE):
            yield piece
            sent += len(piece)
            sink.progress(sent, total)


def _form(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _json(r: httpx.Response) -> dict:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"data": body}


def _error(body: dict) -> dict:
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def answer(r: httpx.Response, label: str) -> dict:
    """A Graph answer's JSON, or the error it carries as one of base.py's errors."""
    if r.status_code < 300:
        return _json(r)
    raise failure(r.status_code, _json(r), label)


def failure(status: int, body: dict, label: str) -> PublishError:
    """Graph's error object (``{"error": {"message", "type", "code", "error_subcode", "is_transient"}}``) as one of
    base.py's errors."""
    error = _error(body)
    code, sub = error.get("code"), error.get("error_subcode")
    message = str(error.get("error_user_msg") or error.get("message") or body.get("error_message") or f"HTTP {status}")
    if status == 401 or code in AUTH_CODES:
        return AuthRevoked(f"{label} no longer accepts this account's connection ({message}).",
                           f"Reconnect the {label} account.")
    if code in RATE_LIMIT_CODES or (code == 9 and sub == 2207042):
        until = utcnow() + RATE_LIMIT_WAIT
        return Deferred(f"{label} is limiting this account's requests for now ({message}).", until,
                        f"It is tried again at {until:%H:%M} UTC.")
    if status >= 500 or status == 429 or error.get("is_transient") or code in (1, 2):
        return Transient(f"{label} answered {status} ({message}).", "It is tried again shortly.")
    return Refused(f"{label} refused it: {message}" + (f" (code {code})." if code else "."),
                   "Change what it names and schedule the post again.")


def token_call(url: str, params: dict, label: str) -> dict:
    """One of Meta's token GETs (a long-lived exchange, Instagram's refresh): its JSON, or AuthRevoked when Meta
    refuses the token (400/401, code 190), Transient when it does not answer."""
    _hide_secrets_in_httpx_log()
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            r = http.get(url, params=params)
    except httpx.HTTPError as exc:
        raise Transient(f"{label} did not answer ({type(exc).__name__}).", "Try again in a minute.") from exc
    body = _json(r)
    if r.status_code < 300 and body.get("access_token"):
        return body
    error = _error(body)
    if r.status_code >= 500 or r.status_code == 429 or error.get("is_transient"):
        raise Transient(f"{label} answered {r.status_code} to a token request.", "Try again in a minute.")
    why = error.get("message") or body.get("error_message") or f"HTTP {r.status_code}"
    raise AuthRevoked(f"{label} refused the account's token ({why}).", f"Connect the {label} account again.")


def video_of(delivery: Delivery) -> Path:
    if not delivery.files.video.is_file():
        raise Refused(f"The short's video file is missing ({delivery.files.video.name}).",
                      "Render the short again and schedule the new one.")
    return delivery.files.video


def caption_of(text: PostText) -> str:
    """The post's caption with any of its hashtags it does not already end with (the studio's captions usually
    carry their hashtags line)."""
    caption = text.caption.strip()
    words = set(caption.lower().split())
    tags = " ".join(t for t in (h if h.startswith("#") else f"#{h}" for h in text.hashtags) if t.lower() not in words)
    return "\n\n".join(p for p in (caption, tags) if p)
