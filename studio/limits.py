"""Limits on how often and how much: per-minute rate limits, the sign-in throttle, and a day's quota.

Each limit is kept in this process's memory by default. Under STUDIO_JOBS=celery every web process and worker keeps
them in the one Redis (keys under ``studio:``), so a limit holds for the whole deployment, not per process. A Redis
that does not answer is not a reason to let sign-in attempts through: the check raises LimitsUnavailable (503)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from studio.errors import RateLimited, UpstreamUnavailable

# a Redis that hangs must not hold a request for long: it answers in milliseconds when it is well
REDIS_TIMEOUT_S = 1.0


class LimitsUnavailable(UpstreamUnavailable):
    """The Redis that keeps the shared limits did not answer. The request is refused (503) rather than let through
    uncounted: these limits are what stands between a password and someone guessing it."""

    code = "limits_unavailable"

    def __init__(self) -> None:
        super().__init__("The server cannot check its rate limits right now, so it is not taking this request.",
                         "Try again in a moment. If it persists, the operator should check that the Redis at "
                         "STUDIO_REDIS_URL is running (redis-cli -u \"$STUDIO_REDIS_URL\" ping).",
                         headers={"Retry-After": "5"})


def _redis_client(url: str):
    try:
        import redis
    except ImportError:
        raise ImportError("Shared limits need the redis package: pip install redis") from None
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)


class Limiter:
    """Moving-window rate limits (the `limits` library): per IP and per account. ``storage_uri`` None keeps the
    window in this process's memory; a Redis URI (``redis://host:port/db``) keeps it in that Redis, shared by every
    process that uses the same URI. When that Redis does not answer, ``hit`` raises LimitsUnavailable."""

    def __init__(self, per_minute: int, storage_uri: str | None = None) -> None:
        from limits import RateLimitItemPerMinute, storage, strategies

        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self._storage: storage.Storage
        self._unavailable: tuple[type[Exception], ...] = ()  # the memory storage cannot be unreachable
        if storage_uri is None:
            self._storage = storage.MemoryStorage()
        else:
            from redis.exceptions import RedisError

            # acquire_entry and get_moving_window are not wrapped by the library's wrap_exceptions: catch redis's own
            self._storage = storage.RedisStorage(storage_uri, key_prefix="studio:limits",
                                                 socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
            self._unavailable = (RedisError,)
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)

    def hit(self, *keys: str) -> None:
        try:
            for key in keys:
                if not self._limiter.hit(self.item, key):
                    reset = self._limiter.get_window_stats(self.item, key).reset_time
                    raise RateLimited("Too many attempts; wait a moment and try again.",
                                      retry_after=int(reset - time.time()) + 1)
        except self._unavailable as exc:
            raise LimitsUnavailable() from exc


class SignInThrottle:
    """Wrong passwords slow down the address that sends them, not the account's owner. After ``free`` failures for
    an account, each further attempt from an address with a recent failure for it must wait twice as long as the
    last (up to ``longest`` seconds); an address with no recent failure for that account is never held back, so an
    attacker guessing from one place cannot lock the real creator out from everywhere else.

    This one keeps its counts in this process's memory; RedisSignInThrottle keeps them in Redis for every process."""

    def __init__(self, *, free: int = 5, longest: int = 900, memory_s: int = 3600) -> None:
        self.free, self.longest, self.memory_s = free, longest, memory_s
        self._failures: dict[str, tuple[int, float]] = {}  # account → (count, last failure)
        self._addresses: dict[tuple[str, str], float] = {}  # (account, ip) → last failure
        self._lock = threading.Lock()

    def check(self, account: str, ip: str) -> None:
        now = time.time()
        with self._lock:
            count, last = self._failures.get(account, (0, 0.0))
            seen = self._addresses.get((account, ip))
        self._hold(count, last, seen, now)

    def _hold(self, count: int, last: float, seen: float | None, now: float) -> None:
        """RateLimited while an address whose last failure was at ``seen`` must still wait, the account having
        ``count`` failures, the newest at ``last``."""
        if seen is None or now - seen > self.memory_s or count < self.free:
            return
        wait = min(self.longest, 2 ** (count - self.free)) - (now - last)
        if wait > 0:
            raise RateLimited("Too many wrong passwords from here; wait a moment and try again.", retry_after=int(wait) + 1)

    def failed(self, account: str, ip: str) -> None:
        now = time.time()
        with self._lock:
            count, _ = self._failures.get(account, (0, 0.0))
            self._failures[account] = (count + 1, now)
            self._addresses[(account, ip)] = now
            if len(self._addresses) > 100_000:  # forget the oldest half rather than grow without bound
                for key in sorted(self._addresses, key=self._addresses.__getitem__)[:50_000]:
                    self._addresses.pop(key, None)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)
            for key in [k for k in self._addresses if k[0] == account]:
                self._addresses.pop(key, None)


class RedisSignInThrottle(SignInThrottle):
    """SignInThrottle's rule with its counts in the Redis at ``url``, so that a failure seen by one web process holds
    back the next attempt at any other. Per account two hashes: ``studio:signin:{account}:count`` (count, last
    failure), kept ``forget_s`` after the last failure (the in-memory throttle keeps it until the process ends), and
    ``studio:signin:{account}:seen`` (address → last failure), kept ``memory_s``. A failure updates both in one
    MULTI/EXEC. When Redis does not answer, each method raises LimitsUnavailable."""

    def __init__(self, url: str, *, free: int = 5, longest: int = 900, memory_s: int = 3600,
                 forget_s: int = 86400) -> None:
        super().__init__(free=free, longest=longest, memory_s=memory_s)
        from redis.exceptions import RedisError

        self.forget_s = max(forget_s, memory_s)
        self._redis = _redis_client(url)
        self._unavailable = RedisError

    @staticmethod
    def _keys(account: str) -> tuple[str, str]:
        return f"studio:signin:{account}:count", f"studio:signin:{account}:seen"

    def check(self, account: str, ip: str) -> None:
        counts, seen_by = self._keys(account)
        now = time.time()
        try:
            with self._redis.pipeline(transaction=False) as p:
                p.hmget(counts, "count", "last")
                p.hget(seen_by, ip)
                (count, last), seen = p.execute()
        except self._unavailable as exc:
            raise LimitsUnavailable() from exc
        self._hold(int(count or 0), float(last or 0.0), None if seen is None else float(seen), now)

    def failed(self, account: str, ip: str) -> None:
        counts, seen_by = self._keys(account)
        now = time.time()
        try:
            with self._redis.pipeline(transaction=True) as p:  # HINCRBY: two processes' failures both count
                p.hincrby(counts, "count", 1)
                p.hset(counts, "last", now)
                p.expire(counts, self.forget_s)
                p.hset(seen_by, ip, now)
                p.expire(seen_by, self.memory_s)
                p.execute()
        except self._unavailable as exc:
            raise LimitsUnavailable() from exc

    def succeeded(self, account: str) -> None:
        try:
            self._redis.delete(*self._keys(account))
        except self._unavailable as exc:
            raise LimitsUnavailable() from exc


@dataclass
class Quota:
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_dict(self, name: str = "daily_shorts") -> dict:
        return {name: self.limit, "used_today": self.used, "remaining_today": self.remaining}
