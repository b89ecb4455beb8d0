"""Compaction of the exported Parquet (studio/analytics/export.py, step 5) on SQLite and PostgreSQL: a day's many
small files become a few, every row is read back exactly once whatever is killed where, no batch is ever written into
a merged range, deletions reach merged files, and a dashboard query running meanwhile never errors nor double counts
(the shared reader lock)."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from studio.analytics import export
from studio.analytics.export import PAUSE_ENV, Exporter, reading
from studio.analytics.queries import Dashboards
from studio.analytics.store import EventStore
from studio.analytics.types import Event
from studio.db import Database
from studio.tables import AnalyticsExport, EventRow
from tests.api_helpers import database_url  # noqa: F401

duckdb = pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NAME = re.compile(r"^(?:b(\d{10})_\d+|c(\d{10})-(\d{10}))\.parquet$")


@pytest.fixture
def db(database_url):  # noqa: F811
    d = Database(database_url)
    d.migrate()
    yield d
    d.dispose()


def events(n: int, start: int = 0, at: datetime = T0, **kw) -> list[Event]:
    """``n`` stage events on ``at``'s day, three owners, four shorts."""
    return [Event(kind="stage", event_id=f"e{i}", at=at + timedelta(seconds=i), owner_id=("carol", "alice", "bob")[i % 3],
                  short_id=f"s{i % 4}", name="voice", engine="piper", seconds=1.0, **kw)
            for i in range(start, start + n)]


def event_ids(root: Path) -> list[str]:
    if not list(root.glob("events/*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return [r[0] for r in con.execute(f"SELECT event_id FROM read_parquet('{root}/events/*/*.parquet') "
                                          "ORDER BY event_id").fetchall()]


def ranges(root: Path, folder: str = "events") -> dict[str, list[tuple[str, int, int]]]:
    """Day folder → its files as (kind b/c, first batch, last batch), in batch order; asserts they never overlap."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for f in sorted(root.glob(f"{folder}/day=*/*.parquet")):
        m = NAME.match(f.name)
        assert m, f.name
        first, last = (int(m[1]),) * 2 if m[1] else (int(m[2]), int(m[3]))
        out.setdefault(f.parent.name, []).append(("b" if m[1] else "c", first, last))
    for parts in out.values():
        parts.sort(key=lambda p: p[1])
        assert all(a[2] < b[1] for a, b in zip(parts, parts[1:])), parts
    return out


def expected(n: int) -> list[str]:
    return sorted(f"e{i}" for i in range(n))


def batches(db: Database, *, finished: bool = True) -> list[int]:
    """The batch ids, in order (on PostgreSQL a claim that found nothing leaves a gap in the sequence)."""
    done = AnalyticsExport.finished_at.is_not(None) if finished else AnalyticsExport.finished_at.is_(None)
    with db.session() as s:
        return list(s.scalars(select(AnalyticsExport.id).where(done).order_by(AnalyticsExport.id)))


# -- merging ---------------------------------------------------------------------------------------------------------


def test_fifty_small_runs_of_one_day_become_a_few_sorted_files_read_back_once(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    exporter = Exporter(db, root)
    most = 0
    for run in range(50):
        store.record_many(events(20, start=20 * run))
        exporter.run()
        most = max(most, len(list(root.glob("events/day=*/*.parquet"))))
        if run % 10 == 9:
            assert event_ids(root) == expected(20 * (run + 1))
    (day, parts), = ranges(root).items()
    assert day == "day=2025-03-01"
    assert len(parts) <= exporter.fan_in and most <= exporter.fan_in, (parts, most)
    assert any(kind == "c" for kind, _, _ in parts)
    ids = batches(db)
    assert len(ids) == 50 and parts[0][1] == ids[0] and parts[-1][2] == ids[-1]  # each in one file: ranges disjoint
    assert {a for k, a, _ in parts if k == "b"} <= set(ids)

    # a merged file is sorted by owner, then time: the owner filter skips row groups
    with duckdb.connect() as con:
        for f in root.glob("events/day=*/c*.parquet"):
            rows = con.execute(f"SELECT owner_id, \"at\" FROM read_parquet('{f}')").fetchall()
            assert rows == sorted(rows)

    # the day is over and has settled: its files become one
    stats = Exporter(db, root, settle=timedelta(0)).run()
    assert stats.files_merged == (len(parts) if len(parts) > 1 else 0)
    assert ranges(root) == {day: [("c", ids[0], ids[-1])]}
    assert event_ids(root) == expected(1000)
    assert Exporter(db, root, settle=timedelta(0)).run().files_merged == 0  # nothing left to do
    with duckdb.connect() as con:  # one schema for every file, merged or not, as the exporter wrote them
        (n,), = con.execute(f"SELECT count(*) FROM read_parquet('{root}/*/*/*.parquet', hive_partitioning = false) "
                            "WHERE calls IS NULL AND hits IS NULL").fetchall()
    assert n == 1000


def test_tiers_merge_bigger_files_only_with_each_other(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    exporter = Exporter(db, root, fan_in=3, small_bytes=1)  # every file a tier of its size: 3 alike merge
    for run in range(27):
        store.record_many(events(10, start=10 * run))
        exporter.run()
    (parts,) = ranges(root).values()
    sizes = [(root / "events" / "day=2025-03-01" / (f"c{a:010d}-{b:010d}" if k == "c" else f"b{a:010d}_0")).with_suffix(
        ".parquet").stat().st_size for k, a, b in parts]
    assert len(parts) < 3 * 3, parts  # fewer than fan_in per tier
    assert sizes == sorted(sizes, reverse=True)  # older data sits in bigger files
    assert event_ids(root) == expected(270)


# -- killed, unfinished, in flight -----------------------------------------------------------------------------------

EXPORT_SCRIPT = """
import sys
from pathlib import Path
from studio.analytics.export import Exporter
from studio.db import Database
Exporter(Database(sys.argv[1]), Path(sys.argv[2]), fan_in=int(sys.argv[3])).run(batch_size=int(sys.argv[4]))
"""


def _export_until_paused(url: str, root: Path, point: str, *, fan_in: int = 8, batch_size: int = 100) -> None:
    """An exporter in another process, killed with SIGKILL where it stops at ``point``."""
    env = os.environ | {PAUSE_ENV: point}
    proc = subprocess.Popen([sys.executable, "-c", EXPORT_SCRIPT, url, str(root), str(fan_in), str(batch_size)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            if line.strip() == f"{PAUSE_ENV} {point}":
                break
        else:
            pytest.fail(f"the exporter ended before {point}: exit {proc.wait()}")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def test_killed_between_placing_the_merged_file_and_deleting_its_sources(db, database_url, tmp_path):  # noqa: F811
    store, root = EventStore(db), tmp_path / "parquet"
    for run in range(10):  # ten small files of one day, not merged yet (fan_in 100)
        store.record_many(events(15, start=15 * run))
        Exporter(db, root, fan_in=100).run()
    assert len(ranges(root)["day=2025-03-01"]) == 10

    ids = batches(db)
    _export_until_paused(database_url, root, "compacted")
    merged = root / "events" / "day=2025-03-01" / f"c{ids[0]:010d}-{ids[-1]:010d}.parquet"
    assert merged.exists() and len(list(merged.parent.glob("b*.parquet"))) == 10  # killed right between
    assert len(event_ids(root)) == 300  # the window: a reader without the lock would see the rows twice

    stats = Exporter(db, root).run()  # the next run deletes the sources first
    assert stats.files_merged == 0
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], ids[-1])]}
    assert event_ids(root) == expected(150)
    store.record_many(events(5, start=150))
    Exporter(db, root, settle=timedelta(0)).run()
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], batches(db)[-1])]}
    assert event_ids(root) == expected(155)


def test_an_unfinished_batch_holds_every_merge_below_it(db, database_url, tmp_path):  # noqa: F811
    store, root = EventStore(db), tmp_path / "parquet"
    exporter = Exporter(db, root, fan_in=4)
    for run in range(10):
        store.record_many(events(10, start=10 * run))
        exporter.run()
    store.record_many(events(10, start=100))
    _export_until_paused(database_url, root, "written", fan_in=4, batch_size=10)  # batch 11 placed, not finished
    for run in range(11, 25):  # 14 more small finished batches above it (fan_in 4 would merge them)
        store.record_many(events(10, start=10 * run))
        exporter.run()

    (stuck,) = batches(db, finished=False)
    above = [b for b in batches(db) if b > stuck]
    (parts,) = ranges(root).values()
    assert any(kind == "c" for kind, _, _ in parts)  # merged below it
    assert all(last < stuck for kind, _, last in parts if kind == "c"), parts  # nothing merged past it
    assert [(k, a) for k, a, _ in parts if a >= stuck] == [("b", stuck)] + [("b", b) for b in above]
    assert len(above) == 14
    assert event_ids(root) == expected(250)

    # the stuck batch is written again by a later run: under its own name, outside every merged range, then merged
    resumed = Exporter(db, root, fan_in=4, grace=timedelta(0)).run()
    assert (resumed.batches, resumed.events) == (1, 10)
    assert event_ids(root) == expected(250)
    Exporter(db, root, settle=timedelta(0)).run()
    ids = batches(db)
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], ids[-1])]}
    assert event_ids(root) == expected(250)
    with db.session() as s:
        assert all(s.scalars(select(AnalyticsExport.finished_at)))


def test_a_claim_in_flight_keeps_its_batch_out_of_every_merged_range(db, database_url, tmp_path):  # noqa: F811
    """PostgreSQL hands out a batch id before the claim commits: batch y may finish while an earlier x is in flight.
    A merge of ..y while x is invisible would later delete b<x> as a merged source. The floor waits for the claim."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a claim in flight always takes the next id above every committed one")
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(30))
    Exporter(db, root).run(batch_size=10)  # batches 1..3
    store.record_many(events(20, start=30))

    conn = db.engine.connect()
    tx = conn.begin()  # a claim in flight: its batch id x, 10 rows stamped, not committed
    x = conn.execute(insert(AnalyticsExport.__table__).values(started_at=datetime.now(UTC), events=0, snapshots=0)
                     ).inserted_primary_key[0]
    ids = conn.scalars(select(EventRow.id).where(EventRow.export_batch.is_(None)).order_by(EventRow.id).limit(10)).all()
    conn.execute(update(EventRow).where(EventRow.id.in_(ids)).values(export_batch=x))

    done: list[object] = []
    later = threading.Thread(target=lambda: done.append(Exporter(db, root, fan_in=2).run(batch_size=10)))
    later.start()  # claims the other 10 rows as batch y > x, finishes it, then would merge ..y
    deadline = time.monotonic() + 30
    while not list(root.glob(f"events/day=*/b{x + 1:010d}_*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    later.join(1.0)
    assert later.is_alive(), "the floor did not wait for the claim in flight"
    tx.commit()
    conn.close()
    later.join(60)
    assert done
    (parts,) = ranges(root).values()
    assert all(not (a <= x <= b) for _, a, b in parts), parts  # no range covers x
    assert Exporter(db, root, grace=timedelta(0)).run().batches == 1  # x written now: not deleted as merged
    Exporter(db, root, settle=timedelta(0)).run()
    ids = batches(db)
    assert x in ids and ranges(root) == {"day=2025-03-01": [("c", ids[0], ids[-1])]}
    assert event_ids(root) == expected(50)


def test_leftovers_of_a_dead_merge_are_hidden_then_swept(db, tmp_path, monkeypatch):
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(10))
    Exporter(db, root).run()
    day = root / "events" / "day=2025-03-01"
    junk = day / ".c0000000001-0000000009.0123456789ab.tmp"
    junk.write_bytes(b"half a file")
    (root / ".staging-dead").mkdir()
    assert event_ids(root) == expected(10)  # readers never glob a hidden .tmp
    Exporter(db, root).run()
    assert junk.exists()  # young: may be a live exporter's, between its shared and its exclusive lock
    monkeypatch.setattr(export, "STALE_S", 0.0)
    old = time.time() - 120
    os.utime(root / ".staging-dead", (old, old))
    Exporter(db, root).run()
    assert not junk.exists() and not (root / ".staging-dead").exists()
    assert event_ids(root) == expected(10)


# -- deletions -------------------------------------------------------------------------------------------------------


def test_a_deletion_after_compaction_removes_its_rows_from_the_merged_file(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    exporter = Exporter(db, root, settle=timedelta(0))
    for run in range(6):
        store.record_many(events(12, start=12 * run))
        exporter.run()
    ids = batches(db)
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], ids[-1])]}

    store.forget(short_id="s1")
    store.forget(owner_id="bob")
    stats = exporter.run()
    assert stats.deleted_files_rewritten == 1
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], ids[-1])]}  # the same merged file, rewritten
    kept = [f"e{i}" for i in range(72) if i % 4 != 1 and i % 3 != 2]
    assert event_ids(root) == sorted(kept)

    store.record_many(events(8, start=72))  # later rows merge into it, the deleted ones stay away
    exporter.run()
    assert ranges(root) == {"day=2025-03-01": [("c", ids[0], batches(db)[-1])]}
    assert event_ids(root) == sorted(kept + [f"e{i}" for i in range(72, 80)])  # bob's new ones too: recorded later
    store.forget(owner_id="alice")
    store.forget(owner_id="carol")
    store.forget(owner_id="bob")
    exporter.run()
    assert ranges(root) == {} and not list(root.glob("events/day=*"))  # emptied: the file and its folder are gone


# -- the reader lock -------------------------------------------------------------------------------------------------


def test_rows_are_read_from_the_database_without_the_exclusive_lock(db, tmp_path, monkeypatch):
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(10))
    Exporter(db, root).run()  # root/.lock exists now
    real, free = Exporter._frame, []

    def frame(self, *args):
        with open(root / ".lock", "rb") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                free.append(True)
            except BlockingIOError:
                free.append(False)
        return real(self, *args)

    monkeypatch.setattr(Exporter, "_frame", frame)
    store.record_many(events(10, start=10))
    Exporter(db, root).run()
    assert free and all(free)


def test_a_query_waits_for_the_exclusive_lock_and_a_root_without_one_is_read_as_is(db, tmp_path):
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many([Event(kind="run", event_id=f"r{i}", owner_id="alice", status="succeeded") for i in range(3)])
    exporter = Exporter(db, root)
    exporter.run()
    boards = Dashboards(root, "alice")
    assert boards.studio().runs == 3

    held = threading.Event()

    def hold() -> None:
        with exporter._lock():
            held.set()
            time.sleep(0.6)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    start = time.monotonic()
    assert boards.studio().runs == 3
    assert time.monotonic() - start >= 0.45
    t.join()

    copy = tmp_path / "copy"
    exporter.copy_to(copy)
    assert not (copy / ".lock").exists()
    assert Dashboards(copy, "alice").studio().runs == 3
    assert not (copy / ".lock").exists()  # a reader creates nothing
    with reading(tmp_path / "nowhere"):
        pass


def test_queries_while_the_exporter_compacts_never_fail_nor_double_count(db, tmp_path):
    """One thread keeps recording bob's events, exporting, merging (fan_in 2: every run merges) and deleting some of
    them; another keeps asking alice's dashboard, whose rows sit in the same files. Her numbers never change."""
    store, root = EventStore(db), tmp_path / "parquet"
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=d) for d in range(3)]
    mine = [Event(kind="run", event_id=f"a{i}", owner_id="alice", status="succeeded", seconds=2.0,
                  at=days[i % 3] + timedelta(minutes=i)) for i in range(60)]
    mine += [Event(kind="stage", event_id=f"as{i}", owner_id="alice", name="voice", engine="piper", seconds=1.0,
                   at=days[i % 3] + timedelta(minutes=i)) for i in range(90)]
    for k in range(0, len(mine), 10):  # in 15 small files
        store.record_many(mine[k:k + 10])
        Exporter(db, root, fan_in=100).run()
    truth = (60, 90)

    stop, errors, seen = threading.Event(), [], []

    def churn() -> None:
        ex, n = Exporter(db, root, fan_in=2, small_bytes=1024 * 1024), 0
        try:
            while not stop.is_set():
                store.record_many([Event(kind="run", event_id=f"b{n}-{i}", owner_id="bob", short_id=f"bs{n % 5}",
                                         status="succeeded", at=days[i % 3] + timedelta(seconds=n)) for i in range(6)])
                if n % 7 == 6:
                    store.forget(owner_id="bob", short_id=f"bs{n % 5}")
                ex.run()
                n += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        seen.append(n)

    def ask() -> None:
        boards = Dashboards(root, "alice")
        try:
            while not stop.is_set():
                board = boards.studio(days=7)
                seen.append((board.runs, sum(n for _, _, n in board.stage_seconds)))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=churn), threading.Thread(target=ask)]
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(120)
    assert not errors, errors
    answers = [s for s in seen if isinstance(s, tuple)]
    runs = [s for s in seen if isinstance(s, int)]
    assert len(answers) > 5 and runs and runs[0] > 5, (len(answers), runs)
    assert set(answers) == {truth}
    merged = [p for parts in ranges(root).values() for p in parts if p[0] == "c"]
    assert merged, "the exporter merged while the queries ran"


def test_rows_read_before_a_deletion_whose_rewrite_ran_first_are_read_again(db, tmp_path, monkeypatch):
    """Rows are read without the lock: a deletion may commit and its rewrite run (finding nothing in the files) before
    they are placed. The write sees the new deletion under the lock and reads the batch again."""
    store, root = EventStore(db), tmp_path / "parquet"
    store.record_many(events(20))
    real, calls = Exporter._stage, []

    def stage(self, batch, staging):
        counts = real(self, batch, staging)
        if not calls:
            store.forget(short_id="s1")
            Exporter(db, root)._apply_deletions()  # done: found no file with its rows
        calls.append(counts)
        return counts

    monkeypatch.setattr(Exporter, "_stage", stage)
    stats = Exporter(db, root).run()
    assert calls == [(20, 0), (15, 0)] and stats.events == 15
    assert event_ids(root) == sorted(f"e{i}" for i in range(20) if i % 4 != 1)


def test_a_merge_whose_sources_changed_before_it_was_placed_is_dropped(db, tmp_path, monkeypatch):
    """A merged file is written under the shared lock and placed under the exclusive one; in between another exporter
    may rewrite a source (a deletion) or merge it. The merge is then dropped, not placed with stale rows."""
    store, root = EventStore(db), tmp_path / "parquet"
    for run in range(4):
        store.record_many(events(10, start=10 * run))
        Exporter(db, root, fan_in=100).run()
    real, state = Exporter._lock, {"read": False, "fired": False}

    @contextmanager
    def lock(self, *, shared=False):
        if not shared and state["read"] and not state["fired"]:
            state["fired"] = True  # between the shared and the exclusive lock: another exporter applies a deletion
            store.forget(short_id="s1")
            Exporter(db, root)._apply_deletions()
        with real(self, shared=shared):
            yield
        state["read"] = state["read"] or shared

    monkeypatch.setattr(Exporter, "_lock", lock)
    stats = Exporter(db, root, fan_in=4).run()
    assert state["fired"] and stats.files_merged == 0
    assert [k for k, _, _ in ranges(root)["day=2025-03-01"]] == ["b"] * 4
    kept = sorted(f"e{i}" for i in range(40) if i % 4 != 1)
    assert event_ids(root) == kept
    assert Exporter(db, root, fan_in=4).run().files_merged == 4
    assert event_ids(root) == kept
