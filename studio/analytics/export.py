"""The Parquet exporter: copies new ``events`` and ``metric_snapshots`` rows out of the metadata database into
day-partitioned Parquet that DuckDB reads (docs/analytics.md)::

    root/events/day=YYYY-MM-DD/b<batch:010d>_<i>.parquet         one batch's rows of that day
    root/events/day=YYYY-MM-DD/c<first:010d>-<last:010d>.parquet  batches first..last of that day, merged
    root/metrics/day=YYYY-MM-DD/...                               the same

Safe to run twice, from several processes at once, and after being killed:

1. **Claim.** One transaction inserts an ``analytics_exports`` row (its id is the batch) and stamps up to
   ``batch_size`` unclaimed rows of each table with it (``export_batch``). On PostgreSQL the rows are picked with
   ``FOR UPDATE SKIP LOCKED``, so two exporters take different rows and never wait on each other. No id cursor:
   PostgreSQL ids can commit out of order, and a row that commits late is simply unclaimed until a later run.
2. **Write.** The batch's rows are read back and written by DuckDB into a staging folder of this attempt's own, then
   each file is moved into place with ``os.replace`` (readers never see half a file). File names depend only on the
   batch, so writing a batch again replaces its files instead of adding to them.
3. **Finish.** ``finished_at`` is set. A batch whose exporter died before this is written again by the next run
   (``resume=True``, or once it is older than ``grace``), from the same rows, under the same file names. A finished
   batch is never written again: the check is made under the lock, just before placing.
4. **Deletions.** Pending ``analytics_deletions`` (``EventStore.forget``) rewrite every file holding a deleted row.
5. **Compaction.** A day that collected many small files (every run with new rows adds one per day) has runs of
   them merged into one ``c<first>-<last>`` file, sorted by owner so the owner filter skips row groups. Only files of
   batches below the *floor* (the smallest unfinished batch; without one, the newest batch + 1) are merged, so no
   batch inside a merged range is ever written again, and a ``b<x>`` (or smaller ``c``) file inside a merged file's
   range is a source already merged: every compaction deletes those first. The merged file is placed, then its
   sources deleted; killed in between, the next run deletes them (until then a reader sees those rows twice).

``root/.lock`` (POSIX ``flock``; the kernel drops it when the holder dies) is held exclusively only while files are
placed, rewritten or deleted; dashboard queries hold it shared while DuckDB reads (``reading``), so no query sees a
file vanish or a merged file next to its sources. Reading rows out of the database and writing the staged or merged
files happen outside the exclusive lock. A batch read before a deletion committed is read again under the lock (the
deletion's rewrite may have run before the rows were in place), so a deleted row never comes back.

No DuckDB scanner for SQLite or PostgreSQL is available offline, so rows come out through SQLAlchemy, one batch at a
time, into a pandas DataFrame with fixed dtypes, and every Parquet file gets the same schema (``SCHEMAS``).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Table, Text, cast, func, insert, select, text, update

from models.errors import StudioError
from studio.db import Database
from studio.tables import AnalyticsDeletion, AnalyticsExport, EventRow, MetricSnapshotRow

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["ExportStats", "Exporter", "SCHEMAS", "PAUSE_ENV", "reading"]

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
# the order of the rows in every file: by owner first, so each row group's owner_id statistics are a narrow range and
# a dashboard's owner filter skips the rest; then by time, then store order (a deterministic file for the same rows)
SORT = {"events": '"owner_id", "at", "id"', "metrics": '"owner_id", "taken_at", "id"'}
# the pandas dtype each DuckDB type is built from: nullable ints and floats, so a column that is all NULL in one batch
# still has its type (an all-None object column would reach DuckDB as type "NULL")
DTYPES = {"BIGINT": "Int64", "INTEGER": "Int32", "DOUBLE": "Float64", "VARCHAR": "string",
          "TIMESTAMPTZ": "datetime64[us, UTC]"}

# Test hook, for the tests that kill an exporter mid-way: set to ``claimed`` (after the claim commits), ``written``
# (after the files are in place, before ``finished_at``) or ``compacted`` (after a merged file is in place, before its
# sources are deleted) and the exporter says so on stderr and sleeps there.
PAUSE_ENV = "STUDIO_TEST_EXPORT_PAUSE"

# the Parquet file names: one batch's (b) and a merged range's (c)
PART = re.compile(r"^(?:b(?P<batch>\d{10})_\d+|c(?P<first>\d{10})-(?P<last>\d{10}))\.parquet$")
# how old a staging folder or a hidden .tmp file must be before a run removes it as a dead exporter's leftover (a live
# one holds its staging folder's flock; a merged file waits as .tmp between the shared and the exclusive lock)
STALE_S = 600.0

DUCKDB_HINT = "pip install duckdb==2.0.1 pandas==3.1.1 (both are in requirements.txt)"


@dataclass(frozen=True)
class ExportStats:
    """What one ``Exporter.run`` did: rows written (resumed batches included), batches written, Parquet files
    rewritten or removed for deletions, the wall time, and the small files merged into others by compaction."""

    events: int
    snapshots: int
    batches: int
    deleted_files_rewritten: int
    seconds: float
    files_merged: int = 0


class Exporter:
    """Writes the analytics tables of ``db`` as Parquet under ``root``. ``grace``: how old an unfinished batch must be
    before a run without ``resume`` takes it over (younger ones may still be in another exporter's hands).

    Compaction, per day folder: files of one size tier (tier 0 below ``small_bytes``, each next tier ``fan_in`` times
    larger) merge once ``fan_in`` of them lie next to each other in batch order, so a day holds fewer than ``fan_in``
    files per tier and a row is rewritten about once per tier. A day before today (UTC) whose files all are older than
    ``settle`` has every run of two or more files merged: a quiet day's handful of tiny files become one. Files of
    ``max_bytes`` or more are left as they are."""

    def __init__(self, db: Database, root: Path, *, grace: timedelta = timedelta(minutes=5), fan_in: int = 8,
                 small_bytes: int = 64 * 1024, max_bytes: int = 256 * 1024 * 1024,
                 settle: timedelta = timedelta(hours=1)) -> None:
        if fan_in < 2:
            raise ValueError(f"fan_in must be at least 2, not {fan_in}.")
        if not 0 < small_bytes <= max_bytes:
            raise ValueError(f"Need 0 < small_bytes <= max_bytes, not {small_bytes} and {max_bytes}.")
        self.db = db
        self.root = Path(root)
        self.grace = grace
        self.fan_in = fan_in
        self.small_bytes = small_bytes
        self.max_bytes = max_bytes
        self.settle = settle

    def run(self, batch_size: int = 50_000, *, resume: bool = False) -> ExportStats:
        """Export every row not exported yet, apply pending deletions, and say what was done. ``resume``: also write
        again every unfinished batch, however young (the CLI does; nothing is lost or doubled either way)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
        start = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        _sweep_staging(self.root)
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

        # 4. the small files of finished batches, merged
        merged = self._compact()
        return ExportStats(events, snapshots, batches, rewritten, time.monotonic() - start, merged)

    def copy_to(self, target: Path, *, batch_size: int = 50_000, resume: bool = True) -> ExportStats:
        """Export (``run``), then make ``target/events`` and ``target/metrics`` an exact mirror of the Parquet under
        ``root``: new and changed files copied, files no longer under ``root`` removed. Other files in ``target``
        are left alone. This is ``studio analytics export --parquet DIR``."""
        target = Path(target).resolve()
        root = self.root.resolve()
        if target == root or root in target.parents:
            raise ValueError(f"Export to a folder outside the studio's own Parquet ({root}), not {target}.")
        stats = self.run(batch_size, resume=resume)
        with self._lock(shared=True):  # only reads root: dashboards go on meanwhile
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
        Returns (events, snapshots) written; None if another exporter finished it meanwhile. The rows are read and
        staged without the lock; it is held only to check and place."""
        if self._finished(batch):
            return None
        deletions = self._deletions()
        with _staging(self.root) as staging:
            counts = self._stage(batch, staging)
            with self._lock():
                if self._finished(batch):  # decided under the lock: a finished batch's files are never placed again
                    return None
                if self._deletions() != deletions:
                    # a deletion committed after the rows were read, and its rewrite may already have looked for them
                    # in the files: read them again, now that no rewrite can run
                    counts = self._stage(batch, staging)
                for folder in SCHEMAS:
                    self._place(staging / folder, self.root / folder, batch)
        _pause("written")
        with self.db.engine.begin() as conn:
            conn.execute(update(EXPORTS).where(EXPORTS.c.id == batch, EXPORTS.c.finished_at.is_(None))
                         .values(finished_at=_now(), events=counts[0], snapshots=counts[1]))
        return counts[0], counts[1]

    def _finished(self, batch: int) -> bool:
        with self.db.engine.connect() as conn:
            return conn.scalar(select(EXPORTS.c.finished_at).where(EXPORTS.c.id == batch)) is not None

    def _deletions(self) -> int:
        """How many deletions were ever noted (it only grows, one commit at a time, with the rows it deleted)."""
        with self.db.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(DELETIONS)) or 0

    def _stage(self, batch: int, staging: Path) -> tuple[int, int]:
        """Write the batch's rows as ``staging/<folder>/day=…/b<batch>_<i>.parquet``; returns (events, snapshots)."""
        duckdb = _duckdb()
        counts = []
        con = duckdb.connect()
        try:
            for folder, (table, columns) in SCHEMAS.items():
                shutil.rmtree(staging / folder, ignore_errors=True)  # an earlier read's files
                frame = self._frame(table, columns, batch)
                counts.append(len(frame))
                if len(frame):
                    con.register("batch_rows", frame)
                    con.execute(_copy_sql(folder, staging / folder, batch)).fetchall()
                    con.unregister("batch_rows")
        finally:
            con.close()
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
                con.execute(f"COPY (SELECT * FROM {src} WHERE {keep} ORDER BY {SORT[folder]}) TO {_sql_str(str(tmp))} "
                            "(FORMAT parquet, COMPRESSION zstd)").fetchall()
                os.replace(tmp, path)
            else:
                path.unlink()
                _rmdir_if_empty(path.parent)
            con.unregister("gone_ids")
        return len(gone)

    # -- 5. compaction ----------------------------------------------------------------------------------------------

    def _compact(self) -> int:
        """Merge runs of small files of finished batches (see the class), each day folder on its own. Returns the
        number of files merged away.

        1. A look without any lock finds the day folders with something to do; nothing to do costs one directory
           listing per day and no database query.
        2. The floor: no file of a batch below it can ever be written again.
        3. Under the shared lock (dashboards read on), each merged file is written as a hidden ``.tmp``.
        4. Under the exclusive lock: sources already merged are deleted; each merged file is placed if its sources
           are still exactly what it was made of (nothing rewrote, merged or added to them meanwhile), then its
           sources are deleted."""
        now = _now()
        folders = [d for folder in SCHEMAS for d in _day_folders(self.root / folder)]
        todo = [d for d in folders if self._untidy(d, *_scan(d), None, now)]
        if not todo:
            return 0
        floor = self._floor()
        plans: list[tuple[str, list[tuple[list[_Part], str]]]] = []
        with self._lock(shared=True):
            con = _duckdb().connect()
            try:
                for d in todo:
                    parts, stale = _scan(d)
                    groups = [(g, self._merge(con, d, g)) for g in self._groups(parts, floor, self._closed(d, parts, now))]
                    if groups or self._untidy(d, parts, stale, floor, now):
                        plans.append((d, groups))
            finally:
                con.close()
        if not plans:
            return 0  # only runs of unfinished batches: nothing to place
        merged = 0
        with self._lock():
            for d, groups in plans:
                parts, stale = _scan(d)
                for p in parts:  # sources of a merged file placed by a compaction killed before it deleted them
                    if _covered(p, parts):
                        os.unlink(p.path)
                for group, tmp in groups:
                    merged += self._place_merged(d, group, tmp)
                for f in stale:
                    os.unlink(f)
                _rmdir_if_empty(Path(d))
        return merged

    def _untidy(self, d: str, parts: list[_Part], stale: list[str], floor: int | None, now: datetime) -> bool:
        """Whether ``d`` has merged sources, stale .tmp files, or a run to merge (any batch, without ``floor``)."""
        if stale:
            return True
        if len(parts) < 2:
            return False
        return any(_covered(p, parts) for p in parts) or any(self._groups(parts, floor, self._closed(d, parts, now)))

    def _closed(self, d: str, parts: list[_Part], now: datetime) -> bool:
        """Whether ``d`` is a day before today (UTC) that has not gained or changed a file for ``settle``."""
        try:
            if date.fromisoformat(os.path.basename(d).removeprefix("day=")) >= now.date():
                return False
        except ValueError:
            return False
        settled = (now - self.settle).timestamp() * 1e9
        return all(p.key[2] < settled for p in parts)

    def _groups(self, parts: list[_Part], floor: int | None, closed: bool) -> Iterator[list[_Part]]:
        """The runs of ``parts`` to merge: consecutive in batch order, every batch below ``floor`` (None: no bound),
        each file under ``max_bytes``; on an open day ``fan_in`` files of one tier, on a closed day any two or more
        (greedily, up to ``max_bytes`` together)."""
        live = sorted((p for p in parts if not _covered(p, parts)), key=lambda p: p.first)
        runs: list[list[_Part]] = [[]]
        for p in live:
            if (floor is None or p.last < floor) and p.size < self.max_bytes:
                runs[-1].append(p)
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if closed:
                group: list[_Part] = []
                for p in run:
                    if group and sum(g.size for g in group) + p.size > self.max_bytes:
                        if len(group) > 1:
                            yield group
                        group = []
                    group.append(p)
                if len(group) > 1:
                    yield group
                continue
            tier: list[_Part] = []
            for p in run:
                if tier and self._tier(p.size) != self._tier(tier[0].size):
                    if len(tier) >= self.fan_in:
                        yield tier
                    tier = []
                tier.append(p)
            if len(tier) >= self.fan_in:
                yield tier

    def _tier(self, size: int) -> int:
        tier, bound = 0, self.small_bytes
        while size >= bound:
            tier, bound = tier + 1, bound * self.fan_in
        return tier

    def _floor(self) -> int:
        """The smallest unfinished batch, or the newest batch + 1. Every batch below it is finished (never written
        again) or never existed. On PostgreSQL a batch id is taken before its claim commits, so a claim still in
        flight could hold an id below a finished one: the SHARE lock waits for claims in flight (and holds new ones
        back the few milliseconds of this read), which then take ids above the newest seen. On SQLite one writer at a
        time takes the next id above every committed one."""
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"LOCK TABLE {conn.dialect.identifier_preparer.format_table(EXPORTS)} IN SHARE MODE"))
            unfinished = conn.scalar(select(func.min(EXPORTS.c.id)).where(EXPORTS.c.finished_at.is_(None)))
            newest = conn.scalar(select(func.coalesce(func.max(EXPORTS.c.id), 0))) or 0
        return int(unfinished) if unfinished is not None else int(newest) + 1

    @staticmethod
    def _merge(con: duckdb.DuckDBPyConnection, d: str, group: list[_Part]) -> str:
        """Write ``group``'s rows, sorted, into a hidden .tmp in ``d`` (never matched by ``*.parquet``)."""
        folder = os.path.basename(os.path.dirname(d))
        tmp = os.path.join(d, f".{_merged_name(group)}.{uuid.uuid4().hex[:12]}.tmp")
        files = "[" + ", ".join(_sql_str(p.path) for p in group) + "]"
        con.execute(f"COPY (SELECT {_casts(folder, day=False)} FROM read_parquet({files}, hive_partitioning = false) "
                    f"ORDER BY {SORT[folder]}) TO {_sql_str(tmp)} (FORMAT parquet, COMPRESSION zstd)").fetchall()
        return tmp

    @staticmethod
    def _place_merged(d: str, group: list[_Part], tmp: str) -> int:
        """Under the exclusive lock: place the merged file and delete its sources, if they are unchanged and nothing
        else holds a batch of its range. Returns the number of sources merged away (0 if it was dropped)."""
        first, last = group[0].first, group[-1].last
        now = {p.path: p.key for p in _scan(d)[0] if p.first <= last and first <= p.last}
        if now != {p.path: p.key for p in group} or not os.path.exists(tmp):
            Path(tmp).unlink(missing_ok=True)  # changed meanwhile (a deletion, another exporter): the next run sees anew
            return 0
        os.replace(tmp, os.path.join(d, _merged_name(group)))
        _pause("compacted")
        for p in group:
            os.unlink(p.path)
        return len(group)

    # -- the lock ---------------------------------------------------------------------------------------------------

    @contextmanager
    def _lock(self, *, shared: bool = False) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as fh:
            # released on close, or by the kernel if this process dies
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def reading(root: Path) -> Iterator[None]:
    """Hold the shared lock on ``root/.lock`` while DuckDB reads ``root``'s Parquet: the exporter places, rewrites and
    deletes files only under the exclusive lock, so a query never sees a file vanish, nor a merged file next to its
    sources. One open and one flock; a root no exporter has written (a ``copy_to`` copy) is read without one."""
    try:
        fd = os.open(Path(root) / ".lock", os.O_RDONLY)
    except FileNotFoundError:
        fd = -1
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # closing the last descriptor drops the lock


@dataclass(frozen=True)
class _Part:
    """One Parquet file of a day folder: the batches it holds (first..last), and what says it is still the same."""

    path: str
    merged: bool  # a c<first>-<last> file
    first: int
    last: int
    size: int
    key: tuple[int, int, int]  # inode, size, mtime: a rewrite or replacement changes it


def _scan(d: str) -> tuple[list[_Part], list[str]]:
    """Day folder ``d``'s Parquet files, and its hidden .tmp files older than STALE_S (a rewrite's or merge's whose
    exporter died; a younger one may be a live exporter's, between its shared and its exclusive lock)."""
    parts, stale, old = [], [], time.time() - STALE_S
    try:
        entries = list(os.scandir(d))
    except FileNotFoundError:
        return [], []
    for e in entries:
        m = PART.match(e.name)
        if m is None and not (e.name.startswith(".") and e.name.endswith(".tmp")):
            continue
        try:
            st = e.stat()
        except FileNotFoundError:
            continue
        if m is None:
            if st.st_mtime < old:
                stale.append(e.path)
            continue
        first, last = (int(m["batch"]),) * 2 if m["batch"] else (int(m["first"]), int(m["last"]))
        parts.append(_Part(e.path, not m["batch"], first, last, st.st_size, (st.st_ino, st.st_size, st.st_mtime_ns)))
    return parts, stale


def _covered(p: _Part, parts: list[_Part]) -> bool:
    """Whether a merged file other than ``p`` holds ``p``'s whole range: ``p`` is a source of it, already merged."""
    return any(q.merged and q.path != p.path and q.first <= p.first and p.last <= q.last for q in parts)


def _merged_name(group: list[_Part]) -> str:
    return f"c{group[0].first:010d}-{group[-1].last:010d}.parquet"


def _day_folders(folder: Path) -> list[str]:
    try:
        return [e.path for e in os.scandir(folder) if e.name.startswith("day=") and e.is_dir()]
    except FileNotFoundError:
        return []


@contextmanager
def _staging(root: Path) -> Iterator[Path]:
    """A staging folder of this attempt's own, ``root/.staging-*``, flocked while it is in use so that no other
    exporter's sweep removes it."""
    path = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _sweep_staging(root: Path) -> None:
    """Remove the staging folders of dead exporters: unlocked, and older than the instant between a folder's creation
    and its flock."""
    old = time.time() - 60
    for path in root.glob(".staging-*"):
        try:
            if path.stat().st_mtime > old:
                continue
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path, ignore_errors=True)
        except BlockingIOError:
            pass  # in use
        finally:
            os.close(fd)


def _copy_sql(folder: str, dest: Path, batch: int) -> str:
    """COPY the registered ``batch_rows`` to ``dest/day=…/b<batch>_<i>.parquet``, each column cast to its type."""
    return (f"COPY (SELECT {_casts(folder)} FROM batch_rows ORDER BY {SORT[folder]}) TO {_sql_str(str(dest))} "
            f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), "
            f"FILENAME_PATTERN '{_stem(batch)}_{{i}}', OVERWRITE_OR_IGNORE true)")


def _casts(folder: str, *, day: bool = True) -> str:
    """Every column of ``folder`` cast to its type (``day``: with the partition column, which the files do not hold)."""
    return ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in SCHEMAS[folder][1].items() if day or c != "day")


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
        tmp = b.with_name(f".{b.name}.{uuid.uuid4().hex[:12]}.tmp")  # its own: two copies may run at once
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
