"""Real `studio worker` processes on a real Redis, for the job tests, the browser test and benchmarks/jobs.py.

Each test takes its own Redis database number on the shared server (flushed first), or its own redis-server on a
spare port when it must restart Redis; it never restarts the shared one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_REDIS = os.environ.get("STUDIO_TEST_REDIS", "redis://127.0.0.1:6379")
# databases 7..15 of the shared Redis, taken in turn from a start that differs per process, so two test sessions
# on one machine rarely flush each other's (CI runs one)
_next_db = [int(os.environ.get("STUDIO_TEST_REDIS_DB", str(7 + os.getpid() % 9)))]


def redis_available(url: str = SHARED_REDIS) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def need_redis() -> None:
    """Skip without Redis on a developer's machine; fail in CI, which must test the Celery runner."""
    import pytest

    if redis_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"Redis is not answering at {SHARED_REDIS}; CI must test the Celery runner.")
    pytest.skip(f"Redis is not answering at {SHARED_REDIS} (set STUDIO_TEST_REDIS to use another)")


def fresh_redis_url() -> str:
    """A flushed database of the shared Redis (7..15, in turn)."""
    import redis

    db = _next_db[0]
    _next_db[0] = 7 + (db - 6) % 9
    url = f"{SHARED_REDIS}/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of the test's own on a spare port, keeping nothing on disk (like the machine's)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not redis_available(self.url):
            if time.time() > deadline:
                raise RuntimeError("the test's redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def job_env(home: Path, redis_url: str, *, lease_s: int = 3, database_url: str | None = None, **extra: str) -> dict:
    env = {**os.environ, "STUDIO_HOME": str(home), "STUDIO_JOBS": "celery", "STUDIO_REDIS_URL": redis_url,
           "STUDIO_JOB_LEASE_SECONDS": str(lease_s), "PYTHONUNBUFFERED": "1", **extra}
    if database_url:
        env["STUDIO_DATABASE_URL"] = database_url
    else:
        env.pop("STUDIO_DATABASE_URL", None)
    return env


class WorkerProc:
    """``studio worker`` in a subprocess; its log goes to ``log``."""

    def __init__(self, env: dict, log: Path, *, queues: str = "gpu,cpu,io", concurrency: int = 1,
                 beat: bool = False) -> None:
        self.env, self.log, self.queues, self.concurrency, self.beat = env, log, queues, concurrency, beat
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProc:
        fh = open(self.log, "ab")  # noqa: SIM115 - the worker writes to it for its whole life
        self.proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "worker", "--queues", self.queues,
                                      "--concurrency", str(self.concurrency), "--loglevel", "INFO",
                                      *(["--beat"] if self.beat else [])],
                                     cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the worker logs that it is ready (connected and consuming)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            if " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not get ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def children(self) -> list[int]:
        """The pool processes (prefork children) of the worker's main process."""
        out = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                out += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return out

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """The whole process group (the main process and its pool), as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def workers(env: dict, folder: Path, n: int = 1, **kw):
    procs = [WorkerProc(env, folder / f"worker-{i}.log", **kw).start() for i in range(n)]
    try:
        for p in procs:
            p.wait_ready()
        yield procs
    finally:
        for p in procs:
            p.kill()


def wait_for(predicate, timeout: float, every: float = 0.2, what: str = "the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
