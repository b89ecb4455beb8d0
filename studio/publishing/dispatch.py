"""The dispatcher: claims due posts exactly once and hands each to its platform's publisher.

Exactly once, in three rules:

1. **A claim is one atomic statement, committed before any network call.** On PostgreSQL, ``SELECT … FOR UPDATE
   SKIP LOCKED`` then ``UPDATE`` in one short transaction (two dispatchers never wait on, or take, each other's rows).
   On SQLite, where SQLAlchemy's ``skip_locked`` silently does nothing, one conditional ``UPDATE … WHERE
   status='scheduled' … RETURNING`` under SQLite's write lock.
2. **The platform's handle is saved before the irreversible step** (the publisher calls ``save_handle``; the post
   becomes ``publishing``). A claim carries a lease that its dispatcher renews; a dead dispatcher's claims are taken
   over once the lease lapses, and a post with a handle is only ever *checked* through it, never posted again.
3. **An unknown outcome is not retried.** Only failures before anything irreversible (no handle, or a handle the
   platform can still answer for) are tried again, with backoff; otherwise the post is ``unconfirmed`` and the
   creator is asked to check the account, with a link.

``studio serve`` runs this loop in a thread under the local job runner; ``studio worker --beat`` runs it under
Celery (one per deployment is enough; more are safe).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from studio.publishing.base import (
    AuthRevoked,
    ClaimLost,
    Deferred,
    Delivery,
    Posted,
    PostFiles,
    PostText,
    PublishError,
    Refused,
    Transient,
    Unconfirmed,
)
from studio.publishing.platforms import all_platforms
from studio.publishing.platforms import platform as platform_of
from studio.tables import Connection, EventRow, Post, QuotaCounter, Short, ShortVersion

log = logging.getLogger("studio.publishing")

MAX_ATTEMPTS = 6  # claims of one post (dead dispatchers included) before it is failed, or unconfirmed
PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube's quota day


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_s(attempt: int) -> float:
    return float(min(3600, 30 * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Claimed:
    post_id: str
    platform: str
    attempts: int
    handle: dict


class Dispatcher:
    def __init__(self, hosted, name: str | None = None) -> None:
        self.hosted = hosted
        self.db = hosted.db
        self.settings = hosted.server.publish
        self.name = name or f"{os.uname().nodename}:{os.getpid()}:dispatch"
        self.lease = timedelta(seconds=self.settings.post_lease_s)
        self._pool = ThreadPoolExecutor(max(1, self.settings.dispatch_workers), thread_name_prefix="studio-post")
        self._running: set[Future] = set()
        self._stop = threading.Event()
        self._freed = threading.Event()  # set when a post is done: its slot can take the next due one
        self._room_before = 0
        self._thread: threading.Thread | None = None

    # the loop
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="studio-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def run(self) -> None:
        while not self._stop.is_set():
            self._freed.clear()
            full = False
            try:
                full = self.tick() == self._room_before
            except Exception:  # a database that is briefly away must not end the loop
                log.warning("dispatcher tick failed", exc_info=True)
            if full:  # more may be due: look again as soon as a post is done (or the stop)
                while not (self._freed.wait(0.5) or self._stop.is_set()):
                    pass
            else:
                self._stop.wait(self.settings.dispatch_every_s)

    def tick(self) -> int:
        """Claim what this dispatcher has room for and start posting it; answers how many were claimed."""
        self._running = {f for f in self._running if not f.done()}
        room = self._room_before = max(1, self.settings.dispatch_workers) - len(self._running)
        if room <= 0:
            return 0
        claimed = self.claim(room)
        for c in claimed:
            future = self._pool.submit(self.deliver, c)
            future.add_done_callback(lambda _f: self._freed.set())
            self._running.add(future)
        return len(claimed)

    def drain(self, timeout: float = 600) -> None:
        """Wait for the posts this dispatcher is posting (tests, and a clean stop)."""
        for f in list(self._running):
            f.result(timeout=timeout)

    # 1. claims
    def _due(self, now: datetime):
        ready = or_(Post.next_try_at.is_(None), Post.next_try_at <= now)
        # a platform that holds a post until its time (or prepares it ahead) is handed its posts that much earlier
        early = [and_(Post.platform == name, Post.publish_at <= now + ahead)
                 for name, p in all_platforms(self.settings).items() if (ahead := p.upload_ahead) > timedelta(0)]
        fresh = and_(Post.status == "scheduled", ready, or_(Post.publish_at <= now, *early))
        dead = and_(Post.status.in_(("claimed", "publishing")), Post.lease_until < now, ready)
        return or_(fresh, dead)

    def claim(self, limit: int) -> list[Claimed]:
        now = utcnow()
        values = dict(status=case((Post.status == "scheduled", "claimed"), else_=Post.status), claimed_by=self.name,
                      claimed_at=now, lease_until=now + self.lease, attempts=Post.attempts + 1, updated_at=now)
        cols = (Post.id, Post.platform, Post.attempts, Post.handle, Post.status)
        with self.db.session() as s:  # a read first: an idle dispatcher takes no write lock
            if s.scalar(select(Post.id).where(self._due(now)).limit(1)) is None:
                return []
        with self.db.session() as s:
            if s.bind.dialect.name == "postgresql":
                ids = s.scalars(select(Post.id).where(self._due(now)).order_by(Post.publish_at).limit(limit)
                                .with_for_update(skip_locked=True)).all()
                rows = s.execute(update(Post).where(Post.id.in_(ids)).values(**values).returning(*cols)
                                 .execution_options(synchronize_session=False)).all() if ids else []
            else:  # one statement under SQLite's write lock: the WHERE is checked again as it writes
                due = select(Post.id).where(self._due(now)).order_by(Post.publish_at).limit(limit)
                rows = s.execute(update(Post).where(Post.id.in_(due.scalar_subquery()), self._due(now))
                                 .values(**values).returning(*cols).execution_options(synchronize_session=False)).all()
            out = []
            for post_id, platform, attempts, handle, status in rows:
                if status == "claimed" and not handle and platform == "youtube" and not self._spend_upload(s, now):
                    self._wait_for_quota(s, post_id, now)
                    continue
                out.append(Claimed(post_id, platform, attempts, dict(handle or {})))
            return out

    def _spend_upload(self, s, now: datetime) -> bool:
        """One of the Google project's uploads for today (Pacific day, Google's reset), or False when they are
        spent. The same conditional UPDATE as the creators' quotas: exact under any number of dispatchers."""
        project = f"youtube-uploads:{self.settings.youtube_client_id or 'unset'}"[:100]
        day = now.astimezone(PACIFIC).strftime("%Y-%m-%d")
        insert = (pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert)(QuotaCounter)
        s.execute(insert.values(subject=project, day=day, used=0).on_conflict_do_nothing())
        return s.execute(update(QuotaCounter).where(
            QuotaCounter.subject == project, QuotaCounter.day == day,
            QuotaCounter.used < self.settings.youtube_daily_uploads).values(used=QuotaCounter.used + 1)).rowcount == 1

    def _wait_for_quota(self, s, post_id: str, now: datetime) -> None:
        reset = (now.astimezone(PACIFIC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        s.execute(update(Post).where(Post.id == post_id).values(
            status="scheduled", claimed_by=None, lease_until=None, attempts=Post.attempts - 1,
            next_try_at=reset.astimezone(UTC), error_code="youtube_daily_uploads",
            message=f"Waiting: this studio's {self.settings.youtube_daily_uploads} YouTube uploads for today are used "
                    f"(STUDIO_YOUTUBE_DAILY_UPLOADS). Google's quota resets at midnight Pacific time; it will be "
                    f"uploaded then."))

    # 2. one post
    def deliver(self, c: Claimed) -> str:
        """Post one claimed post; answers its status afterwards (or "lost" when another dispatcher took it over)."""
        work = Path(tempfile.mkdtemp(prefix="post-"))
        try:
            return self._deliver(c, work)
        except ClaimLost:
            log.info("post %s was taken over by another dispatcher", c.post_id)
            return "lost"
        except Exception as exc:  # a bug must not leave the post claimed forever, nor post it twice
            log.exception("post %s failed unexpectedly", c.post_id)
            return self._transient(c, Transient(f"Unexpected error: {type(exc).__name__}."))
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _deliver(self, c: Claimed, work: Path) -> str:
        if c.attempts > MAX_ATTEMPTS:
            return self._give_up(c, "It was tried too many times.")
        with self.db.session() as s:
            post = s.get(Post, c.post_id)
            conn = s.get(Connection, post.connection_id) if post.connection_id else None
            short = s.get(Short, post.short_id)
            if conn is None or short is None:
                return self._finish(c, "failed", "account_gone", "The account or the short was deleted.")
            delivery_args = dict(post_id=post.id, platform=post.platform, account_id=conn.account_id,
                                 text=PostText(post.text.get("title", ""), post.text.get("caption", ""),
                                               tuple(post.text.get("hashtags", []))),
                                 publish_at=post.publish_at if post.publish_at.tzinfo else
                                 post.publish_at.replace(tzinfo=UTC), options=dict(post.options), handle=c.handle)
            files, connection_id = dict(short.files), conn.id
        sink = _Sink(self, c.post_id)
        try:
            token = self.hosted.connections.access_token(connection_id)
            delivery = Delivery(files=self._files(files, work), **delivery_args)
            posted = platform_of(c.platform, self.settings).publisher().publish(delivery, token, sink)
        except AuthRevoked as exc:
            self.hosted.connections.mark_needs_reconnect(connection_id, exc.message)
            if sink.handle or c.handle:
                return self._finish(c, "unconfirmed", exc.code, f"{exc.message} The upload had started: reconnect "
                                    "the account and check it before posting again.")
            return self._finish(c, "failed", exc.code, f"{exc.message} Reconnect the account, then reschedule.")
        except Unconfirmed as exc:
            return self._finish(c, "unconfirmed", exc.code, f"{exc.message} {exc.hint}", {"check": exc.link})
        except Deferred as exc:
            return self._defer(c, exc, bool(sink.handle or c.handle))
        except Refused as exc:
            return self._finish(c, "failed", exc.code, str(exc))
        except Transient as exc:
            return self._transient(c, exc, bool(sink.handle or c.handle))
        except PublishError as exc:
            return self._finish(c, "failed", exc.code, str(exc))
        return self._posted(c, posted)

    def _files(self, files: dict, work: Path) -> PostFiles:
        def fetch(name: str) -> Path | None:
            entry = files.get(name)
            return self.hosted.storage.download(entry["key"], work / name) if entry else None

        video = "short.mp4" if "short.mp4" in files else next((n for n in files if n.endswith(".mp4")), None)
        if video is None:
            raise Refused("The short has no video file to post.")
        return PostFiles(video=fetch(video), thumbnail=fetch("thumbnail.jpg"), captions=fetch("captions.srt"))

    # 3. outcomes (each conditional on this dispatcher still holding the claim)
    def _posted(self, c: Claimed, posted: Posted) -> str:
        result = {"remote_id": posted.remote_id, "url": posted.url, **posted.detail}
        return self._finish(c, "posted", "", "", result, posted_at=utcnow())

    def _transient(self, c: Claimed, exc: Transient, started: bool = False) -> str:
        if c.attempts >= MAX_ATTEMPTS:
            return self._give_up(c, str(exc), started)
        at = utcnow() + timedelta(seconds=backoff_s(c.attempts))
        # with a handle the post stays "publishing" with its lease lapsed: the next claim checks it through the handle
        status = "publishing" if started else "scheduled"
        with self.db.session() as s:
            done = s.execute(update(Post).where(Post.id == c.post_id, Post.claimed_by == self.name).values(
                status=status, claimed_by=None, lease_until=utcnow(), next_try_at=at, error_code=exc.code,
                message=f"{exc.message} It will be {'checked' if started else 'tried'} again at "
                        f"{at:%H:%M} UTC.", updated_at=utcnow()))
            if done.rowcount == 1:
                self._noted(s, c, "retry", exc.code, exc.message)
        return status if done.rowcount == 1 else "lost"

    def _defer(self, c: Claimed, exc: Deferred, started: bool) -> str:
        """Back until ``exc.until``, this claim not counted: a platform limit reached for now, or a post prepared
        ahead that waits for its time (with its handle: it stays "publishing" and is checked through it then)."""
        with self.db.session() as s:
            done = s.execute(update(Post).where(Post.id == c.post_id, Post.claimed_by == self.name).values(
                status="publishing" if started else "scheduled", claimed_by=None, lease_until=utcnow(),
                next_try_at=exc.until, attempts=Post.attempts - 1, error_code=exc.code,
                message=" ".join(p for p in (exc.message, exc.hint) if p), updated_at=utcnow()))
            if done.rowcount == 1:
                self._noted(s, c, "deferred", exc.code, exc.message)
        return "deferred" if done.rowcount == 1 else "lost"

    def _give_up(self, c: Claimed, why: str, started: bool | None = None) -> str:
        started = bool(c.handle) if started is None else started
        if started:
            return self._finish(c, "unconfirmed", "unconfirmed", f"{why} The upload had started and its outcome "
                                "could not be checked: look in your account before posting it again.")
        return self._finish(c, "failed", "publish_failed", why)

    def _finish(self, c: Claimed, status: str, code: str, message: str, result: dict | None = None,
                posted_at: datetime | None = None) -> str:
        with self.db.session() as s:
            values: dict = dict(status=status, error_code=code, message=message, claimed_by=None, lease_until=None,
                                next_try_at=None, updated_at=utcnow())
            if result is not None:
                values["result"] = result
            if posted_at is not None:
                values["posted_at"] = posted_at
            done = s.execute(update(Post).where(Post.id == c.post_id, Post.claimed_by == self.name).values(**values))
            if done.rowcount == 1:
                self._noted(s, c, status, code, message, result)
        if done.rowcount != 1:
            log.warning("post %s: claim lost before recording %s", c.post_id, status)
            return "lost"
        log.info("post %s %s %s", c.post_id, status, code)
        return status


    def _noted(self, s, c: Claimed, status: str, code: str, message: str, result: dict | None = None) -> None:
        """The attempt's outcome as an analytics event (studio/analytics), in the transaction that records it."""
        from studio.analytics.record import publish_event, timeline_facts, warned

        try:
            post = s.get(Post, c.post_id, populate_existing=True)
            facts: dict = {}
            if status == "posted":
                timeline = s.scalar(select(ShortVersion.timeline).where(ShortVersion.short_id == post.short_id)
                                    .order_by(ShortVersion.number.desc()).limit(1)) or {}
                made = s.scalar(select(EventRow.data).where(EventRow.kind == "run", EventRow.short_id == post.short_id,
                                                            EventRow.status == "succeeded")
                                .order_by(EventRow.at.desc()).limit(1)) or {}
                facts = {**timeline_facts(timeline), "title": post.text.get("title") or timeline.get("title") or "",
                         "posted_at": (post.posted_at or utcnow()).isoformat(), "duration": made.get("duration")}
            event = publish_event(c.post_id, status, attempt=c.attempts, owner_id=post.owner_id,
                                  short_id=post.short_id, platform=post.platform, code=code, message=message,
                                  result=result, facts=facts)
        except Exception as exc:  # a bug in building the event never changes the post's outcome: said, once
            warned(f"post {c.post_id} → {status}", exc)
            return
        self.hosted.jobs.events.record_in(s.connection(), [event])


class _Sink:
    """What a publisher reports to: its handle (saved and committed at once) and its progress (renews the lease)."""

    def __init__(self, dispatcher: Dispatcher, post_id: str) -> None:
        self.d, self.post_id = dispatcher, post_id
        self.handle: dict = {}
        self._renewed = time.monotonic()

    def _hold(self, **values) -> None:
        now = utcnow()
        with self.d.db.session() as s:
            done = s.execute(update(Post).where(Post.id == self.post_id, Post.claimed_by == self.d.name,
                                                Post.status.in_(("claimed", "publishing")))
                             .values(lease_until=now + self.d.lease, updated_at=now, **values))
        if done.rowcount != 1:
            raise ClaimLost(self.post_id)
        self._renewed = time.monotonic()

    def save_handle(self, handle: dict) -> None:
        self._hold(handle=dict(handle), status="publishing")
        self.handle = dict(handle)

    def progress(self, sent: int, total: int) -> None:
        if time.monotonic() - self._renewed >= self.d.lease.total_seconds() / 4:
            self._hold()
