"""Faults under Celery, with real `studio worker` processes and real Redis: pool children and whole workers
SIGKILLed half-way through a short, 20 jobs across two workers with one killed and restarted, Redis killed and
restarted empty with jobs queued, and Redis down when a short is asked for. Each job must end exactly once: one
short row, one set of stored files, its quota counted once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.api_helpers import bearer, make_settings, signup
from tests.celery_helpers import OwnRedis, WorkerProc, fresh_redis_url, job_env, need_redis, wait_for

pytestmark = pytest.mark.slow
SCRIPT = "Cats sleep for most of the day. They dream of fish and sunny windows."
OFFLINE = {"script": SCRIPT, "profile": "offline", "duration": 5}


@pytest.fixture(autouse=True)
def _redis():
    need_redis()


class Web:
    def __init__(self, home: Path, redis_url: str, **server) -> None:
        from studio.auth.base import Principal
        from studio.hosted import Hosted

        self.home, self.redis_url = home, redis_url
        self.h = Hosted(make_settings(home, None, jobs="celery", redis_url=redis_url, job_lease_s=3, **server))
        self.h.start()
        self.owner = "u1"
        self.h.ensure_user(Principal(user_id=self.owner, email="creator@example.com"))

    def worker(self, tmp: Path, name: str, **kw) -> WorkerProc:
        return WorkerProc(job_env(self.home, self.redis_url, lease_s=3), tmp / f"{name}.log", **kw).start()

    def submit(self, **spec) -> str:
        return self.h.start_short(self.owner, {**OFFLINE, **spec}, None)

    def job(self, job_id: str):
        from studio.tables import Job

        with self.h.db.session() as s:
            return s.get(Job, job_id)

    def assert_once(self, job_ids: list[str]) -> None:
        """Every job succeeded with one short; the stored files are exactly those shorts' files; quota counted once
        per job."""
        from studio.tables import Job, Short

        with self.h.db.session() as s:
            jobs = s.scalars(select(Job).where(Job.id.in_(job_ids))).all()
            bad = [(j.id[:8], j.status, j.error) for j in jobs if j.status != "succeeded"]
            assert not bad, bad
            per_job = dict(s.execute(select(Short.job_id, func.count()).where(Short.job_id.in_(job_ids))
                                     .group_by(Short.job_id)).all())
            keys = {f["key"] for short in s.scalars(select(Short)) for f in short.files.values()}
        assert per_job == dict.fromkeys(job_ids, 1), per_job
        stored = {str(p.relative_to(self.home / "media")) for p in (self.home / "media").rglob("*")
                  if p.is_file() and not p.name.startswith(".")}
        assert stored == keys, f"stored objects no short names: {sorted(stored - keys)[:5]}"
        assert self.h.quota(f"user:{self.owner}", 100).used == len(job_ids)

    def close(self) -> None:
        self.h.stop()
        self.h.db.dispose()


def _pid_of(job) -> int:
    return int(str(job.worker).split(":")[1])


@pytest.mark.parametrize("what", ["pool child", "main process"])
def test_a_worker_killed_half_way_through_a_short(what, tmp_path):
    """SIGKILL the pool child running the job, or the worker's main process with its pool, half-way through the
    render. The job finishes exactly once: on the same worker's next child, or on a restarted worker."""
    web = Web(tmp_path / "home", fresh_redis_url())
    first = web.worker(tmp_path, "w1")
    second = None
    try:
        first.wait_ready()
        job_id = web.submit()
        job = wait_for(lambda: (j := web.job(job_id)).stage == "render" and j.progress >= 0.5 and j, 120, every=0.05,
                       what="the job to be half-way through its render")
        if what == "pool child":
            victim = _pid_of(job)
            assert victim in first.children(), "the job runs in a pool child, not the worker's main process"
            os.kill(victim, signal.SIGKILL)
        else:
            first.kill()
            second = web.worker(tmp_path, "w2")
            second.wait_ready()
        done = wait_for(lambda: (j := web.job(job_id)).status in ("succeeded", "failed") and j, 120,
                        what="the job to finish after the kill")
        assert done.status == "succeeded", done.error
        assert done.attempts == 2, done.attempts  # the killed run and the one that finished
        assert done.worker != job.worker
        time.sleep(4)  # a stray redelivery would have run by now
        web.assert_once([job_id])
    finally:
        for log in tmp_path.glob("w*.log"):
            print(log.name, log.read_text()[-1500:])
        web.close()
        for p in (first, second):
            if p is not None:
                p.kill()


def test_twenty_jobs_two_workers_one_killed_and_restarted(tmp_path):
    web = Web(tmp_path / "home", fresh_redis_url(), user_max_running=2)
    a, b = web.worker(tmp_path, "a"), web.worker(tmp_path, "b")
    restarted = None
    try:
        a.wait_ready()
        b.wait_ready()
        ids = [web.submit(seed=i, duration=3, script="Cats sleep all day.") for i in range(20)]
        wait_for(lambda: sum(web.job(i).status == "succeeded" for i in ids) >= 5, 300, every=0.5,
                 what="five jobs to finish")
        a.kill()  # mid-run: it holds a job
        restarted = web.worker(tmp_path, "a2")
        restarted.wait_ready()
        wait_for(lambda: all(web.job(i).status in ("succeeded", "failed", "cancelled") for i in ids), 600, every=1,
                 what="all twenty jobs to end")
        time.sleep(4)
        web.assert_once(ids)
        attempts = sorted(web.job(i).attempts for i in ids)
        assert attempts[-1] <= 2 and attempts.count(1) >= 18, attempts
    finally:
        web.close()
        for p in (a, b, restarted):
            if p is not None:
                p.kill()


def test_redis_restarted_empty_with_jobs_queued(tmp_path):
    """The test's own redis-server (never the shared one): five jobs queued on one worker, Redis killed and started
    again empty on the same port. The sweeper sends the lost messages again from the jobs table."""
    redis = OwnRedis(tmp_path / "redis")
    redis.start()
    web = Web(tmp_path / "home", redis.url)
    w = web.worker(tmp_path, "w")
    try:
        w.wait_ready()
        ids = [web.submit(seed=i) for i in range(5)]
        wait_for(lambda: web.job(ids[0]).status == "running", 60, what="the first job to run")
        import redis as redis_py

        assert redis_py.Redis.from_url(redis.url).llen("cpu") >= 3  # the others wait as messages
        redis.kill()
        time.sleep(1)
        redis.start()
        assert redis_py.Redis.from_url(redis.url).llen("cpu") == 0  # empty: every queued message is gone
        wait_for(lambda: all(web.job(i).status in ("succeeded", "failed") for i in ids), 300, every=0.5,
                 what="every job to end after Redis came back empty")
        time.sleep(4)
        web.assert_once(ids)
    finally:
        print(w.log.read_text()[-3000:])
        web.close()
        w.kill()
        redis.kill()


def test_redis_down_when_a_short_is_asked_for(tmp_path):
    """The test's own Redis stops after the creator signed in: POST /api/shorts answers 503 queue_unavailable, no job
    is recorded and no quota is spent."""
    from fastapi.testclient import TestClient

    from studio.api.app import create_api
    from studio.hosted import Hosted

    redis = OwnRedis(tmp_path / "redis")
    redis.start()
    hosted = Hosted(make_settings(tmp_path / "home", None, jobs="celery", redis_url=redis.url))
    try:
        with TestClient(create_api(hosted)) as c:
            session = signup(c, "creator@example.com")
            redis.kill()
            t = time.monotonic()
            r = c.post("/api/shorts", json=OFFLINE, headers=bearer(session))
            took = time.monotonic() - t
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "queue_unavailable"
            assert "nothing was started or charged" in r.json()["error"]["message"]
            assert took < 15, f"the refusal took {took:.1f} s"
            me = c.get("/api/me", headers=bearer(session)).json()
            jobs = c.get("/api/jobs", headers=bearer(session)).json()["jobs"]
        assert jobs == []
        assert me["quota"]["used_today"] == 0, me
    finally:
        redis.kill()


def test_the_web_server_killed_leaves_running_jobs_alone(tmp_path):
    """A real `studio serve` queues a short and is SIGKILLed while a worker renders it: the job finishes, once."""
    from studio.db import Database
    from studio.tables import Job, Short
    from tests.test_shared_limits import Serve, sign_up

    home = tmp_path / "home"
    url = fresh_redis_url()
    web = Serve(home, STUDIO_JOBS="celery", STUDIO_REDIS_URL=url, STUDIO_JOB_LEASE_SECONDS="3").start()
    w = WorkerProc(job_env(home, url, lease_s=3, STUDIO_JWT_SECRET=web.env["STUDIO_JWT_SECRET"]),
                   tmp_path / "w.log").start()
    db = Database.for_home(home)
    try:
        w.wait_ready()
        token = sign_up(web)["access_token"]
        code, job, _ = web.call("POST", "/api/shorts", OFFLINE, token)
        assert code == 202, job

        def row():
            with db.session() as s:
                return s.get(Job, job["id"])

        wait_for(lambda: row().status == "running" and row().progress > 0.2, 120, every=0.05, what="the render")
        assert web.proc is not None
        os.killpg(web.proc.pid, signal.SIGKILL)
        web.proc.wait(10)
        done = wait_for(lambda: (j := row()).status in ("succeeded", "failed") and j, 120, what="the job")
        assert done.status == "succeeded" and done.attempts == 1, (done.status, done.error, done.attempts)
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Short).where(Short.job_id == job["id"])) == 1
    finally:
        web.stop()
        w.kill()
        db.dispose()
