"""Jobs on Celery workers over Redis (``STUDIO_JOBS=celery``).

The jobs table stays the record: a Celery message only says "job X may be run now". Every delivery goes through
``studio.jobs.execute``, whose claim makes a second delivery of a held or finished job a no-op, so Redis may lose
messages (it keeps nothing on disk here) or deliver one twice. A sweeper (in every worker's main process and in
``studio serve``, one at a time through a Redis lock) sends again the queued jobs whose message is gone and the
running jobs whose lease has lapsed.

Queues: ``gpu`` (makes and renders whose profile uses GPU engines; ``auto`` goes there only while a live worker
consumes it), ``cpu`` (offline and CPU makes, timeline re-renders), ``io`` (uploads, publishing, imports, and the
post metrics: ``studio worker --beat`` sends ``studio.pull_metrics`` there every ``STUDIO_METRICS_EVERY`` seconds)."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from studio.errors import UpstreamUnavailable
from studio.jobs import QUEUES, JobStore, execute, utcnow, worker_name
from studio.settings import ServerSettings
from studio.tables import Job, Worker

log = logging.getLogger("studio.celery")
TASK = "studio.run_job"
METRICS_TASK = "studio.pull_metrics"  # one look of the post metrics puller (studio/analytics/metrics.py)
METRICS_LOCK_S = 15 * 60  # a look longer than this is assumed dead: the next one may start
HEARTBEAT_S = 5.0
INSTALL_HINT = "Install the job queue with: pip install 'celery[redis]' (scripts/setup.sh installs it)."


class QueueUnavailable(UpstreamUnavailable):
    code = "queue_unavailable"


def celery_config(server: ServerSettings) -> dict[str, Any]:
    """Settings that make a lost or doubled message harmless and a long render safe."""
    longest = server.job_longest_s + 600  # Redis hands an unacknowledged job to another worker after this
    return {
        "broker_url": server.redis_url,
        "result_backend": server.redis_url,
        "task_ignore_result": True,  # the jobs table holds the outcome
        "task_acks_late": True,  # acknowledged when done, so a worker that dies loses nothing ...
        "task_reject_on_worker_lost": True,  # ... and a pool child killed mid-job puts its message back
        "worker_prefetch_multiplier": 1,  # each process reserves one job at a time
        # one timeout, in all three places Celery reads it (each defaults to 3,600 s on its own)
        "visibility_timeout": longest,
        "broker_transport_options": {"visibility_timeout": longest, "socket_connect_timeout": 3, "socket_timeout": 10},
        "result_backend_transport_options": {"visibility_timeout": longest},
        "worker_cancel_long_running_tasks_on_connection_loss": False,  # a Redis restart must not stop a render
        "broker_connection_retry_on_startup": True,
        "task_default_queue": "cpu",
        "task_routes": {METRICS_TASK: {"queue": "io"}},
        "task_create_missing_queues": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


def make_app(server: ServerSettings):
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover - celery is in requirements.txt
        raise QueueUnavailable("Celery is not installed.", INSTALL_HINT) from exc
    app = Celery("studio")
    app.conf.update(celery_config(server))
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(_run_job)
    app.task(name=METRICS_TASK, bind=True, ignore_result=True)(_pull_metrics)
    return app


def _run_job(task, job_id: str) -> str:
    """The task: claim and run one job in this worker process (models stay loaded between jobs)."""
    here = WorkerProcess.get()
    return here.run(job_id)


def _pull_metrics(task) -> str:
    """The metrics task: one look for posts due a snapshot, in this worker process."""
    return WorkerProcess.get().pull_metrics()


def send_metrics_task(app, every_s: float) -> None:
    """What the beat sends every ``every_s`` seconds; a message nobody took within that time expires (the next one
    does its work), so an io queue without a worker does not pile them up."""
    app.send_task(METRICS_TASK, queue="io", expires=max(1.0, every_s), retry=False, ignore_result=True)


class CeleryJobRunner:
    def __init__(self, store: JobStore, server: ServerSettings, *, sweep_s: float | None = None,
                 unsent_grace_s: float = 10.0) -> None:
        self.store = store
        self.server = server
        self.app = make_app(server)
        self.sweep_s = sweep_s if sweep_s is not None else max(1.0, store.policy.lease_s / 2)
        self.unsent_grace_s = unsent_grace_s
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._redis = None

    # sending
    def queue_for(self, job_id: str) -> str:
        with self.store.db.session() as s:
            job = s.get(Job, job_id)
            kind, request = (job.kind, dict(job.request)) if job else ("short", {})
        if kind in ("publish", "upload", "import"):
            return "io"
        profile = str(request.get("profile") or "auto")
        if profile == "gpu":
            return "gpu"
        if profile == "auto" and kind == "short" and self.live_queues().get("gpu"):
            return "gpu"
        return "cpu"

    def live_queues(self) -> dict[str, int]:
        """Queue → worker processes (main) that reported within three heartbeats."""
        since = utcnow() - timedelta(seconds=3 * HEARTBEAT_S)
        out: dict[str, int] = {}
        with self.store.db.session() as s:
            for queues in s.scalars(select(Worker.queues).where(Worker.role == "main", Worker.seen_at > since)):
                for q in queues.split(","):
                    out[q] = out.get(q, 0) + 1
        return out

    def submit(self, job_id: str) -> None:
        queue = self.queue_for(job_id)
        task_id = f"{job_id}.{uuid.uuid4().hex[:8]}"
        try:
            self.app.send_task(TASK, args=[job_id], queue=queue, task_id=task_id, retry=False, ignore_result=True)
        except Exception as exc:  # kombu's OperationalError, redis' ConnectionError, a refused socket
            if not _is_connection_error(exc):
                raise
            raise QueueUnavailable("The job queue is not reachable right now; nothing was started or charged.",
                                   "Try again in a minute. (The operator: check STUDIO_REDIS_URL and that Redis "
                                   "is running.)") from exc
        self.store.sent(job_id, queue, task_id)

    def revoke(self, job_id: str) -> None:
        with self.store.db.session() as s:
            task_id = s.scalar(select(Job.task_id).where(Job.id == job_id))
        if task_id:
            try:
                self.app.control.revoke(task_id)
            except Exception:  # best effort: the claim refuses a cancelled job anyway
                log.warning("could not revoke the message of job %s", job_id, exc_info=True)

    # the sweeper
    def start(self) -> None:
        self._stop.clear()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="studio-job-sweeper", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)

    def _sweep_loop(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception as exc:
                log.warning("the job sweep failed (%s); it runs again in %.0f s", exc, self.sweep_s)
            if self._stop.wait(self.sweep_s):
                return

    def redis(self):
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.server.redis_url or "", socket_connect_timeout=3, socket_timeout=10)
        return self._redis

    def queued_messages(self) -> set[str]:
        """The job ids whose message waits in a queue now (not the ones a worker has taken)."""
        r, ids = self.redis(), set()
        for queue in QUEUES:
            for key in r.scan_iter(match=f"{queue}*", count=100):
                if r.type(key) != b"list":
                    continue
                for raw in r.lrange(key, 0, -1):
                    try:
                        ids.add(str(json.loads(raw)["headers"]["id"]).split(".")[0])
                    except (ValueError, KeyError, TypeError):
                        continue
        return ids

    def sweep(self) -> int:
        """Send again what the jobs table says is due. One sweeper at a time (a Redis lock); answers how many."""
        r = self.redis()
        if not r.set("studio:sweeper", worker_name(), nx=True, ex=max(2, int(self.sweep_s))):
            return 0
        due = self.store.due()
        if not due:
            return 0
        present = self.queued_messages()
        now, n = utcnow(), 0
        for job_id, status, sent in due:
            if status == "queued":
                if sent is not None and (job_id in present or (now - sent).total_seconds() < self.unsent_grace_s):
                    continue
                log.info("job %s is queued without a message: sending it again", job_id)
            else:
                log.info("job %s lost its worker (lease lapsed): sending it again", job_id)
            try:
                self.submit(job_id)
                n += 1
            except QueueUnavailable:
                return n
        return n

    def wake(self, owner: str) -> None:
        for job_id in self.store.waiting_of(owner):
            self.submit(job_id)


def _is_connection_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"OperationalError", "ConnectionError", "TimeoutError", "OSError", "ConnectionRefusedError"})


class WorkerProcess:
    """What one worker process keeps between jobs: the hosted services (database, storage, the studio and its
    loaded models), built on the first job, inside the process that runs it: a prefork parent never loads a model
    (nor CUDA)."""

    _here: WorkerProcess | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        from studio.hosted import Hosted
        from studio.settings import Settings

        self.hosted = Hosted(Settings.from_env(), role="worker")
        self.name = worker_name("job")
        self.id = f"{os.uname().nodename}:{os.getpid()}"
        self.pid = os.getpid()
        self.jobs_done = 0
        self.metrics = None  # this process's metrics puller, built on its first look

    @classmethod
    def get(cls) -> WorkerProcess:
        with cls._lock:
            if cls._here is None or cls._here.pid != os.getpid():  # built after the fork, once per process
                cls._here = cls()
            return cls._here

    def run(self, job_id: str) -> str:
        h = self.hosted
        runner = h.runner
        got = execute(runner.store, job_id, self.name, h.run_job,
                      on_finish=getattr(runner, "wake", None))
        if got == "run":
            self.jobs_done += 1
            _trim()
        self.report()
        return got

    def pull_metrics(self) -> str:
        """One look of the metrics puller. One at a time across the deployment (a Redis lock): a look still running
        when the next message comes would read the same due posts again at another moment."""
        from redis.exceptions import LockError

        lock = self.hosted.runner.redis().lock("studio:metrics", timeout=METRICS_LOCK_S)
        if not lock.acquire(blocking=False):
            return "busy"
        try:
            if self.metrics is None:
                from studio.analytics.metrics import MetricsPuller

                self.metrics = MetricsPuller.for_hosted(self.hosted)
            stats = self.metrics.pull()
            return f"{stats.saved} snapshots of {stats.due} due posts"
        finally:
            try:
                lock.release()
            except LockError:  # it outlived its timeout: another look may have started since
                log.warning("the metrics look outlived its %d s lock", METRICS_LOCK_S)

    def report(self) -> None:
        """This process's row in ``workers``: jobs done, models loaded (by model), resident memory."""
        loads = {str(k if isinstance(k, str) else "/".join(map(str, k))): int(v)
                 for k, v in self.hosted.studio.models.loads.items()}
        record(self.hosted.db, self.id, role="child", queues=os.environ.get("STUDIO_WORKER_QUEUES", ""),
               jobs_done=self.jobs_done, loads=loads, info={"name": self.name, "parent": os.getppid()})


def record(db, wid: str, *, role: str, queues: str, jobs_done: int = 0, loads: dict | None = None,
           info: dict | None = None) -> None:
    node, _, pid = wid.rpartition(":")
    with db.session() as s:
        row = s.get(Worker, wid)
        if row is None:
            row = Worker(id=wid, node=node, role=role, queues=queues, pid=int(pid), started_at=utcnow())
            s.add(row)
        row.seen_at, row.queues, row.jobs_done, row.rss_bytes = utcnow(), queues, jobs_done, _rss()
        row.loads = loads if loads is not None else row.loads or {}
        row.info = {**(row.info or {}), **(info or {})}


def _trim() -> None:
    """Hand the frames' freed memory back to the system between jobs (glibc keeps it in its arenas otherwise, and a
    worker that lives for days would hold its largest render's worth forever)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _rss() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_worker(queues: tuple[str, ...], concurrency: int, *, loglevel: str = "INFO", beat: bool = False) -> None:
    """``studio worker``: a Celery worker on ``queues``; its main process reports itself and sweeps, and never
    builds the studio (models load in the pool processes that run jobs)."""
    from celery import signals

    from studio.db import Database
    from studio.settings import Settings

    settings = Settings.from_env()
    server = settings.server
    if server.jobs != "celery":
        raise QueueUnavailable("studio worker needs STUDIO_JOBS=celery.",
                               "Set STUDIO_JOBS=celery and STUDIO_REDIS_URL, the same as the web server's.")
    db = Database.for_home(settings.home, server.database_url)
    db.migrate()
    store = JobStore(db, policy_of(server))
    runner = CeleryJobRunner(store, server)
    os.environ["STUDIO_WORKER_QUEUES"] = ",".join(queues)
    main_id = f"{os.uname().nodename}:{os.getpid()}"
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.is_set():
            try:
                import sys

                record(db, main_id, role="main", queues=",".join(queues),
                       info={"concurrency": concurrency, "torch_loaded": "torch" in sys.modules})
            except Exception:
                log.warning("worker heartbeat failed", exc_info=True)
            stop.wait(HEARTBEAT_S)

    dispatchers = []

    def metrics_beat() -> None:
        every = settings.server.publish.metrics_every_s
        while not stop.wait(every):
            try:
                send_metrics_task(runner.app, every)
            except Exception:  # Redis away for a moment: the next beat sends it
                log.warning("could not send the metrics task", exc_info=True)

    @signals.worker_ready.connect(weak=False)
    def _ready(**_kw) -> None:
        threading.Thread(target=heartbeat, name="studio-heartbeat", daemon=True).start()
        runner.start()
        if beat:  # the post dispatcher (studio/publishing/dispatch.py) runs in this main process
            from studio.hosted import Hosted
            from studio.publishing.dispatch import Dispatcher

            dispatchers.append(Dispatcher(Hosted(settings, role="dispatcher")))
            dispatchers[0].start()
            # and it schedules the post metrics: a look every STUDIO_METRICS_EVERY seconds, run on the io queue
            threading.Thread(target=metrics_beat, name="studio-metrics-beat", daemon=True).start()

    @signals.worker_shutdown.connect(weak=False)
    def _down(**_kw) -> None:
        stop.set()
        runner.stop()
        for d in dispatchers:
            d.stop()

    argv = ["worker", "-Q", ",".join(queues), "-c", str(max(1, concurrency)), "-P", "prefork",
            "-n", f"studio-{'-'.join(queues)}-{os.getpid()}@%h", "--loglevel", loglevel, "--without-gossip",
            "--without-mingle"]
    runner.app.worker_main(argv=argv)


def policy_of(server: ServerSettings):
    from studio.jobs import JobPolicy

    return JobPolicy(lease_s=float(server.job_lease_s), max_attempts=server.job_max_attempts,
                     user_max_running=server.user_max_running)
