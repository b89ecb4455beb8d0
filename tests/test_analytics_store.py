"""The event store (studio/analytics/store.py) on SQLite and PostgreSQL: recording twice stores once, an import that
fails part-way stores nothing, concurrent writers of the same events neither double nor deadlock, forget deletes."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from studio.analytics.store import EventStore
from studio.analytics.types import Event, MetricSnapshot
from studio.db import Database
from studio.tables import AnalyticsDeletion, EventRow, MetricSnapshotRow
from tests.api_helpers import database_url  # noqa: F401

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url):  # noqa: F811
    d = Database(database_url)
    d.migrate()
    yield d
    d.dispose()


def snap(i: int, **kw) -> MetricSnapshot:
    base = dict(platform="youtube", remote_id=f"v{i}", source="youtube_data", taken_at=T0 + timedelta(hours=i),
                posted_at=T0, post_id=f"p{i % 7}", owner_id="u1", views=10 * i)
    return MetricSnapshot(**(base | kw))


def count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_an_event_recorded_twice_is_stored_once(db):
    store = EventStore(db)
    e = Event(kind="job", event_id="job:j1:running:1", job_id="j1", status="running", data={"attempts": 1})
    assert store.record(e) is True
    assert store.record(e) is False
    assert store.record_many([e, Event(kind="job", event_id="job:j1:succeeded:1"),
                              Event(kind="job", event_id="job:j1:succeeded:1")]) == 1  # repeats in one call too
    assert count(db, EventRow) == 2
    assert store.record(Event(kind="run")) and store.record(Event(kind="run"))  # no event_id: a fresh uuid each
    assert count(db, EventRow) == 4


def test_events_recorded_in_a_callers_transaction_commit_or_roll_back_with_it(db):
    from studio.tables import Job, User

    store = EventStore(db)
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(User(id="u1", email="a@example.com"))
        assert store.record_in(s.connection(), [Event(kind="job", event_id="job:j1:queued:1")]) == 1
        raise RuntimeError("the change itself failed")
    assert count(db, EventRow) == 0
    with db.session() as s:
        s.add(User(id="u1", email="a@example.com"))
        s.flush()
        s.add(Job(id="j1", owner_id="u1"))
        assert store.record_in(s.connection(), [Event(kind="job", event_id="job:j1:queued:1"),
                                                Event(kind="job", event_id="job:j1:queued:1")]) == 1
    assert count(db, EventRow) == 1
    with db.session() as s:
        assert store.record_in(s.connection(), [Event(kind="job", event_id="job:j1:queued:1")]) == 0


def test_an_events_columns_day_and_data(db):
    store = EventStore(db)
    # 01:30 at UTC+3 is 22:30 the day before in UTC: the partition is the UTC date
    at = datetime(2025, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=3)))
    store.record(Event(kind="stage", event_id="s1", at=at, owner_id="u1", run_id="r1", job_id="j1", short_id="sh1",
                       name="voice", engine="piper", seconds=1.25, calls=3, hits=2, data={"device": "cpu", "n": [1, 2]}))
    before = datetime.now(UTC)
    store.record(Event(kind="run", event_id="r1"))
    with db.session() as s:
        row = s.scalar(select(EventRow).where(EventRow.event_id == "s1"))
        now_row = s.scalar(select(EventRow).where(EventRow.event_id == "r1"))
    assert row.day == "2025-03-01"
    assert row.at.replace(tzinfo=row.at.tzinfo or UTC) == at
    assert (row.name, row.engine, row.seconds, row.calls, row.hits) == ("voice", "piper", 1.25, 3, 2)
    assert row.data == {"device": "cpu", "n": [1, 2]}
    assert row.export_batch is None
    stamped = now_row.at.replace(tzinfo=now_row.at.tzinfo or UTC)
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC) + timedelta(seconds=1)
    assert now_row.day == stamped.astimezone(UTC).date().isoformat()


def test_bad_events_are_refused_before_anything_is_stored(db):
    store = EventStore(db)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record(Event(kind="run", at=datetime(2025, 1, 1, 12, 0)))
    with pytest.raises(ValueError, match="Unknown event kind"):
        store.record_many([Event(kind="run"), Event(kind="render")])
    with pytest.raises(ValueError, match="Unknown metrics source"):
        store.snapshots([snap(1, source="myspace")])
    assert count(db, EventRow) == 0


def test_snapshots_store_nulls_hours_and_retention(db):
    store = EventStore(db)
    s = snap(30, likes=None, retention=((0.0, 1.0), (0.1, 0.62)), avg_view_seconds=4.5, title="Morning habits")
    assert store.snapshots([s, s]) == 1
    assert store.snapshots([s]) == 0
    with db.session() as session:
        row = session.scalar(select(MetricSnapshotRow))
    assert row.snapshot_id == s.snapshot_id == "p2|youtube_data|2025-03-02T18:00:00+00:00"
    assert (row.views, row.likes, row.comments, row.hours, row.day) == (300, None, None, 30.0, "2025-03-02")
    assert row.retention == [[0.0, 1.0], [0.1, 0.62]]
    assert (row.avg_view_seconds, row.title) == (4.5, "Morning habits")
    assert store.snapshots([snap(1, posted_at=None, retention=None)]) == 1
    with db.session() as session:
        other = session.scalar(select(MetricSnapshotRow).where(MetricSnapshotRow.remote_id == "v1"))
    assert other.hours is None and other.retention is None and other.posted_at is None


def test_an_import_that_fails_part_way_stores_nothing_and_a_rerun_stores_each_once(db):
    store = EventStore(db)
    items = [snap(i) for i in range(120)]

    def failing():
        for n, item in enumerate(items):
            if n == 50:
                raise ConnectionError("the metrics API hung up")
            yield item

    with pytest.raises(ConnectionError):
        store.snapshots(failing())
    assert count(db, MetricSnapshotRow) == 0
    assert store.snapshots(iter(items)) == 120
    assert store.snapshots(iter(items)) == 0
    assert store.snapshots(items[:60] + [snap(i) for i in range(120, 130)]) == 10
    assert count(db, MetricSnapshotRow) == 130


def test_a_database_error_part_way_rolls_the_whole_import_back(db, monkeypatch):
    """Not the iterable this time: the database fails after 20 of the 40 rows went in."""
    from studio.analytics import store as store_module

    real = store_module._insert_new

    def flaky(conn, table, key, rows):
        stored = real(conn, table, key, rows[:20])
        assert stored == 20
        raise RuntimeError("connection lost")

    monkeypatch.setattr(store_module, "_insert_new", flaky)
    with pytest.raises(RuntimeError):
        EventStore(db).snapshots(snap(i) for i in range(40))
    monkeypatch.setattr(store_module, "_insert_new", real)
    assert count(db, MetricSnapshotRow) == 0
    assert EventStore(db).snapshots(snap(i) for i in range(40)) == 40


def test_writers_racing_on_the_same_events_store_each_once_without_deadlock(db):
    """Eight threads record the same 300 events in different orders and groupings: exactly 300 inserts in total."""
    ids = [f"publish:p{i}:posted:1" for i in range(300)]
    results: list[int] = []
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        store, rnd = EventStore(db), random.Random(seed)
        order = ids[:]
        rnd.shuffle(order)
        stored = 0
        try:
            for i in range(0, len(order), 37):
                group = order[i:i + 37]
                if seed % 2:
                    stored += store.record_many(Event(kind="publish", event_id=e, status="posted") for e in group)
                else:
                    stored += sum(store.record(Event(kind="publish", event_id=e, status="posted")) for e in group)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        results.append(stored)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(results) == 300
    assert count(db, EventRow) == 300


def test_forget_deletes_an_accounts_or_a_shorts_rows_and_notes_it(db):
    store = EventStore(db)
    store.record_many([
        Event(kind="run", event_id="a1", owner_id="alice", short_id="sa"),
        Event(kind="stage", event_id="a2", owner_id="alice", short_id="sb"),
        Event(kind="run", event_id="b1", owner_id="bob", short_id="sc"),
        Event(kind="run", event_id="l1", owner_id=None, short_id="sa"),  # a local CLI run of a short with that id
    ])
    store.snapshots([snap(1, owner_id="alice", short_id="sa"), snap(2, owner_id="bob", short_id="sc")])

    assert store.forget(owner_id="alice", short_id="sa") == 2  # alice's rows of that short only
    with db.session() as s:
        assert sorted(s.scalars(select(EventRow.event_id))) == ["a2", "b1", "l1"]
    assert store.forget(owner_id="bob") == 2
    assert store.forget(short_id="sa") == 1
    assert store.forget(short_id="nothing-here") == 0
    with db.session() as s:
        assert list(s.scalars(select(EventRow.event_id))) == ["a2"]
        assert count(db, MetricSnapshotRow) == 0
        notes = s.execute(select(AnalyticsDeletion.owner_id, AnalyticsDeletion.short_id, AnalyticsDeletion.done_at)
                          .order_by(AnalyticsDeletion.id)).all()
    assert [tuple(n) for n in notes] == [("alice", "sa", None), ("bob", None, None), (None, "sa", None),
                                        (None, "nothing-here", None)]
    with pytest.raises(ValueError, match="owner_id or a short_id"):
        store.forget()
