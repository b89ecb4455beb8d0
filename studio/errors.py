"""Errors of the hosted studio (accounts, media, jobs). Each has a stable ``code`` that API clients can rely on
and an HTTP status; the API edge turns them into ``{"error": {"code", "message"}}`` and the UI into ``gr.Error``."""

from __future__ import annotations

from models.errors import StudioError


class ApiError(StudioError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, hint: str = "", *, code: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message, hint)
        if code:
            self.code = code
        self.headers = headers or {}


class Unauthorized(ApiError):
    """No valid credentials: missing, expired, tampered or revoked token; wrong password."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """Also the answer for another creator's things: they are indistinguishable from things that do not exist."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class TooLarge(ApiError):
    status = 413
    code = "too_large"


class UnsupportedMedia(ApiError):
    status = 415
    code = "unsupported_media"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, hint: str = "", *, code: str | None = None) -> None:
        super().__init__(message, hint, code=code, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = max(1, int(retry_after))


class UpstreamUnavailable(ApiError):
    """A configured service (Supabase, the database) did not answer after retries."""

    status = 503
    code = "upstream_unavailable"


class PreconditionFailed(ApiError):
    """An edit named a version of the timeline that is no longer the newest (someone saved in between)."""

    status = 412
    code = "stale_timeline"


class PreconditionRequired(ApiError):
    status = 428
    code = "if_match_required"
