"""What the analytics layers pass each other: events as recorded, and each dashboard's answer as small typed values
(the API returns them as JSON, the UI and the CLI draw them with studio/analytics/figures.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """One row of ``events`` (docs/analytics.md). ``event_id`` defaults to a uuid; give one built from what the
    event is about (``job:<id>:<status>:<attempt>``) and recording it twice stores it once."""

    kind: str  # run | stage | job | publish
    at: datetime | None = None  # None: now (UTC)
    event_id: str | None = None
    owner_id: str | None = None
    run_id: str | None = None
    job_id: str | None = None
    short_id: str | None = None
    post_id: str | None = None
    platform: str | None = None
    name: str | None = None
    engine: str | None = None
    status: str | None = None
    code: str | None = None
    seconds: float | None = None
    calls: int | None = None
    hits: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSnapshot:
    """One row of ``metric_snapshots``: a post's lifetime numbers as one source reported them at ``taken_at``.
    A number the source did not report is None, never 0."""

    platform: str
    remote_id: str
    source: str  # youtube_analytics | youtube_data | instagram | tiktok | csv_youtube | csv_tiktok
    taken_at: datetime
    posted_at: datetime | None = None
    owner_id: str | None = None
    post_id: str | None = None
    short_id: str | None = None
    title: str | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    reach: int | None = None
    engaged_views: int | None = None
    subscribers: int | None = None
    avg_view_seconds: float | None = None
    avg_view_ratio: float | None = None
    watch_seconds: float | None = None
    retention: tuple[tuple[float, float], ...] | None = None  # (elapsed ratio, audience watch ratio)
    duration: float | None = None

    @property
    def snapshot_id(self) -> str:
        ref = self.post_id or f"{self.platform}:{self.remote_id}"
        return f"{ref}|{self.source}|{self.taken_at.isoformat(timespec='seconds')}"


# -- dashboard answers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudioDashboard:
    """My studio: what was made, how long each stage took, which engines ran, what failed, what it saved."""

    shorts_per_day: tuple[tuple[str, int], ...]  # (YYYY-MM-DD, shorts made)
    stage_seconds: tuple[tuple[str, float, int], ...]  # (stage, mean seconds, runs)
    engines: tuple[tuple[str, str, int], ...]  # (stage, engine, runs)
    cache_hit_rate: float | None  # hits ÷ (hits + calls) over every stage; None when nothing ran
    failures: tuple[tuple[str, int], ...]  # (code, failed runs)
    savings: tuple[tuple[str, float, float], ...]  # (day, cumulative compute seconds, cumulative paid-API USD)
    runs: int = 0


@dataclass(frozen=True)
class PostSummary:
    post_id: str
    platform: str
    title: str
    posted_at: datetime
    views: int | None  # the latest snapshot's
    hours: float | None  # hours since posting of the latest snapshot
    duration: float | None
    hook_retention: float | None  # audience watch ratio at 3 s, when the platform reports a retention curve
    avg_view_ratio: float | None
    dimensions: dict[str, str] = field(default_factory=dict)  # template, voice, hook_style, length, platform


@dataclass(frozen=True)
class HeatCell:
    weekday: int  # 0 = Monday, in the creator's zone
    hour: int
    posts: int
    median_views: float | None  # None when too few posts to say (greyed out)


@dataclass(frozen=True)
class Comparison:
    dimension: str  # template | voice | hook_style | length | platform
    value: str
    posts: int
    median_views: float | None


@dataclass(frozen=True)
class PostsDashboard:
    """My posts: views by hours since posting against the creator's own median curve, retention curves, the best
    hours heatmap and comparisons by template, voice, hook style, length and platform."""

    posts: tuple[PostSummary, ...]
    curves: dict[str, tuple[tuple[float, float], ...]]  # post id → (hours since posting, views)
    median_curve: tuple[tuple[float, float], ...]  # the creator's own median views at each hour mark
    retention: dict[str, tuple[tuple[float, float], ...]]  # post id → (elapsed ratio, audience watch ratio)
    heatmap: tuple[HeatCell, ...]
    comparisons: tuple[Comparison, ...]
    timezone: str = "UTC"
    min_posts_per_cell: int = 3


@dataclass(frozen=True)
class VariantResult:
    label: str  # A, B, C
    short_id: str
    post_ids: tuple[str, ...]
    views: int
    engaged: int  # likes + comments + shares + saves
    rate: float | None  # engaged ÷ views


@dataclass(frozen=True)
class Verdict:
    """An A/B test's state after the latest snapshot. ``leader`` is set only when the sequential test says the lead is
    real at ``alpha`` however often the dashboard has looked; otherwise ``said`` explains what is missing."""

    experiment_id: str
    variants: tuple[VariantResult, ...]
    leader: str | None
    said: str
    alpha: float
    evidence: float  # the test statistic against 1/alpha (the mixture likelihood ratio), for the curious


@dataclass(frozen=True)
class Reason:
    """One rule's finding for a post below the creator's baseline: its numbers and what to try next."""

    rule: str  # velocity | hook | middle | hour | length
    title: str  # "The hook lost them"
    numbers: str  # "38% still watching at 3 s; your median is 71%"
    suggestion: str
    severity: float  # how far below baseline, 0–1; reasons are sorted by it
