"""A local stand-in for TikTok's OAuth v2 and Content Posting API (Direct Post, ``FILE_UPLOAD``), as far as the
studio uses them. Threaded, on 127.0.0.1 at a free port; it logs nothing (tokens and codes pass through it).

OAuth v2 (Login Kit for Web):

* ``GET /v2/auth/authorize/`` with ``client_key`` (not client_id), ``response_type=code``, comma-separated ``scope``,
  ``redirect_uri``, ``state``, ``code_challenge`` + ``code_challenge_method=S256``: the user approves at once, 302 to
  ``redirect_uri`` with ``code`` and ``state``.
* ``POST /v2/oauth/token/`` (form; the client as ``client_key``/``client_secret`` fields): ``authorization_code``
  (same redirect_uri, PKCE S256 checked, codes single-use) answers ``open_id``, a 24 h access token and a refresh
  token; ``refresh_token`` **rotates**: each refresh answers a new refresh token and the old one is refused with
  ``invalid_grant`` from then on.
* ``POST /v2/oauth/revoke/`` (form): the access token and its whole grant stop working (a refresh token is not
  taken there).

API (``Authorization: Bearer``; answers ``{"data": ..., "error": {"code": "ok"|..., "message", "log_id"}}``):

* ``GET /v2/user/info/?fields=...``; ``POST /v2/post/publish/creator_info/query/``;
* ``POST /v2/post/publish/video/init/``: privacy_level must be one the creator is offered
  (``privacy_level_option_mismatch``), title ≤ 2,200 UTF-16 units, no branded content with SELF_ONLY, and the chunk
  rules of the Media Transfer Guide (:func:`source_problem`: ``invalid_params``); answers publish_id and upload_url;
* ``PUT <upload_url>`` one chunk at a time, in order, ``Content-Range: bytes FIRST-LAST/TOTAL`` matching the plan
  and ``Content-Length`` (:meth:`Upload.check`): 206 per chunk, 201 once all have arrived. The upload completing
  posts the video (``posts``), unless ``fail_reason`` is set: then the post ends FAILED;
* ``POST /v2/post/publish/status/fetch/``: PROCESSING_UPLOAD until the last chunk, ``processing_polls`` more times
  after it, then PUBLISH_COMPLETE (with ``publicaly_available_post_id``, TikTok's spelling, for a post that is not
  SELF_ONLY) or FAILED with ``fail_reason``. An unknown publish_id is 400 ``invalid_params``.

Metrics: with ``audience`` set (a tests/fake_metrics.AudienceModel), ``POST /v2/video/query/?fields=...`` with
``{"filters": {"video_ids": [...]}}`` (at most 20) answers the model's videos among those ids.

Also ``PUT /sink`` (reads and drops a body: the benchmark's plain-upload baseline). Standalone: ``python -m
tests.fake_tiktok --port 0 [--token T] [--discard]`` prints its base URL.

Knobs (attributes): ``privacy_options``, ``max_duration_s``, ``comment_disabled``/``duet_disabled``/``stitch_disabled``
(creator_info), ``fail_reason``, ``processing_polls``, ``api_errors`` (path → (HTTP status, error code), answered
once), and the last-chunk hook: ``final_touch`` (a file created) and ``final_hold_s`` (a delay), both after the post
exists and before the answer, so a test can kill the uploader between the irreversible step and the moment it learns
of it. Records: ``posts``, ``inits`` (init bodies), ``content_ranges`` (of every chunk PUT), ``refreshes``,
``refused_refreshes``, ``revoked``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fake_oauth import follow_authorize

MB = 1024 * 1024  # TikTok's "MB" in its chunk rules, read as MiB here and in studio/publishing/tiktok.py
WHOLE_BELOW, MIN_CHUNK, MAX_CHUNK, MAX_FINAL_CHUNK, MAX_CHUNKS = 5 * MB, 5 * MB, 64 * MB, 128 * MB, 1000
CLIENT_KEY, CLIENT_SECRET = "fake-client-key", "fake-client-secret-" + "s" * 16
OPEN_ID, USERNAME, NICKNAME = "fake-open-id-0001", "fakecreator", "Fake Creator"
PUBLIC_ACCOUNT = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]  # creator_info for a public account


def source_problem(video_size: int, chunk_size: int, total_chunk_count: int) -> str | None:
    """TikTok's chunk rules for an init's source_info (Media Transfer Guide): None when they hold, else why not."""
    if video_size <= 0 or chunk_size <= 0:
        return "video_size and chunk_size must be positive."
    if video_size < WHOLE_BELOW and (chunk_size != video_size or total_chunk_count != 1):
        return "A video under 5 MB is uploaded whole: chunk_size = video_size, total_chunk_count = 1."
    if total_chunk_count != video_size // chunk_size:
        return f"total_chunk_count must be floor(video_size / chunk_size) = {video_size // chunk_size}."
    if not 1 <= total_chunk_count <= MAX_CHUNKS:
        return "There must be 1 to 1000 chunks."
    if video_size - (total_chunk_count - 1) * chunk_size > MAX_FINAL_CHUNK:
        return "The final chunk may be at most 128 MB."
    if video_size >= WHOLE_BELOW and not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        return "chunk_size must be 5 MB to 64 MB."
    if video_size > MAX_CHUNK and total_chunk_count < 2:
        return "A video over 64 MB is uploaded in several chunks."
    return None


@dataclass
class Upload:
    """One init's upload: its chunks must arrive in order, each exactly as planned."""

    publish_id: str
    upload_id: str
    video_size: int
    chunk_size: int
    total_chunk_count: int
    post_info: dict = field(default_factory=dict)
    keep: bool = True
    received: int = 0
    chunks: int = 0
    data: bytearray = field(init=False, repr=False)
    status: str = "PROCESSING_UPLOAD"
    polls_left: int = 0  # status answers still PROCESSING after the upload completed
    fail_reason: str = ""
    post_id: str = ""

    def __post_init__(self) -> None:
        self.data = bytearray(self.video_size if self.keep else 0)

    @property
    def complete(self) -> bool:
        return self.chunks == self.total_chunk_count

    def check(self, first: int, last: int, total: int, length: int) -> tuple[int, str] | None:
        """(HTTP status, why) when the chunk ``bytes first-last/total`` of ``length`` bytes breaks the rules."""
        if self.complete:
            return 400, "The upload is already complete."
        if total != self.video_size:
            return 400, f"Content-Range total {total} is not the video_size {self.video_size}."
        if last < first or last - first + 1 != length:
            return 400, "Content-Range does not match Content-Length."
        if first != self.received:
            return 416, f"Chunks are uploaded in order: the next one starts at byte {self.received}."
        final = self.chunks == self.total_chunk_count - 1
        if final and last != self.video_size - 1:
            return 400, "The final chunk runs to the end of the video."
        if final and length > MAX_FINAL_CHUNK:
            return 400, "The final chunk may be at most 128 MB."
        if not final and length != self.chunk_size:
            return 400, f"Every chunk but the last is chunk_size ({self.chunk_size}) bytes."
        return None

    def take(self, first: int, last: int, total: int, length: int) -> tuple[int, str] | None:
        """Check the chunk and, if it follows the rules, count it in (without its bytes)."""
        problem = self.check(first, last, total, length)
        if problem is None:
            self.received, self.chunks = last + 1, self.chunks + 1
        return problem


@dataclass
class Grant:
    scope: str
    open_id: str
    revoked: bool = False
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    method: str
    used: bool = False


class FakeTikTok:
    def __init__(self, client_key: str = CLIENT_KEY, client_secret: str = CLIENT_SECRET,
                 tokens: tuple[str, ...] = ("test-token",)) -> None:
        self.client_key, self.client_secret = client_key, client_secret
        self.tokens = set(tokens)  # access tokens good without a grant (tests that skip connecting)
        self.expires_in = 86400  # TikTok's access tokens last 24 h
        # creator_info
        self.privacy_options = list(PUBLIC_ACCOUNT)
        self.max_duration_s = 600
        self.comment_disabled = self.duet_disabled = self.stitch_disabled = False
        self.creator_info_delay_s = 0.0  # a slow TikTok: the form's answer arrives after the creator chose
        # outcomes
        self.fail_reason: str | None = None  # the next completed upload ends FAILED with this reason
        self.processing_polls = 1
        self.api_errors: dict[str, tuple[int, str]] = {}  # path → (status, code), answered once
        self.keep_bytes = True
        self.final_applied = threading.Event()
        self.final_touch: str | None = None
        self.final_hold_s = 0.0
        self.audience = None  # a tests/fake_metrics.AudienceModel: its videos for video/query
        # records
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.authorizations: list[dict] = []
        self.refreshes = 0
        self.refused_refreshes = 0
        self.revoked: list[str] = []
        self.inits: list[dict] = []
        self.uploads: dict[str, Upload] = {}  # upload_id → upload
        self.posts: dict[str, dict] = {}  # post id → what was posted, in order
        self.content_ranges: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # ---- lifecycle
    def start(self, port: int = 0) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # queries and bodies carry codes and tokens
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_PUT(self) -> None:  # noqa: N802
                fake._handle(self)

        self._server = _Server(("127.0.0.1", port), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- helpers for tests
    @property
    def auth_url(self) -> str:
        return self.base_url + "/v2/auth/authorize/"

    def approve(self, authorize_url: str) -> str:
        """Be the creator's browser at the authorize page: the address it sends the browser back to."""
        return follow_authorize(authorize_url)

    def by_publish_id(self, publish_id: str) -> Upload | None:
        return next((u for u in self.uploads.values() if u.publish_id == publish_id), None)

    # ---- HTTP
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        try:
            status, headers, body = self._route(h, url.path, dict(parse_qsl(url.query)), length)
        except Exception as exc:  # a fake's own bug must show as a 500, not a hung client
            _drain(h, length)
            status, headers, body = 500, {}, _api_error("internal_error", repr(exc))
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        payload = json.dumps(body).encode() if body is not None else b""
        if payload:
            h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _route(self, h: BaseHTTPRequestHandler, path: str, query: dict, length: int) -> tuple[int, dict, dict | None]:
        method = h.command
        if method == "GET" and path == "/v2/auth/authorize/":
            return self._authorize(query)
        if method == "PUT" and path == "/upload/":
            return self._put(h, query, length)
        if method == "PUT" and path == "/sink":  # the benchmark's baseline: one plain PUT, read and dropped
            return 200, {}, {"received": _drain(h, length)}
        raw = h.rfile.read(length) if length else b""
        if method == "POST" and path == "/v2/oauth/token/":
            return self._token(dict(parse_qsl(raw.decode())))
        if method == "POST" and path == "/v2/oauth/revoke/":
            return self._revoke(dict(parse_qsl(raw.decode())))
        grant_open_id = self._bearer(h)
        if grant_open_id is None:
            return 401, {}, _api_error("access_token_invalid", "The access token is invalid or not found in the request.")
        with self._lock:
            planned = self.api_errors.pop(path, None)
        if planned:
            return planned[0], {}, _api_error(planned[1], f"Planned failure: {planned[1]}.")
        if method == "GET" and path == "/v2/user/info/":
            user = {"open_id": grant_open_id, "union_id": "fake-union-id", "display_name": NICKNAME,
                    "avatar_url": "https://example.com/avatar.jpg"}
            fields = query.get("fields", "").split(",")
            return 200, {}, _ok({"user": {k: v for k, v in user.items() if k in fields}})
        if method == "POST" and path == "/v2/post/publish/creator_info/query/":
            time.sleep(self.creator_info_delay_s)
            return 200, {}, _ok(self._creator())
        if method == "POST" and path == "/v2/post/publish/video/init/":
            if not h.headers.get("Content-Type", "").startswith("application/json"):
                return 400, {}, _api_error("invalid_params", "Content-Type must be application/json; charset=UTF-8.")
            return self._init(json.loads(raw or b"{}"))
        if method == "POST" and path == "/v2/post/publish/status/fetch/":
            return self._status(json.loads(raw or b"{}").get("publish_id", ""))
        if method == "POST" and path == "/v2/video/query/" and self.audience is not None:
            return self._video_query(query, json.loads(raw or b"{}"))
        return 404, {}, _api_error("not_found", f"No such endpoint: {method} {path}")

    # ---- OAuth
    def _authorize(self, q: dict) -> tuple[int, dict, dict | None]:
        with self._lock:
            self.authorizations.append(q)
            if q.get("client_key") != self.client_key or q.get("response_type") != "code":
                return 400, {}, {"error": "invalid_request", "error_description": "client_key or response_type"}
            code = secrets.token_urlsafe(24)
            self.codes[code] = Code(Grant(q.get("scope", ""), OPEN_ID), q.get("redirect_uri", ""),
                                    q.get("code_challenge", ""), q.get("code_challenge_method", ""))
        redirect = q.get("redirect_uri", "")
        back = urlencode({"code": code, "state": q.get("state", ""), "scopes": q.get("scope", "")})
        return 302, {"Location": redirect + ("&" if "?" in redirect else "?") + back}, None

    def _token(self, form: dict) -> tuple[int, dict, dict | None]:
        if form.get("client_key") != self.client_key or form.get("client_secret") != self.client_secret:
            return 401, {}, _oauth_error("invalid_client", "Client key or secret is wrong.")
        kind = form.get("grant_type")
        with self._lock:
            if kind == "authorization_code":
                return self._exchange(form)
            if kind == "refresh_token":
                return self._refresh(form)
        return 400, {}, _oauth_error("unsupported_grant_type", f"grant_type {kind!r}")

    def _exchange(self, form: dict) -> tuple[int, dict, dict | None]:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.used:
            if code is not None:
                code.grant.revoked = True  # a code used twice ends what it issued
            return 400, {}, _oauth_error("invalid_grant", "Authorization code is expired or already used.")
        code.used = True
        if form.get("redirect_uri", "") != code.redirect_uri:
            return 400, {}, _oauth_error("invalid_grant", "redirect_uri differs.")
        if code.challenge:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if code.method != "S256" or not verifier or digest != code.challenge:
                return 400, {}, _oauth_error("invalid_grant", "Code verifier or code challenge is invalid.")
        return 200, {}, self._issue(code.grant)

    def _refresh(self, form: dict) -> tuple[int, dict, dict | None]:
        self.refreshes += 1
        token = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.revoked or token not in grant.refresh:
            self.refused_refreshes += 1
            return 400, {}, _oauth_error("invalid_grant", "Refresh token is invalid or expired.")
        grant.refresh.discard(token)  # rotation: the old one ends now
        return 200, {}, self._issue(grant)

    def _issue(self, grant: Grant) -> dict:
        access, refresh = "act." + secrets.token_urlsafe(32), "rft." + secrets.token_urlsafe(32)
        grant.access.add(access)
        grant.refresh.add(refresh)
        self.access_tokens[access] = grant
        self.refresh_tokens[refresh] = grant
        return {"access_token": access, "expires_in": self.expires_in, "open_id": grant.open_id,
                "refresh_token": refresh, "refresh_expires_in": 31536000, "scope": grant.scope, "token_type": "Bearer"}

    def _revoke(self, form: dict) -> tuple[int, dict, dict | None]:
        if form.get("client_key") != self.client_key or form.get("client_secret") != self.client_secret:
            return 401, {}, _oauth_error("invalid_client", "Client key or secret is wrong.")
        token = form.get("token", "")
        with self._lock:
            grant = self.access_tokens.get(token)  # TikTok's revoke takes the user's access token
            if grant is None:
                return 400, {}, _oauth_error("invalid_request", "Unknown access token.")
            self.revoked.append(token)
            grant.revoked = True
        return 200, {}, {}

    def _bearer(self, h: BaseHTTPRequestHandler) -> str | None:
        """The open_id a bearer token stands for, or None."""
        auth = h.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token in self.tokens:
            return OPEN_ID
        grant = self.access_tokens.get(token)
        return grant.open_id if grant is not None and not grant.revoked else None

    # ---- Content Posting
    def _creator(self) -> dict:
        return {"creator_avatar_url": "https://example.com/avatar.jpg", "creator_username": USERNAME,
                "creator_nickname": NICKNAME, "privacy_level_options": list(self.privacy_options),
                "comment_disabled": self.comment_disabled, "duet_disabled": self.duet_disabled,
                "stitch_disabled": self.stitch_disabled, "max_video_post_duration_sec": self.max_duration_s}

    def _init(self, body: dict) -> tuple[int, dict, dict | None]:
        post, source = body.get("post_info") or {}, body.get("source_info") or {}
        with self._lock:
            self.inits.append(body)
        if post.get("privacy_level") not in self.privacy_options:
            return 400, {}, _api_error("privacy_level_option_mismatch",
                                       "privacy_level is not one of the creator's privacy_level_options.")
        if len(str(post.get("title", "")).encode("utf-16-le")) // 2 > 2200:
            return 400, {}, _api_error("invalid_params", "title is longer than 2200 UTF-16 code units.")
        if post.get("brand_content_toggle") and post.get("privacy_level") == "SELF_ONLY":
            return 400, {}, _api_error("invalid_params", "Branded content cannot be private (SELF_ONLY).")
        if source.get("source") != "FILE_UPLOAD":
            return 400, {}, _api_error("invalid_params", "This fake takes source FILE_UPLOAD only.")
        try:
            size, chunk, count = (int(source[k]) for k in ("video_size", "chunk_size", "total_chunk_count"))
        except (KeyError, TypeError, ValueError):
            return 400, {}, _api_error("invalid_params", "video_size, chunk_size and total_chunk_count are required.")
        problem = source_problem(size, chunk, count)
        if problem:
            return 400, {}, _api_error("invalid_params", problem)
        upload_id = secrets.token_urlsafe(12)
        publish_id = f"v_pub_file~v2-1.{secrets.randbelow(10**18):018d}"
        with self._lock:
            self.uploads[upload_id] = Upload(publish_id, upload_id, size, chunk, count, post, keep=self.keep_bytes)
        return 200, {}, _ok({"publish_id": publish_id,
                             "upload_url": f"{self.base_url}/upload/?upload_id={upload_id}&upload_token=fake"})

    def _put(self, h: BaseHTTPRequestHandler, query: dict, length: int) -> tuple[int, dict, dict | None]:
        upload = self.uploads.get(query.get("upload_id", ""))
        crange = h.headers.get("Content-Range", "")
        with self._lock:
            self.content_ranges.append(crange)
        if upload is None:
            _drain(h, length)
            return 404, {}, _api_error("not_found", "No such upload.")
        try:
            span, total = crange.removeprefix("bytes ").split("/")
            first, last = (int(x) for x in span.split("-"))
            problem = upload.check(first, last, int(total), length)
        except ValueError:
            problem = (400, f"Bad Content-Range {crange!r}.")
        if problem is None and h.headers.get("Content-Type", "") not in ("video/mp4", "video/quicktime", "video/webm"):
            problem = (400, "Content-Type must be the video's type (video/mp4).")
        if problem:
            _drain(h, length)
            return problem[0], {}, _api_error("invalid_params", problem[1])
        got = _read_into(h, memoryview(upload.data)[first:last + 1]) if upload.keep else _drain(h, length)
        if got != length:
            return 400, {}, _api_error("invalid_params", "The chunk arrived cut short.")
        upload.take(first, last, int(total), length)
        if not upload.complete:
            return 206, {}, None
        self._complete(upload)
        return 201, {}, None

    def _complete(self, upload: Upload) -> None:
        with self._lock:
            upload.polls_left = self.processing_polls
            if self.fail_reason:
                upload.fail_reason = self.fail_reason
            else:  # the upload completing posts the video: the irreversible step
                upload.post_id = str(7_000_000_000_000_000_000 + secrets.randbelow(10**18))
                self.posts[upload.post_id] = {"publish_id": upload.publish_id, **upload.post_info}
        self.final_applied.set()
        if self.final_touch:
            Path(self.final_touch).touch()
        if self.final_hold_s:
            time.sleep(self.final_hold_s)

    def _status(self, publish_id: str) -> tuple[int, dict, dict | None]:
        upload = self.by_publish_id(publish_id)
        if upload is None:
            return 400, {}, _api_error("invalid_params", "The publish_id does not exist.")
        with self._lock:
            if upload.complete and upload.polls_left > 0:
                upload.polls_left -= 1
            elif upload.complete:
                upload.status = "FAILED" if upload.fail_reason else "PUBLISH_COMPLETE"
        data: dict = {"status": upload.status, "uploaded_bytes": upload.received}
        if upload.status == "FAILED":
            data["fail_reason"] = upload.fail_reason
        if upload.status == "PUBLISH_COMPLETE":
            public = upload.post_info.get("privacy_level") != "SELF_ONLY"
            data["publicaly_available_post_id"] = [int(upload.post_id)] if public else []
        return 200, {}, _ok(data)


    def _video_query(self, query: dict, body: dict) -> tuple[int, dict, dict | None]:
        from tests.fake_metrics import TIKTOK_FIELDS

        fields = [f for f in query.get("fields", "").split(",") if f]
        ids = (body.get("filters") or {}).get("video_ids")
        if not fields or any(f not in TIKTOK_FIELDS for f in fields):
            return 400, {}, _api_error("invalid_params", f"fields must be chosen from {', '.join(TIKTOK_FIELDS)}.")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
            return 400, {}, _api_error("invalid_params", "filters.video_ids takes 1 to 20 video ids.")
        videos = self.audience.tiktok_videos([str(i) for i in ids], fields)
        return 200, {}, _ok({"videos": videos, "cursor": 0, "has_more": False})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # a client killed mid-request (the crash test does it on purpose) is not the fake's error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _ok(data: dict) -> dict:
    return {"data": data, "error": {"code": "ok", "message": "", "log_id": secrets.token_hex(8)}}


def _api_error(code: str, message: str) -> dict:
    return {"data": {}, "error": {"code": code, "message": message, "log_id": secrets.token_hex(8)}}


def _oauth_error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description, "log_id": secrets.token_hex(8)}


def _drain(h: BaseHTTPRequestHandler, length: int) -> int:
    scratch, got = memoryview(bytearray(min(length, 1 << 20))), 0
    while got < length:
        n = h.rfile.readinto(scratch[: min(length - got, len(scratch))])
        if not n:
            break
        got += n
    return got


def _read_into(h: BaseHTTPRequestHandler, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = h.rfile.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A local fake of TikTok's OAuth v2 and Content Posting API.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", help="an accepted bearer token (default: test-token)")
    parser.add_argument("--discard", action="store_true", help="check and count uploaded bytes without keeping them")
    args = parser.parse_args()
    fake = FakeTikTok(tokens=tuple(args.token or ("test-token",)))
    fake.keep_bytes = not args.discard
    fake.processing_polls = 0
    print(fake.start(args.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
