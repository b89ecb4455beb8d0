"""Connected accounts: OAuth 2 through Authlib (``state`` always, PKCE where the platform documents it), tokens sealed
with the studio's token box, refreshed before they expire. A token never leaves this module except as the return
value of :meth:`Connections.access_token`, and never reaches a log.

Refreshing is safe with several dispatchers at once: ``token_version`` is odd while one of them holds the refresh
(a conditional UPDATE claims it), so one refresh goes to the platform and the others read the token it stored. This
matters most where refresh tokens rotate: two refreshes with the same refresh token would end the grant."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_qs
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from models.errors import InvalidRequest
from studio.db import owned
from studio.errors import ApiError, Conflict, UpstreamUnavailable
from studio.publishing.base import AuthRevoked, Transient
from studio.publishing.platforms import Account, OAuthSpec, Platform, all_platforms, platform
from studio.tables import Connection, OAuthState, now

__all__ = ["Connections", "Deleted", "MissingVerifier", "CodeRefused", "PlatformNotConfigured", "Started",
           "StateMismatch", "DEFAULT_RETURN"]

log = logging.getLogger("studio.connections")

try:  # Authlib talks through httpx2 where it is installed (huggingface_hub brings it), else through httpx
    from authlib.integrations.httpx_client._compat import httpx2 as _authlib_http
except ImportError:  # pragma: no cover
    _authlib_http = httpx
HTTP_ERRORS = (httpx.HTTPError, _authlib_http.HTTPError)
STATUS_ERRORS = (httpx.HTTPStatusError, _authlib_http.HTTPStatusError)

STATE_TTL = timedelta(minutes=10)
REFRESH_AHEAD = timedelta(minutes=5)  # a token expiring sooner than this is refreshed before use
REFRESH_LEASE = timedelta(seconds=60)  # a refresh claim older than this belongs to a dead process: take it over
REFRESH_WAIT_S = 30.0  # how long a dispatcher waits for another one's refresh
HTTP_TIMEOUT_S = 20.0
DEFAULT_RETURN = "/studio/"


class PlatformNotConfigured(Conflict):
    code = "platform_not_configured"


class StateMismatch(ApiError):
    """The callback's ``state`` is unknown, expired, already used, or was started by someone else or elsewhere."""

    status = 400
    code = "oauth_state_mismatch"


class MissingVerifier(ApiError):
    status = 400
    code = "missing_pkce_verifier"


class CodeRefused(ApiError):
    status = 400
    code = "oauth_code_refused"


class Started(NamedTuple):
    authorize_url: str
    browser_binding: str  # kept by the browser (a cookie); its callback must show it


class Deleted(NamedTuple):
    revoked: bool  # False: the platform did not confirm; the creator should remove the access there
    message: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t  # SQLite gives naive datetimes


def _expiry(token: dict) -> datetime | None:
    return datetime.fromtimestamp(int(token["expires_at"]), UTC) if token.get("expires_at") else None


def _refusal(exc: Exception) -> str | None:
    """The platform's reason when it refused for good (the grant is gone); None for a failure worth trying again."""
    if isinstance(exc, OAuthError):
        return exc.error or "refused"
    if isinstance(exc, STATUS_ERRORS) and exc.response.status_code in (400, 401, 403):
        return f"HTTP {exc.response.status_code}"
    return None


def _stamped(token: dict) -> dict:
    """The token set with ``expires_at`` (from ``expires_in`` where the platform gave only that) and the moment it
    was issued: what the refresh rules read."""
    out = dict(token)
    if not out.get("expires_at") and out.get("expires_in"):
        out["expires_at"] = int(time.time()) + int(out["expires_in"])
    out.setdefault("issued_at", int(time.time()))
    return out


def _scopes(text: object) -> list[str]:
    """A token answer's ``scope``: space-separated (RFC 6749), comma-separated (TikTok, Meta) or a list."""
    if isinstance(text, list | tuple):
        return [str(x) for x in text]
    return [x for x in str(text or "").replace(",", " ").split() if x]


def _client_key_post(auth, method: str, uri: str, headers: dict, body: str):
    """Authlib client authentication for a token endpoint that wants the client in the form as ``client_key`` and
    ``client_secret`` (TikTok)."""
    body = add_params_to_qs(body or "", [("client_key", auth.client_id), ("client_secret", auth.client_secret)])
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(body))
    return uri, headers, body


def safe_return(path: str | None) -> str:
    """Where the browser goes after connecting: a path on this studio only (never another site)."""
    path = path or DEFAULT_RETURN
    if not path.startswith("/") or path.startswith(("//", "/\\")) or len(path) > 300 or not path.isprintable():
        raise InvalidRequest("return_to must be a path on this studio, like /studio/.",
                             f"Send {DEFAULT_RETURN!r} or leave it out.")
    return path


def connection_view(row: Connection) -> dict:
    return {"id": row.id, "platform": row.platform, "account_id": row.account_id, "name": row.name,
            "status": row.status, "reason": row.error, "scopes": list(row.scopes or []),
            "link": (row.info or {}).get("link") or (row.info or {}).get("url", ""),
            "expires_at": e.isoformat() if (e := _aware(row.expires_at)) else None,
            "connected_at": _aware(row.created_at).isoformat()}


class Connections:
    def __init__(self, hosted) -> None:
        self.db = hosted.db
        self.box = hosted.token_box
        self.publish = hosted.server.publish

    # -- what the connection screen shows ------------------------------------------------------------------------
    def platforms_view(self, owner: str) -> list[dict]:
        with self.db.session() as s:
            rows = s.scalars(select(Connection).where(Connection.owner_id == owner).order_by(Connection.created_at)).all()
        out = []
        for name, p in all_platforms(self.publish).items():
            configured = p.oauth() is not None
            out.append({"name": name, "label": p.label, "configured": configured,
                        "status": "configured" if configured else "not configured",
                        "settings_needed": [] if configured else list(p.settings_names), "notes": list(p.notes),
                        "accounts": [connection_view(r) for r in rows if r.platform == name]})
        return out

    # -- connecting ----------------------------------------------------------------------------------------------
    def start(self, owner: str, platform_name: str, redirect_uri: str, return_to: str = DEFAULT_RETURN, *,
              browser_binding: str | None = None) -> Started:
        """The platform's authorization address for ``owner``. ``browser_binding``: the one this browser already
        holds (several connect attempts in one browser share it); a new one is made otherwise."""
        p, spec = self._configured(platform_name)
        return_to = safe_return(return_to)
        state = secrets.token_urlsafe(32)
        binding = browser_binding if browser_binding and len(browser_binding) >= 32 else secrets.token_urlsafe(32)
        verifier = generate_token(64) if spec.pkce else ""  # RFC 7636: 43-128 unreserved characters
        with self._client(spec, redirect_uri) as client:
            url, _ = client.create_authorization_url(spec.authorize_url, state=state, code_verifier=verifier or None,
                                                     scope=spec.scope_separator.join(spec.scopes),
                                                     **spec.authorize_params)
        if spec.client_id_name != "client_id":  # TikTok names the client "client_key"
            parts = urlsplit(url)
            query = [(spec.client_id_name if k == "client_id" else k, v) for k, v in parse_qsl(parts.query)]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        with self.db.session() as s:
            s.execute(delete(OAuthState).where(OAuthState.created_at < now() - STATE_TTL))
            s.add(OAuthState(state_hash=_sha(state), owner_id=owner, platform=p.name, browser_hash=_sha(binding),
                             verifier=self.box.seal(verifier) if verifier else "", return_to=return_to))
        return Started(url, binding)

    def return_to(self, state: str) -> str:
        """Where the attempt named by ``state`` asked to return (a path on this studio), else the studio's start."""
        with self.db.session() as s:
            row = s.get(OAuthState, _sha(state)) if state else None
            return row.return_to if row is not None and row.return_to else DEFAULT_RETURN

    def finish(self, state: str, code: str, redirect_uri: str, *, owner: str | None = None,
               browser_binding: str | None = None, platform_name: str | None = None) -> dict:
        """Complete a connect attempt: from the browser (``browser_binding`` from its cookie) or from an API client
        (``owner``, the signed-in caller). Answers the connection's view."""
        if (owner is None) == (browser_binding is None):
            raise ValueError("finish() takes the owner (API callback) or the browser binding (browser callback)")
        # 1. the attempt: known, fresh, this caller's, and used once (a replayed callback stops here)
        owner_id, name, sealed_verifier = self._use_state(state, owner, browser_binding, platform_name)
        p, spec = self._configured(name)
        # 2. the PKCE verifier it was started with
        verifier = ""
        if spec.pkce:
            if not sealed_verifier:
                raise MissingVerifier(f"This {p.label} connect attempt has no PKCE verifier stored, so its code cannot "
                                      "be exchanged (missing PKCE verifier).", "Start connecting again.")
            verifier = self.box.open_text(sealed_verifier)
        # 3. the code for tokens (the long-lived kind, where the platform has one), 4. whose accounts, 5. kept, sealed
        token = self._exchange(p, spec, redirect_uri, code, verifier)
        try:
            token = _stamped(p.long_lived(token))
            accounts = p.accounts(token)
        except Transient as exc:
            raise UpstreamUnavailable(exc.message, exc.hint, code="platform_unavailable") from None
        except AuthRevoked as exc:
            raise CodeRefused(exc.message, "Start connecting again.") from None
        views = []
        for account in accounts:
            views.append(self._save(owner_id, p, spec, account, _stamped(account.token) if account.token else token))
            log.info("connected %s account %s as connection %s", p.name, account.account_id, views[-1]["id"])
        # one login may bring several accounts (each Facebook Page): the first answers, the others ride along
        return {**views[0], "also_connected": views[1:]} if len(views) > 1 else views[0]

    def _use_state(self, state: str, owner: str | None, binding: str | None, platform_name: str | None):
        """Mark the attempt used in one conditional UPDATE that also checks whose it is: of two callbacks with one
        state only one can match; a stranger's callback matches nothing and leaves the attempt as it was."""
        h = _sha(state or "")
        match = [OAuthState.state_hash == h, OAuthState.used_at.is_(None), OAuthState.created_at > now() - STATE_TTL]
        if platform_name is not None:
            match.append(OAuthState.platform == platform_name)
        match.append(OAuthState.owner_id == owner if owner is not None else OAuthState.browser_hash == _sha(binding or ""))
        with self.db.session() as s:
            if s.execute(update(OAuthState).where(*match).values(used_at=now())).rowcount != 1:
                raise StateMismatch("This connect attempt is unknown, expired, already used, or was started in another "
                                    "browser or by another account (state mismatch).",
                                    "Start connecting again from the Connections screen, in this browser.")
            row = s.get(OAuthState, h)
            return row.owner_id, row.platform, row.verifier

    def _exchange(self, p: Platform, spec: OAuthSpec, redirect_uri: str, code: str, verifier: str) -> dict:
        try:
            with self._client(spec, redirect_uri) as client:
                return dict(client.fetch_token(spec.token_url, grant_type="authorization_code", code=code,
                                               **({"code_verifier": verifier} if verifier else {})))
        except Exception as exc:
            if (why := _refusal(exc)) is not None:
                raise CodeRefused(f"{p.label} refused the sign-in code ({why}).", "Start connecting again.") from None
            if isinstance(exc, (*HTTP_ERRORS, ValueError)):
                raise UpstreamUnavailable(f"{p.label} did not answer the sign-in ({type(exc).__name__}).",
                                          "Try again in a minute.", code="platform_unavailable") from None
            raise

    def _save(self, owner: str, p: Platform, spec: OAuthSpec, account: Account, token: dict) -> dict:
        """Insert or update (owner, platform, account): reconnecting an account keeps its id, its posts and slots."""
        for attempt in range(2):
            try:
                with self.db.session() as s:
                    row = s.scalar(select(Connection).where(Connection.owner_id == owner, Connection.platform == p.name,
                                                            Connection.account_id == account.account_id))
                    old = self.box.open(row.token) if row is not None and row.token else {}
                    if row is None:
                        row = Connection(owner_id=owner, platform=p.name, account_id=account.account_id, token_version=0)
                        s.add(row)
                    else:  # an even version above any claim: a refresh in flight cannot overwrite the new token
                        row.token_version = row.token_version + 2 - row.token_version % 2
                    row.name, row.info, row.status, row.error = account.name, dict(account.info), "active", ""
                    row.scopes = _scopes(token.get("scope")) or list(spec.scopes)
                    row.token = self._seal(token, fallback_refresh=old.get("refresh_token", ""))
                    row.expires_at, row.updated_at = _expiry(token), now()
                    s.flush()
                    return connection_view(row)
            except IntegrityError:  # the same account connected twice at once: the second updates the first's row
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _seal(self, token: dict, fallback_refresh: str = "") -> str:
        return self.box.seal({"access_token": token["access_token"], "token_type": token.get("token_type", "Bearer"),
                              "refresh_token": token.get("refresh_token") or fallback_refresh,
                              "expires_at": token.get("expires_at"),
                              "issued_at": int(token.get("issued_at") or time.time())})

    # -- using a connection ----------------------------------------------------------------------------------------
    def access_token(self, connection_id: str) -> str:
        """The access token, refreshed first when it expires within five minutes."""
        deadline = time.monotonic() + REFRESH_WAIT_S
        while True:
            row = self._row(connection_id)
            if row.status != "active":
                raise self._revoked(row, row.error or "it was marked as needing a reconnect")
            expires = _aware(row.expires_at)
            soon = expires is not None and expires - now() <= REFRESH_AHEAD
            if not soon and not self._old(row):
                return self.box.open(row.token)["access_token"]
            v = row.token_version
            if v % 2 and _aware(row.updated_at) > now() - REFRESH_LEASE:  # another process is refreshing it
                if time.monotonic() > deadline:
                    raise Transient(f"The {row.platform} account {row.name!r} is still being refreshed elsewhere.",
                                    "It will be tried again.")
                time.sleep(0.05)
                continue
            claim = v + 1 if v % 2 == 0 else v + 2
            if self._set(connection_id, v, token_version=claim, updated_at=now()):
                try:
                    return self._refresh(row, claim)
                except Transient:
                    if soon:
                        raise
                    # only refreshed for its age (Instagram's rolling 60 days): the token in hand still works
                    return self.box.open(row.token)["access_token"]
            # another dispatcher claimed it first: read again (its token, or wait for it)

    def _old(self, row: Connection) -> bool:
        """Due a refresh for its age (the platform's ``refresh_after``), though not yet near its expiry."""
        try:
            spec = platform(row.platform, self.publish).oauth()
        except InvalidRequest:
            return False
        if spec is None or spec.refresh_after is None:
            return False
        issued = self.box.open(row.token).get("issued_at") or 0
        return time.time() - issued >= spec.refresh_after.total_seconds()

    def _refresh(self, row: Connection, claim: int) -> str:
        """Holding the claim: one refresh at the platform. The claim ends in ``finally`` with the new token, with
        "needs reconnecting", or (any other failure) with the token as it was, so the next use may try again."""
        settled: dict = {}
        try:
            p = platform(row.platform, self.publish)
            spec, refresh = p.oauth(), self.box.open(row.token).get("refresh_token", "")
            if spec is None:
                raise Transient(f"{p.label} is no longer configured on this studio, so {row.name!r} cannot be refreshed.",
                                f"Set {', '.join(p.settings_names)}.")
            own: dict | None = None
            try:
                own = p.refresh(spec, self.box.open(row.token))
            except AuthRevoked as exc:
                why = exc.message.rstrip(".")
            else:
                why = None if refresh or own is not None else "the platform gave no refresh token"
            if own is not None:
                new = _stamped(own)
            elif refresh and why is None:
                try:
                    with self._client(spec) as client:
                        new = _stamped(dict(client.refresh_token(spec.token_url, refresh_token=refresh)))
                except Exception as exc:
                    if (refused := _refusal(exc)) is None:
                        if isinstance(exc, (*HTTP_ERRORS, ValueError)):
                            raise Transient(f"{p.label} did not answer a token refresh ({type(exc).__name__}).",
                                            "It will be tried again.") from None
                        raise
                    why = f"{p.label} refused the refresh ({refused})"
            if why is not None:
                log.warning("connection %s needs reconnecting: %s", row.id, why)
                settled = {"status": "needs_reconnect", "error": why + "."}
                raise self._revoked(row, why)
            settled = {"token": self._seal(new, fallback_refresh=refresh), "expires_at": _expiry(new)}
            if new.get("scope"):
                settled["scopes"] = _scopes(new["scope"])
            return new["access_token"]
        finally:
            if not self._settle(row.id, claim, **settled) and "token" in settled:
                log.warning("connection %s was refreshed after its claim lapsed: another process refreshed it too", row.id)

    def mark_needs_reconnect(self, connection_id: str, why: str) -> None:
        with self.db.session() as s:
            s.execute(update(Connection).where(Connection.id == connection_id)
                      .values(status="needs_reconnect", error=why, updated_at=now()))
        log.warning("connection %s needs reconnecting: %s", connection_id, why)

    def delete(self, owner: str, connection_id: str) -> Deleted:
        """Revoke the studio's access at the platform, then forget the account. A failed revoke still deletes here."""
        with self.db.session() as s:
            row = owned(s, Connection, connection_id, owner, "connection")
        revoked, message = self._revoke(row)
        with self.db.session() as s:
            s.execute(delete(Connection).where(Connection.id == connection_id, Connection.owner_id == owner))
        if not revoked:
            log.warning("connection %s deleted without revoking at %s", connection_id, row.platform)
        return Deleted(revoked, message)

    def _revoke(self, row: Connection) -> tuple[bool, str]:
        p = platform(row.platform, self.publish)
        spec = p.oauth()
        by_hand = f"Removed here. Also remove the studio's access in your {p.label} account's security settings."
        if spec is None or not spec.revoke_url:
            return False, f"{p.label} cannot be asked to revoke the access from this studio. {by_hand}"
        try:
            token = self.box.open(row.token)
            hint = "refresh_token" if token.get("refresh_token") and spec.revoke_with == "refresh_token" \
                else "access_token"
            value = token.get(hint) if hint == "refresh_token" else self.access_token(row.id)  # fresh, if need be
            with self._client(spec) as client:
                r = client.revoke_token(spec.revoke_url, token=value, token_type_hint=hint)
            if r.status_code < 400:
                return True, f"Disconnected: {p.label} revoked the studio's access."
            return False, f"{p.label} did not revoke the access (HTTP {r.status_code}). {by_hand}"
        except Exception as exc:  # noqa: BLE001 - the local delete goes ahead whatever the platform says
            return False, f"{p.label} could not be reached to revoke the access ({type(exc).__name__}). {by_hand}"

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _configured(self, name: str) -> tuple[Platform, OAuthSpec]:
        p = platform(name, self.publish)
        spec = p.oauth()
        if spec is None:
            raise PlatformNotConfigured(f"{p.label} is not configured on this studio.",
                                        f"The operator sets {', '.join(p.settings_names)} and restarts it.")
        return p, spec

    def _client(self, spec: OAuthSpec, redirect_uri: str | None = None) -> OAuth2Client:
        client = OAuth2Client(spec.client_id, spec.client_secret, redirect_uri=redirect_uri, timeout=HTTP_TIMEOUT_S,
                              code_challenge_method="S256" if spec.pkce else None,
                              token_endpoint_auth_method=spec.token_auth,
                              revocation_endpoint_auth_method=spec.token_auth)
        client.register_client_auth_method(("client_key_post", _client_key_post))
        return client

    def _row(self, connection_id: str) -> Connection:
        with self.db.session() as s:
            row = s.get(Connection, connection_id)
        if row is None:
            raise AuthRevoked(f"Connection {connection_id!r} no longer exists.", "Connect the account again.")
        return row

    def _set(self, connection_id: str, version: int, **values) -> bool:
        with self.db.session() as s:
            return s.execute(update(Connection).where(Connection.id == connection_id, Connection.token_version == version)
                             .values(**values)).rowcount == 1

    def _settle(self, connection_id: str, claim: int, **values) -> bool:
        """End a refresh claim (the version becomes even again), storing ``values`` if the claim is still ours."""
        return self._set(connection_id, claim, token_version=claim + 1, updated_at=now(), **values)

    def _revoked(self, row: Connection, why: str) -> AuthRevoked:
        try:
            label = platform(row.platform, self.publish).label
        except InvalidRequest:  # a platform this studio no longer knows
            label = row.platform
        return AuthRevoked(f"The {label} account {row.name!r} needs reconnecting: {why}.",
                           "Open Connections and connect it again.")
