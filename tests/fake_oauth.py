"""A local OAuth 2 authorization server (RFC 6749, PKCE RFC 7636, revocation RFC 7009), as far as connecting an
account uses one. Threaded, on 127.0.0.1 at a free port; no logging of its own (tokens pass through it).

* ``GET /authorize``: the user approves at once: 302 to ``redirect_uri`` with ``code`` and ``state`` (or
  ``error=access_denied`` with ``deny``). The ``code_challenge`` is recorded with the code.
* ``POST /token``: ``authorization_code`` (client check, same ``redirect_uri``, PKCE S256 checked when the code has a
  challenge, codes single-use: a replayed code is 400 ``invalid_grant``) and ``refresh_token`` (rotation and
  revocation as configured).
* ``POST /revoke``: the token (access or refresh, and with a refresh token its whole grant) stops working.

Knobs (attributes): ``client_id``/``client_secret`` (None accepts any client), ``expires_in``, ``rotate`` (each refresh
answers a new refresh token and ends the old one), ``refuse_refresh`` (every refresh is 400 invalid_grant: the user
revoked the app), ``token_status`` (answer every token request with this 5xx), ``refresh_delay_s`` (a slow token
endpoint, to let races show), ``revoke_status`` (the revoke endpoint answers this), ``deny`` and the hooks
``on_token(access_token)`` / ``on_revoke(token)`` (to tell a fake API which tokens are good).

Records: ``authorizations`` (the query of each /authorize), ``refreshes`` (count), ``exchanges`` (count of codes
traded), ``revoked`` (tokens revoked), ``access_tokens``/``refresh_tokens`` (what is live).

Use: ``fake = FakeOAuth(); base = fake.start(); ...; fake.stop()``; ``fake.approve(authorize_url)`` plays the
user's browser at /authorize and answers the address it was sent back to.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit


@dataclass
class Grant:
    """One user's consent: the tokens issued from one code, ended together by a revoke."""

    client_id: str
    scope: str
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


class FakeOAuth:
    def __init__(self, client_id: str | None = None, client_secret: str | None = None) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.expires_in = 3600
        self.rotate = False
        self.refuse_refresh = False
        self.token_status: int | None = None
        self.refresh_delay_s = 0.0
        self.revoke_status = 200
        self.deny = False
        self.on_token: Callable[[str], None] | None = None
        self.on_revoke: Callable[[str], None] | None = None
        self.authorizations: list[dict] = []
        self.refreshes = 0
        self.exchanges = 0
        self.revoked: list[str] = []
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # ---- lifecycle
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # the query and bodies carry codes and tokens
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ---- helpers for tests
    def approve(self, authorize_url: str) -> str:
        """Be the user's browser at /authorize: answer the address it redirects to (code and state in its query)."""
        return follow_authorize(authorize_url)

    def is_live(self, access_token: str) -> bool:
        with self._lock:
            grant = self.access_tokens.get(access_token)
            return grant is not None and not grant.revoked

    # ---- HTTP
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(h.rfile.read(length).decode())) if length else {}
        if h.command == "GET" and url.path == "/authorize":
            return self._authorize(h, dict(parse_qsl(url.query)))
        if h.command == "POST" and url.path == "/token":
            status, body = self._token(h, form)
        elif h.command == "POST" and url.path == "/revoke":
            status, body = self._revoke(form)
        else:
            status, body = 404, {"error": "not_found"}
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Cache-Control", "no-store")
        h.end_headers()
        h.wfile.write(data)

    def _authorize(self, h: BaseHTTPRequestHandler, q: dict) -> None:
        with self._lock:
            self.authorizations.append(q)
            if self.deny:
                back = {"error": "access_denied", "state": q.get("state", "")}
            else:
                code = secrets.token_urlsafe(24)
                self.codes[code] = Code(Grant(q.get("client_id", ""), q.get("scope", "")), q.get("redirect_uri", ""),
                                        q.get("code_challenge", ""), q.get("code_challenge_method", "plain"))
                back = {"code": code, "state": q.get("state", "")}
        redirect = q.get("redirect_uri", "")
        h.send_response(302)
        h.send_header("Location", redirect + ("&" if "?" in redirect else "?") + urlencode(back))
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _client_ok(self, h: BaseHTTPRequestHandler, form: dict) -> bool:
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return (self.client_id is None or cid == self.client_id) and \
               (self.client_secret is None or secret == self.client_secret)

    def _token(self, h: BaseHTTPRequestHandler, form: dict) -> tuple[int, dict]:
        if self.token_status:
            return self.token_status, {"error": "server_error"}
        if not self._client_ok(h, form):
            return 401, {"error": "invalid_client"}
        kind = form.get("grant_type")
        if kind == "authorization_code":
            return self._exchange(form)
        if kind == "refresh_token":
            time.sleep(self.refresh_delay_s)
            return self._refresh(form)
        return 400, {"error": "unsupported_grant_type"}

    def _exchange(self, form: dict) -> tuple[int, dict]:
        with self._lock:
            code = self.codes.get(form.get("code", ""))
            if code is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown code"}
            if code.used:  # RFC 6749 §4.1.2: a code used twice also ends what it issued
                code.grant.revoked = True
                return 400, {"error": "invalid_grant", "error_description": "code already used"}
            code.used = True
            if form.get("redirect_uri", "") != code.redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
            if code.challenge:
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not verifier or (digest if code.method == "S256" else verifier) != code.challenge:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            self.exchanges += 1
            return 200, self._issue(code.grant, refresh=True)

    def _refresh(self, form: dict) -> tuple[int, dict]:
        with self._lock:
            self.refreshes += 1
            token = form.get("refresh_token", "")
            grant = self.refresh_tokens.get(token)
            if self.refuse_refresh or grant is None or grant.revoked or token not in grant.refresh:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            if self.rotate:
                grant.refresh.discard(token)
            return 200, self._issue(grant, refresh=self.rotate)

    def _issue(self, grant: Grant, refresh: bool) -> dict:
        access = secrets.token_urlsafe(32)
        grant.access.add(access)
        self.access_tokens[access] = grant
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in, "scope": grant.scope}
        if refresh:
            body["refresh_token"] = secrets.token_urlsafe(32)
            grant.refresh.add(body["refresh_token"])
            self.refresh_tokens[body["refresh_token"]] = grant
        if self.on_token:
            self.on_token(access)
        return body

    def _revoke(self, form: dict) -> tuple[int, dict]:
        if self.revoke_status >= 400:
            return self.revoke_status, {"error": "server_error"}
        token = form.get("token", "")
        with self._lock:
            grant = self.refresh_tokens.get(token) or self.access_tokens.get(token)
            if grant is None:
                return 400, {"error": "invalid_token"}
            self.revoked.append(token)
            grant.revoked = True
            ended = list(grant.access) if token in grant.refresh else [token]
        for access in ended:
            if self.on_revoke:
                self.on_revoke(access)
        return 200, {}


def follow_authorize(authorize_url: str) -> str:
    """Be the user's browser at a (fake) platform's authorize page, which approves at once: answer the address it
    sends the browser back to, not following it (the studio's callback is called by the test)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(authorize_url, timeout=10)
    except urllib.error.HTTPError as e:
        if e.code in (302, 303):
            return e.headers["Location"]
        raise
    raise AssertionError("the authorize page did not redirect")
