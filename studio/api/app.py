"""The REST API as one FastAPI app. ``studio serve`` adds the Gradio UI to it (studio/web.py)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from models.errors import EngineUnavailable, InvalidMedia, InvalidRequest, StudioError
from studio.analytics.imports import ImportRefused
from studio.api import auth_routes, batch_routes, media_routes, post_routes, template_routes, voice_routes, work_routes
from studio.api.analytics_routes import import_refused
from studio.api.analytics_routes import router as analytics_router
from studio.api.bundle_routes import router as bundle_router
from studio.api.connection_routes import router as connection_router
from studio.batches import BadRows
from studio.errors import ApiError
from studio.hosted import Hosted
from studio.remedies import for_api

log = logging.getLogger("studio.api")
_STATUS = {InvalidRequest: 422, InvalidMedia: 415, EngineUnavailable: 503}


def error_response(status: int, code: str, message: str, hint: str = "", headers: dict | None = None,
                   extra: dict | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **({"hint": hint} if hint else {}), **(extra or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_api(hosted: Hosted) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        hosted.start()
        try:
            yield
        finally:
            hosted.stop()

    app = FastAPI(title="Viral AI Studio API", version="1", lifespan=lifespan,
                  description="Accounts, projects, media and shorts. Authenticate with `Authorization: Bearer "
                              "<access_token>` from POST /api/auth/login. Errors are `{\"error\": {\"code\", \"message\"}}`.")
    app.state.hosted = hosted

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.hint, exc.headers)

    app.add_exception_handler(ImportRefused, import_refused)  # the body says the refusal's reason

    @app.exception_handler(StudioError)
    async def _studio_error(_request: Request, exc: StudioError):
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, exc.message, exc.hint, extra=for_api(exc))

    @app.exception_handler(BadRows)
    async def _bad_rows(_request: Request, exc: BadRows):  # the rows, as data, next to the message that words them
        return error_response(422, exc.code, exc.message, exc.hint, extra={**for_api(exc), "rows": exc.rows})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        # name the fields, never echo their values (a password could be one of them)
        where = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors()})
        return error_response(422, "invalid_body", f"Check these fields: {', '.join(where)}.")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # name every method this path answers, not only those of the first route found
            headers["Allow"] = ", ".join(sorted({m for route in request.app.router.routes
                                                 if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                                                 for m in route.methods}))
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                              headers=headers or None)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")

    @app.get("/api/health", tags=["meta"])
    def health() -> dict:
        return {"ok": True, "auth_mode": hosted.server.auth_mode, "storage": hosted.storage.name}

    app.include_router(auth_routes.router)
    app.include_router(media_routes.router)
    app.include_router(work_routes.router)
    app.include_router(template_routes.router)
    app.include_router(voice_routes.router)
    app.include_router(batch_routes.router)
    app.include_router(bundle_router)
    app.include_router(connection_router)
    app.include_router(post_routes.router)
    app.include_router(analytics_router)
    return app
