"""A local stand-in for Meta's APIs as Instagram and Facebook Reels publishing use them: one threaded server on
127.0.0.1 (a free port) for every host, told apart by path prefix. No logging of its own: tokens pass through it,
and what it records has them blanked.

* ``/ig/v23.0/...``: graph.instagram.com (Instagram API with Instagram Login): ``me``, ``<ig-user>/media`` (a
  resumable REELS container: ``{id, uri}``), ``<container>?fields=status_code,status``, ``<ig-user>/media_publish``,
  ``<ig-user>/content_publishing_limit``, ``<ig-user>/media`` (list), ``<media>?fields=permalink``; the long-lived
  exchange ``access_token?grant_type=ig_exchange_token`` and ``refresh_access_token?grant_type=ig_refresh_token``
  (a long-lived token at least 24 hours old).
* ``/ig-api/oauth/access_token`` (api.instagram.com: the code exchange) and ``/ig-www/oauth/authorize``.
* ``/fb/v23.0/...``: graph.facebook.com: ``oauth/access_token`` (the code exchange and ``fb_exchange_token``),
  ``me/accounts`` (each Page with its own token and tasks), ``<page>/video_reels`` (``upload_phase`` start / finish,
  ``video_state`` PUBLISHED or SCHEDULED with ``scheduled_publish_time`` in Unix seconds 10 minutes to 29 days
  ahead), ``<video>?fields=status`` and ``permalink_url``; ``/fb-www/v23.0/dialog/oauth``.
* ``/rupload/ig-api-upload/v23.0/<container>`` and ``/rupload/video-upload/v23.0/<video>``: ``Authorization: OAuth``,
  ``offset`` (must be what the fake holds) and ``file_size`` headers, the bytes as body.

Errors come in Graph's shape (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``; an unknown
or expired token is code 190) and rupload's (``{"debug_info": {"retriable", "type", "message"}}``).

Knobs (attributes): ``processing_polls`` (IN_PROGRESS answers after a complete upload before FINISHED),
``fail_after_polls`` (IN_PROGRESS that many times, then ERROR), ``expire(container_id)``, ``quota_usage`` /
``quota_total`` / ``quota_duration``, ``misroute_upload`` (the next container's ``uri`` names another container, so
the real one never gets its bytes), ``keep_only`` (the next Facebook upload keeps that many bytes and answers 500),
``account_type``, ``pages``, ``ig_token_shape`` ("data" or "flat"), ``refuse_refresh``, ``deny``, ``age_token``,
and the crash hook: ``final_touch`` (a file created) and ``final_hold_s`` (a delay) right after media_publish or
finish has been applied, before the answer.

Also ``PUT /sink`` (reads a body and drops it: the benchmark's plain-upload baseline). Standalone: ``python -m
tests.fake_meta --port 0`` prints one JSON line (base URL, tokens, settings).

Records: ``containers``, ``media`` (published, id → object), ``reels`` (video id → Reel), ``requests`` (``Seen``).

Metrics: with ``audience`` set (a tests/fake_metrics.AudienceModel), ``GET /ig/v23.0/<media>/insights?metric=...``
answers the model's Reels (an Audience whose ``account`` is set answers only that account's token).
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fake_oauth import follow_authorize

API = "v23.0"
CLIENT_ID, CLIENT_SECRET = "meta-app-id", "meta-app-secret-" + "m" * 16
IG_USER_ID, IG_USERNAME = "17841400000000001", "fake.creator"
FB_USER_ID = "10100000000000001"
SHORT_TTL, LONG_TTL = 3600, 60 * 86400
SCHEDULE_MIN_S, SCHEDULE_MAX_S = 10 * 60, 29 * 86400
SECRET_NAMES = ("access_token", "client_secret", "code", "fb_exchange_token", "input_token")


def default_pages() -> list[dict]:
    return [{"id": "100000000000001", "name": "Fake Bakery", "tasks": ["ANALYZE", "ADVERTISE", "MODERATE",
                                                                        "CREATE_CONTENT", "MANAGE"]},
            {"id": "100000000000002", "name": "Fake Band", "tasks": ["ANALYZE", "CREATE_CONTENT"]},
            {"id": "100000000000003", "name": "Read-only Page", "tasks": ["ANALYZE"]}]


@dataclass
class Token:
    kind: str  # ig_short | ig_long | fb_user_short | fb_user_long | fb_page
    subject: str  # the Instagram user, the Facebook user or the Page
    issued: float
    ttl: int | None

    def live(self) -> bool:
        return self.ttl is None or time.time() < self.issued + self.ttl


@dataclass
class Container:
    id: str
    user: str
    caption: str
    share_to_feed: bool
    created: float
    status_code: str = "IN_PROGRESS"
    status: str = "In Progress: Media is still being processed."
    size: int = 0
    data: bytearray = field(default_factory=bytearray)
    polls: int = 0  # status reads since its upload completed
    media_id: str | None = None


@dataclass
class Reel:
    id: str
    page: str
    size: int | None = None
    data: bytearray = field(default_factory=bytearray)
    state: str | None = None  # PUBLISHED | SCHEDULED once finished
    description: str = ""
    publish_time: int | None = None
    error: str = ""


@dataclass
class Seen:
    """One request as the fake saw it: tokens, secrets and codes blanked."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    status: int = 0


class FakeMeta:
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, dict] = {}
        self.containers: dict[str, Container] = {}
        self.media: dict[str, dict] = {}
        self.reels: dict[str, Reel] = {}
        self.requests: list[Seen] = []
        self.authorizations: list[dict] = []
        # knobs
        self.processing_polls = 1
        self.fail_after_polls: int | None = None
        self.quota_usage, self.quota_total, self.quota_duration = 0, 100, 86400
        self.misroute_upload = False
        self.keep_only: int | None = None
        self.account_type = "BUSINESS"
        self.pages = default_pages()
        self.ig_token_shape = "data"
        self.refuse_refresh = False
        self.deny = False
        self.final_applied = threading.Event()
        self.final_touch: str | None = None
        self.final_hold_s = 0.0
        self.audience = None  # a tests/fake_metrics.AudienceModel: insights of its Reels
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # ---- lifecycle and helpers for tests
    def start(self, port: int = 0) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # queries carry tokens and codes
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

    @property
    def ig_graph(self) -> str:
        return f"{self.base_url}/ig/{API}"

    @property
    def fb_graph(self) -> str:
        return f"{self.base_url}/fb/{API}"

    def issue(self, kind: str, subject: str, ttl: int | None = LONG_TTL) -> str:
        token = ("IGAA" if kind.startswith("ig") else "EAAB") + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = Token(kind, subject, time.time(), ttl)
        return token

    def page_token(self, page_id: str) -> str:
        return self.issue("fb_page", page_id, None)

    def age_token(self, token: str, seconds: float) -> None:
        """Make the fake's own record of a token that much older (a day passed)."""
        self.tokens[token].issued -= seconds

    def expire(self, container_id: str) -> None:
        self.containers[container_id].status_code = "EXPIRED"
        self.containers[container_id].status = "Expired: the container was not published within 24 hours."

    def approve(self, authorize_url: str) -> str:
        """Be the creator's browser at the authorize page: the address it sends the browser back to."""
        return follow_authorize(authorize_url)

    def settings(self) -> dict:
        """PublishSettings fields pointing both platforms at this fake."""
        return {"instagram_client_id": CLIENT_ID, "instagram_client_secret": CLIENT_SECRET,
                "instagram_auth_url": f"{self.base_url}/ig-www/oauth/authorize",
                "instagram_token_url": f"{self.base_url}/ig-api/oauth/access_token", "instagram_graph_url": self.ig_graph,
                "facebook_client_id": CLIENT_ID, "facebook_client_secret": CLIENT_SECRET,
                "facebook_auth_url": f"{self.base_url}/fb-www/{API}/dialog/oauth", "facebook_graph_url": self.fb_graph}

    def env(self) -> dict:
        """The same as environment variables, for a `studio dispatch` process."""
        return {f"STUDIO_{k.upper()}": v for k, v in self.settings().items()}

    def calls(self, method: str, suffix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # ---- HTTP
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        params = dict(parse_qsl(url.query))
        kind = h.headers.get("Content-Type", "")
        if "x-www-form-urlencoded" in kind:
            params.update(parse_qsl(raw.decode()))
        elif "json" in kind and raw:
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(raw).items()})
        auth = h.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if auth.startswith(("Bearer ", "OAuth ")) else params.get("access_token", "")
        seen = Seen(h.command, url.path, {k: "<hidden>" if k in SECRET_NAMES else v for k, v in params.items()},
                    {k.lower(): _blank(v) if k.lower() == "authorization" else v for k, v in h.headers.items()})
        with self._lock:
            self.requests.append(seen)
        try:
            status, body, headers = self._route(h, seen, params, token, raw)
        except Exception as exc:  # a fake's own bug shows as a 500, not a hung client
            status, body, headers = 500, _graph_error(1, f"fake error: {exc!r}")[1], {}
        seen.status = status
        payload = json.dumps(body).encode() if body is not None else b""
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if payload:
            h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _route(self, h, seen: Seen, p: dict, token: str, raw: bytes) -> tuple[int, dict | None, dict]:
        path, method = seen.path, seen.method
        if path == "/sink" and method == "PUT":  # the benchmark's baseline: one plain PUT, read (as uploads are)
            return 200, {"received": len(raw)}, {}
        if path == "/ig-www/oauth/authorize":
            return self._authorize(p, "ig", fragment="#_")  # Instagram appends #_ to the redirect
        if path == f"/fb-www/{API}/dialog/oauth":
            return self._authorize(p, "fb")
        if path == "/ig-api/oauth/access_token" and method == "POST":
            return self._ig_code(p)
        if path.startswith("/rupload/ig-api-upload/"):
            return self._ig_upload(h, path.rsplit("/", 1)[1], token, raw)
        if path.startswith("/rupload/video-upload/"):
            return self._fb_upload(h, path.rsplit("/", 1)[1], token, raw)
        if path.startswith(f"/ig/{API}/"):
            return (*self._ig(method, path.removeprefix(f"/ig/{API}/").split("/"), p, token), {})
        if path.startswith(f"/fb/{API}/"):
            return (*self._fb(method, path.removeprefix(f"/fb/{API}/").split("/"), p, token), {})
        return 404, {"error": {"message": f"no such path {path}"}}, {}

    # ---- OAuth
    def _authorize(self, p: dict, platform: str, fragment: str = "") -> tuple[int, dict | None, dict]:
        with self._lock:
            self.authorizations.append(dict(p))
        if p.get("client_id") != CLIENT_ID or p.get("response_type") != "code":
            return 400, {"error": {"message": "Invalid client_id or response_type"}}, {}
        if self.deny:
            back = {"error": "access_denied", "error_reason": "user_denied", "state": p.get("state", "")}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"platform": platform, "redirect_uri": p.get("redirect_uri", ""), "used": False,
                                "scope": p.get("scope", "")}
            back = {"code": code, "state": p.get("state", "")}
        redirect = p.get("redirect_uri", "")
        location = redirect + ("&" if "?" in redirect else "?") + urlencode(back) + fragment
        return 302, None, {"Location": location}

    def _use_code(self, p: dict, platform: str) -> str | None:
        """The reason the code is refused, or None."""
        code = self.codes.get(p.get("code", ""))
        if p.get("client_id") != CLIENT_ID or p.get("client_secret") != CLIENT_SECRET:
            return "Error validating client secret."
        if code is None or code["platform"] != platform or code["used"]:
            return "This authorization code has been used or is invalid."
        code["used"] = True
        if p.get("redirect_uri") != code["redirect_uri"]:
            return "Error validating verification code. Please make sure your redirect_uri is identical."
        return None

    def _ig_code(self, p: dict) -> tuple[int, dict | None, dict]:
        why = self._use_code(p, "ig") if p.get("grant_type") == "authorization_code" else "grant_type must be " \
                                                                                          "authorization_code"
        if why:
            return 400, {"error_type": "OAuthException", "code": 400, "error_message": why}, {}
        token = self.issue("ig_short", IG_USER_ID, SHORT_TTL)
        one = {"access_token": token, "user_id": IG_USER_ID,
               "permissions": "instagram_business_basic,instagram_business_content_publish"}
        return 200, ({"data": [one]} if self.ig_token_shape == "data" else {**one, "user_id": int(IG_USER_ID)}), {}

    # ---- Instagram graph
    def _ig(self, method: str, parts: list[str], p: dict, token: str) -> tuple[int, dict]:
        if parts == ["access_token"] and method == "GET":
            return self._ig_exchange(p)
        if parts == ["refresh_access_token"] and method == "GET":
            return self._ig_refresh(p)
        t = self.tokens.get(token)
        if t is None or not t.live() or not t.kind.startswith("ig"):
            return _graph_error(190, "Invalid OAuth access token - Cannot parse access token", status=400)
        user = t.subject
        if parts == ["me"]:
            return 200, _fields({"id": "9" + user[-15:], "user_id": user, "username": IG_USERNAME,
                                 "account_type": self.account_type}, p, "id")
        if parts[1:] == ["insights"] and method == "GET" and self.audience is not None \
                and (a := self.audience.posts.get(parts[0])) is not None and a.account in ("", user):
            return self.audience.instagram_insights(parts[0], [m for m in p.get("metric", "").split(",") if m])
        if len(parts) == 2 and parts[0] != user:
            return _graph_error(100, f"Unsupported request: object '{parts[0]}' is not this account's", sub=33)
        if parts[1:] == ["content_publishing_limit"]:
            return 200, {"data": [{"config": {"quota_total": self.quota_total, "quota_duration": self.quota_duration},
                                   "quota_usage": self.quota_usage}]}
        if parts[1:] == ["media"] and method == "POST":
            return self._ig_create(user, p)
        if parts[1:] == ["media"] and method == "GET":
            items = sorted(self.media.values(), key=lambda m: m["_order"], reverse=True)[: int(p.get("limit", 25))]
            return 200, {"data": [_fields(m, p, "id") for m in items]}
        if parts[1:] == ["media_publish"] and method == "POST":
            return self._ig_publish(user, p.get("creation_id", ""))
        if len(parts) == 1 and method == "GET":
            return self._ig_node(parts[0], user, p)
        return _graph_error(100, f"Unsupported {method} request on {'/'.join(parts)}", sub=33)

    def _ig_exchange(self, p: dict) -> tuple[int, dict]:
        t = self.tokens.get(p.get("access_token", ""))
        if p.get("grant_type") != "ig_exchange_token" or p.get("client_secret") != CLIENT_SECRET:
            return _graph_error(101, "Error validating client secret or grant type.")
        if t is None or not t.live() or t.kind != "ig_short":
            return _graph_error(190, "Invalid OAuth access token.")
        return 200, {"access_token": self.issue("ig_long", t.subject), "token_type": "bearer", "expires_in": LONG_TTL}

    def _ig_refresh(self, p: dict) -> tuple[int, dict]:
        t = self.tokens.get(p.get("access_token", ""))
        if p.get("grant_type") != "ig_refresh_token":
            return _graph_error(100, "grant_type must be ig_refresh_token")
        if self.refuse_refresh or t is None or not t.live() or t.kind != "ig_long":
            return _graph_error(190, "Error validating access token: The user has not authorized application.")
        if time.time() - t.issued < 86400:
            return _graph_error(100, "The access token is not yet 24 hours old and cannot be refreshed.")
        return 200, {"access_token": self.issue("ig_long", t.subject), "token_type": "bearer", "expires_in": LONG_TTL}

    def _ig_create(self, user: str, p: dict) -> tuple[int, dict]:
        if p.get("media_type") != "REELS" or p.get("upload_type") != "resumable":
            return _graph_error(100, "This fake takes media_type=REELS with upload_type=resumable only.")
        caption = p.get("caption", "")
        if len(caption) > 2200 or caption.count("#") > 30:
            return _graph_error(100, "The caption is over 2,200 characters or has over 30 hashtags.", sub=2207035)
        with self._lock:
            c = Container(_digits(17), user, caption, p.get("share_to_feed", "true") == "true", time.time())
            self.containers[c.id] = c
            target = c.id
            if self.misroute_upload:  # the answer names another (decoy) container: the real one never gets bytes
                self.misroute_upload = False
                decoy = Container(_digits(17), user, "", True, time.time())
                self.containers[decoy.id] = decoy
                target = decoy.id
        return 200, {"id": c.id, "uri": f"{self.base_url}/rupload/ig-api-upload/{API}/{target}"}

    def _ig_node(self, node: str, user: str, p: dict) -> tuple[int, dict]:
        if node in self.media:
            return 200, _fields(self.media[node], p, "id")
        c = self.containers.get(node)
        if c is None or c.user != user:
            return _graph_error(100, f"Unsupported get request. Object with ID '{node}' does not exist.", sub=33)
        with self._lock:
            if c.status_code == "IN_PROGRESS" and c.size and len(c.data) == c.size:
                c.polls += 1
                if self.fail_after_polls is not None and c.polls > self.fail_after_polls:
                    c.status_code, c.status = "ERROR", "Error: Media upload has failed with error code 2207026"
                elif self.fail_after_polls is None and c.polls > self.processing_polls:
                    c.status_code, c.status = "FINISHED", "Finished: Media has been uploaded and it is ready."
            if c.status_code in ("IN_PROGRESS", "FINISHED") and time.time() - c.created > 86400:
                c.status_code, c.status = "EXPIRED", "Expired: the container was not published within 24 hours."
        return 200, _fields({"id": c.id, "status_code": c.status_code, "status": c.status}, p, "id")

    def _ig_publish(self, user: str, creation_id: str) -> tuple[int, dict]:
        with self._lock:
            c = self.containers.get(creation_id)
            if c is None or c.user != user:
                return _graph_error(100, "Unsupported post request: the creation_id does not exist.", sub=33)
            if c.status_code == "PUBLISHED":
                return _graph_error(9007, "The media has already been published.", sub=2207008)
            if c.status_code != "FINISHED":
                return _graph_error(9007, f"Media ID is not available: the container is {c.status_code}.",
                                    sub=2207027)
            if self.quota_usage >= self.quota_total:
                return _graph_error(9, "The maximum number of posts that were published has been reached.",
                                    sub=2207042)
            media_id = _digits(17)
            self.media[media_id] = {
                "id": media_id, "caption": c.caption, "media_type": "VIDEO", "media_product_type": "REELS",
                "permalink": f"https://www.instagram.com/reel/{secrets.token_urlsafe(8)}/", "_order": len(self.media),
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "_bytes": c.data}  # not copied: a published container is never written again
            c.status_code, c.status, c.media_id = "PUBLISHED", "Published: Media has been published.", media_id
            self.quota_usage += 1
        self._applied()  # the irreversible step has happened; the client has not heard of it yet
        return 200, {"id": media_id}

    def _ig_upload(self, h, node: str, token: str, raw: bytes) -> tuple[int, dict | None, dict]:
        t = self.tokens.get(token) if h.headers.get("Authorization", "").startswith("OAuth ") else None
        c = self.containers.get(node)
        if t is None or not t.live() or not t.kind.startswith("ig"):
            return 401, _rupload_error("AuthError", "Invalid OAuth access token."), {}
        if c is None or c.user != t.subject:
            return 400, _rupload_error("ProcessingFailedError", "Request processing failed: unknown container."), {}
        return self._take(c, h, raw, resumable=False)

    def _take(self, target: Container | Reel, h, raw: bytes, resumable: bool) -> tuple[int, dict | None, dict]:
        """The rupload checks: offset (what the fake already holds) and file_size headers, the body's length."""
        try:
            offset, size = int(h.headers["offset"]), int(h.headers["file_size"])
        except (KeyError, TypeError, ValueError):
            return 400, _rupload_error("ProcessingFailedError", "offset and file_size headers are required."), {}
        held = len(target.data)
        if offset != held or size <= 0 or (target.size and size != target.size) or len(raw) != size - offset:
            return 400, _rupload_error("ProcessingFailedError",
                                       f"offset {offset} / file_size {size} / {len(raw)} bytes do not follow the "
                                       f"upload ({held} bytes held)."), {}
        with self._lock:
            target.size = size
            if resumable and self.keep_only is not None:  # the connection broke after keep_only bytes
                target.data += raw[: self.keep_only]
                self.keep_only = None
                return 500, _rupload_error("ServerError", "The upload was interrupted.", retriable=True), {}
            target.data += raw
        return 200, {"success": True, "message": "Upload successful."}, {}

    # ---- Facebook graph
    def _fb(self, method: str, parts: list[str], p: dict, token: str) -> tuple[int, dict]:
        if parts == ["oauth", "access_token"]:
            return self._fb_token(p)
        t = self.tokens.get(token)
        if t is None or not t.live() or not t.kind.startswith("fb"):
            return _graph_error(190, "Invalid OAuth access token - Cannot parse access token", status=400)
        if parts == ["me", "accounts"] and method == "GET":
            if not t.kind.startswith("fb_user"):
                return _graph_error(100, "me/accounts needs a user access token")
            return 200, {"data": [{"id": pg["id"], "name": pg["name"], "category": "Local business",
                                   "tasks": pg["tasks"], "access_token": self.page_token(pg["id"])}
                                  for pg in self.pages], "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}
        if len(parts) == 2 and parts[1] == "video_reels" and method == "POST":
            if t.kind != "fb_page" or t.subject != parts[0]:
                return _graph_error(200, "Publishing a Reel needs this Page's access token.", sub=None)
            return self._fb_reels(parts[0], p)
        if len(parts) == 1 and method == "GET":
            reel = self.reels.get(parts[0])
            if reel is None or t.kind != "fb_page" or t.subject != reel.page:
                return _graph_error(100, f"Unsupported get request. Object with ID '{parts[0]}' does not exist.", sub=33)
            return 200, _fields({"id": reel.id, "status": self._status(reel), "permalink_url": f"/reel/{reel.id}/",
                                 "description": reel.description}, p, "id")
        return _graph_error(100, f"Unsupported {method} request on {'/'.join(parts)}", sub=33)

    def _fb_token(self, p: dict) -> tuple[int, dict]:
        if p.get("grant_type") == "fb_exchange_token":
            t = self.tokens.get(p.get("fb_exchange_token", ""))
            if p.get("client_id") != CLIENT_ID or p.get("client_secret") != CLIENT_SECRET:
                return _graph_error(101, "Error validating client secret.")
            if t is None or not t.live() or t.kind != "fb_user_short":
                return _graph_error(190, "Invalid OAuth access token.")
            return 200, {"access_token": self.issue("fb_user_long", t.subject), "token_type": "bearer",
                         "expires_in": LONG_TTL}
        why = self._use_code(p, "fb")
        if why:
            return _graph_error(100, why)
        return 200, {"access_token": self.issue("fb_user_short", FB_USER_ID, 5400), "token_type": "bearer",
                     "expires_in": 5400}

    def _fb_reels(self, page: str, p: dict) -> tuple[int, dict]:
        phase = p.get("upload_phase")
        if phase == "start":
            reel = Reel(_digits(16), page)
            with self._lock:
                self.reels[reel.id] = reel
            return 200, {"video_id": reel.id, "upload_url": f"{self.base_url}/rupload/video-upload/{API}/{reel.id}"}
        if phase != "finish":
            return _graph_error(100, "(#100) upload_phase must be one of start, finish")
        with self._lock:
            reel = self.reels.get(p.get("video_id", ""))
            if reel is None or reel.page != page:
                return _graph_error(100, "(#100) Invalid video_id for this Page")
            if reel.state is not None:
                return _graph_error(100, "(#100) This video has already been finished.")
            if not reel.size or len(reel.data) != reel.size:
                return _graph_error(100, f"(#100) The upload is not complete ({len(reel.data)} of {reel.size} bytes).")
            state, when = p.get("video_state"), int(time.time())
            if state == "SCHEDULED":
                try:
                    when = int(p.get("scheduled_publish_time", ""))
                except ValueError:
                    return _graph_error(100, "(#100) Invalid parameter", user_msg="scheduled_publish_time is invalid.")
                if not SCHEDULE_MIN_S <= when - time.time() <= SCHEDULE_MAX_S:  # milliseconds land ~50,000 years out
                    return _graph_error(100, "(#100) Invalid parameter", user_msg="The specified scheduled publish "
                                        "time is invalid: it must be 10 minutes to 29 days from now.")
            elif state != "PUBLISHED":
                return _graph_error(100, "(#100) video_state must be PUBLISHED, SCHEDULED or DRAFT")
            reel.state, reel.publish_time, reel.description = state, when, p.get("description", "")
        self._applied()
        return 200, {"success": True}

    def _fb_upload(self, h, node: str, token: str, raw: bytes) -> tuple[int, dict | None, dict]:
        t = self.tokens.get(token) if h.headers.get("Authorization", "").startswith("OAuth ") else None
        reel = self.reels.get(node)
        if t is None or not t.live() or t.kind != "fb_page":
            return 401, _rupload_error("AuthError", "Invalid OAuth access token."), {}
        if reel is None or reel.page != t.subject:
            return 400, _rupload_error("ProcessingFailedError", "Request processing failed: unknown video."), {}
        return self._take(reel, h, raw, resumable=True)

    @staticmethod
    def _status(reel: Reel) -> dict:
        held, size = len(reel.data), reel.size
        uploading = {"status": "not_started" if not size else "complete" if held == size else "in_progress",
                     "bytes_transferred": held}
        processing: dict = {"status": "complete" if reel.state else "not_started"}
        publishing: dict = {"status": "not_started"}
        if reel.error:
            processing = {"status": "error", "errors": [{"code": 1363011, "message": reel.error}]}
        if reel.state:
            publishing = {"status": "complete", "publish_status": reel.state.lower(), "publish_time": reel.publish_time}
        video_status = "error" if reel.error else "ready" if reel.state else \
            "upload_complete" if uploading["status"] == "complete" else "uploading"
        return {"video_status": video_status, "uploading_phase": uploading, "processing_phase": processing,
                "publishing_phase": publishing}

    # ---- the crash hook
    def _applied(self) -> None:
        self.final_applied.set()
        if self.final_touch:
            Path(self.final_touch).touch()
        if self.final_hold_s:
            time.sleep(self.final_hold_s)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # a client killed mid-request (the crash tests do it on purpose) is not the fake's error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _graph_error(code: int, message: str, sub: int | None = None, status: int = 400,
                 user_msg: str | None = None) -> tuple[int, dict]:
    error: dict = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace"}
    if sub is not None:
        error["error_subcode"] = sub
    if user_msg:
        error["error_user_msg"] = user_msg
    return status, {"error": error}


def _blank(authorization: str) -> str:
    """The scheme kept (Bearer / OAuth), the token not."""
    return authorization.split(" ", 1)[0] + " <hidden>"


def _rupload_error(kind: str, message: str, retriable: bool = False) -> dict:
    return {"debug_info": {"retriable": retriable, "type": kind, "message": message}}


def _fields(obj: dict, p: dict, *always: str) -> dict:
    """Graph answers the fields asked for (and the id)."""
    asked = [f for f in p.get("fields", "").split(",") if f] or list(always)
    return {k: obj[k] for k in (*always, *asked) if k in obj}


def _digits(n: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


def main() -> None:
    """Standalone (the upload benchmark runs it in a process of its own): prints one JSON line with its base URL,
    an Instagram user token and a Facebook Page token it accepts."""
    import argparse

    parser = argparse.ArgumentParser(description="A local fake of Meta's Instagram and Facebook Reels APIs.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FakeMeta()
    fake.processing_polls = 0
    base = fake.start(args.port)
    page = default_pages()[0]["id"]
    print(json.dumps({"base_url": base, "ig_user": IG_USER_ID, "ig_token": fake.issue("ig_long", IG_USER_ID),
                      "page": page, "page_token": fake.page_token(page), **fake.settings()}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
