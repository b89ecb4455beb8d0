"""The job contract, written once and run against both runners: the in-process runner (the default) and Celery
workers on Redis (real `studio worker` subprocesses). Every job is a real offline short."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.api_helpers import make_settings
from tests.celery_helpers import WorkerProc, fresh_redis_url, job_env, need_redis, wait_for

SCRIPT = "Cats sleep for most of the day. They dream of fish and sunny windows."
OFFLINE = {"script": SCRIPT, "profile": "offline", "duration": 5}
pytestmark = pytest.mark.slow


class Studio:
    """A hosted studio (the web side) and, under celery, its workers in other processes."""

    def __init__(self, kind: str, home: Path, tmp: Path, *, workers: int = 1, database_url: str | None = None) -> None:
        from studio.auth.base import Principal
        from studio.hosted import Hosted

        self.kind, self.home, self.tmp = kind, home, tmp
        self.redis_url = fresh_redis_url() if kind == "celery" else None
        extra = {"jobs": kind, "redis_url": self.redis_url, "job_lease_s": 3} if kind == "celery" else {"job_lease_s": 3}
        self.h = Hosted(make_settings(home, database_url, job_workers=1, **extra))
        self.h.start()
        self.owner = "u1"
        self.h.ensure_user(Principal(user_id=self.owner, email="creator@example.com"))
        self.database_url = database_url
        self.procs: list[WorkerProc] = []
        for _ in range(workers if kind == "celery" else 0):
            self.add_worker()
        for p in self.procs:
            p.wait_ready()

    def add_worker(self, concurrency: int = 1) -> WorkerProc:
        assert self.redis_url is not None
        env = job_env(self.home, self.redis_url, lease_s=3, database_url=self.database_url)
        p = WorkerProc(env, self.tmp / f"worker-{len(self.procs)}.log", concurrency=concurrency).start()
        self.procs.append(p)
        return p

    def submit(self, **spec) -> str:
        return self.h.start_short(self.owner, {**OFFLINE, **spec}, None)

    def job(self, job_id: str):
        from studio.tables import Job

        with self.h.db.session() as s:
            return s.get(Job, job_id)

    def wait(self, job_id: str, *states: str, timeout: float = 120):
        states = states or ("succeeded", "failed", "cancelled")
        return wait_for(lambda: (j := self.job(job_id)) is not None and j.status in states and j, timeout,
                        what=f"job {job_id} to be {'/'.join(states)}")

    def shorts_of(self, job_id: str) -> int:
        from studio.tables import Short

        with self.h.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(Short).where(Short.job_id == job_id)))

    def used_today(self) -> int:
        return self.h.quota(f"user:{self.owner}", 100).used

    def close(self) -> None:
        self.h.stop()
        for p in self.procs:
            p.kill()
        self.h.db.dispose()


@pytest.fixture(params=["local", "celery"])
def studio(request, tmp_path):
    if request.param == "celery":
        need_redis()
    st = Studio(request.param, tmp_path / "home", tmp_path)
    yield st
    st.close()


def test_a_job_runs_once_records_one_short_and_is_charged_once(studio):
    job_id = studio.submit()
    job = studio.wait(job_id)
    assert job.status == "succeeded", job.error
    assert job.attempts == 1 and job.progress == 1.0 and job.short_id
    assert job.profile == "offline"  # the worker records the profile it ran
    assert studio.shorts_of(job_id) == 1 and studio.used_today() == 1
    # a second delivery of a finished job does nothing
    studio.h.runner.submit(job_id)
    import time

    time.sleep(3)
    again = studio.job(job_id)
    assert (again.status, again.attempts, again.finished_at) == ("succeeded", 1, job.finished_at)
    assert studio.shorts_of(job_id) == 1 and studio.used_today() == 1


def test_cancel_a_queued_job_then_a_running_one(studio):
    """One worker slot: the second job waits in the queue and is cancelled there (it never starts, its quota comes
    back); the first is cancelled while it renders and stops within a stage, saving nothing."""
    first = studio.submit(seed=1)
    second = studio.submit(seed=2)
    wait_for(lambda: studio.job(first).status == "running", 60, what="the first job to run")
    assert studio.job(second).status == "queued"
    assert studio.h.jobs.request_cancel(second) == "cancelled"
    studio.h.runner.revoke(second)
    assert studio.used_today() == 2  # both were charged when queued ...

    wait_for(lambda: studio.job(first).progress >= 0.3, 60, every=0.05, what="the first job to be under way")
    assert studio.h.jobs.request_cancel(first) == "running"  # flagged: it stops at its next progress report
    job = studio.wait(first, timeout=30)
    assert job.status == "cancelled", (job.status, job.error)
    assert studio.shorts_of(first) == 0
    leftovers = list((studio.home / "jobs").glob("job-*"))
    assert leftovers == [], f"scratch left behind: {leftovers}"
    import time

    time.sleep(2)
    q = studio.job(second)
    assert (q.status, q.attempts, q.started_at) == ("cancelled", 0, None)  # it never ran
    assert studio.shorts_of(second) == 0


def test_a_failure_is_recorded_and_retry_is_explicit(studio):
    """A job refused while it runs records its code, message and attempts; it is not run again by itself; Retry
    runs it again from the beginning (here after the cause is fixed) without charging again."""
    from studio.tables import Job

    blocker = studio.submit(seed=3)
    broken = studio.submit(seed=4)
    with studio.h.db.session() as s:  # found only when it runs: a template that does not exist any more
        s.execute(update(Job).where(Job.id == broken).values(request={**OFFLINE, "seed": 4, "template": "gone"}))
    job = studio.wait(broken, timeout=120)
    assert job.status == "failed" and job.error["code"] == "invalid_request", job.error
    assert "gone" in job.error["message"] and job.attempts == 1
    studio.wait(blocker)
    import time

    time.sleep(2)
    assert studio.job(broken).status == "failed"  # nobody retries it behind the creator's back
    used = studio.used_today()
    with studio.h.db.session() as s:
        s.execute(update(Job).where(Job.id == broken).values(request={**OFFLINE, "seed": 4}))
    assert studio.h.jobs.retry(broken)
    studio.h.runner.submit(broken)
    job = studio.wait(broken)
    assert job.status == "succeeded" and job.attempts == 1 and job.error is None
    assert studio.used_today() == used and studio.shorts_of(broken) == 1


def test_an_abandoned_job_is_taken_over_once_by_two_runners_starting_at_once(studio, tmp_path):
    """A job left ``running`` by a process that died (its lease lapsed), and a second delivery of it: two more
    deliverers start at the same moment; the job runs exactly once more and is recorded once."""
    from datetime import timedelta

    from studio.jobs import utcnow
    from studio.tables import Job

    job_id = studio.submit(seed=5)
    studio.wait(job_id, "running", "succeeded")
    studio.h.stop()  # this deliverer "dies"; its job is then made to look abandoned mid-run
    job = studio.wait(job_id, timeout=120)
    with studio.h.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(
            status="running", short_id=None, finished_at=None, lease_until=utcnow() - timedelta(seconds=1),
            worker="gone:1:x", attempts=1))
        from studio.tables import Short, ShortVersion

        s.execute(ShortVersion.__table__.delete().where(ShortVersion.job_id == job_id))
        s.execute(Short.__table__.delete().where(Short.job_id == job_id))
    assert job.status == "succeeded"

    if studio.kind == "local":
        from studio.hosted import Hosted

        others = [Hosted(studio.h.settings) for _ in range(2)]
        gate = threading.Barrier(2)

        def start(h):
            gate.wait()
            h.start()

        threads = [threading.Thread(target=start, args=(h,)) for h in others]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        others = []
        studio.h.runner.submit(job_id)  # two messages for one job, two workers to take them
        studio.h.runner.submit(job_id)
        studio.add_worker().wait_ready()
    try:
        job = wait_for(lambda: (j := studio.job(job_id)).status == "succeeded" and j, 120, what="the takeover")
        import time

        time.sleep(4)  # any second run would have claimed it by now
        job = studio.job(job_id)
        assert job.status == "succeeded" and job.attempts == 2, (job.status, job.attempts)
        assert studio.shorts_of(job_id) == 1
    finally:
        for h in others:
            h.stop()
