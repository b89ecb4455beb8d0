"""A local stand-in for the YouTube Data API v3, as far as publishing uses it.

It follows Google's documented resumable upload protocol:

* ``POST /upload/youtube/v3/videos?uploadType=resumable&part=...`` with the video's metadata (JSON) and
  ``X-Upload-Content-Length`` → 200 with the session address in ``Location``;
* ``PUT <session>`` with ``Content-Range: bytes A-B/TOTAL`` → 308 with ``Range: bytes=0-N`` until the last byte is
  in, then 201 with the video resource (exactly one video per session);
* ``PUT <session>`` with ``Content-Range: bytes */TOTAL`` (the status query) → 308 with (or, nothing received yet,
  without) ``Range``, or 200 with the resource once complete; an expired session answers 404 or 410.

Also ``GET /youtube/v3/channels?mine=true`` and ``GET /youtube/v3/videos?id=...``, a bearer-token check (401),
and ``PUT /sink`` which reads and drops a body (the benchmark's plain-upload baseline).

Metrics: with ``audience`` set (a tests/fake_metrics.AudienceModel), ``videos.list`` also answers the model's videos
(statistics, contentDetails) and ``GET /v2/reports`` is the YouTube Analytics API's reports.query (the same base
address stands in for youtubeanalytics.googleapis.com); ``report_error`` = (status, reason) answers the next report
query with that error, once.

Faults, switched on by attributes or methods (or ``POST /_fake/set`` with a JSON object from another process):
``expire_sessions(410)``, ``expire_at_chunk``, ``drop_range_once``, ``fail_at_chunk`` (a 5xx once), ``insert_error``
(e.g. a 403 quotaExceeded), and the final-byte hook (``final_applied`` event, ``on_final`` callable,
``final_touch`` file, ``final_hold_s`` delay): it runs after the fake has created the video and before it answers,
so a test can kill the uploader between the irreversible step and the moment the client learns of it.

Use: ``fake = FakeYouTube(); base_url = fake.start(); ...; fake.stop()``; read ``fake.videos`` (id → resource),
``fake.video_bytes``, ``fake.requests`` (``Seen``: method, path, query, headers with Authorization redacted, status).
Standalone: ``python -m tests.fake_youtube --port 8765 [--token T] [--discard]`` prints its base URL; another process
reads ``GET /_fake/videos`` and sets knobs with ``POST /_fake/set`` / ``POST /_fake/expire``.

With ``client_options={"api_endpoint": base_url + "/"}`` googleapiclient sends API calls to
``<base>/youtube/v3/...`` but builds the upload address from the discovery document's https root with only the host
swapped (``https://127.0.0.1:PORT/upload/youtube/v3/videos``); studio/publishing/youtube.py rebases it onto
``base_url`` whole, scheme included. Found by experiment with google-api-python-client 2.202.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

QUANTUM = 256 * 1024  # Google's rule: every chunk but the last is a multiple of 256 KiB
CHANNEL_ID = "UCfakeChannel0000000000"


@dataclass
class Session:
    upload_id: str
    total: int
    metadata: dict
    data: bytearray = field(init=False)  # allocated whole, so chunks are read straight into place
    received: int = 0
    video_id: str | None = None
    gone: int = 0  # 404 or 410 once expired
    keep: bool = True  # False: bytes are counted, not kept (a benchmark measures the transport, not the fake's memory)

    def __post_init__(self) -> None:
        self.data = bytearray(self.total if self.keep else 0)


@dataclass
class Seen:
    """One request as the fake saw it; the Authorization value is never kept."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    status: int = 0

    @property
    def content_range(self) -> str:
        return self.headers.get("content-range", "")


class FakeYouTube:
    def __init__(self, tokens: tuple[str, ...] = ("test-token",), port: int = 0) -> None:
        self.tokens = set(tokens)
        self.port = port
        self.channel = {"id": CHANNEL_ID, "snippet": {"title": "Fake Channel", "customUrl": "@fakechannel"}}
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, dict] = {}  # video id → resource, in creation order
        self.video_bytes: dict[str, bytearray] = {}
        self.requests: list[Seen] = []
        self.updates: list[dict] = []  # videos.update bodies, in order
        self.sink_bytes = 0
        self.keep_bytes = True  # False: uploads are read and counted only (video_bytes stays empty)
        # faults
        self.expire_at_chunk: tuple[int, int] | None = None  # (n, 404|410): the n-th chunk PUT finds its session gone
        self.fail_at_chunk: tuple[int, int] | None = None  # (n, 5xx): the n-th chunk PUT is read, dropped, answered 5xx
        self.drop_range_once = False  # the next 308 has no Range header (the server kept nothing)
        self.insert_error: tuple[int, str] | None = None  # (status, reason) for the next session start, once
        self.final_applied = threading.Event()
        self.on_final: Callable[[], None] | None = None
        self.final_touch: str | None = None  # a file created when the final byte is applied
        self.final_hold_s = 0.0
        self.chunk_puts = 0  # data-carrying PUTs so far
        self.audience = None  # a tests/fake_metrics.AudienceModel: videos with statistics, and Analytics reports
        self.report_error: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # ---- lifecycle
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes; with Nagle on, the body waits for the client's delayed ACK
            # (~40 ms on Linux): a delay of this fake's, not of the protocol, that would swamp the benchmark
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_PUT(self) -> None:  # noqa: N802
                fake._handle(self)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- knobs and views
    def expire_sessions(self, status: int = 410) -> None:
        """Every session not yet complete is gone (Google's sessions last about a week)."""
        with self._lock:
            for s in self.sessions.values():
                if s.video_id is None:
                    s.gone = status

    def uploads(self) -> list[Seen]:
        return [r for r in self.requests if r.path == "/upload/youtube/v3/videos"]

    def session_starts(self) -> list[Seen]:
        return [r for r in self.uploads() if r.method == "POST"]

    def chunk_ranges(self) -> list[str]:
        """Content-Range of every PUT to a session, status queries included (``bytes */N``)."""
        return [r.content_range for r in self.uploads() if r.method == "PUT"]

    # ---- HTTP
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        headers = {k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in h.headers.items()}
        seen = Seen(h.command, url.path, query, headers)
        with self._lock:
            self.requests.append(seen)
        length = int(h.headers.get("Content-Length") or 0)
        try:
            status, out_headers, body = self._route(h, seen, length)
        except Exception as exc:  # a fake's own bug must show up as a 500, not a hung client
            self._drain(h, length)
            status, out_headers, body = 500, {}, _error(500, "backendError", repr(exc))
        seen.status = status
        h.send_response(status)
        for k, v in out_headers.items():
            h.send_header(k, v)
        payload = json.dumps(body).encode() if body is not None else b""
        if payload:
            h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    @staticmethod
    def _drain(h: BaseHTTPRequestHandler, length: int) -> int:
        """Read and drop the request body in 1 MiB pieces (keeps the connection usable)."""
        scratch, got = memoryview(bytearray(min(length, 1 << 20))), 0
        while got < length:
            n = h.rfile.readinto(scratch[: min(length - got, len(scratch))])
            if not n:
                break
            got += n
        return got

    @staticmethod
    def _read_into(h: BaseHTTPRequestHandler, view: memoryview) -> int:
        """Fill ``view`` from the request body (no copy through a scratch buffer); returns the bytes read."""
        got = 0
        while got < len(view):
            n = h.rfile.readinto(view[got:])
            if not n:
                break
            got += n
        return got

    @staticmethod
    def _body(h: BaseHTTPRequestHandler, length: int) -> bytes:
        return h.rfile.read(length) if length else b""

    def _authorised(self, h: BaseHTTPRequestHandler) -> bool:
        auth = h.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def _route(self, h: BaseHTTPRequestHandler, seen: Seen, length: int) -> tuple[int, dict, dict | None]:
        path, method = seen.path, seen.method
        if path == "/sink":
            with self._lock:
                self.sink_bytes += self._drain(h, length)
            return 200, {}, {"received": length}
        if path.startswith("/_fake/"):
            return self._control(h, path, length)
        if not self._authorised(h):
            self._drain(h, length)
            return 401, {}, _error(401, "authError", "Invalid Credentials")
        if path == "/upload/youtube/v3/videos" and method == "POST":
            return self._start_session(h, seen, length)
        if path == "/upload/youtube/v3/videos" and method == "PUT":
            return self._put(h, seen, length)
        if path == "/youtube/v3/videos" and method == "PUT":  # videos.update: the parts sent replace the video's
            return self._update(seen, self._body(h, length))
        self._drain(h, length)
        if path == "/youtube/v3/channels" and method == "GET":
            items = [self.channel] if seen.query.get("mine") == "true" else []
            return 200, {}, {"kind": "youtube#channelListResponse", "items": items}
        if path == "/youtube/v3/videos" and method == "GET":
            ids = seen.query.get("id", "").split(",")
            items = [self.videos[i] for i in ids if i in self.videos]
            if self.audience is not None:  # metrics: the model's videos, with the parts asked for
                parts = seen.query.get("part", "").split(",")
                items += [v for i in ids if i not in self.videos and (v := self.audience.youtube_video(i, parts))]
            return 200, {}, {"kind": "youtube#videoListResponse", "items": items}
        if path == "/v2/reports" and method == "GET" and self.audience is not None:  # YouTube Analytics reports.query
            if self.report_error:
                (status, reason), self.report_error = self.report_error, None
                return status, {}, _error(status, reason, f"The request cannot be completed ({reason}).")
            status, body = self.audience.youtube_report(seen.query)
            return status, {}, body
        return 404, {}, _error(404, "notFound", f"No such endpoint: {method} {path}")

    def _update(self, seen: Seen, raw: bytes) -> tuple[int, dict, dict | None]:
        body = json.loads(raw or b"{}")
        video = self.videos.get(body.get("id", ""))
        if video is None:
            return 404, {}, _error(404, "videoNotFound", "The video could not be found.")
        parts = [p for p in seen.query.get("part", "").split(",") if p]
        if not parts or any(p not in ("snippet", "status") for p in parts):
            return 400, {}, _error(400, "invalidPart", "part must name snippet and/or status.")
        status = body.get("status", {})
        if "publishAt" in status and status.get("privacyStatus") != "private":
            return 400, {}, _error(400, "invalidPublishAt", "publishAt can only be set on a private video.")
        with self._lock:
            for part in parts:  # the whole part is replaced: fields left out are reset, as YouTube does
                video[part] = {**({"uploadStatus": video["status"].get("uploadStatus")} if part == "status" else {}),
                               **body.get(part, {})}
            self.updates.append(body)
        return 200, {}, video

    def _start_session(self, h: BaseHTTPRequestHandler, seen: Seen, length: int) -> tuple[int, dict, dict | None]:
        raw = self._body(h, length)
        if self.insert_error:
            status, reason = self.insert_error
            self.insert_error = None
            return status, {}, _error(status, reason, f"The request cannot be completed ({reason}).")
        if seen.query.get("uploadType") != "resumable":
            return 400, {}, _error(400, "badRequest", "This fake only speaks uploadType=resumable.")
        total = h.headers.get("X-Upload-Content-Length")
        metadata = json.loads(raw or b"{}")
        status = metadata.get("status", {})
        if status.get("publishAt") and status.get("privacyStatus") != "private":
            return 400, {}, _error(400, "invalidPublishAt", "publishAt needs privacyStatus private.")
        if total is None:
            return 400, {}, _error(400, "badRequest", "X-Upload-Content-Length is missing.")
        upload_id = secrets.token_urlsafe(12)
        with self._lock:
            self.sessions[upload_id] = Session(upload_id, int(total), metadata, keep=self.keep_bytes)
        location = f"{self.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return 200, {"Location": location}, None

    def _put(self, h: BaseHTTPRequestHandler, seen: Seen, length: int) -> tuple[int, dict, dict | None]:
        session = self.sessions.get(seen.query.get("upload_id", ""))
        crange = h.headers.get("Content-Range", "")
        if session is None:
            self._drain(h, length)
            return 404, {}, _error(404, "notFound", "No such upload session.")
        if crange.startswith("bytes */"):  # the status query
            return self._status(session)
        self.chunk_puts += 1
        if self.expire_at_chunk and self.chunk_puts == self.expire_at_chunk[0]:
            session.gone = self.expire_at_chunk[1]
        if session.gone or session.video_id:
            self._drain(h, length)
            return self._status(session)
        if self.fail_at_chunk and self.chunk_puts == self.fail_at_chunk[0]:
            self._drain(h, length)
            return self.fail_at_chunk[1], {}, _error(self.fail_at_chunk[1], "backendError", "Backend Error")
        try:
            span, total = crange.removeprefix("bytes ").split("/")
            first, last = (int(x) for x in span.split("-"))
        except ValueError:
            self._drain(h, length)
            return 400, {}, _error(400, "badRequest", f"Bad Content-Range {crange!r}.")
        size = last - first + 1
        if int(total) != session.total or size != length or first > session.received or last >= session.total:
            self._drain(h, length)
            return 400, {}, _error(400, "badRequest", f"Content-Range {crange!r} does not follow the session.")
        if last + 1 < session.total and size % QUANTUM:
            self._drain(h, length)
            return 400, {}, _error(400, "badRequest", f"Chunk of {size} bytes is not a multiple of 256 KiB.")
        # a resent range replaces what was there; a body cut short keeps what arrived
        if session.keep:
            session.received = first + self._read_into(h, memoryview(session.data)[first:last + 1])
        else:
            session.received = first + self._drain(h, length)
        if session.received < session.total:
            return self._status(session)
        return self._complete(session)

    def _status(self, session: Session) -> tuple[int, dict, dict | None]:
        if session.gone:
            return session.gone, {}, _error(session.gone, "notFound", "The upload session has expired.")
        if session.video_id:
            return 200, {}, self.videos[session.video_id]
        headers = {}
        if session.received and not self.drop_range_once:
            headers["Range"] = f"bytes=0-{session.received - 1}"
        self.drop_range_once = False
        if not headers:
            session.received = 0  # no Range means the server kept nothing: it must be sent again
        return 308, headers, None

    def _complete(self, session: Session) -> tuple[int, dict, dict | None]:
        video_id = secrets.token_urlsafe(8)[:11]
        meta = session.metadata
        resource = {
            "kind": "youtube#video",
            "id": video_id,
            "snippet": {**meta.get("snippet", {}), "channelId": self.channel["id"],
                        "publishedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
            "status": {"uploadStatus": "uploaded", **meta.get("status", {})},
        }
        with self._lock:
            session.video_id = video_id
            self.videos[video_id] = resource
            if session.keep:
                self.video_bytes[video_id] = session.data  # not copied: a session is done with it
        # the irreversible step has happened; the client has not heard of it yet
        self.final_applied.set()
        if self.final_touch:
            Path(self.final_touch).touch()
        if self.on_final:
            self.on_final()
        if self.final_hold_s:
            time.sleep(self.final_hold_s)
        return 201, {}, resource

    def _control(self, h: BaseHTTPRequestHandler, path: str, length: int) -> tuple[int, dict, dict | None]:
        """For tests in another process: read the videos, set a knob."""
        raw = self._body(h, length)
        if path == "/_fake/videos":
            return 200, {}, {"videos": list(self.videos.values())}
        if path == "/_fake/set":
            knobs = {"expire_at_chunk", "fail_at_chunk", "drop_range_once", "insert_error", "final_touch", "final_hold_s"}
            for key, value in json.loads(raw or b"{}").items():
                if key not in knobs:
                    return 400, {}, _error(400, "badRequest", f"Unknown knob {key!r}; one of {sorted(knobs)}.")
                setattr(self, key, tuple(value) if isinstance(value, list) else value)
            return 200, {}, {}
        if path == "/_fake/expire":
            self.expire_sessions(int(json.loads(raw or b"{}").get("status", 410)))
            return 200, {}, {}
        return 404, {}, _error(404, "notFound", path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # a client killed mid-request (the crash tests do it on purpose) is not the fake's error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _error(code: int, reason: str, message: str) -> dict:
    """Google's JSON error shape, which googleapiclient's HttpError reads (reason, message)."""
    return {"error": {"code": code, "message": message, "errors": [{"reason": reason, "message": message,
                                                                     "domain": "youtube"}]}}


def main() -> None:
    parser = argparse.ArgumentParser(description="A local fake of the YouTube Data API (uploads, channels, videos).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", help="an accepted bearer token (default: test-token)")
    parser.add_argument("--discard", action="store_true", help="count uploaded bytes without keeping them")
    args = parser.parse_args()
    fake = FakeYouTube(tuple(args.token or ("test-token",)), port=args.port)
    fake.keep_bytes = not args.discard
    print(fake.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
