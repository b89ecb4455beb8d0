"""``studio worker`` and ``studio jobs``: the operator's view of the jobs, on the server's own database (the same
STUDIO_HOME / STUDIO_DATABASE_URL / STUDIO_JOBS settings as ``studio serve``). Creators use the app or the API."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from models.errors import InvalidRequest, StudioError
from studio.remedies import print_for_cli

app = typer.Typer(help="The operator's view of jobs: list, watch, cancel, retry; the workers.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2) from None


class Operator:
    """The database and the job controls, without the web server's services (auth, storage, the studio)."""

    def __init__(self) -> None:
        from studio.celery_jobs import policy_of
        from studio.db import Database
        from studio.jobs import JobStore
        from studio.settings import Settings

        self.settings = Settings.from_env()
        server = self.settings.server
        self.db = Database.for_home(self.settings.home, server.database_url)
        self.db.migrate()
        self.store = JobStore(self.db, policy_of(server))
        self.celery = None
        if server.jobs == "celery":
            from studio.celery_jobs import CeleryJobRunner

            self.celery = CeleryJobRunner(self.store, server)

    def job(self, job_id: str):
        from studio.tables import Job

        with self.db.session() as s:
            rows = s.scalars(select(Job).where(Job.id.startswith(job_id)).limit(2)).all()
        if not rows:
            raise InvalidRequest(f"No job with id {job_id!r}.", "See the ids with: studio jobs list")
        if len(rows) > 1:
            raise InvalidRequest(f"More than one job starts with {job_id!r}.", "Give more of the id.")
        return rows[0]


def _ago(t) -> str:
    from studio.jobs import aware, utcnow

    if t is None:
        return ""
    s = int((utcnow() - aware(t)).total_seconds())
    return f"{s}s ago" if s < 120 else f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago"


@app.command("list")
def list_jobs(
    status: Annotated[Optional[str], typer.Option(help="Only jobs in this state: queued, running, succeeded, failed "
                                                  "or cancelled.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 30,
) -> None:
    """The newest jobs with their state, progress, queue, attempts and error."""
    from studio.tables import Job, User

    try:
        op = Operator()
        if status and status not in ("queued", "running", "succeeded", "failed", "cancelled"):
            raise InvalidRequest(f"--status: unknown state {status!r}.",
                                 "Use one of: queued, running, succeeded, failed, cancelled.")
        with op.db.session() as s:
            q = select(Job, User.email).join(User, User.id == Job.owner_id).order_by(Job.created_at.desc()).limit(limit)
            if status:
                q = q.where(Job.status == status)
            rows = s.execute(q).all()
    except StudioError as exc:
        _fail(exc)
    table = Table("id", "kind", "owner", "status", "progress", "stage", "queue", "tries", "created", "error / message",
                  title=f"Jobs ({op.settings.server.jobs} runner)")
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}
    for job, email in rows:
        text = (job.error or {}).get("message") if job.error else job.message
        table.add_row(job.id[:12], job.kind, email, f"[{colour.get(job.status, 'white')}]{job.status}[/]",
                      f"{job.progress * 100:.0f}%", job.stage, job.queue, str(job.attempts), _ago(job.created_at),
                      (f"{job.error.get('code')}: " if job.error else "") + (text or "")[:60])
    out.print(table)


@app.command()
def watch(job_id: Annotated[str, typer.Argument(help="A job id (or its first characters).")],
          every: Annotated[float, typer.Option(help="Seconds between looks.")] = 0.5) -> None:
    """Follow one job until it ends, with a progress bar; exits 0 when it succeeded, 1 otherwise."""
    from studio.tables import Job

    try:
        op = Operator()
        job = op.job(job_id)
    except StudioError as exc:
        _fail(exc)
    with Progress(TextColumn("[bold]{task.fields[status]:<9}"), TextColumn("{task.fields[stage]:<8}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task(job.message or "", total=1.0, status=job.status, stage=job.stage)
        while True:
            with op.db.session() as s:
                job = s.get(Job, job.id)
            bar.update(task, completed=job.progress, status=job.status, stage=job.stage or "",
                       description=(job.message or "")[:70])
            if job.status in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(every)
    if job.status == "succeeded":
        console.print(f"[green]Succeeded[/green]: short {job.short_id}")
        raise typer.Exit(0)
    error = job.error or {}
    console.print(f"[red]{job.status.capitalize()}[/red]" + (f" ({error.get('code')}): {error.get('message')}"
                                                               if error else "") + f" after {job.attempts} attempt(s)")
    if error.get("hint"):
        console.print(error["hint"])
    raise typer.Exit(1)


@app.command()
def cancel(job_id: Annotated[str, typer.Argument(help="A job id (or its first characters).")]) -> None:
    """Cancel a job: a queued one at once, a running one at its next stage (nothing partial is kept)."""
    try:
        op = Operator()
        job = op.job(job_id)
        if job.status not in ("queued", "running"):
            raise InvalidRequest(f"Job {job.id[:12]} has already {job.status}; there is nothing to cancel.")
        status = op.store.request_cancel(job.id)
        if status == "cancelled":  # it never ran: its quota goes back, as when its creator cancels it
            op.store.give_back(job.id)
            if op.celery is not None:
                op.celery.revoke(job.id)
    except StudioError as exc:
        _fail(exc)
    console.print(f"Job {job.id[:12]}: " + ("cancelled." if status == "cancelled" else
                                          "cancelling; it stops at its next stage."))


@app.command()
def retry(job_id: Annotated[str, typer.Argument(help="A job id (or its first characters).")]) -> None:
    """Queue a failed or cancelled job again, from the beginning. The operator's retry spends no quota, even for a
    job whose quota was given back when it was cancelled."""
    try:
        op = Operator()
        job = op.job(job_id)
        if not op.store.retry(job.id):
            raise InvalidRequest(f"Job {job.id[:12]} is {job.status}; only a failed or cancelled job can be retried.")
        if op.celery is not None:
            op.celery.submit(job.id)
    except StudioError as exc:
        _fail(exc)
    where = "on the queue" if op.celery is not None else "for the server (studio serve picks it up within a minute)"
    console.print(f"Job {job.id[:12]} queued again {where}.")


@app.command()
def workers() -> None:
    """Worker processes seen in the last minute: queues, jobs done, model loads, memory."""
    from studio.jobs import utcnow
    from studio.tables import Worker

    try:
        op = Operator()
        with op.db.session() as s:
            rows = s.scalars(select(Worker).where(Worker.seen_at > utcnow() - timedelta(minutes=1))
                             .order_by(Worker.node, Worker.pid)).all()
    except StudioError as exc:
        _fail(exc)
    table = Table("worker", "role", "queues", "jobs", "model loads", "memory", "seen", title="Workers")
    for w in rows:
        loads = ", ".join(f"{k.rsplit('/', 1)[-1]}×{v}" for k, v in sorted(w.loads.items())) or "none"
        table.add_row(w.id, w.role, w.queues, str(w.jobs_done), loads, f"{w.rss_bytes / 2**20:.0f} MiB", _ago(w.seen_at))
    out.print(table)
    if not rows:
        console.print("No worker has reported in the last minute. Start one with: studio worker")


def worker(
    queues: Annotated[str, typer.Option(help="Queues to take work from, comma-separated: gpu, cpu, io.")] = "gpu,cpu,io",
    concurrency: Annotated[int, typer.Option(help="Jobs run at once (one process each; models load in each).")] = 1,
    loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    beat: Annotated[bool, typer.Option("--beat", help="Also post scheduled posts when they are due (the "
                                       "dispatcher). Start one worker per deployment with it.")] = False,
) -> None:
    """Start a Celery worker (STUDIO_JOBS=celery). It may run on another machine: it needs the same
    STUDIO_REDIS_URL, STUDIO_DATABASE_URL and storage settings as the web server."""
    from studio.celery_jobs import run_worker
    from studio.jobs import QUEUES

    try:
        chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
        unknown = [q for q in chosen if q not in QUEUES]
        if unknown or not chosen:
            raise InvalidRequest(f"--queues: unknown queue {', '.join(unknown) or '(none)'}.",
                                 "Use any of: gpu, cpu, io (comma-separated).")
        if concurrency < 1:
            raise InvalidRequest("--concurrency: must be 1 or more.")
        run_worker(chosen, concurrency, loglevel=loglevel.upper(), beat=beat)
    except StudioError as exc:
        _fail(exc)


def dispatch() -> None:
    """Post scheduled posts when they are due, in the foreground, until Ctrl-C. `studio serve` already does this
    under the local job runner and `studio worker --beat` under Celery; more than one dispatcher is safe (each post
    is claimed once)."""
    import signal
    import threading

    from studio.analytics.metrics import MetricsPuller
    from studio.hosted import Hosted
    from studio.publishing.dispatch import Dispatcher
    from studio.settings import Settings

    try:
        hosted = Hosted(Settings.from_env(), role="dispatcher")
    except StudioError as exc:
        _fail(exc)
    dispatcher = Dispatcher(hosted)
    puller = MetricsPuller.for_hosted(hosted)  # and the posted posts' numbers, on their schedule
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    console.print(f"Dispatching posts as {dispatcher.name}, and reading their numbers every "
                  f"{hosted.server.publish.metrics_every_s:g} s; Ctrl-C stops.")
    dispatcher.start()
    puller.start()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    puller.stop()
    dispatcher.stop()
