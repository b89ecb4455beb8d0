"""The Parquet exporter (studio/analytics/export.py) on SQLite and PostgreSQL: what DuckDB reads back is exactly the
rows, once, however often, concurrently or brokenly the exporter runs; deleted accounts and shorts leave the Parquet."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from studio.analytics.export import PAUSE_ENV, Exporter
from studio.analytics.store import EventStore
from studio.analytics.types import Event, MetricSnapshot
from studio.db import Database
from studio.tables import AnalyticsDeletion, AnalyticsExport, EventRow
from tests.api_helpers import database_url  # noqa: F401

duckdb = pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
FILE_NAME = re.compile(r"^day=\d{4}-\d{2}-\d{2}/b\d{10}_\d+\.parquet$")


@pytest.fixture
def db(database_url):  # noqa: F811
    d = Database(database_url)
    d.migrate()
    yield d
    d.dispose()


def events(n: int, start: int = 0, **kw) -> list[Event]:
    """``n`` stage events spread over several UTC days, two shorts and two owners."""
    return [Event(kind="stage", event_id=f"e{i}", at=T0 + timedelta(hours=9 * i), owner_id=("alice", "bob")[i % 2],
                  short_id=f"s{i % 4}", name="voice", engine="piper", seconds=i / 4, calls=i if i % 3 else None,
                  hits=None, data={"i": i, "device": "cpu"}, **kw)
            for i in range(start, start + n)]


def read(root: Path, folder: str = "events", columns: str = "*") -> list[tuple]:
    path = root / folder / "*" / "*.parquet"
    if not list(root.glob(f"{folder}/*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return con.execute(f"SELECT {columns} FROM read_parquet('{path}', hive_partitioning = true) ORDER BY 1").fetchall()


def event_ids(root: Path) -> list[str]:
    return [r[0] for r in read(root, "events", "event_id")]


def files(root: Path) -> dict[str, int]:
    """Parquet file (relative name) → mtime in ns."""
    return {str(f.relative_to(root)): f.stat().st_mtime_ns for f in sorted(root.glob("*/day=*/*.parquet"))}


# -- round trip ----------------------------------------------------------------------------------------------------


def test_export_reads_back_exactly_the_rows_and_a_second_run_adds_nothing(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    assert store.record_many(events(30)) == 30
    store.snapshots([MetricSnapshot(platform="tiktok", remote_id=f"v{i}", source="tiktok", taken_at=T0 + timedelta(days=i),
                                    posted_at=T0, views=100 * i, likes=None, retention=((0.0, 1.0), (0.5, 0.25)) if i else None)
                     for i in range(5)])

    stats = Exporter(db, root).run(batch_size=8)
    assert (stats.events, stats.snapshots, stats.batches, stats.deleted_files_rewritten) == (30, 5, 4, 0)
    assert all(FILE_NAME.match(name.split("/", 1)[1]) for name in files(root)), files(root)

    rows = {r[0]: r for r in read(root, "events", 'event_id, day, "at", calls, hits, seconds, data, owner_id')}
    assert sorted(rows) == sorted(f"e{i}" for i in range(30))
    for i in range(30):
        _, day, at, calls, hits, seconds, data, owner = rows[f"e{i}"]
        want = T0 + timedelta(hours=9 * i)
        assert (str(day), at, calls, hits, seconds, owner) == (want.date().isoformat(), want, i if i % 3 else None, None,
                                                                i / 4, ("alice", "bob")[i % 2])
        assert json.loads(data) == {"i": i, "device": "cpu"}
    metrics = read(root, "metrics", "remote_id, views, likes, hours, retention, day")
    assert [(m[0], m[1], m[2], m[3]) for m in metrics] == [(f"v{i}", 100 * i, None, 24.0 * i) for i in range(5)]
    assert metrics[0][4] is None and json.loads(metrics[1][4]) == [[0.0, 1.0], [0.5, 0.25]]

    # every file has the same schema, even where a batch's column is all NULL (hits is never set)
    with duckdb.connect() as con:
        for folder in ("events", "metrics"):
            schemas = {tuple(con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}', hive_partitioning = false)").fetchall())
                       for f in root.glob(f"{folder}/*/*.parquet")}
            assert len(schemas) == 1, schemas
    assert "day" not in {c[0] for c in schemas.pop()}  # the partition is the folder, not a column in the file

    before = files(root)
    again = Exporter(db, root).run(batch_size=8)
    assert (again.events, again.snapshots, again.batches) == (0, 0, 0)
    assert files(root) == before
    assert len(event_ids(root)) == 30

    store.record_many(events(5, start=30) + events(3))  # 5 new, 3 already stored
    more = Exporter(db, root).run()
    assert (more.events, more.batches) == (5, 1)
    assert event_ids(root) == sorted(f"e{i}" for i in range(35))
    assert {k: v for k, v in files(root).items() if k in before} == before  # old files untouched
    with db.session() as s:
        assert all(s.scalars(select(AnalyticsExport.finished_at)))


def test_deleting_a_short_or_an_account_removes_its_rows_from_the_parquet(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(40))
    store.snapshots([MetricSnapshot(platform="youtube", remote_id=f"v{i}", source="youtube_data", owner_id="alice",
                                    short_id=f"s{i % 4}", taken_at=T0 + timedelta(days=i), views=i) for i in range(6)])
    exporter = Exporter(db, root)
    exporter.run(batch_size=15)
    assert len(event_ids(root)) == 40

    store.forget(short_id="s1")
    later = Event(kind="publish", event_id="after", short_id="s1", owner_id="carol", at=T0)
    store.record(later)  # recorded after the deletion: it stays, in the table and in the Parquet
    stats = exporter.run()
    assert stats.deleted_files_rewritten > 0
    left = read(root, "events", "event_id, short_id")
    assert len(left) == 31 and {r[0] for r in left if r[1] == "s1"} == {"after"}
    assert sorted(r[0] for r in read(root, "metrics", "remote_id")) == ["v0", "v2", "v3", "v4"]

    store.forget(owner_id="alice", short_id="s0")
    store.forget(owner_id="bob")
    exporter.run()
    left = read(root, "events", "event_id, owner_id, short_id")
    assert {(r[1], r[2]) for r in left} == {("alice", "s2"), ("carol", "s1")}
    assert len(left) == 11
    assert sorted(r[0] for r in read(root, "metrics", "remote_id")) == ["v2", "v3"]
    assert not list(root.glob("*/*/.*.tmp"))
    assert all(any(d.iterdir()) for d in root.glob("*/day=*"))  # an emptied file goes, and its folder with it

    with db.session() as s:
        assert all(s.scalars(select(AnalyticsDeletion.done_at)))
    assert exporter.run().deleted_files_rewritten == 0  # done once, not again


def test_copy_to_mirrors_the_parquet_exactly(db, tmp_path):
    store, root, out = EventStore(db), tmp_path / "parquet", tmp_path / "out"
    store.record_many(events(20))
    exporter = Exporter(db, root)
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    stats = exporter.copy_to(out, batch_size=7)
    assert stats.events == 20
    assert sorted(files(out)) == sorted(files(root))
    assert event_ids(out) == event_ids(root)

    store.forget(short_id="s2")
    store.record_many(events(4, start=20))
    copied = files(out)
    exporter.copy_to(out)
    assert sorted(files(out)) == sorted(files(root))
    assert event_ids(out) == event_ids(root) and len(event_ids(out)) == 19
    unchanged = [f for f in copied if f in files(out) and (root / f).stat().st_mtime_ns == copied[f]]
    assert unchanged, "files that did not change are not copied again"
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="outside"):
        exporter.copy_to(root / "events")


# -- killed mid-way ------------------------------------------------------------------------------------------------

EXPORT_SCRIPT = """
import sys
from pathlib import Path
from studio.analytics.export import Exporter
from studio.db import Database
Exporter(Database(sys.argv[1]), Path(sys.argv[2])).run(batch_size=int(sys.argv[3]))
"""


def _export_until_paused(url: str, root: Path, point: str) -> None:
    """Start an exporter in another process, wait until it reaches ``point``, and kill -9 it there."""
    env = os.environ | {PAUSE_ENV: point}
    proc = subprocess.Popen([sys.executable, "-c", EXPORT_SCRIPT, url, str(root), "100"], cwd=REPO, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        for line in proc.stderr:  # type: ignore[union-attr]
            if line.strip() == f"{PAUSE_ENV} {point}":
                break
            assert time.monotonic() < deadline, "the exporter never reached the pause"
        else:
            pytest.fail(f"the exporter ended before {point}: exit {proc.wait()}")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


@pytest.mark.parametrize("point", ["claimed", "written"])
def test_an_exporter_killed_mid_way_resumes_without_losing_or_doubling(db, database_url, tmp_path, point):  # noqa: F811
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(250))
    _export_until_paused(database_url, root, point)

    with db.session() as s:
        batches = s.execute(select(AnalyticsExport.id, AnalyticsExport.finished_at)).all()
        claimed = s.scalars(select(EventRow.event_id).where(EventRow.export_batch == batches[0][0])).all()
    assert len(batches) == 1 and batches[0][1] is None and len(claimed) == 100  # claimed, never finished
    assert len(event_ids(root)) == (100 if point == "written" else 0)
    assert not list(root.glob("events/*/*.tmp"))

    # a run that does not resume leaves a young unfinished batch to its (maybe still living) owner
    store.record_many(events(10, start=250))
    assert Exporter(db, root).run(batch_size=100).events == 160
    ids = event_ids(root)
    assert len(ids) == len(set(ids)) == (260 if point == "written" else 160)

    if point == "claimed":
        resumed = Exporter(db, root).run(resume=True)
    else:  # past the grace period, a plain run takes it over
        resumed = Exporter(db, root, grace=timedelta(0)).run()
    assert (resumed.batches, resumed.events) == (1, 100)
    ids = event_ids(root)
    assert ids == sorted(f"e{i}" for i in range(260))
    assert Exporter(db, root).run(resume=True).batches == 0
    assert event_ids(root) == ids
    assert not (root / ".staging").exists()


# -- many writers --------------------------------------------------------------------------------------------------

WRITER_SCRIPT = """
import sys, time
from studio.analytics.store import EventStore
from studio.analytics.types import Event
from studio.db import Database
url, prefix, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
db = Database(url)
store, n, new = EventStore(db), 0, 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    if n % 2:
        new += store.record(Event(kind="job", event_id=f"{prefix}-{n}", job_id=prefix, status="running"))
        n += 1
    else:  # five new events and a repeat of the last one stored
        batch = [Event(kind="run", event_id=f"{prefix}-{k}", short_id=prefix) for k in range(n, n + 5)]
        new += store.record_many(batch + [Event(kind="run", event_id=f"{prefix}-{max(n - 1, 0)}")])
        n += 5
print(n, new)
db.dispose()
"""


def _writers_and_exporters(db: Database, url: str, root: Path, seconds: float) -> None:
    """4 writer threads and 4 writer processes append for ``seconds`` while 2 exporter threads keep running; then a
    final export. Every event lands in the Parquet exactly once."""
    errors: list[BaseException] = []
    written: dict[str, int] = {}
    stop = threading.Event()

    def thread_writer(prefix: str) -> None:
        store, n, new = EventStore(db), 0, 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if n % 2:
                    new += store.record(Event(kind="job", event_id=f"{prefix}-{n}", status="queued"))
                    n += 1
                else:
                    batch = [Event(kind="stage", event_id=f"{prefix}-{k}", seconds=0.1) for k in range(n, n + 5)]
                    new += store.record_many(batch + [Event(kind="stage", event_id=f"{prefix}-{max(n - 1, 0)}")])
                    n += 5
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        if new != n:  # a repeat is never stored, a new event always is
            errors.append(AssertionError(f"{prefix}: {new} stored of {n}"))
        written[prefix] = n

    exports: list[int] = []

    def exporter() -> None:
        ex = Exporter(db, root)
        try:
            while not stop.is_set():
                exports.append(ex.run(batch_size=400).events)
                time.sleep(0.2)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    procs = {f"p{k}": subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, url, f"p{k}", str(seconds)], cwd=REPO,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)}
    writers = [threading.Thread(target=thread_writer, args=(f"t{k}",)) for k in range(4)]
    exporters = [threading.Thread(target=exporter) for _ in range(2)]
    for t in writers + exporters:
        t.start()
    for prefix, proc in procs.items():
        out, err = proc.communicate(timeout=seconds + 300)
        assert proc.returncode == 0, err
        n, new = map(int, out.split())
        assert new == n, (prefix, new, n)
        written[prefix] = n
    for t in writers:
        t.join(seconds + 300)
    stop.set()
    for t in exporters:
        t.join(600)
    assert not errors, errors
    assert sum(exports) > 0, "the exporters ran while the writers wrote"

    Exporter(db, root).run(resume=True)
    expected = sorted(f"{prefix}-{k}" for prefix, n in written.items() for k in range(n))
    with db.session() as s:
        assert sorted(s.scalars(select(EventRow.event_id))) == expected
        assert all(s.scalars(select(AnalyticsExport.finished_at)))
    ids = event_ids(root)
    assert len(ids) == len(set(ids)), "an event was exported twice"
    assert ids == expected, "an event is missing from the Parquet"
    assert len(expected) > 8 * 10
    print(f"{len(expected)} events by 8 writers in {seconds:g} s; {len(exports)} exporter runs meanwhile wrote {sum(exports)}")


def test_concurrent_writers_and_exporters_every_event_lands_once(db, database_url, tmp_path):  # noqa: F811
    _writers_and_exporters(db, database_url, tmp_path / "parquet", seconds=4)


@pytest.mark.slow
def test_concurrent_writers_for_30_seconds_every_event_lands_once(db, database_url, tmp_path):  # noqa: F811
    _writers_and_exporters(db, database_url, tmp_path / "parquet", seconds=30)
