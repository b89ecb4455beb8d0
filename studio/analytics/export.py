"""The Parquet exporter: copies new ``events`` and ``metric_snapshots`` rows out of the metadata database into
day-partitioned Parquet that DuckDB reads (docs/analytics.md)::

    root/events/day=YYYY-MM-DD/b<batch:010d>_<i>.parquet
    root/metrics/day=YYYY-MM-DD/b<batch:010d>_<i>.parquet

Safe to run twice, from several processes at once, and after being killed:

1. **Claim.** One transaction inserts an ``analytics_exports`` row (its id is the batch) and stamps up to
   ``batch_size`` unclaimed rows of each table with it (``export_batch``). On PostgreSQL the rows are picked with
   ``FOR UPDATE SKIP LOCKED``, so two exporters take different rows and never wait on each other. No id cursor:
   PostgreSQL ids can commit out of order, and a row that commits late is simply unclaimed until a later run.
2. **Write.** The batch's rows are read back, written by DuckDB into a staging folder, then each file is moved into
   place with ``os.replace`` (readers never see half a file). File names depend only on the batch, so writing a batch
   again replaces its files instead of adding to them.
3. **Finish.** ``finished_at`` is set. A batch whose exporter died before this is written again by the next run
   (``resume=True``, or once it is older than ``grace``), from the same rows, under the same file names.
4. **Deletions.** Pending ``analytics_deletions`` (``EventStore.forget``) rewrite every file holding a deleted row.

Steps 2–4 and ``copy_to`` hold an exclusive lock on ``root/.lock`` (POSIX ``flock``; the kernel drops it when the
holder dies). It keeps a batch's read-and-place and a deletion's rewrite from interleaving: a row read before a
deletion committed is always in place before that deletion's rewrite looks for it.

No DuckDB scanner for SQLite or PostgreSQL is available offline, so rows come out through SQLAlchemy, one batch at a
time, into a pandas DataFrame with fixed dtypes, and every Parquet file gets the same schema (``SCHEMAS``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Table, Text, cast, func, insert, select, update

from models.errors import StudioError
from studio.db import Database
from studio.tables import AnalyticsDeletion, AnalyticsExport, EventRow, MetricSnapshotRow

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["ExportStats", "Exporter", "SCHEMAS", "PAUSE_ENV"]

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
SNAPSHOTS: Table = MetricSnapshotRow.__table__  # type: ignore[assignment]
EXPORTS: Table = AnalyticsExport.__table__  # type: ignore[assignment]
DELETIONS: Table = AnalyticsDeletion.__table__  # type: ignore[assignment]

# Parquet columns and their DuckDB types, per folder: the tables' columns (docs/analytics.md) without the exporter's
# own ``export_batch``. ``day`` becomes the hive partition (the folder name), not a column inside the files.
SCHEMAS: dict[str, tuple[Table, dict[str, str]]] = {
    "events": (EVENTS, {
        "id": "BIGINT", "event_id": "VARCHAR", "at": "TIMESTAMPTZ", "day": "VARCHAR", "kind": "VARCHAR",
        "owner_id": "VARCHAR", "run_id": "VARCHAR", "job_id": "VARCHAR", "short_id": "VARCHAR", "post_id": "VARCHAR",
        "platform": "VARCHAR", "name": "VARCHAR", "engine": "VARCHAR", "status": "VARCHAR", "code": "VARCHAR",
        "seconds": "DOUBLE", "calls": "INTEGER", "hits": "INTEGER", "data": "VARCHAR",
    }),
    "metrics": (SNAPSHOTS, {
        "id": "BIGINT", "snapshot_id": "VARCHAR", "owner_id": "VARCHAR", "post_id": "VARCHAR", "short_id": "VARCHAR",
        "platform": "VARCHAR", "remote_id": "VARCHAR", "title": "VARCHAR", "source": "VARCHAR",
        "taken_at": "TIMESTAMPTZ", "posted_at": "TIMESTAMPTZ", "day": "VARCHAR", "hours": "DOUBLE",
        "views": "BIGINT", "likes": "BIGINT", "comments": "BIGINT", "shares": "BIGINT", "saves": "BIGINT",
        "reach": "BIGINT", "engaged_views": "BIGINT", "subscribers": "BIGINT", "avg_view_seconds": "DOUBLE",
        "avg_view_ratio": "DOUBLE", "watch_seconds": "DOUBLE", "retention": "VARCHAR", "duration": "DOUBLE",
    }),
}
# the pandas dtype each DuckDB type is built from: nullable ints and floats, so a column that is all NULL in one batch
# still has its type (an all-None object column would reach DuckDB as type "NULL")
DTYPES = {"BIGINT": "Int64", "INTEGER": "Int32", "DOUBLE": "Float64", "VARCHAR": "string",
          "TIMESTAMPTZ": "datetime64[us, UTC]"}

# Test hook, for the tests that kill an exporter mid-way: set to ``claimed`` (after the claim commits) or ``written``
# (after the files are in place, before ``finished_at``) and the exporter says so on stderr and sleeps there.
PAUSE_ENV = "STUDIO_TEST_EXPORT_PAUSE"

DUCKDB_HINT = "pip install duckdb==2.0.1 pandas==3.1.1 (both are in requirements.txt)"


@dataclass(frozen=True)
class ExportStats:
    """What one ``Exporter.run`` did: rows written (resumed batches included), batches written, Parquet files
    rewritten or removed for deletions, and the wall time."""

    events: int
    snapshots: int
    batches: int
    deleted_files_rewritten: int
    seconds: float


class Exporter:
    """Writes the analytics tables of ``db`` as Parquet under ``root``. ``grace``: how old an unfinished batch must be
    before a run without ``resume`` takes it over (younger ones may still be in another exporter's hands)."""

    def __init__(self, db: Database, root: Path, *, grace: timedelta = timedelta(minutes=5)) -> None:
        self.db = db
        self.root = Path(root)
        self.grace = grace

    def run(self, batch_size: int = 50_000, *, resume: bool = False) -> ExportStats:
        """Export every row not exported yet, apply pending deletions, and say what was done. ``resume``: also write
        again every unfinished batch, however young (the CLI does; nothing is lost or doubled either way)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
        start = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        events = snapshots = batches = 0

        # 1. batches claimed by an exporter that died before finishing them
        for batch in self._unfinished(resume):
            written = self._write(batch)
            if written is not None:
                events, snapshots, batches = events + written[0], snapshots + written[1], batches + 1

        # 2. new rows, up to the newest ids at the start (so a run ends even while writers keep appending)
        bounds = self._newest_ids()
        while (claimed := self._claim(batch_size, bounds)) is not None:
            _pause("claimed")
            written = self._write(claimed)
            if written is not None:
                events, snapshots, batches = events + written[0], snapshots + written[1], batches + 1

        # 3. deleted accounts and shorts
        rewritten = self._apply_deletions()
        return ExportStats(events, snapshots, batches, rewritten, time.monotonic() - start)

    def copy_to(self, target: Path, *, batch_size: int = 50_000, resume: bool = True) -> ExportStats:
        """Export (``run``), then make ``target/events`` and ``target/metrics`` an exact mirror of the Parquet under
        ``root``: new and changed files copied, files no longer under ``root`` removed. Other files in ``target``
        are left alone. This is ``studio analytics export --parquet DIR``."""
        target = Path(target).resolve()
        root = self.root.resolve()
        if target == root or root in target.parents:
            raise ValueError(f"Export to a folder outside the studio's own Parquet ({root}), not {target}.")
        stats = self.run(batch_size, resume=resume)
        with self._lock():
            for folder in SCHEMAS:
                _mirror(root / folder, target / folder)
        return stats

    # -- 1. claim ---------------------------------------------------------------------------------------------------

    def _newest_ids(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            return {folder: conn.scalar(select(func.coalesce(func.max(t.c.id), 0))) or 0
                    for folder, (t, _) in SCHEMAS.items()}

    def _claim(self, batch_size: int, bounds: dict[str, int]) -> int | None:
        """A new batch holding up to ``batch_size`` unclaimed rows of each table; None when there are none."""
        with self.db.engine.connect() as conn, conn.begin() as tx:
            made = conn.execute(insert(EXPORTS).values(started_at=_now(), events=0, snapshots=0))
            batch = int(made.inserted_primary_key[0])  # type: ignore[index]  # an INSERT always has one
            claimed = 0
            for folder, (table, _) in SCHEMAS.items():
                pick = (select(table.c.id)
                        .where(table.c.export_batch.is_(None), table.c.id <= bounds[folder])
                        .order_by(table.c.id).limit(batch_size))
                if conn.dialect.name == "postgresql":
                    # SKIP LOCKED: rows another exporter is claiming are its own. A CTE, evaluated once: as an IN
                    # subquery PostgreSQL may rescan it per row, skip the rows this very UPDATE just changed, and
                    # so claim far more than batch_size.
                    picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
                    claim = update(table).where(table.c.id == picked.c.id, table.c.export_batch.is_(None))
                else:  # SQLite: one writer at a time
                    claim = update(table).where(table.c.export_batch.is_(None), table.c.id.in_(pick))
                claimed += conn.execute(claim.values(export_batch=batch)).rowcount
            if not claimed:
                tx.rollback()  # nothing new: leave no empty batch behind
                return None
        return batch

    def _unfinished(self, resume: bool) -> list[int]:
        cutoff = _now() - self.grace
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(EXPORTS.c.id, EXPORTS.c.started_at)
                                .where(EXPORTS.c.finished_at.is_(None)).order_by(EXPORTS.c.id)).all()
        return [int(b) for b, started in rows if resume or _aware(started) < cutoff]

    # -- 2. write, 3. finish ----------------------------------------------------------------------------------------

    def _write(self, batch: int) -> tuple[int, int] | None:
        """Write batch ``batch``'s rows to Parquet, replacing any files an earlier attempt left, and mark it finished.
        Returns (events, snapshots) written; None if another exporter finished it meanwhile."""
        duckdb = _duckdb()
        with self._lock():
            with self.db.engine.connect() as conn:
                if conn.scalar(select(EXPORTS.c.finished_at).where(EXPORTS.c.id == batch)) is not None:
                    return None
            staging = self.root / ".staging"
            shutil.rmtree(staging, ignore_errors=True)  # a dead exporter's leftovers; the lock says no one else's
            staging.mkdir()
            counts = []
            con = duckdb.connect()
            try:
                for folder, (table, columns) in SCHEMAS.items():
                    frame = self._frame(table, columns, batch)
                    counts.append(len(frame))
                    if len(frame):
                        con.register("batch_rows", frame)
                        con.execute(_copy_sql(columns, staging / folder, batch)).fetchall()
                        con.unregister("batch_rows")
                    self._place(staging / folder, self.root / folder, batch)
            finally:
                con.close()
                shutil.rmtree(staging, ignore_errors=True)
            _pause("written")
            with self.db.engine.begin() as conn:
                conn.execute(update(EXPORTS).where(EXPORTS.c.id == batch, EXPORTS.c.finished_at.is_(None))
                             .values(finished_at=_now(), events=counts[0], snapshots=counts[1]))
        return counts[0], counts[1]

    def _frame(self, table: Table, columns: dict[str, str], batch: int) -> pd.DataFrame:
        """Batch ``batch``'s rows of ``table`` as a DataFrame with one fixed dtype per column (JSON as text)."""
        import pandas as pd

        picks = [cast(table.c[c], Text).label(c) if isinstance(table.c[c].type, JSON) else table.c[c] for c in columns]
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(*picks).where(table.c.export_batch == batch).order_by(table.c.id)).all()
        values = list(zip(*rows)) if rows else [() for _ in columns]
        data: dict[str, Any] = {}
        for (name, kind), col in zip(columns.items(), values):
            if kind == "TIMESTAMPTZ":  # SQLite hands back naive datetimes; the store only ever writes UTC
                data[name] = pd.to_datetime(pd.Series(col, dtype=object), utc=True).astype(DTYPES[kind])
            else:
                data[name] = pd.array(col, dtype=DTYPES[kind])
        return pd.DataFrame(data)

    @staticmethod
    def _place(staged: Path, dest: Path, batch: int) -> None:
        """Move the batch's staged files into ``dest`` (same relative names) and remove its files that an earlier
        attempt left in partitions this attempt did not write (their rows were deleted meanwhile)."""
        placed = set()
        for f in sorted(staged.glob("day=*/*.parquet")):
            final = dest / f.parent.name / f.name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, final)
            placed.add(final)
        for old in dest.glob(f"day=*/{_stem(batch)}_*.parquet"):
            if old not in placed:
                old.unlink()
                _rmdir_if_empty(old.parent)

    # -- 4. deletions -----------------------------------------------------------------------------------------------

    def _apply_deletions(self) -> int:
        """Rewrite every Parquet file holding a row of a pending deletion without it (a file left empty is removed),
        then mark the deletions done. Returns the number of files rewritten or removed.

        A row matching a deletion goes only if it is no longer in the table: an event recorded for the same short
        after the deletion stays, exactly as it stays in the database."""
        with self.db.engine.connect() as conn:
            pending = conn.execute(select(DELETIONS.c.id, DELETIONS.c.owner_id, DELETIONS.c.short_id)
                                   .where(DELETIONS.c.done_at.is_(None)).order_by(DELETIONS.c.id)).all()
        if not pending:
            return 0
        matches = "coalesce(" + " OR ".join(_deletion_sql(owner, short) for _, owner, short in pending) + ", false)"
        changed = 0
        with self._lock():
            con = _duckdb().connect()
            try:
                for folder in SCHEMAS:
                    changed += self._rewrite_without(con, folder, matches)
            finally:
                con.close()
            with self.db.engine.begin() as conn:
                conn.execute(update(DELETIONS).where(DELETIONS.c.id.in_([d for d, _, _ in pending]))
                             .values(done_at=_now()))
        return changed

    def _rewrite_without(self, con: duckdb.DuckDBPyConnection, folder: str, matches: str) -> int:
        """Rewrite the files under ``root/folder`` holding rows that match the SQL condition ``matches`` and are gone
        from the table, without those rows."""
        import pandas as pd

        table, columns = SCHEMAS[folder]
        key = "event_id" if "event_id" in columns else "snapshot_id"  # the row's natural key
        files = self.root / folder / "day=*" / "*.parquet"
        if not any(self.root.glob(f"{folder}/day=*/*.parquet")):
            return 0
        # hive_partitioning=false: the files do not hold ``day`` and must not gain it from their folder's name
        found = con.execute(f"SELECT filename, id, {key} FROM read_parquet({_sql_str(str(files))}, filename = true, "
                            f"hive_partitioning = false) WHERE {matches}").fetchall()
        if not found:
            return 0
        still: set[tuple[int, str]] = set()
        with self.db.engine.connect() as conn:
            wanted = sorted({k for _, _, k in found})
            for i in range(0, len(wanted), 1000):
                rows = conn.execute(select(table.c.id, table.c[key]).where(table.c[key].in_(wanted[i:i + 1000])))
                still.update((row_id, row_key) for row_id, row_key in rows)
        gone: dict[str, list[int]] = {}
        for name, row_id, row_key in found:
            if (row_id, row_key) not in still:
                gone.setdefault(name, []).append(row_id)
        for name, ids in sorted(gone.items()):
            con.register("gone_ids", pd.DataFrame({"id": pd.array(ids, dtype="Int64")}))
            path = Path(name)
            src = f"read_parquet({_sql_str(name)}, hive_partitioning = false)"
            keep = "id NOT IN (SELECT id FROM gone_ids)"
            # DuckDB 2.0 refuses new work on a connection while a result is unread: fetchall(), not fetchone()
            (kept,), = con.execute(f"SELECT count(*) FROM {src} WHERE {keep}").fetchall()
            if kept:
                tmp = path.with_name(f".{path.name}.tmp")  # not *.parquet: readers' globs never see it
                con.execute(f"COPY (SELECT * FROM {src} WHERE {keep} ORDER BY id) TO {_sql_str(str(tmp))} "
                            "(FORMAT parquet, COMPRESSION zstd)").fetchall()
                os.replace(tmp, path)
            else:
                path.unlink()
                _rmdir_if_empty(path.parent)
            con.unregister("gone_ids")
        return len(gone)

    # -- the lock ---------------------------------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released on close, or by the kernel if this process dies
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _copy_sql(columns: dict[str, str], dest: Path, batch: int) -> str:
    """COPY the registered ``batch_rows`` to ``dest/day=…/b<batch>_<i>.parquet``, each column cast to its type."""
    picks = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())
    return (f"COPY (SELECT {picks} FROM batch_rows ORDER BY id) TO {_sql_str(str(dest))} "
            f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), "
            f"FILENAME_PATTERN '{_stem(batch)}_{{i}}', OVERWRITE_OR_IGNORE true)")


def _deletion_sql(owner_id: str | None, short_id: str | None) -> str:
    """The DuckDB condition for one deletion's rows (as ``EventStore.forget`` matched them: every given id)."""
    conds = [f"{col} = {_sql_str(v)}" for col, v in (("owner_id", owner_id), ("short_id", short_id)) if v is not None]
    return "(" + " AND ".join(conds or ["false"]) + ")"


def _mirror(src: Path, dest: Path) -> None:
    """Make ``dest``'s Parquet files exactly ``src``'s (copied when new or changed, removed when gone from ``src``)."""
    wanted = {f.relative_to(src) for f in src.glob("day=*/*.parquet")} if src.is_dir() else set()
    for rel in sorted(wanted):
        a, b = src / rel, dest / rel
        have, want = (b.stat() if b.exists() else None), a.stat()
        if have is not None and have.st_size == want.st_size and have.st_mtime_ns == want.st_mtime_ns:
            continue
        b.parent.mkdir(parents=True, exist_ok=True)
        tmp = b.with_name(f".{b.name}.tmp")
        shutil.copy2(a, tmp)  # keeps the mtime, which is how the next mirror knows the file is unchanged
        os.replace(tmp, b)
    if dest.is_dir():
        for f in dest.glob("day=*/*.parquet"):
            if f.relative_to(dest) not in wanted:
                f.unlink()
                _rmdir_if_empty(f.parent)


def _duckdb() -> Any:
    try:
        import duckdb
        import pandas  # noqa: F401  (DuckDB reads the batch from a DataFrame)
    except ImportError as e:
        raise StudioError("Exporting analytics to Parquet needs DuckDB and pandas, which are not installed.",
                          hint=DUCKDB_HINT) from e
    return duckdb


def _pause(point: str) -> None:
    """The ``STUDIO_TEST_EXPORT_PAUSE`` hook (tests only): stop here so a test can kill the exporter at ``point``."""
    if os.environ.get(PAUSE_ENV) == point:
        print(f"{PAUSE_ENV} {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


def _stem(batch: int) -> str:
    return f"b{batch:010d}"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass  # not empty (or already gone)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite gives back naive UTC


def _now() -> datetime:
    return datetime.now(UTC)
