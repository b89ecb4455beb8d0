"""Post metrics, pulled on a schedule: each posted post of a connected account is read again at set hours after it went
out, and what its platform reports is saved as :class:`~studio.analytics.types.MetricSnapshot` rows.

``studio serve`` runs the puller in a thread next to the post dispatcher under the local runner; under Celery the
``studio worker --beat`` process sends the ``studio.pull_metrics`` task to the ``io`` queue every
``STUDIO_METRICS_EVERY`` seconds (studio/celery_jobs.py).

The schedule (:data:`MARKS_H`, hours since the post went out): 1, 2, 3, 6, 12, 24, 36 and 48, then daily to day 30,
then weekly, and a last look at day 90. A post is due once the first mark after its latest snapshot has passed, so a
puller that was down takes one snapshot when it comes back, not one per missed mark.

Each platform has its reader (metrics_youtube.py, metrics_instagram.py, metrics_tiktok.py). One platform down, or one
account's token revoked, leaves the other posts alone: their failures are logged plainly and tried again at the
next look; a rate limit or quota answer holds that account (or, for a project-wide quota, that platform) until the
time it names. Numbers a platform did not report are None, never 0.
"""

from __future__ import annotations

import importlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from studio.analytics.types import MetricSnapshot
from studio.publishing.base import AuthRevoked, PublishError, Transient
from studio.settings import PublishSettings
from studio.tables import Connection, MetricSnapshotRow, Post, Short

__all__ = ["MARKS_H", "DuePost", "MetricsPuller", "PullStats", "Read", "Throttled", "next_mark", "due_at",
           "latest_taken"]

log = logging.getLogger("studio.metrics")

# hours since posting at which a post is read: early and often while it grows, then daily to day 30, weekly to day 90
MARKS_H: tuple[float, ...] = (1, 2, 3, 6, 12, 24, 36, 48, *range(72, 24 * 30 + 1, 24),
                              *range(24 * 30 + 168, 24 * 90, 168), 24 * 90)

# name → "module:Class"; each reader is imported only when a post of its platform is due
READERS = {"youtube": "studio.analytics.metrics_youtube:YouTubeMetrics",
           "instagram": "studio.analytics.metrics_instagram:InstagramMetrics",
           "tiktok": "studio.analytics.metrics_tiktok:TikTokMetrics"}


def next_mark(hours_done: float | None) -> float | None:
    """The first mark after a snapshot taken ``hours_done`` hours after posting (the first mark when there is none);
    None once the schedule is over."""
    return next((m for m in MARKS_H if hours_done is None or m > hours_done + 1e-9), None)


def due_at(posted_at: datetime, last_taken: datetime | None) -> datetime | None:
    """When a post posted at ``posted_at`` whose latest snapshot was taken at ``last_taken`` is due next."""
    done = None if last_taken is None else (_utc(last_taken) - _utc(posted_at)).total_seconds() / 3600
    mark = next_mark(done)
    return None if mark is None else _utc(posted_at) + timedelta(hours=mark)


class Throttled(Transient):
    """The platform asked the studio to slow down (a 429, a rate limit, a spent quota): no call to it for this
    account (or for the whole platform, ``platform_wide``) until ``until``."""

    code = "metrics_throttled"

    def __init__(self, message: str, until: datetime, platform_wide: bool = False) -> None:
        super().__init__(message, f"The numbers are read again after {until:%Y-%m-%d %H:%M} UTC.")
        self.until, self.platform_wide = until, platform_wide


@dataclass(frozen=True)
class DuePost:
    """A posted post whose next snapshot is due, as the readers see it."""

    post_id: str
    owner_id: str
    short_id: str | None
    platform: str
    connection_id: str
    account_id: str
    remote_id: str
    posted_at: datetime  # when it went public: a post the platform held until its time counts from then
    result: dict = field(default_factory=dict)  # what the dispatcher recorded (remote_id, url, publish_id, ...)
    title: str | None = None
    duration: float | None = None  # seconds, when known before asking the platform

    def snapshot(self, source: str, taken_at: datetime, **numbers: Any) -> MetricSnapshot:
        known: dict[str, Any] = {"title": self.title, "duration": self.duration}
        known.update({k: v for k, v in numbers.items() if k in known and v is not None})
        numbers = {k: v for k, v in numbers.items() if k not in known}
        return MetricSnapshot(platform=self.platform, remote_id=self.remote_id, source=source, taken_at=taken_at,
                              posted_at=self.posted_at, owner_id=self.owner_id, post_id=self.post_id,
                              short_id=self.short_id, **known, **numbers)


@dataclass
class Read:
    """What one reader call got: snapshots, and why nothing was read for some posts."""

    snapshots: list[MetricSnapshot] = field(default_factory=list)
    missed: dict[str, str] = field(default_factory=dict)  # post id → why (tried again at the next look)
    throttled: Throttled | None = None  # the platform asked to wait partway: what was read is saved, the rest waits


class Reader(Protocol):
    platform: str
    label: str
    batch: int  # posts read in one call (TikTok's video/query takes 20 ids, YouTube's videos.list 50)
    needs_duration: bool  # the platform does not say how long the video is (Instagram): the studio's report does

    def why_not(self, post: DuePost) -> str | None:
        """Why this post cannot be read at all (no public id), or None."""

    def read(self, access_token: str, posts: Sequence[DuePost], now: datetime) -> Read:
        """Read ``posts`` (one account's, at most ``batch``), taken at ``now``. Raises AuthRevoked (the account needs
        reconnecting), Throttled (wait), Transient (the platform is down: try again at the next look) or Refused."""


@dataclass(frozen=True)
class PullStats:
    due: int  # posts due a snapshot at this look
    read: int  # posts with at least one snapshot saved
    saved: int  # snapshots stored (one already stored is not counted again)
    skipped: tuple[tuple[str, str], ...] = ()  # (post id, why): posts that cannot be read (no public id)
    failed: tuple[tuple[str, str], ...] = ()  # (post id, why): tried again at the next look


Save = Callable[[Iterable[MetricSnapshot]], int]
LastTaken = Callable[[Sequence[str]], dict[str, datetime]]


class MetricsPuller:
    """Reads due posts' numbers and saves them. ``save`` stores snapshots (``EventStore(db).snapshots``: duplicates by
    snapshot id are ignored); ``last_taken`` answers each post's latest snapshot time (by default from the
    ``metric_snapshots`` table); ``storage`` reads a short's report.json for its length where the platform does not
    say it."""

    def __init__(self, db, settings: PublishSettings, connections, save: Save, *, last_taken: LastTaken | None = None,
                 storage=None, readers: dict[str, Reader] | None = None) -> None:
        self.db, self.settings, self.connections, self.save = db, settings, connections, save
        self.last_taken: LastTaken = last_taken or (lambda ids: latest_taken(db, ids))
        self.storage = storage
        self._readers: dict[str, Reader] = dict(readers or {})
        self._holds: dict[str, datetime] = {}  # "connection:<id>" or "platform:<name>" → no calls before this
        self._durations: dict[str, float | None] = {}  # short id → seconds (report.json), read once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_hosted(cls, hosted) -> MetricsPuller:
        from studio.analytics.store import EventStore

        return cls(hosted.db, hosted.server.publish, hosted.connections, EventStore(hosted.db).snapshots,
                   storage=hosted.storage)

    # -- the loop (``studio serve`` under the local runner) ------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="studio-metrics", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.pull()
            except Exception:  # a database that is briefly away must not end the loop
                log.warning("metrics pull failed", exc_info=True)
            self._stop.wait(self.settings.metrics_every_s)

    # -- what is due -------------------------------------------------------------------------------------------------
    def due(self, now: datetime | None = None) -> list[DuePost]:
        """Posted posts with a platform id, on a connection still active, whose next mark has passed at ``now``."""
        now = _utc(now or datetime.now(UTC))
        oldest = now - timedelta(hours=MARKS_H[-1] + 24 * 30)  # long past the last mark: not even looked at
        with self.db.session() as s:
            rows = s.execute(
                select(Post, Connection.account_id).join(Connection, Connection.id == Post.connection_id)
                .where(Post.status == "posted", Post.platform.in_(tuple(READERS)), Connection.status == "active",
                       Post.posted_at.is_not(None), Post.posted_at > oldest, Post.posted_at <= now)
                .order_by(Post.posted_at)).all()
            candidates = [_due_post(post, account) for post, account in rows if (post.result or {}).get("remote_id")]
        candidates = [p for p in candidates if p.posted_at <= now]
        last = self.last_taken([p.post_id for p in candidates]) if candidates else {}
        return [p for p in candidates if (at := due_at(p.posted_at, last.get(p.post_id))) is not None and at <= now]

    # -- one look ------------------------------------------------------------------------------------------------------
    def pull(self, now: datetime | None = None) -> PullStats:
        """Read every due post and save what its platform reports, taken at ``now`` (default: the clock)."""
        now = _utc(now or datetime.now(UTC))
        due = self.due(now)
        groups: dict[tuple[str, str], list[DuePost]] = {}
        for p in due:
            groups.setdefault((p.platform, p.connection_id), []).append(p)
        tally = _Tally()
        for (platform, connection_id), posts in groups.items():
            self._pull_account(self._reader(platform), connection_id, posts, now, tally)
        stats = PullStats(due=len(due), read=len(tally.read), saved=tally.saved, skipped=tuple(tally.skipped),
                          failed=tuple(tally.failed))
        if due:
            log.info("metrics: %d due, %d read, %d snapshots saved, %d skipped, %d failed", stats.due, stats.read,
                     stats.saved, len(stats.skipped), len(stats.failed))
        return stats

    def _pull_account(self, reader: Reader, connection_id: str, posts: list[DuePost], now: datetime,
                      tally: _Tally) -> None:
        """One account's due posts: a token, then batches. A failure stops this account only."""
        # 1. posts that cannot be read at all
        ready = []
        for p in posts:
            if (why := reader.why_not(p)) is not None:
                tally.skipped.append((p.post_id, why))
            else:
                ready.append(p)
        if not ready:
            return
        # 2. an account (or platform) the platform asked to wait
        until = max((t for k in (f"connection:{connection_id}", f"platform:{reader.platform}")
                     if (t := self._holds.get(k)) is not None and t > now), default=None)
        if until is not None:
            tally.fail(ready, f"{reader.label} asked the studio to slow down; its numbers are read again after "
                              f"{until:%Y-%m-%d %H:%M} UTC.")
            return
        # 3. a fresh token (refreshed first if need be; a refused refresh marks the account "needs reconnecting")
        try:
            token = self.connections.access_token(connection_id)
        except (AuthRevoked, Transient) as exc:
            self._failed(reader, connection_id, ready, exc.message, tally)
            return
        # 4. the platform's numbers, a batch at a time, each batch saved as it comes
        for i in range(0, len(ready), max(1, reader.batch)):
            batch = ready[i:i + max(1, reader.batch)]
            if reader.needs_duration:
                batch = [p if p.duration is not None else replace(p, duration=self._duration(p.short_id))
                         for p in batch]
            try:
                got = reader.read(token, batch, now)
            except AuthRevoked as exc:
                self.connections.mark_needs_reconnect(connection_id, exc.message)
                self._failed(reader, connection_id, ready[i:], exc.message, tally)
                return
            except Throttled as exc:
                self._hold(reader, connection_id, exc)
                self._failed(reader, connection_id, ready[i:], f"{exc.message} {exc.hint}", tally)
                return
            except PublishError as exc:  # down (Transient) or refused: this batch waits for the next look
                self._failed(reader, connection_id, batch, exc.message, tally)
                continue
            except Exception as exc:  # a reader's bug must not stop the other platforms
                log.exception("metrics: reading %s posts failed unexpectedly", reader.platform)
                self._failed(reader, connection_id, batch, f"Unexpected error: {type(exc).__name__}.", tally)
                continue
            if got.snapshots:
                tally.saved += self.save(got.snapshots)
                tally.read.update(s.post_id for s in got.snapshots if s.post_id)
            if got.missed:
                missed = [p for p in batch if p.post_id in got.missed]
                for p in missed:
                    tally.failed.append((p.post_id, got.missed[p.post_id]))
                log.warning("metrics: %d %s post(s) not read: %s", len(missed), reader.label,
                            "; ".join(sorted(set(got.missed.values())))[:500])
            if got.throttled is not None:
                self._hold(reader, connection_id, got.throttled)
                rest = ready[i + len(batch):]
                if rest:
                    self._failed(reader, connection_id, rest, f"{got.throttled.message} {got.throttled.hint}", tally)
                return

    def _hold(self, reader: Reader, connection_id: str, exc: Throttled) -> None:
        key = f"platform:{reader.platform}" if exc.platform_wide else f"connection:{connection_id}"
        self._holds[key] = max(exc.until, self._holds.get(key, exc.until))

    def _failed(self, reader: Reader, connection_id: str, posts: Sequence[DuePost], why: str, tally: _Tally) -> None:
        log.warning("metrics: %d %s post(s) of connection %s not read: %s", len(posts), reader.label, connection_id,
                    why)
        tally.fail(posts, why)

    def _reader(self, platform: str) -> Reader:
        if platform not in self._readers:
            module, cls = READERS[platform].split(":")
            self._readers[platform] = getattr(importlib.import_module(module), cls)(self.settings)
        return self._readers[platform]

    def _duration(self, short_id: str | None) -> float | None:
        """The short's length from its report.json (once per short), where the platform does not report it."""
        if short_id is None or self.storage is None:
            return None
        if short_id not in self._durations:
            self._durations[short_id] = _report_duration(self.db, self.storage, short_id)
        return self._durations[short_id]


@dataclass
class _Tally:
    saved: int = 0
    read: set[str] = field(default_factory=set)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, posts: Iterable[DuePost], why: str) -> None:
        self.failed.extend((p.post_id, why) for p in posts)


def latest_taken(db, post_ids: Sequence[str]) -> dict[str, datetime]:
    """Each post's latest snapshot time (any source), from the metric_snapshots table."""
    out: dict[str, datetime] = {}
    with db.session() as s:
        for i in range(0, len(post_ids), 500):
            rows = s.execute(select(MetricSnapshotRow.post_id, func.max(MetricSnapshotRow.taken_at))
                             .where(MetricSnapshotRow.post_id.in_(list(post_ids[i:i + 500])))
                             .group_by(MetricSnapshotRow.post_id))
            out.update({post_id: _utc(at) for post_id, at in rows if at is not None})
    return out


def _due_post(post: Post, account_id: str) -> DuePost:
    result = dict(post.result or {})
    # YouTube holds an upload private until its publishAt: the post went out then, not when its upload finished
    posted = max(_utc(post.posted_at or post.publish_at), _utc(post.publish_at))
    duration = result.get("duration")
    return DuePost(post_id=post.id, owner_id=post.owner_id, short_id=post.short_id, platform=post.platform,
                   connection_id=post.connection_id or "", account_id=account_id, remote_id=str(result["remote_id"]),
                   posted_at=posted, result=result, title=(post.text or {}).get("title") or None,
                   duration=float(duration) if isinstance(duration, int | float) else None)


def _report_duration(db, storage, short_id: str) -> float | None:
    import json

    with db.session() as s:
        short = s.get(Short, short_id)
        entry = (short.files or {}).get("report.json") if short is not None else None
    if not entry:
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="studio-metrics-") as tmp:
            path = storage.download(entry["key"], Path(tmp) / "report.json")
            seconds = json.loads(path.read_text(encoding="utf-8")).get("duration")
    except Exception:  # a missing or unreadable report only means the ratio stays unknown
        log.warning("metrics: the report of short %s could not be read for its length", short_id, exc_info=True)
        return None
    return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else None


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)  # SQLite gives naive UTC datetimes
