"""Local accounts: argon2id password hashes, a short-lived HS256 access JWT and a rotating, single-use refresh
token of which only the SHA-256 is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from studio.auth.base import Principal, Session
from studio.db import Database
from studio.errors import ApiError, Conflict, Unauthorized
from studio.tables import RefreshToken, User, new_id

ISSUER = "viral-ai-studio"
AUDIENCE = "studio"
MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class WeakPassword(ApiError):
    status = 422
    code = "weak_password"


class InvalidEmail(ApiError):
    status = 422
    code = "invalid_email"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite hands datetimes back without a zone


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise WeakPassword("The password is longer than 1024 characters.")
    if len(set(password)) < 4:
        raise WeakPassword("The password repeats too few characters.", "Use a passphrase of several words.")


class LocalAuth:
    name = "local"

    def __init__(self, db: Database, secret: str, *, access_ttl_s: int = 900, refresh_ttl_s: int = 7 * 24 * 3600,
                 refresh_grace_s: int = 10) -> None:
        from argon2 import PasswordHasher

        self.db = db
        self._secret = secret
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.refresh_grace_s = refresh_grace_s
        # sessions ended here (signed out, or revoked as stolen): their access tokens are refused until they would
        # have expired anyway. Kept in this process; a second process accepts them for up to access_ttl_s.
        self._ended: dict[str, float] = {}  # family → until
        self._hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    # accounts
    def sign_up(self, email: str, password: str) -> Session:
        email = self._email(email)
        check_password(password)
        try:
            with self.db.session() as s:
                user = User(id=new_id(), email=email, password_hash=self._hasher.hash(password))
                s.add(user)
                s.flush()
        except IntegrityError:
            raise Conflict("An account with this email already exists.", "Sign in instead.", code="email_taken") from None
        return self._issue(user.id, email, family=new_id())

    def sign_in(self, email: str, password: str) -> Session:
        from argon2.exceptions import VerificationError

        email = (email or "").strip().lower()
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.email == email))
            stored = user.password_hash if user and user.password_hash else self._dummy_hash
            try:
                self._hasher.verify(stored, password or "")  # also for unknown emails, so timing reveals nothing
                ok = user is not None and user.password_hash is not None
            except VerificationError:
                ok = False
            if not ok:
                raise Unauthorized("Wrong email or password.", code="invalid_credentials")
            if self._hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(password)
            user_id = user.id
        return self._issue(user_id, email, family=new_id())

    # tokens
    def refresh(self, refresh_token: str) -> Session:
        """Rotate: the token is spent and its successor answered. Redeeming the same token again within
        ``refresh_grace_s`` of its first use (a page's parallel requests) answers the very same successor and raises
        no alarm; redeeming it later means it leaked, so the whole session family is revoked."""
        now = datetime.now(UTC)
        token_hash = _hash_token(refresh_token or "")
        with self.db.session() as s:
            # claim the token with one conditional write: of many concurrent redemptions exactly one claims it,
            # the others wait for that write and then read it as already used
            claimed = s.execute(update(RefreshToken).where(
                RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now).values(used_at=now)).rowcount == 1
            row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
            if row is None or row.revoked_at is not None or (not claimed and _aware(row.expires_at) <= now):
                raise Unauthorized("The session has ended.", "Sign in again.", code="invalid_refresh_token")
            used_at = _aware(row.used_at)
            reused = not claimed and (now - used_at).total_seconds() > self.refresh_grace_s
            if reused:
                # a refresh token is good once: a late second use means it leaked, so end the whole session
                # (committed when this block ends, before the refusal is raised)
                s.execute(update(RefreshToken).where(RefreshToken.family == row.family).values(revoked_at=now))
                ended = row.family
            else:
                user = s.get(User, row.user_id)
                family, user_id, email = row.family, user.id, user.email
        if reused:
            self._end(ended)
            raise Unauthorized("This refresh token was already used; the session is ended for safety.",
                               "Sign in again.", code="refresh_token_reused")
        return self._successor(refresh_token, user_id, email, family, used_at)

    def _successor(self, spent: str, user_id: str, email: str, family: str, used_at: datetime) -> Session:
        """The pair that follows ``spent``, derived from it, the server secret and the moment it was spent, so every
        redemption in the grace window answers the same pair without the raw token ever being stored."""
        import jwt

        seed = hmac.new(self._secret.encode(), b"refresh-successor:" + spent.encode(), hashlib.sha256).digest()
        refresh = base64.urlsafe_b64encode(seed).rstrip(b"=").decode()
        access = jwt.encode({"sub": user_id, "email": email, "iat": used_at,
                             "exp": used_at + timedelta(seconds=self.access_ttl_s), "iss": ISSUER, "aud": AUDIENCE,
                             "jti": seed[:16].hex(), "fam": family}, self._secret, algorithm="HS256")
        try:
            with self.db.session() as s:
                if s.scalar(select(RefreshToken.id).where(RefreshToken.token_hash == _hash_token(refresh))) is None:
                    s.add(RefreshToken(user_id=user_id, token_hash=_hash_token(refresh), family=family,
                                       expires_at=used_at + timedelta(seconds=self.refresh_ttl_s)))
        except IntegrityError:
            pass  # a concurrent redemption stored the same successor first
        remaining = int((used_at + timedelta(seconds=self.access_ttl_s) - datetime.now(UTC)).total_seconds())
        return Session(access_token=access, refresh_token=refresh, expires_in=max(1, remaining),
                       user=Principal(user_id, email))

    def sign_out(self, refresh_token: str | None, access_token: str | None = None) -> None:
        """End the session named by the refresh token, or else by the access token (its ``fam`` claim): every
        refresh token of that family stops working, and the access token is refused from now on (in this process)
        instead of living on until it expires."""
        families = set()
        if refresh_token:
            with self.db.session() as s:
                families.add(s.scalar(select(RefreshToken.family).where(
                    RefreshToken.token_hash == _hash_token(refresh_token))))
        if access_token:  # also when the refresh cookie belongs to an older session than the access token
            claims = self._claims(access_token, quiet=True)
            families.add(claims.get("fam") if claims else None)
        for family in families - {None}:
            with self.db.session() as s:
                s.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                          .values(revoked_at=datetime.now(UTC)))
            self._end(family)

    def _end(self, family: str) -> None:
        now = time.time()
        for old in [f for f, until in self._ended.items() if until < now]:  # forget what has expired anyway
            self._ended.pop(old, None)
        self._ended[family] = now + self.access_ttl_s + 1

    def verify(self, access_token: str) -> Principal:
        claims = self._claims(access_token)
        if self._ended.get(str(claims.get("fam")), 0) > time.time():
            raise Unauthorized("This session has ended.", "Sign in again.", code="token_revoked")
        return Principal(user_id=str(claims["sub"]), email=str(claims.get("email", "")))

    def _claims(self, access_token: str, *, quiet: bool = False) -> dict | None:
        import jwt

        try:
            return jwt.decode(access_token, self._secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                              options={"require": ["exp", "sub", "iat", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            if quiet:
                return None
            raise Unauthorized("The access token has expired.", "Refresh it with POST /api/auth/refresh.",
                               code="token_expired") from None
        except jwt.PyJWTError:
            if quiet:
                return None
            raise Unauthorized("The access token is not valid.", "Sign in again.", code="invalid_token") from None

    # helpers
    def _issue(self, user_id: str, email: str, *, family: str) -> Session:
        import jwt

        now = datetime.now(UTC)
        access = jwt.encode({"sub": user_id, "email": email, "iat": now, "exp": now + timedelta(seconds=self.access_ttl_s),
                             "iss": ISSUER, "aud": AUDIENCE, "jti": new_id(), "fam": family}, self._secret,
                            algorithm="HS256")
        refresh = secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(RefreshToken(user_id=user_id, token_hash=_hash_token(refresh), family=family,
                               expires_at=now + timedelta(seconds=self.refresh_ttl_s)))
        return Session(access_token=access, refresh_token=refresh, expires_in=self.access_ttl_s,
                       user=Principal(user_id, email))

    @staticmethod
    def _email(email: str) -> str:
        email = (email or "").strip().lower()
        if not _EMAIL.match(email) or len(email) > 320:
            raise InvalidEmail("That is not an email address.", "Use the form name@example.com.")
        return email
