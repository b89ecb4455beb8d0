"""Jobs: the jobs table is the record, a runner only delivers job ids to whoever runs them.

A job is *claimed* before it runs: one conditional UPDATE moves it to ``running`` with a lease (``lease_until``)
that its worker renews while it works. Whoever delivers a job (the in-process runner, a Celery worker, a sweeper
after a crash, two runners started at once) goes through the same claim, so a job held by a live lease or already
finished is never run again, and a job whose worker died is taken over once its lease has lapsed. The claim also
holds each creator to ``user_max_running`` jobs at once across every process, and a job that has crashed its
worker ``job_max_attempts`` times is failed rather than started again.

A running job is cancelled by a flag in its row, read each time the job reports progress (between stages and
between render segments), never by killing a process. Two runners share this module: ``LocalJobRunner`` (a
thread pool in this process, the default) and ``studio.celery_jobs.CeleryJobRunner`` (workers on Redis)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, null, or_, select, update
from sqlalchemy.orm import aliased

from models.errors import Cancelled, StudioError
from studio.analytics.record import failed_run_event, job_event, warned
from studio.analytics.store import EventStore
from studio.db import Database
from studio.tables import Job, User

log = logging.getLogger("studio.jobs")
UNFINISHED = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
QUEUES = ("gpu", "cpu", "io")

# what a claim answers
RUN, BUSY, DONE, WAITING, GONE = "run", "busy", "done", "waiting", "gone"


class JobCancelled(Cancelled):
    code = "cancelled"


class LeaseLost(StudioError):
    """Another worker took the job over (this one stalled past its lease); this one stops without saving."""

    code = "lease_lost"


@dataclass(frozen=True)
class JobPolicy:
    lease_s: float = 60.0
    max_attempts: int = 3
    user_max_running: int = 2
    progress_every_s: float = 0.5  # a job writes its progress at most this often (and reads its cancel flag)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(t: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without their zone (they were stored in UTC)."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def worker_name(role: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}{':' + role if role else ''}:{uuid.uuid4().hex[:6]}"


class JobStore:
    """Every state change of a job, as conditional updates of its row (exact under any concurrency)."""

    def __init__(self, db: Database, policy: JobPolicy) -> None:
        self.db = db
        self.policy = policy
        self._pg = db.engine.dialect.name == "postgresql"
        self.events = EventStore(db)

    # analytics: every state change is an event (studio/analytics), written in the change's own transaction
    def noted(self, job_id: str, status: str, session=None) -> None:
        """Record that ``job_id`` moved to ``status`` (read from its row: owner, attempts, queue, worker); a failed
        short or render is also a failed run, by its error code."""
        if session is None:
            with self.db.session() as s:
                return self.noted(job_id, status, s)
        try:
            job = session.get(Job, job_id, populate_existing=True)  # as the change just left it
            events = _events_of(job, status) if job is not None else []
        except Exception as exc:  # a bug in building the events never changes the job's outcome: said, once
            warned(f"job {job_id} → {status}", exc)
            return
        self.events.record_in(session.connection(), events)  # the database's own errors are the change's

    # claiming
    def claim(self, job_id: str, worker: str) -> str:
        """RUN if ``worker`` now holds the job; else BUSY (a live lease elsewhere), DONE (finished, or failed/cancelled
        just now), WAITING (its creator already has ``user_max_running`` jobs running) or GONE."""
        now = utcnow()
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return GONE
            status, attempts, owner = job.status, job.attempts, job.owner_id
            lease, cancel = aware(job.lease_until), job.cancel_requested
        if status in FINISHED:
            return DONE
        if status == "running" and lease is not None and lease > now:
            return BUSY
        if cancel:
            self._set_final(job_id, (status,), "cancelled", message="Cancelled.")
            return DONE
        if attempts >= self.policy.max_attempts:
            self.fail(job_id, "worker_lost", f"The job stopped its worker {attempts} times, so it was not started "
                      "again.", "Retry it once the cause is fixed (studio jobs retry ID, or Retry in the app).",
                      expect=(status,))
            return DONE
        with self.db.session() as s:
            if self._pg:  # one claim at a time per creator, so the running count below cannot be raced
                s.execute(select(User.id).where(User.id == owner).with_for_update())
            other = aliased(Job)
            running = (select(func.count()).select_from(other)
                       .where(other.owner_id == owner, other.status == "running", other.lease_until > now,
                              other.id != job_id).scalar_subquery())
            took = s.execute(update(Job).where(Job.id == job_id, Job.status == status, Job.attempts == attempts,
                                               running < self.policy.user_max_running)
                             .values(status="running", worker=worker, lease_until=now + self._lease,
                                     attempts=attempts + 1, started_at=func.coalesce(Job.started_at, now),
                                     message="Started." if status == "queued" else "Taken over after its worker "
                                     "stopped.")).rowcount == 1
            if took:
                self.noted(job_id, "running", s)
        if took:
            return RUN
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return GONE
            if job.status in FINISHED:
                return DONE
            if job.status == "running" and (aware(job.lease_until) or now) > now:
                return BUSY
            if job.status == "queued":  # held back by the cap: it waits for a slot, without a message
                job.enqueued_at, job.message = None, "Waiting: your other shorts are being made first."
            return WAITING

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self.policy.lease_s)

    def renew(self, job_id: str, worker: str) -> tuple[bool, bool]:
        """Extend ``worker``'s lease. Answers (still held, cancel asked for)."""
        with self.db.session() as s:
            held = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                             .values(lease_until=utcnow() + self._lease)).rowcount == 1
            cancel = bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
        return held, cancel

    def progress(self, job_id: str, worker: str, fraction: float, stage: str, message: str) -> tuple[bool, bool]:
        with self.db.session() as s:
            held = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                             .values(progress=round(float(fraction), 3), stage=stage[:32], message=message[:500],
                                     lease_until=utcnow() + self._lease)).rowcount == 1
            cancel = bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
        return held, cancel

    # endings
    def succeed(self, session, job_id: str, short_id: str, profile: str | None = None) -> None:
        """Inside the transaction that saves the job's output, so the two are recorded together."""
        session.execute(update(Job).where(Job.id == job_id, Job.status.in_(UNFINISHED)).values(
            status="succeeded", progress=1.0, stage="done", short_id=short_id, finished_at=utcnow(),
            message="Your short is ready.", lease_until=None, error=None,
            **({"profile": profile} if profile else {})))
        self.noted(job_id, "succeeded", session)

    def fail(self, job_id: str, code: str, message: str, hint: str = "", remedy: dict | None = None, *,
             expect: tuple[str, ...] = UNFINISHED) -> None:
        error = {"code": code, "message": message, "hint": hint, **({"remedy": remedy} if remedy else {})}
        self._set_final(job_id, expect, "failed", error=error, message=message[:500])

    def failed(self, job_id: str, exc: StudioError) -> None:
        self.fail(job_id, exc.code, exc.message, exc.hint, exc.remedy.as_dict() if exc.remedy else None)

    def _set_final(self, job_id: str, expect: tuple[str, ...], status: str, **values) -> bool:
        with self.db.session() as s:
            done = s.execute(update(Job).where(Job.id == job_id, Job.status.in_(expect)).values(
                status=status, finished_at=utcnow(), lease_until=None, **values)).rowcount == 1
            if done:
                self.noted(job_id, status, s)
            return done

    # the creator's and the operator's controls
    def request_cancel(self, job_id: str) -> str:
        """A queued job is cancelled at once; a running one is flagged and stops at its next progress report.
        Answers the job's status afterwards."""
        if self._set_final(job_id, ("queued",), "cancelled", message="Cancelled before it started."):
            return "cancelled"
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(
                cancel_requested=True, message="Cancelling…"))
            return str(s.scalar(select(Job.status).where(Job.id == job_id)))

    def retry(self, job_id: str) -> bool:
        """A failed or cancelled job back to the queue, from the beginning, with its attempts counted afresh."""
        with self.db.session() as s:
            done = s.execute(update(Job).where(Job.id == job_id, Job.status.in_(("failed", "cancelled"))).values(
                status="queued", progress=0.0, stage="", message="Queued again.", error=None, attempts=0,
                cancel_requested=False, worker=None, lease_until=None, enqueued_at=None, finished_at=None,
                started_at=None)).rowcount == 1
            if done:  # queued again: a new life of the job (its own event, not the first "queued")
                self.events.record_in(s.connection(), [job_event(
                    job_id, "queued", owner_id=s.scalar(select(Job.owner_id).where(Job.id == job_id)),
                    event_id=f"job:{job_id}:retried:{uuid.uuid4().hex}")])
            return done

    def give_back(self, job_id: str, *, unstarted_only: bool = True) -> bool:
        """Return the quota a job spent, at most once: its ``charge`` is cleared in the same transaction that lowers
        the counter. ``unstarted_only``: only for a job cancelled before it ever ran (a cancel after work was done
        stays counted); otherwise for any job (one refused for its own input, found only while running)."""
        from studio.tables import QuotaCounter

        with self.db.session() as s:
            job = s.get(Job, job_id)
            charge = list(job.charge or []) if job is not None else []
            if len(charge) != 2:
                return False
            cond = [Job.id == job_id, Job.charge.is_not(None)]
            if unstarted_only:
                cond += [Job.status == "cancelled", Job.started_at.is_(None)]
            if s.execute(update(Job).where(*cond).values(charge=null())).rowcount != 1:  # SQL NULL, not JSON null
                return False
            s.execute(update(QuotaCounter).where(QuotaCounter.subject == charge[0], QuotaCounter.day == charge[1],
                                                 QuotaCounter.used > 0).values(used=QuotaCounter.used - 1))
            return True

    # delivery bookkeeping
    def sent(self, job_id: str, queue: str | None = None, task_id: str | None = None) -> None:
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == job_id).values(
                enqueued_at=utcnow(), **({"queue": queue} if queue else {}), **({"task_id": task_id} if task_id else {})))

    def due(self, *, unsent_after_s: float = 0.0, limit: int = 500) -> list[tuple[str, str, datetime | None]]:
        """Jobs that need a delivery: queued ones (with when they were last sent; None = never, or consumed while
        their creator was at the cap) and running ones whose lease has lapsed. Oldest first."""
        now = utcnow()
        with self.db.session() as s:
            rows = s.execute(select(Job.id, Job.status, Job.enqueued_at).where(or_(
                Job.status == "queued",
                and_(Job.status == "running", or_(Job.lease_until.is_(None), Job.lease_until < now))))
                .order_by(Job.created_at).limit(limit)).all()
        return [(r.id, r.status, aware(r.enqueued_at)) for r in rows]

    def waiting_of(self, owner: str) -> list[str]:
        """The creator's queued jobs that hold no message (they met the cap): to send once a slot frees."""
        with self.db.session() as s:
            return list(s.scalars(select(Job.id).where(Job.owner_id == owner, Job.status == "queued",
                                                       Job.enqueued_at.is_(None)).order_by(Job.created_at)))

    def owner_of(self, job_id: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(Job.owner_id).where(Job.id == job_id))


class Lease:
    """A claimed job's lease, renewed by a thread while the work runs. The work reports progress through it, and
    each report reads the cancel flag: ``JobCancelled`` / ``LeaseLost`` stop the work there."""

    def __init__(self, store: JobStore, job_id: str, worker: str) -> None:
        self.store, self.job_id, self.worker = store, job_id, worker
        self.cancel = self.lost = False
        self._last, self._stage = 0.0, ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job_id[:8]}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        every = max(0.2, self.store.policy.lease_s / 3)
        while not self._stop.wait(every):
            try:
                held, cancel = self.store.renew(self.job_id, self.worker)
            except Exception:  # the database blinked: the next renewal tries again, well inside the lease
                log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)
                continue
            self.lost, self.cancel = self.lost or not held, self.cancel or cancel

    def check(self) -> None:
        if self.cancel:
            raise JobCancelled("The job was cancelled.", "Start it again when you want it.")
        if self.lost:
            raise LeaseLost("Another worker took this job over.")

    def progress(self, fraction: float, stage: str, message: str) -> None:
        # a stage's first report is always written: dropped, the bar would name the stage before it for as long as
        # this one runs (most stages report only as they start and end)
        if (stage != self._stage or fraction >= 1
                or time.monotonic() - self._last >= self.store.policy.progress_every_s):
            self._last, self._stage = time.monotonic(), stage
            held, cancel = self.store.progress(self.job_id, self.worker, fraction, stage, message)
            self.lost, self.cancel = self.lost or not held, self.cancel or cancel
        self.check()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


Work = Callable[[str, Lease], None]


def execute(store: JobStore, job_id: str, worker: str, work: Work, *, on_finish: Callable[[str], None] | None = None) -> str:
    """Claim the job and, if it is ours, run it and record how it ended. Answers what the claim answered."""
    got = store.claim(job_id, worker)
    if got != RUN:
        log.info("job %s not run here: %s", job_id, got)
        return got
    lease = Lease(store, job_id, worker)
    try:
        work(job_id, lease)
    except JobCancelled:
        store._set_final(job_id, ("running",), "cancelled", message="Cancelled while it ran; nothing was saved.")
    except LeaseLost:
        log.warning("job %s was taken over by another worker; this run stopped", job_id)
    except StudioError as exc:
        store.failed(job_id, exc)
    except Exception:  # the last line of defence: the job is failed with its cause in the log
        log.exception("job %s crashed", job_id)
        store.fail(job_id, "internal_error", "The job stopped unexpectedly.", "Retry it; if it fails again, tell "
                   "the studio's operator (the server log has the cause).")
    finally:
        lease.close()
        if on_finish is not None:
            owner = store.owner_of(job_id)
            if owner:
                on_finish(owner)
    return got


class JobRunner(Protocol):
    store: JobStore

    def submit(self, job_id: str) -> None:
        """Deliver a queued job; raises ``QueueUnavailable`` when it cannot be queued."""
        ...

    def start(self) -> None:
        """Begin taking work, then deliver what the table says is due (unsent or abandoned jobs)."""
        ...

    def stop(self) -> None: ...

    def revoke(self, job_id: str) -> None:
        """Drop a cancelled job's queued message, where the runner can (the claim refuses it anyway)."""
        ...


class LocalJobRunner:
    """An in-process worker pool over the jobs table (the default). Several processes may run one each over the
    same database: the claim keeps any job from running twice."""

    def __init__(self, store: JobStore, work: Work, *, workers: int = 1, sweep_s: float | None = None) -> None:
        self.store = store
        self.work = work
        self.workers = max(1, workers)
        self.name = worker_name("local")
        self.sweep_s = sweep_s if sweep_s is not None else max(1.0, store.policy.lease_s / 2)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="studio-job")
        self._stop.clear()
        self.sweep()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="studio-job-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.sweep_s):
            try:
                self.sweep()
            except Exception:
                log.warning("the job sweep failed; it runs again in %.0f s", self.sweep_s, exc_info=True)

    def sweep(self) -> int:
        """Deliver every queued job not already waiting here and every running job whose lease lapsed."""
        n = 0
        for job_id, _status, _sent in self.store.due():
            with self._lock:
                if job_id in self._pending:
                    continue
            self.submit(job_id)
            n += 1
        return n

    def submit(self, job_id: str) -> None:
        if self._pool is None:
            raise RuntimeError("The job runner has not been started.")
        with self._lock:
            if job_id in self._pending:
                return
            self._pending.add(job_id)
        self.store.sent(job_id)
        self._pool.submit(self._run, job_id)

    def revoke(self, job_id: str) -> None:
        """Nothing to drop: a cancelled job's claim refuses it."""

    def _run(self, job_id: str) -> None:
        try:
            execute(self.store, job_id, self.name, self.work, on_finish=self._wake)
        except Exception:
            log.exception("job %s could not be run", job_id)
        finally:
            with self._lock:
                self._pending.discard(job_id)

    def _wake(self, owner: str) -> None:
        """A slot of this creator's freed: deliver their jobs that met the cap."""
        for job_id in self.store.waiting_of(owner):
            self.submit(job_id)

    def stop(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _events_of(job: Job, status: str) -> list:
    code = (job.error or {}).get("code") if status == "failed" else None
    # one event per change: the same change recorded twice is stored once, a retried job's new life is new
    when = {"running": job.started_at, "queued": job.created_at}.get(status, job.finished_at)
    key = f"job:{job.id}:{status}:{job.attempts or 0}:{when.isoformat() if when else ''}"
    events = [job_event(job.id, status, owner_id=job.owner_id, attempts=job.attempts or 0, queue=job.queue,
                        worker=job.worker, short_id=job.short_id, code=code, event_id=key)]
    if status == "failed" and job.kind in ("short", "render"):
        events.append(failed_run_event(front=_front(job.request), code=code or "failed", owner_id=job.owner_id,
                                       job_id=job.id, request=job.request, attempt=job.attempts or 0))
    return events


def _front(request: dict | None) -> str:
    """Which front end asked for a job (recorded with its runs): ``web`` (the API and the UI) unless the request
    names another."""
    return str((request or {}).get("front") or "web")
