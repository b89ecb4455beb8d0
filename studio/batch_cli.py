"""``studio batch topics.csv``: the operator queues one short per row through the server's own database and job
settings (STUDIO_HOME / STUDIO_DATABASE_URL / STUDIO_JOBS, as ``studio serve`` and ``studio jobs``), follows them,
writes a summary CSV and, with ``--out``, copies each made short's files out of storage.

Who pays: the shorts belong to ``--user`` (an existing account) or to the operator's own account
(``operator@studio.local``, made on first use; it has no password, so nobody can sign in as it). Either way they are
counted against the ``operator`` subject, which has no daily limit: the quota protects the server from its creators,
not from the person who runs it, and a creator's own quota for the day is left untouched. Every short is still
recorded in usage_events.

Under STUDIO_JOBS=local this command runs the jobs itself (a job runner in this process, stopped at the end);
under celery the workers run them and this command only follows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from models.errors import InvalidRequest, StudioError
from studio.remedies import print_for_cli

console = Console(stderr=True)
OPERATOR_EMAIL = "operator@studio.local"
OPERATOR_QUOTA = ("operator", 2**31 - 1)  # counted, never refused (see the module's docstring)
MAX_BARS = 20  # past this many jobs, a finished job's bar is hidden so the running ones stay on screen


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2) from None


def batch(
    csv_file: Annotated[Path, typer.Argument(help="A CSV whose header row names request fields (topic, script, "
                                             "platform, duration, voice, template, language, profile, seed, safety); "
                                             "one short per row.", show_default=False, metavar="CSV_FILE")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Queue the good rows and report the bad ones as "
                                           "refused, instead of refusing the file.")] = False,
    summary: Annotated[Optional[Path], typer.Option("--summary", help="Where to write the summary CSV (default: "
                                                    "next to CSV_FILE, as NAME.summary.csv).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Copy each made short's files into DIR/row-N/.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="The email of the account that will own the shorts "
                                                "(default: the operator's own account).")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Queue and return at once; under STUDIO_JOBS=local "
                                          "studio serve runs them.")] = False,
) -> None:
    """Queue one short per CSV row, follow them to the end and write a summary CSV. The shorts count against the
    operator, with no daily limit, not against --user's quota. Exits 0 when every row made a short, 1 when some did
    not (failed, cancelled or skipped as bad), 2 when the input is refused."""
    from studio import batches

    try:
        summary = summary or csv_file.with_suffix(".summary.csv")
        rows = batches.csv_rows(batches.decode_csv(_read_csv(csv_file)))
        _check_flags(csv_file, summary, out)
        h = _hosted()
        local = h.server.jobs == "local"
        if local and not no_wait:
            h.runner.start()  # not Hosted.start(): its clean-up would delete uploads a running studio serve receives
    except StudioError as exc:
        _fail(exc)
    try:
        owner = _owner(h, user)
        made = batches.queue(h, owner, rows, skip_bad=skip_bad, name=csv_file.name, quota=OPERATOR_QUOTA,
                             send=not (local and no_wait))
        if made.refused:
            console.print(f"[yellow]Skipped {len(made.refused)} bad row(s)[/yellow] (the header is row 1): "
                          + "; ".join(f"row {r['row']}: {' / '.join(r['errors'])}" for r in made.refused),
                          soft_wrap=True)
        console.print(f"Batch {made.id}: {len(made.jobs)} short(s) queued.")
        if not no_wait:
            made = _follow(h, owner, made.id, cancel_on_stop=local)
    except StudioError as exc:
        _stop(h)
        _fail(exc)
    _stop(h)
    copied = _copy_out(h, made, out) if out is not None else {}
    summary.write_text(batches.summary_csv(made, lambda job: copied.get(job.row) or _video_of(h, job)),
                       encoding="utf-8", newline="")
    _report(made, summary, no_wait, local)


def _read_csv(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise InvalidRequest(f"CSV_FILE: {path} is a folder.", "Give the path of a CSV file.") from None
    except OSError as exc:
        raise InvalidRequest(f"CSV_FILE: cannot read {str(path)!r}: {exc.strerror}.",
                             "Give the path of a CSV file whose header row names the request fields.") from None


def _check_flags(csv_file: Path, summary: Path, out: Path | None) -> None:
    from studio.core import check_out_dir

    if summary.resolve() == csv_file.resolve():
        raise InvalidRequest(f"--summary: {summary} is the CSV being read.", "Write the summary to another file.")
    if summary.is_dir():
        raise InvalidRequest(f"--summary: {summary} is a folder.", "Give a file name, e.g. topics.summary.csv.")
    if not summary.parent.is_dir():
        raise InvalidRequest(f"--summary: the folder {summary.parent} does not exist.", "Create it, or write the "
                             "summary elsewhere.")
    if out is not None:
        try:
            check_out_dir(out)
        except StudioError as exc:
            raise InvalidRequest(f"--out: {exc.message} {exc.hint}".strip()) from None


def _hosted():
    from studio.hosted import Hosted
    from studio.settings import Settings

    return Hosted(Settings.from_env())


def _owner(h, email: str | None) -> str:
    """``--user``'s account id, or the operator's own account (made on first use)."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from studio.tables import User

    with h.db.session() as s:
        found = s.scalar(select(User.id).where(User.email == (email or OPERATOR_EMAIL)))
    if found is not None:
        return str(found)
    if email:
        raise InvalidRequest(f"--user: no account has the email {email!r}.",
                             "Give the email of an existing account, or leave --user out to use the operator's own.")
    try:
        with h.db.session() as s:
            operator = User(email=OPERATOR_EMAIL, password_hash=None)  # no password: nobody signs in as it
            s.add(operator)
            s.flush()
            return operator.id
    except IntegrityError:  # another studio batch made it first
        return _owner(h, None)


def _follow(h, owner: str, batch_id: str, *, cancel_on_stop: bool, every: float = 0.5):
    """One bar for the batch and one per job (stage and percent), until every job has ended. Ctrl-C stops
    following; under the local runner it also cancels the batch's unfinished jobs, since nothing else runs them."""
    from studio import batches
    from studio.jobs import FINISHED

    made = batches.status(h, owner, batch_id)
    with Progress(TextColumn("{task.fields[label]:>7}"), TextColumn("[bold]{task.fields[status]:<9}"),
                  TextColumn("{task.fields[stage]:<8}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        whole = bar.add_task("", total=1.0, label="batch", status="", stage="")
        each: dict[str, TaskID] = {j.job_id: bar.add_task("", total=1.0, label=f"row {j.row}", status=j.status,
                                                           stage=j.stage) for j in made.jobs}
        try:
            while True:
                made = batches.status(h, owner, batch_id)
                counts = made.counts
                bar.update(whole, completed=made.progress, status=f"{len(made.jobs) - counts['queued'] - counts['running']}"
                           f"/{len(made.jobs)}", description=", ".join(f"{n} {s}" for s, n in counts.items() if n))
                for j in made.jobs:
                    ended = j.status in FINISHED
                    bar.update(each[j.job_id], completed=1.0 if j.status == "succeeded" else j.progress, status=j.status,
                               stage=j.stage, description=((j.error or {}).get("message") or j.message)[:60],
                               visible=not (ended and len(made.jobs) > MAX_BARS))
                if made.done:
                    return made
                time.sleep(every)
        except KeyboardInterrupt:
            if cancel_on_stop:
                for j in made.jobs:
                    if j.status not in FINISHED:
                        h.jobs.request_cancel(j.job_id)
                console.print("Stopped: the batch's unfinished jobs were cancelled (retry one with: studio jobs "
                              "retry ID).")
            else:
                console.print("Stopped following; the workers go on with the batch (see it with: studio jobs list).")
            _stop(h)
            raise typer.Exit(130) from None


def _stop(h) -> None:
    if h.server.jobs == "local":
        h.runner.stop()  # waits for the job in hand; a runner never started has nothing to stop


def _copy_out(h, made, out: Path) -> dict[int, str]:
    """Each made short's files into ``out``/row-N/; answers the video's path per row."""
    videos = {}
    for job in made.jobs:
        if job.status != "succeeded" or not job.files:
            continue
        folder = out / f"row-{job.row}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, f in job.files.items():
            h.storage.download(f["key"], folder / Path(name).name)
        if "short.mp4" in job.files:
            videos[job.row] = str((folder / "short.mp4").absolute())
    return videos


def _video_of(h, job) -> str:
    """Without --out: the stored file itself on local storage, else a download link."""
    f = job.files.get("short.mp4")
    if f is None:
        return ""
    if h.storage.name == "local":
        return str(h.storage.path(f["key"]))
    return h.links({"short.mp4": f})["short.mp4"]


def _report(made, summary: Path, no_wait: bool, local: bool) -> NoReturn:
    counts = made.counts
    said = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(f"Batch {made.id}: {said}. Summary: {summary}", soft_wrap=True)
    if no_wait:
        console.print("Queued; " + ("studio serve runs them (it picks up queued jobs within a minute)." if local else
                                    "the workers run them.") + " Follow them with: studio jobs list", soft_wrap=True)
        raise typer.Exit(0)
    for j in made.jobs:
        if j.status != "succeeded":
            error = j.error or {}
            console.print(f"[red]row {j.row}[/red] {j.status}" + (f" ({error.get('code')}): {error.get('message')}"
                                                                  if error else ""), soft_wrap=True)
    raise typer.Exit(0 if counts["succeeded"] == made.rows else 1)
