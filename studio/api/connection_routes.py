"""/api/connections: the creator's accounts on the platforms shorts are posted to, connected through OAuth 2.
(Signing in to the studio through another provider is /api/auth/oauth/{provider}, a different thing.)"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from models.errors import StudioError
from studio.api.deps import current_user, hosted
from studio.api.docs import AUTHED, errors, redirect
from studio.auth.base import Principal
from studio.publishing.connections import DEFAULT_RETURN

router = APIRouter(prefix="/api/connections", tags=["connections"])

BINDING_COOKIE = "studio_connect"  # ties a connect attempt to the browser that started it
PLATFORM = Path(max_length=16, pattern=r"^[a-z0-9_]+$", description="A platform's name, e.g. youtube.")


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    return_to: str = Field(default=DEFAULT_RETURN, max_length=300,
                           description="A path on this studio to return to once connected.")


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=1, max_length=512)


class DeletedOut(BaseModel):
    revoked: bool
    message: str


def set_binding_cookie(response: Response, binding: str, secure: bool) -> None:
    """The cookie the callback must bring back: the API's start route and the UI's Connect link both set it."""
    response.set_cookie(BINDING_COOKIE, binding, max_age=600, httponly=True, samesite="lax", secure=secure,
                        path="/api/connections")


def redirect_uri(request: Request, platform: str) -> str:
    """The callback address registered with the platform: on STUDIO_PUBLIC_URL when set (behind a proxy the
    request's own address may not be the one browsers use)."""
    base = hosted(request).server.publish.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/api/connections/{platform}/callback"


@router.get("", responses=errors(*AUTHED))
def list_connections(request: Request, who: Principal = Depends(current_user)) -> dict:
    """Every platform (configured or not, with the settings that switch it on and what to know before connecting)
    and the accounts you connected to each. Tokens are never shown."""
    platforms = hosted(request).connections.platforms_view(who.user_id)
    return {"platforms": platforms, "connections": [a for p in platforms for a in p["accounts"]]}


@router.post("/{platform}/start", responses=errors(400, *AUTHED, 409, 422))
def start(request: Request, response: Response, platform: str = PLATFORM, body: StartIn | None = None,
          who: Principal = Depends(current_user)) -> dict:
    """Begin connecting an account: open ``authorize_url`` in this browser. The answer also sets a short-lived
    cookie that the callback must bring back, so the attempt can only be finished where it was started."""
    h = hosted(request)
    callback = redirect_uri(request, platform)
    started = h.connections.start(who.user_id, platform, callback, (body or StartIn()).return_to,
                                  browser_binding=request.cookies.get(BINDING_COOKIE))
    set_binding_cookie(response, started.browser_binding, h.server.secure_cookies)
    return {"authorize_url": started.authorize_url, "redirect_uri": callback}


_PLAIN = {"access_denied": "You did not allow the studio to use the account, so nothing was connected."}


@router.get("/{platform}/callback", responses={**redirect("Back to the studio with ?connected=<platform> or "
                                                         "?connect_error=<code>&connect_message=<words>."),
                                               **errors(422)})
def browser_callback(request: Request, platform: str = PLATFORM, code: str = "", state: str = "",
                     error: str = "") -> Response:
    """Where the platform sends the browser back. No bearer token: the ``state`` and this browser's connect cookie
    name the attempt and its owner."""
    h = hosted(request)
    back = h.connections.return_to(state)
    if error or not code:
        why = "".join(c for c in error if c.isalnum() or c in "_-")[:64] or "missing_code"
        result = {"connect_error": why, "connect_message": _PLAIN.get(why, f"{platform} did not connect the account ({why}).")}
    else:
        try:
            h.connections.finish(state, code, redirect_uri(request, platform), platform_name=platform,
                                 browser_binding=request.cookies.get(BINDING_COOKIE, ""))
            result = {"connected": platform}
        except StudioError as exc:
            result = {"connect_error": exc.code, "connect_message": exc.message}
    return RedirectResponse(back + ("&" if "?" in back else "?") + urlencode(result), status_code=303)


@router.post("/{platform}/callback", responses=errors(400, *AUTHED, 409, 422, 503))
def api_callback(body: CallbackIn, request: Request, platform: str = PLATFORM,
                 who: Principal = Depends(current_user)) -> dict:
    """For API clients that opened ``authorize_url`` themselves: send back the ``code`` and ``state`` the platform
    returned. Only the account that started the attempt can finish it."""
    view = hosted(request).connections.finish(body.state, body.code, redirect_uri(request, platform),
                                              owner=who.user_id, platform_name=platform)
    return {"connection": view}


@router.delete("/{connection_id}", status_code=204, response_class=Response,
               responses={200: {"model": DeletedOut, "description": "Deleted here, but the platform did not confirm "
                                "that it revoked the access: the message says where to remove it by hand."},
                          **errors(*AUTHED, 404)})
def delete_connection(connection_id: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    """Disconnect an account: the studio's access is revoked at the platform (204), then the account is forgotten
    here. If the platform cannot revoke it, it is forgotten anyway and the answer (200) says so."""
    done = hosted(request).connections.delete(who.user_id, connection_id)
    if done.revoked:
        return Response(status_code=204)
    return JSONResponse(DeletedOut(revoked=False, message=done.message).model_dump())
