"""Jobs started through the API. They live in the metadata database, so a restart finds unfinished ones and
runs them again; the runner that executes them sits behind a small interface (Celery arrives later)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select

from studio.db import Database
from studio.tables import Job

log = logging.getLogger("studio.jobs")
UNFINISHED = ("queued", "running")


class JobRunner(Protocol):
    def submit(self, job_id: str) -> None: ...

    def start(self) -> None:
        """Begin taking work, first re-queuing the jobs a previous process left unfinished."""
        ...

    def stop(self) -> None: ...


class LocalJobRunner:
    """An in-process worker pool over the jobs table."""

    def __init__(self, db: Database, work: Callable[[str], None], *, workers: int = 1) -> None:
        self.db = db
        self.work = work
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="studio-job")
        with self.db.session() as s:
            stale = s.scalars(select(Job).where(Job.status.in_(UNFINISHED)).order_by(Job.created_at)).all()
            for job in stale:
                if job.status == "running":  # its process died mid-job: start it again from the beginning
                    job.status, job.progress, job.stage = "queued", 0.0, ""
                    job.message = "Re-queued after a restart."
            ids = [j.id for j in stale]
        for job_id in ids:
            log.info("re-queuing unfinished job %s", job_id)
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        if self._pool is None:
            raise RuntimeError("The job runner has not been started.")
        with self._lock:
            if job_id in self._pending:
                return
            self._pending.add(job_id)
        self._pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            self.work(job_id)
        except Exception:  # the work function records failures itself; this is the last line of defence
            log.exception("job %s crashed", job_id)
            with self.db.session() as s:
                job = s.get(Job, job_id)
                if job is not None and job.status in UNFINISHED:
                    job.status, job.finished_at = "failed", datetime.now(UTC)
                    job.error = {"code": "internal_error", "message": "The job stopped unexpectedly."}
        finally:
            with self._lock:
                self._pending.discard(job_id)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
