"""Batches: many shorts queued together, from a CSV (``studio batch``) or a JSON list (``POST /api/batches``).

``queue`` is the recipe:

1. every row is checked exactly as ``POST /api/shorts`` checks one short (the ``ShortIn`` model, the owner's asset and
   project ids, then ``studio.requests.check``), and its errors are kept under its row number;
2. a bad row refuses the whole batch (``BadRows``, nothing queued or charged) unless ``skip_bad``, when the bad rows
   are kept in ``Batch.refused`` for the summary;
3. the good rows' jobs and the ``Batch`` row are recorded in one transaction, which spends the quota for all of them
   or for none (``quota_exceeded`` says how many are left);
4. each job is handed to the runner.

Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1, so the first short is row 2; in a JSON
list the first short is row 1. Errors name their row this way ("row 3: duration: ...")."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from models.errors import InvalidRequest, Remedy, StudioError
from studio.api.work_routes import ShortIn, check_ids
from studio.db import owned
from studio.errors import RateLimited
from studio.hosted import Hosted
from studio.jobs import FINISHED
from studio.requests import check
from studio.tables import Batch, Job, Short

__all__ = ["COLUMNS", "MAX_ROWS", "BadRows", "BatchJob", "BatchStatus", "RowIn", "Rows", "csv_rows", "decode_csv", "json_rows",
           "queue", "status", "summary", "summary_csv"]

log = logging.getLogger("studio.batches")

# the request fields a CSV may name; files (asset ids) are for the API's JSON rows only
COLUMNS = ("topic", "script", "platform", "duration", "voice", "template", "language", "profile", "seed", "safety")
MAX_ROWS = 500  # shorts in one batch: beyond this, split the file
SUMMARY_FIELDS = ("row", "status", "job_id", "short_id", "title", "video", "error_code", "error_message")


class BadRows(InvalidRequest):
    """Rows that cannot be made. ``rows`` is ``[{"row": n, "errors": [...]}]``; the API answers it with the error."""

    code = "bad_rows"

    def __init__(self, message: str, hint: str, rows: list[dict], remedy: Remedy | None = None) -> None:
        super().__init__(message, hint, remedy)
        self.rows = rows


@dataclass(frozen=True)
class RowIn:
    """One short as it came in: its row number, its fields, and what was wrong with its cells before any check."""

    number: int
    fields: Any
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rows:
    """The shorts of one batch, and how their rows are counted (said in every error that names a row)."""

    items: tuple[RowIn, ...]
    counting: str


@dataclass(frozen=True)
class _Good:
    number: int
    spec: dict
    project_id: str | None


@dataclass(frozen=True)
class BatchJob:
    row: int
    job_id: str
    status: str
    progress: float
    stage: str
    message: str
    error: dict | None
    short_id: str | None
    title: str  # the short's title once made, else the row's topic (or the start of its script)
    files: dict = field(default_factory=dict)  # the short's files (name → {key, content_type, size})

    def as_dict(self) -> dict:
        return {"row": self.row, "job_id": self.job_id, "status": self.status, "progress": self.progress,
                "stage": self.stage, "message": self.message, "error": self.error, "short_id": self.short_id,
                "title": self.title}


@dataclass(frozen=True)
class BatchStatus:
    id: str
    name: str
    created_at: datetime
    rows: int
    jobs: tuple[BatchJob, ...]
    refused: tuple[dict, ...]  # {"row", "errors", "topic"}

    @property
    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("queued", "running", "succeeded", "failed", "cancelled")}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return {**out, "refused": len(self.refused)}

    @property
    def progress(self) -> float:
        """The mean of the jobs' progress, a finished job counting as whole: a failed job's work is behind the batch
        too, so a batch that has ended shows 100 %."""
        if not self.jobs:
            return 1.0
        return round(sum(1.0 if j.status in FINISHED else j.progress for j in self.jobs) / len(self.jobs), 3)

    @property
    def done(self) -> bool:
        return all(j.status in FINISHED for j in self.jobs)

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "created_at": self.created_at.isoformat(), "rows": self.rows,
                "counts": self.counts, "progress": self.progress, "done": self.done,
                "jobs": [j.as_dict() for j in self.jobs], "refused": list(self.refused)}


# reading rows
def decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError:
        raise InvalidRequest("The CSV is not UTF-8 text.", "Save it as \"CSV UTF-8\" from your spreadsheet.") from None


def csv_rows(text: str) -> Rows:
    """The shorts of a CSV whose header row names request fields. A header naming anything else refuses the file;
    empty cells take the field's default; blank lines are skipped (their row numbers still count)."""
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(records, None)
        if header is None or not any(c.strip() for c in header):
            raise InvalidRequest("The CSV is empty: its first row must name the columns.",
                                 f"Start it with a header row such as: topic,duration,platform (columns: {', '.join(COLUMNS)}).")
        # spreadsheets capitalise and pad headings: " Topic" names the topic column
        names = [c.strip().lower() for c in header]
        unknown = [c.strip() for c, n in zip(header, names, strict=True) if n and n not in COLUMNS]
        if unknown:
            raise InvalidRequest(f"Unknown column{'s' * (len(unknown) > 1)} in the header: "
                                 f"{', '.join(repr(c) for c in unknown)}.",
                                 f"The columns are the request fields: {', '.join(COLUMNS)}.")
        twice = sorted({n for n in names if n and names.count(n) > 1})
        if twice:
            raise InvalidRequest(f"The header names {', '.join(repr(n) for n in twice)} more than once.",
                                 "Keep one column per field.")
        if "topic" not in names and "script" not in names:
            raise InvalidRequest("The header has neither a topic nor a script column.",
                                 "Each short needs a topic (the script is written for it) or its own script.")
        rows: list[RowIn] = []
        for number, cells in enumerate(records, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise InvalidRequest(f"The CSV has more than {MAX_ROWS} shorts.", f"Split it into files of {MAX_ROWS} "
                                     "rows or fewer.")
            fields = {n: c.strip() for n, c in zip(names, cells, strict=False) if n and c.strip()}
            stray = [i + 1 for i, c in enumerate(cells) if c.strip() and (i >= len(names) or not names[i])]
            problems = tuple(f"column {i} has a value but no name in the header" for i in stray)
            rows.append(RowIn(number, fields, problems))
    except csv.Error as exc:
        raise InvalidRequest(f"The CSV cannot be read near line {records.line_num}: {exc}.",
                             "Check its quotes: a cell with a comma or a line break is written in double quotes.") from None
    if not rows:
        raise InvalidRequest("The CSV has no shorts under its header.", "Add one row per short.")
    return Rows(tuple(rows), "the header is row 1")


def json_rows(shorts: Sequence[Any]) -> Rows:
    """The shorts of ``POST /api/batches``' JSON list; the first is row 1."""
    if not shorts:
        raise InvalidRequest("The batch has no shorts.", "Send at least one in \"shorts\".")
    if len(shorts) > MAX_ROWS:
        raise InvalidRequest(f"The batch has {len(shorts)} shorts; at most {MAX_ROWS} go in one.",
                             "Send them in several batches.")
    return Rows(tuple(RowIn(i, s, () if isinstance(s, dict) else ("must be an object with the short's fields",))
                      for i, s in enumerate(shorts, start=1)), "the first short is row 1")


# checking
def _check_rows(h: Hosted, owner: str, rows: Rows) -> tuple[list[_Good], list[dict]]:
    studio = h.studio_for(owner)  # the account's templates, read once for the whole batch
    good, bad = [], []
    for row in rows.items:
        checked = list(row.problems) or _check_row(h, studio, owner, row)
        if isinstance(checked, _Good):
            good.append(checked)
        else:
            asked = row.fields.get("topic") or row.fields.get("script") if isinstance(row.fields, dict) else ""
            bad.append({"row": row.number, "errors": checked, "topic": str(asked or "")[:100]})
    return good, bad


def _check_row(h: Hosted, studio, owner: str, row: RowIn) -> _Good | list[str]:
    """The short as it will be queued, or what POST /api/shorts would refuse in it, in words ("duration: ...")."""
    try:
        body = ShortIn.model_validate(row.fields)
    except ValidationError as exc:  # the message, never the value (a row may hold anything)
        return [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
    spec = body.model_dump(exclude={"project_id"})
    try:
        with h.db.session() as db:
            check_ids(db, body, owner)
        check(studio, spec)
    except StudioError as exc:
        named = exc.remedy.field if exc.remedy and exc.remedy.field else ""
        return [f"{named + ': ' if named else ''}{exc.message} {exc.hint}".strip()]
    return _Good(row.number, spec, body.project_id)


def _refusal(bad: list[dict], rows: Rows) -> BadRows:
    which = "; ".join(f"row {b['row']}: {' / '.join(b['errors'])}" for b in bad)
    listed = [{"row": b["row"], "errors": b["errors"]} for b in bad]
    message = f"{len(bad)} of {len(rows.items)} rows cannot be made ({rows.counting}): {which}"
    if len(bad) == len(rows.items):
        return BadRows(message, "Fix those rows.", listed)
    return BadRows(message, "Fix those rows, or skip them: the good rows are then queued and these listed as refused.",
                   listed, Remedy("set_field", field="skip_bad", value=True))


# queueing
def queue(h: Hosted, owner: str, rows: Rows, *, skip_bad: bool = False, name: str = "",
          quota: tuple[str, int] | None = None, send: bool = True) -> BatchStatus:
    """Check every row, record the good rows' jobs (spending ``quota``, by default the owner's daily shorts) and
    hand them to the runner. ``send=False`` leaves them queued for a runner's sweep (``studio serve``)."""
    # 1. check every row
    good, bad = _check_rows(h, owner, rows)
    # 2. a bad row refuses the batch, unless asked to skip it; a batch with nothing good is refused either way
    if bad and (not skip_bad or not good):
        raise _refusal(bad, rows)
    # 3. the jobs and the batch, with the quota for all of them, in one transaction
    batch_id, job_ids = _record(h, owner, good, bad, name, len(rows.items), quota or (f"user:{owner}", h.server.daily_shorts))
    # 4. to the runner
    if send:
        _send(h, batch_id, job_ids)
    return status(h, owner, batch_id)


def _record(h: Hosted, owner: str, good: list[_Good], bad: list[dict], name: str, total: int,
            quota: tuple[str, int]) -> tuple[str, list[str]]:
    subject, limit = quota
    try:
        with h.db.session() as s:
            batch = Batch(owner_id=owner, name=name[:200], rows=total, refused={"items": bad})
            s.add(batch)
            s.flush()
            ids = [h.new_job(owner, "short", {**g.spec, "project_id": g.project_id}, subject, limit, "short",
                             batch=(batch.id, g.number), session=s) for g in good]
            return batch.id, ids
    except RateLimited as exc:
        if exc.code != "quota_exceeded":
            raise
        left = h.quota(subject, limit).remaining  # read after the rollback: what is really left
        raise RateLimited(f"This batch needs {len(good)} shorts and {left} of today's {limit} are left; nothing was "
                          "queued or charged.", exc.retry_after, f"Queue {left} rows or fewer today, or wait for "
                          "the quota to reset at midnight UTC.", code="quota_exceeded") from None


def _send(h: Hosted, batch_id: str, job_ids: list[str]) -> None:
    """Hand each job to the runner. If the queue refuses the first, the batch is undone (QueueUnavailable, nothing
    charged), as for one short; if it refuses a later one, the rest stay queued in the jobs table, where the
    runner's sweeper finds them once the queue is back."""
    for i, job_id in enumerate(job_ids):
        try:
            h.runner.submit(job_id)
        except StudioError:
            if i:
                log.warning("batch %s: the queue refused job %s; it and the %d after it wait for the sweeper",
                            batch_id, job_id, len(job_ids) - i - 1)
                return
            _undo(h, batch_id)
            raise


def _undo(h: Hosted, batch_id: str) -> None:
    with h.db.session() as s:
        jobs = s.scalars(select(Job).where(Job.batch_id == batch_id)).all()
        charges = [list(j.charge) for j in jobs if j.charge]
        for j in jobs:
            s.delete(j)
        batch = s.get(Batch, batch_id)
        if batch is not None:
            s.delete(batch)
    for subject, day in charges:
        h.refund(subject, day)


# following
def status(h: Hosted, owner: str, batch_id: str) -> BatchStatus:
    """The batch and each of its jobs; another creator's batch is NotFound, exactly like a missing one."""
    with h.db.session() as s:
        batch = owned(s, Batch, batch_id, owner, "batch")
        jobs = s.scalars(select(Job).where(Job.batch_id == batch.id, Job.owner_id == owner)
                         .order_by(Job.batch_row)).all()
        made = [j.short_id for j in jobs if j.short_id]
        shorts = {sh.id: sh for sh in s.scalars(select(Short).where(Short.id.in_(made), Short.owner_id == owner))}
        return BatchStatus(batch.id, batch.name, batch.created_at, batch.rows, tuple(
            _job_of(j, shorts.get(j.short_id or "")) for j in jobs), tuple((batch.refused or {}).get("items", [])))


def _job_of(j: Job, short: Short | None) -> BatchJob:
    asked = str(j.request.get("topic") or j.request.get("script") or "")[:100]
    return BatchJob(row=j.batch_row or 0, job_id=j.id, status=j.status, progress=float(j.progress or 0.0),
                    stage=j.stage or "", message=j.message or "", error=j.error, short_id=j.short_id,
                    title=short.title if short and short.title else asked, files=dict(short.files) if short else {})


def summary(batch: BatchStatus, video: Callable[[BatchJob], str]) -> list[dict]:
    """One line per row of the batch, refused rows included, in row order. ``video`` gives a made short's video
    as its edge shows it (a download link in the API, a file in the CLI)."""
    lines = [{"row": j.row, "status": j.status, "job_id": j.job_id, "short_id": j.short_id or "", "title": j.title,
              "video": video(j) if j.status == "succeeded" and j.files else "",
              "error_code": (j.error or {}).get("code", ""), "error_message": (j.error or {}).get("message", "")}
             for j in batch.jobs]
    lines += [{"row": r["row"], "status": "refused", "job_id": "", "short_id": "", "title": r.get("topic", ""),
               "video": "", "error_code": "bad_row", "error_message": " / ".join(r["errors"])} for r in batch.refused]
    return sorted(lines, key=lambda line: line["row"])


def summary_csv(batch: BatchStatus, video: Callable[[BatchJob], str]) -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, SUMMARY_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for line in summary(batch, video):
        writer.writerow({k: _cell(v) for k, v in line.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @) is written as text (OWASP's CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
