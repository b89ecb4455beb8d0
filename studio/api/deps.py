"""Request-level helpers shared by the routers: who is calling, and from where."""

from __future__ import annotations

from fastapi import Request

from studio.auth.base import Principal
from studio.errors import Forbidden, Unauthorized
from studio.hosted import Hosted

ACCESS_COOKIE = "studio_access"
REFRESH_COOKIE = "studio_refresh"


def hosted(request: Request) -> Hosted:
    return request.app.state.hosted


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_user(request: Request) -> Principal:
    """The caller of an /api route, from ``Authorization: Bearer <access token>`` (cookies are not accepted
    here, so a page on another site cannot act for a signed-in browser)."""
    h = hosted(request)
    if h.auth is None:
        raise Forbidden("Accounts are switched off on this server (STUDIO_AUTH=none, the anonymous demo).",
                        "Run it with STUDIO_AUTH=local or supabase to use the REST API.", code="auth_disabled")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.",
                           "Get a token from POST /api/auth/login.", code="missing_token")
    who = h.auth.verify(token.strip())
    h.ensure_user(who)
    return who


def links(request: Request, files: dict) -> dict:
    """Signed download links for ``files``, absolute: local-storage links are made on the address the caller used."""
    base = str(request.base_url).rstrip("/")
    return {name: (base + url if url.startswith("/") else url) for name, url in hosted(request).links(files).items()}
