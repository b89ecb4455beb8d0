"""Limits on how often and how much: per-minute rate limits, the sign-in throttle, and a day's quota."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from studio.errors import RateLimited


class Limiter:
    """Moving-window rate limits (the `limits` library), in memory: per IP and per account."""

    def __init__(self, per_minute: int) -> None:
        from limits import RateLimitItemPerMinute, storage, strategies

        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def hit(self, *keys: str) -> None:
        for key in keys:
            if not self._limiter.hit(self.item, key):
                reset = self._limiter.get_window_stats(self.item, key).reset_time
                raise RateLimited("Too many attempts; wait a moment and try again.", retry_after=int(reset - time.time()) + 1)


class SignInThrottle:
    """Wrong passwords slow down the address that sends them, not the account's owner. After ``free`` failures for
    an account, each further attempt from an address with a recent failure for it must wait twice as long as the
    last (up to ``longest`` seconds); an address with no recent failure for that account is never held back, so an
    attacker guessing from one place cannot lock the real creator out from everywhere else."""

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
                for key in sorted(self._addresses, key=self._addresses.get)[:50_000]:
                    self._addresses.pop(key, None)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)
            for key in [k for k in self._addresses if k[0] == account]:
                self._addresses.pop(key, None)


@dataclass
class Quota:
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_dict(self, name: str = "daily_shorts") -> dict:
        return {name: self.limit, "used_today": self.used, "remaining_today": self.remaining}
