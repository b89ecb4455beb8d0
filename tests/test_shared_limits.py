"""Limits that hold for a whole deployment, not per process: the sign-in limits in Redis (STUDIO_JOBS=celery) and a
creator's running cap in the jobs table, each checked across two real `studio serve` processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from email.message import Message
from pathlib import Path

import pytest

from tests.celery_helpers import ROOT, free_port, fresh_redis_url, need_redis

PASSWORD = "correct horse battery"




class Serve:
    """``studio serve --no-ui`` in a subprocess, with only the STUDIO_* settings a test gives it."""

    def __init__(self, home: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home.parent / f"serve-{self.port}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}  # a developer's own settings
        self.env = {**base, "STUDIO_HOME": str(home), "STUDIO_AUTH": "local", "PYTHONUNBUFFERED": "1",
                    # one secret for both processes, so a token from one is good at the other (and neither races to
                    # create secret.key in the shared home)
                    "STUDIO_JWT_SECRET": "shared-limits-test-" + "s" * 32, **settings}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Serve:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "serve", "--host", "127.0.0.1",
                                          "--port", str(self.port), "--no-ui"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"studio serve exited:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        raise RuntimeError(f"studio serve did not answer in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict, Message]:
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}"), e.headers

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)


@pytest.fixture
def two_servers(tmp_path):
    """Two `studio serve` processes over one STUDIO_HOME (one SQLite database), started in turn so that the second
    finds the schema migrated; stopped at the end."""
    started: list[Serve] = []

    def start(**settings: str) -> tuple[Serve, Serve]:
        for _ in range(2):
            started.append(Serve(tmp_path / "home", **settings).start())
        return started[-2], started[-1]

    yield start
    for s in started:
        s.stop()


def sign_up(server: Serve, email: str = "ada@example.com") -> dict:
    code, body, _ = server.call("POST", "/api/auth/signup", {"email": email, "password": PASSWORD})
    assert code == 201, body
    return body


@pytest.mark.slow  # two server starts: about 30 s
@pytest.mark.parametrize("jobs", ["celery", "local"])
def test_login_rate_limit_holds_across_two_web_processes(two_servers, jobs):
    """STUDIO_LOGIN_PER_MINUTE=4 with attempts alternating between two processes: under celery the limit is kept in
    Redis, so the 5th attempt overall is refused; the local control (each process counting alone, 3 and 2) lets it
    through, which shows the alternation really does defeat per-process limits."""
    settings = {"STUDIO_JOBS": jobs, "STUDIO_LOGIN_PER_MINUTE": "4"}
    if jobs == "celery":
        need_redis()
        settings["STUDIO_REDIS_URL"] = redis_url = fresh_redis_url()
    a, b = two_servers(**settings)
    sign_up(a)  # sign-up counts under its own keys (signup-ip, signup-account), not login-ip

    answers = []
    for attempt in range(5):
        server = (a, b)[attempt % 2]
        code, body, headers = server.call("POST", "/api/auth/login", {"email": "ada@example.com", "password": "wrong"})
        answers.append(code)
    if jobs == "local":
        assert answers == [401] * 5
        return
    assert answers == [401, 401, 401, 401, 429], answers
    assert body["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
    import redis

    assert redis.Redis.from_url(redis_url).keys("studio:limits:*login-ip*")  # the window both processes counted in


def _statuses(db: Path, job_ids: list[str]) -> dict[str, str]:
    # read-only, and a fresh connection each time: the servers write the file meanwhile
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        marks = ",".join("?" * len(job_ids))
        return dict(conn.execute(f"SELECT id, status FROM jobs WHERE id IN ({marks})", job_ids).fetchall())


@pytest.mark.slow  # two server starts and four shorts: about 70 s
def test_running_cap_holds_across_two_web_processes(two_servers, tmp_path):
    """Each process runs two jobs at once (STUDIO_JOB_WORKERS=2), four slots in all, but one creator's four shorts
    sent two to each never have more than STUDIO_USER_MAX_RUNNING=2 running at a time, and all four are made."""
    a, b = two_servers(STUDIO_JOBS="local", STUDIO_JOB_WORKERS="2", STUDIO_USER_MAX_RUNNING="2")
    token = sign_up(a)["access_token"]
    script = "Cats sleep for most of the day. They save their energy for the hunt."
    job_ids = []
    for server in (a, b, a, b):
        code, job, _ = server.call("POST", "/api/shorts", {"script": script, "profile": "offline", "duration": 5}, token)
        assert code == 202, job
        job_ids.append(job["id"])

    db = tmp_path / "home" / "studio.db"
    most, deadline = 0, time.time() + 300
    while True:
        statuses = _statuses(db, job_ids)
        most = max(most, sum(status == "running" for status in statuses.values()))
        assert most <= 2, statuses
        if all(status in ("succeeded", "failed", "cancelled") for status in statuses.values()):
            break
        assert time.time() < deadline, f"the jobs did not finish in time: {statuses}"
        time.sleep(0.1)
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert most == 2  # the cap was reached, so the check above had something to hold back


def test_redis_sign_in_throttle_is_shared(monkeypatch):
    """Two throttles on one Redis (two processes) count one account's failures together, and hold back only the
    addresses that failed; a success anywhere clears it everywhere."""
    need_redis()
    from studio.errors import RateLimited
    from studio.limits import RedisSignInThrottle

    url = fresh_redis_url()
    here, there = RedisSignInThrottle(url, free=2), RedisSignInThrottle(url, free=2)
    clock = [1000.0]
    monkeypatch.setattr("studio.limits.time.time", lambda: clock[0])

    here.failed("ada@example.com", "10.0.0.1")
    there.check("ada@example.com", "10.0.0.1")  # one failure is free
    there.failed("ada@example.com", "10.0.0.1")  # the second, at the other process: 2 ** (2 - 2) = 1 s to wait
    with pytest.raises(RateLimited) as held:
        here.check("ada@example.com", "10.0.0.1")
    assert held.value.retry_after == 2
    there.check("ada@example.com", "10.0.0.2")  # an address with no failure for the account is never held back
    here.check("bo@example.com", "10.0.0.1")  # nor is another account
    clock[0] += 1.5
    here.check("ada@example.com", "10.0.0.1")  # the wait is over
    here.failed("ada@example.com", "10.0.0.1")  # the third doubles it to 2 s
    with pytest.raises(RateLimited) as held:
        there.check("ada@example.com", "10.0.0.1")
    assert held.value.retry_after == 3
    there.succeeded("ada@example.com")
    here.check("ada@example.com", "10.0.0.1")
    clock[0] += 3601  # after memory_s an address is no longer held back, the account's count notwithstanding
    for _ in range(4):
        here.failed("bo@example.com", "10.0.0.3")
    clock[0] += 3601
    there.check("bo@example.com", "10.0.0.3")

    import redis

    r = redis.Redis.from_url(url)
    assert 0 < r.ttl("studio:signin:bo@example.com:seen") <= 3600  # keys expire, so Redis does not keep them forever
    assert r.ttl("studio:signin:bo@example.com:count") > 3600


def test_limits_refuse_with_503_when_redis_does_not_answer():
    """A Redis that is down is no reason to let guesses through uncounted: the check answers limits_unavailable."""
    from studio.limits import Limiter, LimitsUnavailable, RedisSignInThrottle

    gone = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    for check in (lambda: Limiter(4, gone).hit("login-ip:10.0.0.1"),
                  lambda: RedisSignInThrottle(gone).check("ada@example.com", "10.0.0.1"),
                  lambda: RedisSignInThrottle(gone).failed("ada@example.com", "10.0.0.1"),
                  lambda: RedisSignInThrottle(gone).succeeded("ada@example.com")):
        with pytest.raises(LimitsUnavailable) as refused:
            check()
        assert (refused.value.status, refused.value.code) == (503, "limits_unavailable")
        assert refused.value.headers["Retry-After"] == "5"


def test_sign_in_answers_503_not_500_when_redis_does_not_answer(tmp_path):
    from fastapi.testclient import TestClient

    from studio.api.app import create_api
    from studio.hosted import Hosted
    from tests.api_helpers import make_settings

    hosted = Hosted(make_settings(tmp_path / "home", jobs="celery", redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        client = TestClient(create_api(hosted))  # no lifespan: the job runner is not started, only the limits matter
        r = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert r.status_code == 503 and r.json()["error"]["code"] == "limits_unavailable", r.text
        assert r.headers["Retry-After"] == "5"
    finally:
        hosted.db.dispose()
