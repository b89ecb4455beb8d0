"""Analytics for the front ends: the REST API, the UI's Analytics tab and ``studio analytics`` call only this.

Every answer is one creator's (``owner``; None is this machine's own CLI and Python API runs). Before a dashboard is
drawn the exporter brings the Parquet up to date (a few milliseconds when nothing is new, and at most once every
``fresh_s`` seconds per process), so a dashboard shows every snapshot taken so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

from sqlalchemy import select

from models.errors import InvalidRequest
from studio.analytics import imports
from studio.analytics.export import Exporter, ExportStats
from studio.analytics.imports import ImportResult
from studio.analytics.queries import Dashboards
from studio.analytics.store import EventStore
from studio.analytics.types import PostsDashboard, Reason, StudioDashboard, Verdict
from studio.db import Database, owned
from studio.tables import Experiment, Short

LABELS = ("A", "B", "C")


class Analytics:
    def __init__(self, db: Database, root: Path, *, fresh_s: float = 2.0) -> None:
        self.db = db
        self.root = Path(root)
        self.store = EventStore(db)
        self.exporter = Exporter(db, self.root)
        self.fresh_s = fresh_s
        self._lock = threading.Lock()
        self._exported = 0.0

    # 1. the Parquet, current
    def refresh(self, *, force: bool = False) -> ExportStats | None:
        """Export what is new (and apply deletions). Skipped when done less than ``fresh_s`` ago, unless ``force``."""
        with self._lock:
            if not force and time.monotonic() - self._exported < self.fresh_s:
                return None
            stats = self.exporter.run()
            self._exported = time.monotonic()
            return stats

    def export_to(self, target: Path) -> ExportStats:
        """``studio analytics export --parquet DIR``: everything up to date, mirrored into ``target``."""
        with self._lock:
            stats = self.exporter.copy_to(Path(target))
            self._exported = time.monotonic()
            return stats

    def boards(self, owner: str | None, timezone: str = "UTC") -> Dashboards:
        self.refresh()
        return Dashboards(self.root, owner, timezone=timezone)

    # 2. the dashboards
    def studio(self, owner: str | None, days: int = 30) -> StudioDashboard:
        if not 1 <= days <= 366:
            raise InvalidRequest(f"days must be between 1 and 366, not {days}.")
        return self.boards(owner).studio(days)

    def posts(self, owner: str | None, timezone: str = "UTC") -> PostsDashboard:
        return self.boards(owner, _zone(timezone)).posts()

    def why(self, owner: str | None, post_id: str, timezone: str = "UTC") -> tuple[Reason, ...] | None:
        """Plain reasons for a post below the creator's baseline, worst first. None: nothing to explain (the post is at
        or above the baseline, or too few other posts make one); (): below it, but no rule found a cause. NotFound
        when the creator has no such post with numbers."""
        return self.boards(owner, _zone(timezone)).why(post_id)

    # 3. A/B tests
    def new_experiment(self, owner: str, name: str, short_ids: Sequence[str], alpha: float = 0.05) -> dict:
        """Two or three of the creator's shorts (a short and its variants) as one experiment, labelled A, B, C."""
        ids = list(dict.fromkeys(short_ids))
        if not 2 <= len(ids) <= 3:
            raise InvalidRequest("An A/B test compares two or three different shorts.",
                                 f"short_ids named {len(ids)} different shorts.")
        if not 0.001 <= alpha <= 0.2:
            raise InvalidRequest(f"alpha must be between 0.001 and 0.2, not {alpha}.")
        with self.db.session() as s:
            for short_id in ids:
                owned(s, Short, short_id, owner, "short")
            row = Experiment(owner_id=owner, name=(name or "A/B test").strip()[:200], alpha=alpha,
                             variants={"items": [{"label": lb, "short_id": sid} for lb, sid in zip(LABELS, ids)]})
            s.add(row)
            s.flush()
            return _experiment(row)

    def join_experiment(self, owner: str, short_id: str, variant_id: str) -> dict:
        """``variant_id`` (a variant of ``short_id``) joins the newest experiment holding ``short_id`` that has
        room (three variants at most), or a new one of the two."""
        with self.db.session() as s:
            for row in s.scalars(select(Experiment).where(Experiment.owner_id == owner)
                                 .order_by(Experiment.created_at.desc())):
                items = list(row.variants.get("items", []))
                if any(v["short_id"] == short_id for v in items) and len(items) < len(LABELS):
                    row.variants = {"items": [*items, {"label": LABELS[len(items)], "short_id": variant_id}]}
                    s.flush()
                    return _experiment(row)
            title = s.scalar(select(Short.title).where(Short.id == short_id)) or "A/B test"
        return self.new_experiment(owner, f"{title[:180]} (A/B)", [short_id, variant_id])

    def experiments(self, owner: str) -> list[dict]:
        with self.db.session() as s:
            rows = s.scalars(select(Experiment).where(Experiment.owner_id == owner)
                             .order_by(Experiment.created_at.desc()))
            return [_experiment(r) for r in rows]

    def verdict(self, owner: str, experiment_id: str) -> Verdict:
        with self.db.session() as s:
            row = owned(s, Experiment, experiment_id, owner, "experiment")
            variants = [(v["label"], v["short_id"]) for v in row.variants.get("items", [])]
            alpha = float(row.alpha)
        return self.boards(owner).verdict(experiment_id, variants, alpha)

    def delete_experiment(self, owner: str, experiment_id: str) -> None:
        with self.db.session() as s:
            s.delete(owned(s, Experiment, experiment_id, owner, "experiment"))

    # 4. CSV imports (imports.py): the front ends show imports.preview, then store what the creator confirmed
    def import_csv(self, owner: str | None, data: bytes, mapping: Mapping[str, str], *, platform: str,
                   date_order: str | None = None, timezone: str = "UTC", today: date | None = None
                   ) -> tuple[ImportResult, int]:
        """Every row of a Studio CSV export as a snapshot, stored in one transaction; returns the parsed file and how
        many snapshots were new. The numbers are taken at the start of the import's UTC day (the file does not say
        when it was exported): the same file imported again that day stores nothing twice, a later import of a newer
        export adds that day's snapshot."""
        day = today or utcnow().date()
        result = imports.parse(data, mapping, platform=platform, owner_id=owner, date_order=date_order,
                               timezone=_zone(timezone), imported_at=datetime.combine(day, clock(), UTC))
        stored = self.store.snapshots(result.snapshots)
        self._exported = 0.0  # the next dashboard exports first, so it shows the import
        return result, stored

    # 5. deletion: the rows now, the Parquet at the next export
    def forget_short(self, owner: str | None, short_id: str) -> int:
        return self.store.forget(owner_id=owner, short_id=short_id)

    def forget_owner(self, owner: str) -> int:
        return self.store.forget(owner_id=owner)


def _experiment(row: Experiment) -> dict:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return {"id": row.id, "name": row.name, "alpha": row.alpha, "variants": list(row.variants.get("items", [])),
            "created_at": created.isoformat(timespec="seconds")}


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"Unknown time zone {name!r}.", "Use an IANA name such as Europe/Berlin.") from None
    return name or "UTC"


def utcnow() -> datetime:
    return datetime.now(UTC)
