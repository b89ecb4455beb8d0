"""The event store: every process appends events and metric snapshots to the metadata database through it.

Writes are plain inserts, ``INSERT … ON CONFLICT DO NOTHING`` on the row's natural key (``event_id``,
``snapshot_id``), so many writers on many machines need no locks and no read-modify-write, and recording the same
thing twice stores it once. Rows are inserted in key order: two PostgreSQL transactions inserting overlapping keys then
wait for each other in the same order instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, delete
from sqlalchemy.engine import Connection

from studio.analytics.types import Event, MetricSnapshot
from studio.db import Database
from studio.tables import AnalyticsDeletion, EventRow, MetricSnapshotRow

__all__ = ["EventStore", "KINDS", "SOURCES"]

KINDS = frozenset({"run", "stage", "job", "publish"})
SOURCES = frozenset({"youtube_analytics", "youtube_data", "instagram", "tiktok", "csv_youtube", "csv_tiktok"})

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
SNAPSHOTS: Table = MetricSnapshotRow.__table__  # type: ignore[assignment]
DELETIONS: Table = AnalyticsDeletion.__table__  # type: ignore[assignment]


class EventStore:
    """Appends analytics rows to the metadata database (docs/analytics.md) and deletes an account's or a short's."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, event: Event) -> bool:
        """Store one event. False when an event with the same ``event_id`` is already stored (nothing changes)."""
        return self.record_many([event]) == 1

    def record_many(self, events: Iterable[Event]) -> int:
        """Store events in one transaction; returns how many were new (duplicates, stored or repeated, are skipped)."""
        rows = _unique((event_row(e) for e in events), "event_id")
        with self.db.engine.begin() as conn:
            return _insert_new(conn, EVENTS, "event_id", rows)

    def record_in(self, conn: Connection, events: Iterable[Event]) -> int:
        """Store events inside the caller's open transaction (``session.connection()``), so they commit or roll back
        with the change they describe (a job's new status, a post's outcome). Returns how many were new."""
        return _insert_new(conn, EVENTS, "event_id", _unique((event_row(e) for e in events), "event_id"))

    def snapshots(self, items: Iterable[MetricSnapshot]) -> int:
        """Store metric snapshots in ONE transaction; returns how many were new. If ``items`` raises part-way nothing
        is stored, and running the same import again stores each snapshot exactly once."""
        rows = _unique((snapshot_row(s) for s in items), "snapshot_id")  # drains the iterable before the transaction opens
        with self.db.engine.begin() as conn:
            return _insert_new(conn, SNAPSHOTS, "snapshot_id", rows)

    def forget(self, *, owner_id: str | None = None, short_id: str | None = None) -> int:
        """Delete an account's (``owner_id``) or a short's (``short_id``; both: that owner's rows of that short) events
        and snapshots, and note the deletion for the exporter, which then rewrites the Parquet files that held them.
        Returns the number of rows deleted from both tables."""
        if owner_id is None and short_id is None:
            raise ValueError("forget() needs an owner_id or a short_id; it never deletes every row.")
        removed = 0
        with self.db.engine.begin() as conn:
            for table in (EVENTS, SNAPSHOTS):
                removed += conn.execute(delete(table).where(matching(table, owner_id, short_id))).rowcount
            conn.execute(DELETIONS.insert().values(owner_id=owner_id, short_id=short_id, created_at=_now()))
        return removed


def matching(table: Table, owner_id: str | None, short_id: str | None) -> Any:
    """The rows of ``table`` a deletion of (``owner_id``, ``short_id``) covers: every given id must match."""
    conds = []
    if owner_id is not None:
        conds.append(table.c.owner_id == owner_id)
    if short_id is not None:
        conds.append(table.c.short_id == short_id)
    return and_(*conds)


def event_row(e: Event) -> dict[str, Any]:
    """The ``events`` row for ``e``: ``at`` defaults to now, ``day`` is its UTC date, ``event_id`` a fresh uuid."""
    if e.kind not in KINDS:
        raise ValueError(f"Unknown event kind {e.kind!r}; expected one of {sorted(KINDS)}.")
    at = _utc(e.at, "Event.at") if e.at is not None else _now()
    return {
        "event_id": e.event_id or uuid.uuid4().hex, "at": at, "day": at.date().isoformat(), "kind": e.kind,
        "owner_id": e.owner_id, "run_id": e.run_id, "job_id": e.job_id, "short_id": e.short_id, "post_id": e.post_id,
        "platform": e.platform, "name": e.name, "engine": e.engine, "status": e.status, "code": e.code,
        "seconds": e.seconds, "calls": e.calls, "hits": e.hits, "data": dict(e.data),
    }


def snapshot_row(s: MetricSnapshot) -> dict[str, Any]:
    """The ``metric_snapshots`` row for ``s``: ``day`` is ``taken_at``'s UTC date, ``hours`` the hours since posting."""
    if s.source not in SOURCES:
        raise ValueError(f"Unknown metrics source {s.source!r}; expected one of {sorted(SOURCES)}.")
    taken = _utc(s.taken_at, "MetricSnapshot.taken_at")
    posted = _utc(s.posted_at, "MetricSnapshot.posted_at") if s.posted_at is not None else None
    return {
        "snapshot_id": s.snapshot_id, "owner_id": s.owner_id, "post_id": s.post_id, "short_id": s.short_id,
        "platform": s.platform, "remote_id": s.remote_id, "title": s.title, "source": s.source,
        "taken_at": taken, "posted_at": posted, "day": taken.date().isoformat(),
        "hours": (taken - posted).total_seconds() / 3600 if posted is not None else None,
        "views": s.views, "likes": s.likes, "comments": s.comments, "shares": s.shares, "saves": s.saves,
        "reach": s.reach, "engaged_views": s.engaged_views, "subscribers": s.subscribers,
        "avg_view_seconds": s.avg_view_seconds, "avg_view_ratio": s.avg_view_ratio, "watch_seconds": s.watch_seconds,
        "retention": [list(p) for p in s.retention] if s.retention is not None else None, "duration": s.duration,
    }


def _insert_new(conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows``, skipping those whose ``key`` is already stored; returns how many were inserted."""
    if not rows:
        return 0
    # one executemany: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs with one cached statement (ten times
    # faster than building a VALUES list per call); RETURNING names exactly the rows inserted, which rowcount does not
    # through every driver for ON CONFLICT DO NOTHING
    stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
    return len(conn.execute(stmt, sorted(rows, key=lambda r: r[key])).all())


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, the one with ``on_conflict_do_nothing`` (SQLite ≥ 3.24 and PostgreSQL share the syntax)."""
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise RuntimeError(f"The event store supports SQLite and PostgreSQL, not {name!r}.")


def _unique(rows: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows whose ``key`` was seen earlier in the same call dropped (the first is kept, as the database would)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row[key], row)
    return list(seen.values())


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (a naive {value.isoformat()} could be any zone's); "
                         "pass datetime(..., tzinfo=UTC) or .astimezone(UTC).")
    return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)
