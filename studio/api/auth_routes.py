"""/api/auth/* and /api/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from models.errors import InvalidRequest
from studio.api.deps import ACCESS_COOKIE, REFRESH_COOKIE, client_ip, current_user, hosted
from studio.api.docs import AUTHED, errors, redirect
from studio.auth.base import Principal, Session
from studio.errors import Forbidden, NotFound, Unauthorized

router = APIRouter(prefix="/api", tags=["accounts"])


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=512)


def _auth(request: Request):
    h = hosted(request)
    if h.auth is None:
        raise Forbidden("Accounts are switched off on this server (STUDIO_AUTH=none).", code="auth_disabled")
    return h.auth


def session_body(session: Session) -> dict:
    return {"access_token": session.access_token, "refresh_token": session.refresh_token,
            "token_type": session.token_type, "expires_in": session.expires_in,
            "user": {"id": session.user.user_id, "email": session.user.email}}


def set_session_cookies(server, response: Response, session: Session) -> None:
    """``server``: the ServerSettings (cookie lifetimes, secure flag)."""
    response.set_cookie(REFRESH_COOKIE, session.refresh_token, max_age=server.refresh_ttl_s, httponly=True,
                        secure=server.secure_cookies, samesite="strict", path="/")
    response.set_cookie(ACCESS_COOKIE, session.access_token, max_age=server.access_ttl_s, httponly=True,
                        secure=server.secure_cookies, samesite="lax", path="/")


def require_same_origin(request: Request) -> None:
    """A browser names the page that sent a POST (Origin, else Referer); refuse it unless it is this server (or a
    site in STUDIO_CORS_ORIGINS), so another site's form cannot end a creator's session. Clients that are not
    browsers send neither header and are not affected."""
    from urllib.parse import urlsplit

    sender = request.headers.get("origin") or request.headers.get("referer")
    if not sender:
        return
    parts = urlsplit(sender)
    allowed = hosted(request).server.cors_origins
    if parts.netloc != request.headers.get("host", "") and f"{parts.scheme}://{parts.netloc}" not in allowed:
        raise Forbidden("This request came from another site.", "Sign out from the studio's own page.",
                        code="cross_site_request")


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(REFRESH_COOKIE, path="/")
    response.delete_cookie(ACCESS_COOKIE, path="/")


@router.post("/auth/signup", status_code=201, responses=errors(400, 403, 409, 422, 429, 503))
def signup(body: Credentials, request: Request, response: Response) -> dict:
    """Create an account. Answers the session at once, or only the user when the provider asks to confirm the email."""
    auth = _auth(request)
    hosted(request).login_limiter.hit(f"signup-ip:{client_ip(request)}", f"signup-account:{body.email.strip().lower()}")
    made = auth.sign_up(body.email, body.password)
    if isinstance(made, Principal):
        hosted(request).ensure_user(made)
        return {"user": {"id": made.user_id, "email": made.email}, "confirmation_required": True}
    hosted(request).ensure_user(made.user)
    set_session_cookies(hosted(request).server, response, made)
    return {**session_body(made), "confirmation_required": False}


@router.post("/auth/login", responses=errors(400, 401, 403, 422, 429, 503))
def login(body: Credentials, request: Request, response: Response) -> dict:
    """Sign in with email and password: tokens for API clients; the same session as httpOnly cookies for browsers."""
    auth = _auth(request)
    h, ip, account = hosted(request), client_ip(request), body.email.strip().lower()
    h.login_limiter.hit(f"login-ip:{ip}")
    h.sign_in_throttle.check(account, ip)
    try:
        session = auth.sign_in(body.email, body.password)
    except Unauthorized:
        h.sign_in_throttle.failed(account, ip)
        raise
    h.sign_in_throttle.succeeded(account)
    h.ensure_user(session.user)
    set_session_cookies(hosted(request).server, response, session)
    return session_body(session)


@router.post("/auth/refresh", responses=errors(400, 401, 403, 422, 503))
def refresh(request: Request, response: Response, body: RefreshIn | None = None) -> dict:
    """Trade a refresh token (JSON body or cookie) for a new session. Each refresh token works once."""
    auth = _auth(request)
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("No refresh token was sent.", "Send {\"refresh_token\": ...} or sign in again.",
                           code="missing_token")
    session = auth.refresh(token)
    set_session_cookies(hosted(request).server, response, session)
    return session_body(session)


@router.post("/auth/logout", status_code=204, responses=errors(400, 403, 422, 503))
def logout(request: Request, response: Response, body: RefreshIn | None = None) -> Response:
    """End the session named by the refresh token (body or cookie) or, with only ``Authorization: Bearer``, the
    session that access token belongs to: every refresh token rotated in it stops working, and the access token is
    refused from now on."""
    auth = _auth(request)
    require_same_origin(request)
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    bearer = request.headers.get("authorization", "").partition(" ")[2] or request.cookies.get(ACCESS_COOKIE) or None
    auth.sign_out(token, bearer)
    out = Response(status_code=204)
    clear_session_cookies(out)
    return out


@router.get("/me", responses=errors(*AUTHED))
def me(request: Request, who: Principal = Depends(current_user)) -> dict:
    h = hosted(request)
    return {"id": who.user_id, "email": who.email, "auth_mode": h.server.auth_mode,
            "quota": h.quota(f"user:{who.user_id}", h.server.daily_shorts).as_dict(),
            "render_quota": h.quota(f"renders:user:{who.user_id}", h.server.daily_renders).as_dict("daily_renders")}


class DeleteAccountIn(BaseModel):
    confirm: str = Field(description='Exactly "delete my account": the account and everything in it is removed.')


@router.delete("/me", responses=errors(400, *AUTHED, 422))
def delete_me(body: DeleteAccountIn, request: Request, who: Principal = Depends(current_user)) -> Response:
    """Delete your account here and everything in it: projects, shorts, assets, jobs, connections (the platforms
    are asked to revoke the studio's access where they allow it), scheduled posts, experiments and analytics (the
    Parquet forgets them at its next export). With Supabase Auth the sign-in itself stays in Supabase."""
    if body.confirm != "delete my account":
        raise InvalidRequest('Field confirm: send exactly "delete my account" to delete it.')
    h = hosted(request)
    done = h.delete_account(who.user_id)
    out = JSONResponse({"deleted": True, **done})
    clear_session_cookies(out)
    return out


PKCE_COOKIE = "studio_pkce"


def _oauth(request: Request):
    auth = _auth(request)
    if not hasattr(auth, "oauth_url"):
        raise NotFound("Sign-in with another provider needs Supabase Auth (STUDIO_AUTH=supabase).",
                       code="oauth_unavailable")
    return auth


@router.get("/auth/oauth/{provider}", responses={**redirect("To the provider's sign-in page."), **errors(400, 403, 404, 422)})
def oauth_start(provider: str, request: Request) -> Response:
    """Send the browser to the provider (via Supabase Auth) with PKCE; the code verifier waits in an httpOnly cookie.
    The return address is always this server's own callback, never one taken from the request."""
    auth = _oauth(request)
    url, verifier = auth.oauth_url(provider, str(request.url_for("oauth_callback")))
    out = RedirectResponse(url, status_code=303)
    out.set_cookie(PKCE_COOKIE, verifier, max_age=600, httponly=True, secure=hosted(request).server.secure_cookies,
                   samesite="lax", path="/api/auth")
    return out


@router.get("/auth/callback", name="oauth_callback",
            responses={**redirect("Signed in: to the studio."), **errors(401, 403, 404, 422, 503)})
def oauth_callback(request: Request, code: str = "") -> Response:
    """Where the provider sends the browser back: trade the code and the verifier for a session, then open the UI."""
    auth = _oauth(request)
    verifier = request.cookies.get(PKCE_COOKIE, "")
    if not code or not verifier:
        raise Unauthorized("The sign-in was not started here or has expired.", "Start the sign-in again.",
                           code="invalid_auth_code")
    session = auth.exchange_code(code, verifier)
    hosted(request).ensure_user(session.user)
    out = RedirectResponse("/studio/", status_code=303)
    set_session_cookies(hosted(request).server, out, session)
    out.delete_cookie(PKCE_COOKIE, path="/api/auth")
    return out
