"""Supabase Auth (GoTrue) behind our AuthProvider interface.

Each call builds a throw-away ``SyncGoTrueClient`` over one shared ``httpx.Client``: the library keeps a "current
session" and a PKCE verifier in the client, and on a server that state must never be shared between two people's
requests. Access tokens are verified locally (``SupabaseTokenVerifier``), not by calling Supabase.

GoTrue's answers become our errors with stable codes; 5xx and network failures are retried with backoff, then
reported as ``UpstreamUnavailable``. No token, password or key is ever put into an error message or a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError
from supabase_auth import SyncGoTrueClient, SyncMemoryStorage
from supabase_auth.errors import AuthError, AuthRetryableError, AuthUnknownError, AuthWeakPasswordError
from supabase_auth.types import User

from studio.auth.base import Principal, Session
from studio.auth.jwt_verify import SupabaseTokenVerifier
from studio.errors import ApiError, Conflict, Forbidden, RateLimited, Unauthorized, UpstreamUnavailable
from studio.upstream import TRY_AGAIN, Transient, with_retries

if TYPE_CHECKING:
    from studio.settings import ServerSettings

__all__ = ["SupabaseAuth", "WeakPassword"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_STORAGE_KEY = "studio.supabase"
_PROVIDER = re.compile(r"[a-z][a-z0-9_]{1,31}")


class WeakPassword(ApiError):
    status = 422
    code = "weak_password"


# What a refused (4xx) call means when GoTrue's error code says nothing more specific.
_REFUSED: dict[str, Callable[[], ApiError]] = {
    "sign_in": lambda: Unauthorized("Wrong email or password.", "Check both, or reset the password.", code="invalid_credentials"),
    "sign_up": lambda: ApiError("Supabase Auth refused the sign-up.", "Check the email address and the password.",
                                code="signup_rejected"),
    "refresh": lambda: Unauthorized("The refresh token is expired, revoked or already used.", "Sign in again.",
                                    code="invalid_refresh_token"),
    "exchange_code": lambda: Unauthorized("The sign-in code is invalid, expired or already used, or its verifier does not match.",
                                          "Start the sign-in again.", code="invalid_auth_code"),
    "sign_out": lambda: Unauthorized("The session has already ended.", code="session_ended"),
}


class SupabaseAuth:
    """``AuthProvider`` for ``STUDIO_AUTH=supabase``: ``url`` is the project URL (``https://<ref>.supabase.co``) and
    ``anon_key`` its public (anon / publishable) key; ``jwt_secret`` only for legacy HS256 projects."""

    name = "supabase"

    def __init__(self, url: str, anon_key: str, *, jwt_secret: str | None = None,
                 verifier: SupabaseTokenVerifier | None = None, http_client: httpx.Client | None = None,
                 attempts: int = 3, retry_wait: float = 0.5, timeout: float = 10.0) -> None:
        if not url or not anon_key:
            raise ValueError("SupabaseAuth needs the project URL and its anon key")
        self._auth_url = f"{url.rstrip('/')}/auth/v1"
        self._anon_key = anon_key
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._verifier = verifier or SupabaseTokenVerifier(url, jwt_secret, http_client=self._http, api_key=anon_key)
        self._attempts = max(1, attempts)
        self._retry_wait = retry_wait

    def __repr__(self) -> str:
        return f"SupabaseAuth({self._auth_url!r})"

    @classmethod
    def from_settings(cls, settings: ServerSettings, **kwargs: Any) -> SupabaseAuth:
        if not (settings.supabase_url and settings.supabase_anon_key):
            raise ValueError("Set SUPABASE_URL and SUPABASE_ANON_KEY to use Supabase Auth")
        return cls(settings.supabase_url, settings.supabase_anon_key, jwt_secret=settings.supabase_jwt_secret, **kwargs)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- AuthProvider -----------------------------------------------------------------------------------------------

    def sign_up(self, email: str, password: str) -> Session | Principal:
        response = self._call("sign_up", lambda c: c.sign_up({"email": email, "password": password}))
        if response.session is not None:
            return _session(response.session)
        if response.user is None:
            raise UpstreamUnavailable("Supabase Auth answered the sign-up without a user.", TRY_AGAIN)
        return _principal(response.user)  # email confirmation is on: the account signs in after confirming

    def sign_in(self, email: str, password: str) -> Session:
        response = self._call("sign_in", lambda c: c.sign_in_with_password({"email": email, "password": password}))
        return _required_session(response.session)

    def refresh(self, refresh_token: str) -> Session:
        if not refresh_token:
            raise _REFUSED["refresh"]()
        response = self._call("refresh", lambda c: c.refresh_session(refresh_token))
        return _required_session(response.session)

    def sign_out(self, refresh_token: str | None, access_token: str | None) -> None:
        """Revoke this session (GoTrue ``POST /logout?scope=local``). An expired access token is swapped for a fresh
        one through the refresh token first; a session that is already gone is not an error."""
        if access_token and self._logout(access_token):
            return
        if refresh_token:
            try:
                fresh = self.refresh(refresh_token)
            except Unauthorized:
                return  # the refresh token no longer works either: nothing is left to revoke
            self._logout(fresh.access_token)

    def verify(self, access_token: str) -> Principal:
        return self._verifier.verify(access_token)

    # -- OAuth with PKCE --------------------------------------------------------------------------------------------

    def oauth_url(self, provider: str, redirect_to: str) -> tuple[str, str]:
        """The provider sign-in URL to send the browser to, and the PKCE code verifier to keep (server side or in an
        httpOnly cookie) until ``exchange_code``. No request is made."""
        if not isinstance(provider, str) or not _PROVIDER.fullmatch(provider):
            raise ApiError("Unknown sign-in provider.", "Use a provider name such as google or github.", code="invalid_provider")
        if not isinstance(redirect_to, str) or not redirect_to.startswith(("https://", "http://")):
            raise ApiError("The redirect address must be an http(s) URL.", code="invalid_redirect")
        storage = SyncMemoryStorage()
        client = self._gotrue(flow_type="pkce", storage=storage)
        url = client.sign_in_with_oauth({"provider": provider, "options": {"redirect_to": redirect_to}}).url  # type: ignore[typeddict-item]
        verifier = storage.get_item(f"{_STORAGE_KEY}-code-verifier")
        if not verifier:
            raise RuntimeError("supabase_auth did not keep a PKCE code verifier; check the pinned supabase version")
        return url, verifier

    def exchange_code(self, auth_code: str, code_verifier: str) -> Session:
        if not auth_code or not code_verifier:
            raise _REFUSED["exchange_code"]()
        response = self._call("exchange_code",
                              lambda c: c.exchange_code_for_session({"auth_code": auth_code, "code_verifier": code_verifier}))
        return _required_session(response.session)

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def _gotrue(self, *, flow_type: str = "implicit", storage: SyncMemoryStorage | None = None) -> SyncGoTrueClient:
        return SyncGoTrueClient(url=self._auth_url, headers={"apikey": self._anon_key}, http_client=self._http,
                                storage_key=_STORAGE_KEY, storage=storage, auto_refresh_token=False,
                                persist_session=False, flow_type=flow_type)  # type: ignore[arg-type]

    def _logout(self, access_token: str) -> bool:
        """True when the session was revoked; False when GoTrue no longer accepts this access token."""
        try:
            self._call("sign_out", lambda c: c.admin.sign_out(access_token, "local"))
        except Unauthorized:
            return False
        return True

    def _call(self, op: str, fn: Callable[[SyncGoTrueClient], T]) -> T:
        def attempt() -> T:
            try:
                return fn(self._gotrue())
            except AuthError as e:
                raise _translate(op, e) from None
            except ValidationError:
                log.warning("Supabase Auth %s: the answer did not have the documented shape", op)
                raise UpstreamUnavailable("Supabase Auth gave an answer this studio does not understand.", TRY_AGAIN) from None

        return with_retries("Supabase Auth", op, attempt, attempts=self._attempts, retry_wait=self._retry_wait)


def _translate(op: str, error: AuthError) -> Exception:
    """One GoTrue failure → ``Transient`` (retry) or the ApiError the caller sees."""
    status, code, response = _details(error)
    if status == 429 or (code or "").startswith("over_"):
        return RateLimited("Too many attempts at Supabase Auth.", _retry_after(response), "Wait a moment and try again.")
    if isinstance(error, AuthRetryableError) or status == 0 or status >= 500:
        return Transient(status)
    if isinstance(error, AuthWeakPasswordError) or code == "weak_password":
        hint = error.message if isinstance(error, AuthWeakPasswordError) else "Use a longer password with a mix of characters."
        return WeakPassword("The password is too weak.", hint)
    if code in ("user_already_exists", "email_exists"):
        return Conflict("An account with this email already exists.", "Sign in instead, or reset the password.",
                        code="email_taken")
    if code == "email_not_confirmed":
        return Unauthorized("This email address is not confirmed yet.", "Open the link in the confirmation email, then sign in.",
                            code="email_not_confirmed")
    if code in ("signup_disabled", "email_provider_disabled"):
        return Forbidden("New accounts cannot be created right now.", code="signup_disabled")
    if code == "email_address_invalid":
        return ApiError("This email address is not valid.", "Check it for typos.", code="invalid_email")
    if code == "user_banned":
        return Forbidden("This account is suspended.", code="account_suspended")
    if isinstance(error, AuthUnknownError) and code is None:  # a 4xx that is not GoTrue JSON: a proxy, a wrong URL
        log.warning("Supabase Auth %s: unexpected HTTP %s answer", op, status)
        return UpstreamUnavailable(f"Supabase Auth gave an unexpected answer (HTTP {status}).", "Check SUPABASE_URL.")
    return _REFUSED[op]()


def _details(error: AuthError) -> tuple[int, str | None, httpx.Response | None]:
    """HTTP status, GoTrue error code and the raw response (the library chains its HTTPStatusError as the cause)."""
    cause = error.__cause__
    response = cause.response if isinstance(cause, httpx.HTTPStatusError) else None
    status = int(getattr(error, "status", 0) or (response.status_code if response is not None else 0))
    code = error.code
    if code is None and response is not None:
        code = response.headers.get("x-sb-error-code") or _body_code(response)
    return status, code, response


def _body_code(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("error_code", "code"):  # legacy shape, then the 2024-01-01 shape
        if isinstance(body.get(key), str):
            return body[key]
    return None


def _retry_after(response: httpx.Response | None) -> int:
    raw = response.headers.get("retry-after", "") if response is not None else ""
    return int(raw) if raw.isdigit() else 60


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, email=user.email or "")


def _session(session: Any) -> Session:
    return Session(access_token=session.access_token, refresh_token=session.refresh_token, expires_in=int(session.expires_in),
                   user=_principal(session.user), token_type=session.token_type or "bearer")


def _required_session(session: Any) -> Session:
    if session is None:
        raise UpstreamUnavailable("Supabase Auth answered without a session.", TRY_AGAIN)
    return _session(session)
