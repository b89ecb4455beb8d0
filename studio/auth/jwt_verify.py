"""Verify Supabase Auth access tokens here, without a round trip to Supabase per request.

Asymmetric projects (ES256, RS256) publish their public keys at ``{supabase_url}/auth/v1/.well-known/jwks.json``;
legacy projects sign with a shared HS256 secret, accepted only when that secret is configured. The algorithm comes
from a fixed allow-list and picks the key *type*, so a token can never choose ``none`` or get a public key used as
an HMAC secret.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from studio.auth.base import Principal
from studio.errors import Unauthorized, UpstreamUnavailable

__all__ = ["SupabaseTokenVerifier"]

log = logging.getLogger(__name__)

AUDIENCE = "authenticated"
# The only asymmetric algorithms Supabase signs with, and the JWK key type and curve each one needs.
_ASYMMETRIC: dict[str, tuple[str, str | None]] = {"ES256": ("EC", "P-256"), "RS256": ("RSA", None)}
_REQUIRED_CLAIMS = ["exp", "sub", "aud", "iss"]

JwksFetch = Callable[[], dict[str, Any]]


def _invalid(why: str) -> Unauthorized:
    # ``why`` is for people reading logs and responses; it never contains the token or a key.
    return Unauthorized(f"The access token is not valid ({why}).", "Sign in again.", code="invalid_token")


class SupabaseTokenVerifier:
    """Checks signature, algorithm, ``aud`` = ``authenticated``, ``iss`` = ``{supabase_url}/auth/v1``, ``exp`` and
    ``sub``. Public keys are cached for ``jwks_ttl`` seconds; a token with an unknown ``kid`` (a rotated key) triggers
    one refetch, at most once per ``refetch_cooldown`` seconds so random ``kid``s cannot hammer Supabase."""

    def __init__(self, supabase_url: str, jwt_secret: str | None = None, jwks_fetch: JwksFetch | None = None, *,
                 jwks_ttl: float = 600.0, refetch_cooldown: float = 30.0, leeway: float = 10.0,
                 http_client: httpx.Client | None = None, api_key: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not supabase_url:
            raise ValueError("supabase_url is required")
        self.issuer = f"{supabase_url.rstrip('/')}/auth/v1"
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
        self._secret = jwt_secret or None
        self._fetch = jwks_fetch or self._fetch_over_http
        self._http = http_client
        self._api_key = api_key
        self._ttl = jwks_ttl
        self._cooldown = refetch_cooldown
        self._leeway = leeway
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not

    def verify(self, access_token: str) -> Principal:
        if not isinstance(access_token, str) or access_token.count(".") != 2:
            raise _invalid("malformed")
        try:
            header = jwt.get_unverified_header(access_token)
        except jwt.PyJWTError:
            raise _invalid("malformed") from None
        alg = header.get("alg")
        if alg in _ASYMMETRIC:
            key: Any = self._public_key(header.get("kid"), alg)
        elif alg == "HS256" and self._secret:
            key = self._secret
        else:
            raise _invalid("algorithm not accepted")
        try:
            claims = jwt.decode(access_token, key, algorithms=[alg], audience=AUDIENCE, issuer=self.issuer,
                                leeway=self._leeway, options={"require": _REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The access token has expired.", "Refresh the session or sign in again.",
                               code="token_expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _invalid("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise _invalid("bad signature") from None
        except jwt.PyJWTError:
            raise _invalid("bad claims") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise _invalid("no subject")
        email = claims.get("email")
        return Principal(user_id=sub, email=email if isinstance(email, str) else "")

    # -- keys -------------------------------------------------------------------------------------------------------

    def _public_key(self, kid: Any, alg: str) -> Any:
        if not isinstance(kid, str) or not kid:
            raise _invalid("no key id")
        with self._lock:
            now = self._clock()
            loaded = False
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                loaded = self._load(now)
            jwk = self._keys.get(kid)
            if jwk is None and not loaded:  # perhaps a key rotated in since the last fetch
                self._load(now)
                jwk = self._keys.get(kid)
        if jwk is None:
            raise _invalid("signed by an unknown key")
        if jwk.algorithm_name != alg:
            raise _invalid("algorithm does not match the key")
        return jwk.key

    def _load(self, now: float) -> bool:
        """Refetch the key set unless a fetch happened within the cooldown; True when it was fetched."""
        if self._attempted_at is not None and now - self._attempted_at < self._cooldown:
            if not self._keys and self._fetched_at is None:
                raise UpstreamUnavailable("Supabase Auth signing keys are unavailable.", "Try again in a minute.")
            return False
        self._attempted_at = now
        try:
            keys = self._parse(self._fetch())
        except Exception as e:  # network, HTTP status, JSON: all mean "no fresh keys"
            log.warning("Could not fetch Supabase JWKS from %s (%s)", self.jwks_url, type(e).__name__)
            if self._fetched_at is None:
                raise UpstreamUnavailable("Supabase Auth signing keys are unavailable.", "Try again in a minute.") from None
            return False  # keep serving the keys we have
        self._keys, self._fetched_at = keys, now
        return True

    def _fetch_over_http(self) -> dict[str, Any]:
        headers = {"apikey": self._api_key} if self._api_key else {}
        if self._http is not None:
            response = self._http.get(self.jwks_url, headers=headers)
        else:
            response = httpx.get(self.jwks_url, headers=headers, timeout=10.0)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def _parse(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError("not a JWK set")
        keys: dict[str, jwt.PyJWK] = {}
        for raw in jwks["keys"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str) or raw.get("use", "sig") != "sig":
                continue
            alg = raw.get("alg") or ("ES256" if raw.get("kty") == "EC" else "RS256" if raw.get("kty") == "RSA" else None)
            if alg not in _ASYMMETRIC:
                continue  # symmetric ("oct") and unknown keys are never trusted from a URL
            kty, crv = _ASYMMETRIC[alg]
            if raw.get("kty") != kty or (crv and raw.get("crv") != crv) or "d" in raw:
                continue  # wrong type for its algorithm, or private key material that has no business in a JWKS
            try:
                keys[raw["kid"]] = jwt.PyJWK(raw, algorithm=alg)
            except jwt.PyJWTError:
                log.warning("Skipping an unusable key in the Supabase JWKS (kid %s)", raw["kid"])
        return keys
