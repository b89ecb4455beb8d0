"""``studio serve`` (and ``python app.py``): one FastAPI app with the REST API, a sign-in page and the Gradio UI at
/studio, all behind the same authentication, the same upload rules and the same job runner."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from models.errors import StudioError
from studio.api.app import create_api
from studio.api.auth_routes import clear_session_cookies, require_same_origin, set_session_cookies
from studio.api.deps import ACCESS_COOKIE, REFRESH_COOKIE
from studio.api.uploads import extension, receive_files
from studio.auth.base import Principal
from studio.errors import ApiError, TooLarge, Unauthorized
from studio.hosted import Hosted
from studio.serving import BodyLimit
from studio.settings import Settings
from studio.ui_guard import ui_route
from studio.ui_hooks import VISITOR_COOKIE, UiHooks

UI_PATH = "/studio"
_FILE_ROUTE = UI_PATH + "/gradio_api/file="
_JOIN_ROUTE = UI_PATH + "/gradio_api/queue/join"
_CALL_ROUTE = UI_PATH + "/gradio_api/call/"
_CONNECT_ROUTE = UI_PATH + "/connect/"  # the Calendar tab's Connect links
_MAX_UI_FILES = 20
_UI_REQUEST_LIMIT_FACTOR = 2  # one upload request carries at most twice the largest single-file limit
_STATIC = Path(__file__).resolve().parent / "static"


class _Redact(logging.Filter):
    """Signed links and OAuth codes are credentials: keep them out of the access log."""

    _PATTERNS = (re.compile(r"(/files/)[^\s?\"]+"),
                 re.compile(r"([?&](?:code|state|token|refresh_token|access_token)=)[^&\s\"]+"))

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
        return True

    def _clean(self, text: str) -> str:
        for pattern in self._PATTERNS:
            text = pattern.sub(r"\1[redacted]", text)
        return text


async def _known_event(request: Request, ui: dict) -> bool:
    """Gradio answers a queued event with an unknown ``fn_index`` with a 500; answer it as the bad request it is.
    (BodyLimit, the outermost layer, bounds the body; Starlette replays it to the route.)"""
    import json

    blocks = ui.get("blocks")
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return False
    index = body.get("fn_index") if isinstance(body, dict) else None
    return blocks is None or index is None or (type(index) is int and index in blocks.fns)


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def redact_access_log() -> None:
    logging.getLogger("uvicorn.access").addFilter(_Redact())


def create_server(settings: Settings, *, with_ui: bool = True) -> FastAPI:
    hosted = Hosted(settings)
    app = create_api(hosted)
    server = hosted.server
    # No site but the studio's own pages (and any listed in STUDIO_CORS_ORIGINS) gets a CORS grant, on any route.
    # Gradio's own CORS layer stands aside when the parent app configures CORS, so this one rule covers /studio too.
    app.add_middleware(CORSMiddleware, allow_origins=list(server.cors_origins), allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE", "PATCH", "PUT"], allow_headers=["authorization",
                                                                                             "content-type"])
    hooks = UiHooks(hosted)
    ui: dict = {}  # the mounted Blocks, once built
    framing = server.frame_ancestors.strip()
    security_headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                        "Content-Security-Policy": f"frame-ancestors {framing}"}
    if framing in ("'self'", "'none'"):  # older browsers know only X-Frame-Options, which cannot list other sites
        security_headers["X-Frame-Options"] = "SAMEORIGIN" if framing == "'self'" else "DENY"

    def who_is(request: Request) -> Principal | None:
        if hosted.auth is None:
            return None
        cached = request.scope.setdefault("state", {}).get("studio_user")
        if cached:
            return cached
        token = request.cookies.get(ACCESS_COOKIE)
        if not token:
            return None
        try:
            return hosted.auth.verify(token)
        except ApiError:
            return None

    @app.middleware("http")
    async def ui_walls(request: Request, call_next):
        """For the UI only (/studio): keep a browser signed in by rotating its refresh cookie when the access cookie
        has expired (parallel requests of one page share the rotation's grace window), send a visitor without a
        session to the sign-in page, give each anonymous demo visitor its own id, and serve through Gradio's /file=
        route nothing but the caller's own uploads."""
        path = request.scope["path"]  # decoded once, exactly as routing (and Gradio) will see it
        if path != UI_PATH and not path.startswith(UI_PATH + "/"):
            return await call_next(request)
        kind = "app" if path.startswith(_CONNECT_ROUTE) else ui_route(path[len(UI_PATH):])
        if kind is None:
            return _refuse(404, "not_found", "No such page.")
        if kind == "public":
            return await call_next(request)
        fresh, user, visitor = None, None, None
        if hosted.auth is not None:
            user = who_is(request)
            if user is None and request.cookies.get(REFRESH_COOKIE):
                try:
                    fresh = await anyio.to_thread.run_sync(hosted.auth.refresh, request.cookies[REFRESH_COOKIE])
                    user = fresh.user
                except ApiError:
                    user = None
            if user is None:
                if request.method == "GET" and path.rstrip("/") == UI_PATH:
                    out = RedirectResponse("/login", status_code=303)
                    clear_session_cookies(out)
                    return out
                return _refuse(401, "missing_token", "Your session has ended. Reload the page and sign in again.")
            request.scope.setdefault("state", {})["studio_user"] = user
        elif not request.cookies.get(VISITOR_COOKIE):
            visitor = secrets.token_urlsafe(24)
            # the page's own first request already belongs to the new visitor
            request.scope["headers"] = [*request.scope["headers"], (b"cookie", f"{VISITOR_COOKIE}={visitor}".encode())]
        if path == _JOIN_ROUTE and request.method == "POST" and not await _known_event(request, ui):
            return _refuse(422, "unknown_event", "The page asked for an event this studio does not have.")
        if path.startswith(_CALL_ROUTE) and "blocks" in ui and \
                path[len(_CALL_ROUTE):].split("/")[0] not in {f.api_name for f in ui["blocks"].fns.values()}:
            return _refuse(404, "not_found", "No such event.")
        if path.startswith(_FILE_ROUTE) and "," in request.headers.get("range", ""):
            # several ranges at once: Gradio's parser fails on them; answer the whole file instead (RFC 9110 allows)
            request.scope["headers"] = [(k, v) for k, v in request.scope["headers"] if k != b"range"]
        if path.startswith(_FILE_ROUTE):
            if not await anyio.to_thread.run_sync(hooks.may_read_upload, request, path[len(_FILE_ROUTE):],
                                                  user.user_id if user else None):
                return _refuse(404, "not_found", "No such file.")
        response = await call_next(request)
        if path.startswith(_FILE_ROUTE):  # an upload is shown, never run: no script, no plugin, no frame
            response.headers["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; img-src 'self'; sandbox"
        if fresh is not None:
            set_session_cookies(server, response, fresh)
        if visitor is not None:
            response.set_cookie(VISITOR_COOKIE, visitor, max_age=30 * 24 * 3600, httponly=True,
                                secure=server.secure_cookies, samesite="lax", path="/")
        return response

    @app.post(UI_PATH + "/gradio_api/upload", include_in_schema=False)
    async def ui_upload(request: Request) -> Response:
        """The UI's uploads, under the REST API's rules: typed by their bytes, held to the limit for their type while
        they stream in, kept per owner until a short uses them (or their time runs out). Refusals are plain words
        (the page shows them as they are), with the stable code in ``X-Error-Code``."""
        try:
            return JSONResponse(await _ui_upload(request))
        except ApiError as exc:
            return PlainTextResponse(str(exc), status_code=exc.status, headers={**exc.headers, "X-Error-Code": exc.code})

    async def _ui_upload(request: Request) -> list[str]:
        user = request.scope.get("state", {}).get("studio_user")
        if hosted.auth is not None and user is None:
            raise Unauthorized("Your session has ended.", "Reload the page and sign in again.", code="missing_token")
        limits = hosted.upload_limits
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > _UI_REQUEST_LIMIT_FACTOR * limits.largest:
            raise TooLarge(f"The upload is {int(declared) / 2**20:.0f} MB; the largest file allowed is "
                           f"{limits.largest // 2**20} MB.", code="file_too_large")
        hosted.upload_limiter.hit(f"ui-upload-ip:{request.client.host if request.client else 'unknown'}")
        who = await anyio.to_thread.run_sync(hooks.account, request, user.user_id if user else None)
        address = None if who.user else who.ip
        quota = server.ui_upload_quota_mb * 2**20
        want = _UI_REQUEST_LIMIT_FACTOR * limits.largest
        if declared and declared.isdigit():
            want = min(want, int(declared))  # a browser says how much it sends: hold only that much of the quota
        room = await anyio.to_thread.run_sync(hosted.ui_uploads.reserve, who.owner, quota, want, address)
        try:
            if room <= 0:
                raise TooLarge(f"You have {server.ui_upload_quota_mb} MB of uploads waiting to be used.",
                               "Make a short with them, or wait for them to expire.", code="upload_quota_exceeded")
            uploads = await receive_files(request.stream(), request.headers.get("content-type", ""), hosted.uploads_dir,
                                          limits, part="files", max_files=_MAX_UI_FILES,
                                          max_total=room)
            kept = []
            try:
                for u in uploads:
                    kept.append(str(hosted.ui_uploads.keep(who.owner, u.path, u.filename, extension(u.content_type))))
            finally:
                for u in uploads:
                    u.path.unlink(missing_ok=True)  # any not kept (a failure part-way) is not left behind
        finally:
            hosted.ui_uploads.release(who.owner, room, address)
        await anyio.to_thread.run_sync(lambda: hosted.clean_leftovers(every_s=600))
        return kept

    @app.middleware("http")
    async def secure_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in security_headers.items():
            response.headers.setdefault(name, value)
        return response

    @app.get(UI_PATH + "/gradio_api/upload_progress", include_in_schema=False)
    def ui_upload_progress() -> Response:
        """The page asks to follow an upload's progress; the studio's upload route answers once it has the whole
        file, so there is nothing to follow: say so at once instead of leaving the page to time out on a 404."""
        return Response('data: {"msg": "done"}\n\n', media_type="text/event-stream")

    @app.get(_CONNECT_ROUTE + "{platform}", include_in_schema=False)
    def ui_connect(platform: str, request: Request) -> Response:
        """The Calendar tab's Connect link: starts connecting an account in this browser as POST
        /api/connections/{platform}/start does (the same binding cookie), then sends the browser to the platform,
        which sends it back to the callback and on to /studio/?connected=<platform>."""
        from studio.api.connection_routes import BINDING_COOKIE, redirect_uri, set_binding_cookie

        user = request.scope.get("state", {}).get("studio_user")  # ui_walls signed the caller in
        if hosted.auth is None or user is None:
            return _refuse(404, "not_found", "No such page.")
        if request.headers.get("sec-fetch-site", "none") not in ("same-origin", "none"):
            return _refuse(403, "cross_site_request", "Connect accounts from the studio's own Calendar tab.")
        try:
            started = hosted.connections.start(user.user_id, platform, redirect_uri(request, platform), UI_PATH + "/",
                                               browser_binding=request.cookies.get(BINDING_COOKIE))
        except StudioError as exc:  # not configured, unknown platform: the tab says so in words
            return RedirectResponse(f"{UI_PATH}/?connect_error={exc.code}", status_code=303)
        out = RedirectResponse(started.authorize_url, status_code=303)
        set_binding_cookie(out, started.browser_binding, server.secure_cookies)
        return out

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(UI_PATH + "/", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_page() -> Response:
        if hosted.auth is None:
            return RedirectResponse(UI_PATH + "/", status_code=303)
        from studio.theme import theme_css  # the studio's own colours and fonts

        page = (_STATIC / "login.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("/*THEME*/", theme_css(), 1))

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        require_same_origin(request)
        if hosted.auth is not None:
            hosted.auth.sign_out(request.cookies.get(REFRESH_COOKIE), request.cookies.get(ACCESS_COOKIE))
        out = RedirectResponse("/login" if hosted.auth else "/", status_code=303)
        clear_session_cookies(out)
        return out

    # Every body is bounded; the two upload routes stream theirs and hold them to the per-type limits. Added last,
    # so it is the outermost layer: no middleware above (ui_walls reads queue bodies) sees more than the limit.
    app.add_middleware(BodyLimit, limit=server.max_body_kb * 1024, exempt=("/api/assets", UI_PATH + "/gradio_api/upload"))
    if with_ui:
        import gradio as gr

        from studio.theme import studio_theme
        from studio.ui import UI_CSS, build_app

        def dependency(request: Request) -> str | None:
            user = who_is(request)
            return user.user_id if user else None

        demo = build_app(hosted.studio, hooks)
        ui["blocks"] = demo
        demo.file_check = lambda req, path: hooks.checked_upload(hooks.account(req), path)
        demo.queue(default_concurrency_limit=1)
        # the only files Gradio may serve are UI uploads, and ui_walls lets each caller reach only their own
        gr.mount_gradio_app(app, demo, path=UI_PATH, auth_dependency=dependency if hosted.auth else None,
                            allowed_paths=[str(hosted.ui_uploads.root)], show_error=False, css=UI_CSS,
                            theme=studio_theme())
    return app
