"""The auth interface the API uses, whatever answers it: local accounts or Supabase Auth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Principal:
    """Who a verified access token belongs to."""

    user_id: str
    email: str


@dataclass(frozen=True)
class Session:
    """What a successful sign-in or refresh gives: tokens for API clients (the refresh token also goes into an
    httpOnly cookie for browsers)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    user: Principal
    token_type: str = "bearer"


class AuthProvider(Protocol):
    """Raises studio.errors.Unauthorized / Conflict / ApiError(code="weak_password") / RateLimited /
    UpstreamUnavailable, never a backend's own exception."""

    name: str

    def sign_up(self, email: str, password: str) -> Session | Principal:
        """A Session when the account can sign in at once; a Principal when it must confirm its email first."""
        ...

    def sign_in(self, email: str, password: str) -> Session: ...

    def refresh(self, refresh_token: str) -> Session:
        """Single use: the old refresh token stops working; reusing it is refused."""
        ...

    def sign_out(self, refresh_token: str | None, access_token: str | None) -> None: ...

    def verify(self, access_token: str) -> Principal: ...
