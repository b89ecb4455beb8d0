"""What each front end records: a run (with its stages), a job's state change, a publish attempt.

The events are built here from what the run, the job or the post already holds (docs/analytics.md); they are stored
through studio/analytics/store.py. A run is recorded by whoever ran it: ``Studio.make``/``render`` for the CLI and
the Python API (into this machine's own metadata database, owner null), the hosted job for the web, the API and
workers. Recording never decides whether a short is made: a database that cannot take the event is logged as a
warning once per process, and the short is still delivered.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from studio.analytics.types import Event

if TYPE_CHECKING:
    from pipelines.types import ShortResult

log = logging.getLogger("studio.analytics")

# hook styles, each a rule on the hook's words (what the "comparisons by hook style" dashboard groups by)
_QUESTION = re.compile(r"\?\s*$")
_NUMBER = re.compile(r"^\W*(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.IGNORECASE)
_HOW = re.compile(r"^\W*(how|why|what|when|where|who)\b", re.IGNORECASE)
_YOU = re.compile(r"\b(you|your|you're|you'll)\b", re.IGNORECASE)
_STOP = re.compile(r"^\W*(stop|never|don't|do not|quit|avoid)\b", re.IGNORECASE)


def hook_style(hook: str) -> str:
    """The hook's style, first rule that matches: ``question`` (ends with ?), ``number`` ("3 ways…"), ``how`` (opens
    with how/why/what…), ``warning`` ("Stop…", "Never…"), ``you`` (speaks to the viewer), else ``statement``;
    ``none`` for no hook."""
    text = (hook or "").strip()
    if not text:
        return "none"
    for name, rule in (("question", _QUESTION), ("number", _NUMBER), ("how", _HOW), ("warning", _STOP),
                       ("you", _YOU)):
        if rule.search(text):
            return name
    return "statement"


def timeline_facts(timeline: dict | None) -> dict[str, Any]:
    """The dimensions the "what works" comparisons group posts by, read from a timeline's JSON."""
    t = timeline or {}
    return {"template": t.get("template") or "", "voice": t.get("voice") or "", "hook_style": hook_style(
        t.get("hook") or ""), "language": t.get("language") or ""}


def run_events(report: dict, *, front: str, device: str, owner_id: str | None = None, job_id: str | None = None,
               short_id: str | None = None, timeline: dict | None = None, request: dict | None = None,
               cost: dict | None = None, units: dict | None = None) -> list[Event]:
    """A finished run: one ``run`` event and one ``stage`` event per stage, keyed by the report's run id (recording
    the same run twice stores it once)."""
    run_id = report["run_id"]
    at = datetime.fromisoformat(report["created_at"])
    stages = report.get("stages") or []
    checks = report.get("checks") or {}
    failed = sorted(name for name, c in checks.items() if not c.get("ok", True))
    data = {**timeline_facts(timeline), "device": device, "duration": report.get("duration"),
            "checks_ok": not failed, "checks": failed, "request": _request_summary(request or report.get("request")),
            "units": units or {}, "paid_usd": (cost or {}).get("total_usd"), "cost": cost or {}}
    events = [Event(kind="run", at=at, event_id=f"run:{run_id}", owner_id=owner_id, run_id=run_id, job_id=job_id,
                    short_id=short_id, platform=report.get("platform"), name=front, status="succeeded",
                    seconds=round(sum(float(s.get("seconds") or 0) for s in stages), 3), data=data)]
    for i, s in enumerate(stages):
        events.append(Event(kind="stage", at=at, event_id=f"stage:{run_id}:{i}", owner_id=owner_id, run_id=run_id,
                            job_id=job_id, short_id=short_id, name=s.get("stage"), engine=s.get("engine"),
                            seconds=float(s.get("seconds") or 0), calls=int(s.get("calls") or 0),
                            hits=int(s.get("cached") or 0)))
    return events


def result_events(result: ShortResult, *, front: str, device: str, owner_id: str | None = None,
                  job_id: str | None = None, short_id: str | None = None, request: dict | None = None) -> list[Event]:
    """A made or rendered short's run events, with what its work would have cost on the paid APIs at today's
    prices (configs/prices.yaml)."""
    from studio.analytics.costs import paid_usd, units_of

    report, timeline = result.report, result.timeline.to_dict()
    units = units_of(report, timeline=timeline, topic=(request or {}).get("topic"))
    cost = paid_usd(units, _prices()).as_dict()
    return run_events(report, front=front, device=device, owner_id=owner_id, job_id=job_id, short_id=short_id,
                      timeline=timeline, request=request, cost=cost, units=units.as_dict())


_PRICES: list = []


def _prices():
    """configs/prices.yaml, read once per process."""
    if not _PRICES:
        from studio.analytics.costs import load_prices

        _PRICES.append(load_prices())
    return _PRICES[0]


def failed_run_event(*, front: str, code: str, owner_id: str | None = None, job_id: str | None = None,
                     request: dict | None = None, attempt: int = 0) -> Event:
    """A run that ended without a short: its error code (failures by code)."""
    key = f"run:failed:{job_id}:{attempt}" if job_id else None
    return Event(kind="run", event_id=key, owner_id=owner_id, job_id=job_id, name=front, status="failed", code=code,
                 data={"request": _request_summary(request)})


def job_event(job_id: str, status: str, *, owner_id: str | None, attempts: int = 0, queue: str | None = None,
              worker: str | None = None, short_id: str | None = None, code: str | None = None,
              at: datetime | None = None, event_id: str | None = None) -> Event:
    """A job moved to ``status``; ``event_id`` names the change (studio/jobs.py builds it from the job's row)."""
    return Event(kind="job", at=at, event_id=event_id, owner_id=owner_id, job_id=job_id,
                 short_id=short_id, status=status, code=code or None,
                 data={"attempts": attempts, "queue": queue, "worker": worker})


def publish_event(post_id: str, status: str, *, attempt: int, owner_id: str | None, short_id: str | None,
                  platform: str, code: str = "", message: str = "", result: dict | None = None,
                  facts: dict | None = None, at: datetime | None = None) -> Event:
    """A publish attempt's outcome: ``posted``, ``failed``, ``unconfirmed``, ``deferred`` or ``retry``. A posted one
    carries what the "what works" dashboards group by (``facts``: title, posted_at, duration, template, voice,
    hook style), so the Parquet alone answers them."""
    result = result or {}
    data: dict[str, Any] = {"attempt": attempt, "message": message[:500], "remote_id": result.get("remote_id"),
                            "url": result.get("url")}
    data.update(facts or {})
    return Event(kind="publish", at=at, event_id=f"publish:{post_id}:{attempt}:{status}", owner_id=owner_id,
                 short_id=short_id, post_id=post_id, platform=platform, status=status, code=code or None, data=data)


def device_of(profile: str) -> str:
    """The device a run's profile ran on: ``cuda`` for the gpu profile (``auto`` resolved), else ``cpu``."""
    from studio.engines import resolve_profile

    return "cuda" if resolve_profile(profile) == "gpu" else "cpu"


def _request_summary(request: dict | None) -> dict[str, Any]:
    """What was asked, without the creator's words: which inputs, and how long."""
    r = request or {}
    out: dict[str, Any] = {}
    for key in ("topic", "script"):
        if r.get(key):
            out[f"{key}_chars"] = len(str(r[key]))
    for key in ("photos", "clips", "assets"):
        if r.get(key):
            out[key] = len(r[key])
    for key in ("platform", "template", "voice", "language", "profile", "duration"):
        if r.get(key) not in (None, ""):
            out[key] = r[key]
    return out


class Warned:
    """A recording failure said once per process (a database that cannot take events is one problem, not one per
    short), as a warning: never silent, never fatal to the short."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said = False

    def __call__(self, what: str, exc: BaseException) -> None:
        with self._lock:
            first, self._said = not self._said, True
        if first:
            log.warning("analytics: could not record %s (%s: %s); the short itself is fine. Further recording "
                        "failures in this process are logged at debug level.", what, type(exc).__name__, exc)
        else:
            log.debug("analytics: could not record %s", what, exc_info=exc)


warned = Warned()


class LocalRuns:
    """This machine's own runs (the CLI, the Python API) recorded into its metadata database, owner null: the
    SQLite file under STUDIO_HOME unless STUDIO_DATABASE_URL names another. Opened (and migrated) once, at the
    first run."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._store = None
        self._lock = threading.Lock()

    def store(self):
        with self._lock:
            if self._store is None:
                from studio.analytics.store import EventStore
                from studio.db import Database

                db = Database.for_home(self.settings.home, self.settings.server.database_url)
                db.migrate()
                self._store = EventStore(db)
            return self._store

    def record(self, result: ShortResult, *, front: str, device: str, request: dict | None = None) -> None:
        try:
            self.store().record_many(result_events(result, front=front, device=device, request=request))
        except Exception as exc:  # the short is made whatever happens here: said once, as a warning
            warned(f"the run in {result.out_dir}", exc)
