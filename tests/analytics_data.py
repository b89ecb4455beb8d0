"""Synthetic analytics data in the documented Parquet layout (docs/analytics.md), for the dashboards' tests and the
benchmark.

``build`` writes a month of a small studio — runs with stages, engines, cache hits, failures and paid-API prices; posts
on YouTube (Data API counts, lagging Analytics rows with retention curves), Instagram (milliseconds turned into
seconds, empty insights, unreported fields as null) and TikTok; CSV-imported videos — for three owners, and returns
the planted truth so a test can work out every expected number in plain Python. ``build_bulk`` writes millions of
plausible rows with DuckDB's ``range()`` for timing, with no truth to check against.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ENGINES = {"script": ("qwen2", "template"), "voice": ("piper", "coqui"), "stills": ("sd-turbo", "stock"),
           "captions": ("whisper",), "mix": ("ffmpeg",)}
FAIL_CODES = ("voice_oom", "stills_timeout", "unsafe_image")
TEMPLATES = ("bold", "minimal", "news")
VOICES = ("amy", "ryan")
HOOK_STYLES = ("question", "stat", "story")
DURATIONS = (12.0, 22.0, 35.0, 50.0, 70.0)
HOUR_FACTOR = {18: 1.0, 19: 1.0, 20: 0.9, 12: 0.6, 8: 0.5, 3: 0.15}  # local posting hour → how well posts do
TEMPLATE_FACTOR = {"bold": 1.4, "minimal": 1.0, "news": 0.8}
EARLY_HOURS = (1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 72.0)  # when the Data API is polled; then daily

# the exporter's column types (studio/analytics/export.py), so the dashboards read what they will read in production
EVENT_COLUMNS = {"id": "BIGINT", "event_id": "VARCHAR", "at": "TIMESTAMPTZ", "day": "VARCHAR", "kind": "VARCHAR",
                 "owner_id": "VARCHAR", "run_id": "VARCHAR", "job_id": "VARCHAR", "short_id": "VARCHAR",
                 "post_id": "VARCHAR", "platform": "VARCHAR", "name": "VARCHAR", "engine": "VARCHAR", "status": "VARCHAR",
                 "code": "VARCHAR", "seconds": "DOUBLE", "calls": "INTEGER", "hits": "INTEGER", "data": "VARCHAR"}
METRIC_COLUMNS = {"id": "BIGINT", "snapshot_id": "VARCHAR", "owner_id": "VARCHAR", "post_id": "VARCHAR",
                  "short_id": "VARCHAR", "platform": "VARCHAR", "remote_id": "VARCHAR", "title": "VARCHAR", "source": "VARCHAR",
                  "taken_at": "TIMESTAMPTZ", "posted_at": "TIMESTAMPTZ", "day": "VARCHAR", "hours": "DOUBLE",
                  "views": "BIGINT", "likes": "BIGINT", "comments": "BIGINT", "shares": "BIGINT", "saves": "BIGINT",
                  "reach": "BIGINT", "engaged_views": "BIGINT", "subscribers": "BIGINT", "avg_view_seconds": "DOUBLE",
                  "avg_view_ratio": "DOUBLE", "watch_seconds": "DOUBLE", "retention": "VARCHAR", "duration": "DOUBLE"}


@dataclass
class PlantedStage:
    name: str
    engine: str
    seconds: float
    calls: int
    hits: int


@dataclass
class PlantedRun:
    run_id: str
    owner_id: str | None
    at: datetime
    status: str  # succeeded | failed
    code: str | None
    seconds: float
    paid_usd: float
    stages: list[PlantedStage]

    @property
    def day(self) -> str:
        return self.at.date().isoformat()


@dataclass
class PlantedPost:
    """One post as planted. ``points`` are the (hours, lifetime views) a dashboard should draw its curve through (the
    lagging YouTube Analytics rows report older, lower counts and are not among them); ``latest`` holds each counter's
    highest reported value (None: never reported)."""

    key: str  # post_id, or platform:remote_id for an imported video
    post_id: str | None
    owner_id: str | None
    platform: str
    remote_id: str
    short_id: str | None
    title: str
    posted_at: datetime
    duration: float | None
    template: str | None
    voice: str | None
    hook_style: str | None
    age: float  # hours from posting to the latest snapshot
    v24: float = 0.0  # the views planted for 24 h after posting
    points: list[tuple[float, float]] = field(default_factory=list)
    retention: list[tuple[float, float]] | None = None  # the latest curve
    avg_view_ratio: float | None = None  # what the dashboard should show (YouTube's; Instagram's watch time ÷ length)
    latest: dict[str, int | None] = field(default_factory=dict)

    def views_at(self, hours: float) -> float | None:
        """Plain linear interpolation between the planted points; None outside them."""
        pts = sorted(self.points)
        for (h0, v0), (h1, v1) in zip(pts, pts[1:]):
            if h0 <= hours <= h1:
                return v0 if h1 == h0 else v0 + (v1 - v0) * (hours - h0) / (h1 - h0)
        return pts[0][1] if len(pts) == 1 and pts[0][0] == hours else None


@dataclass
class Planted:
    today: date
    now: datetime
    timezone: str
    runs: list[PlantedRun]
    posts: list[PlantedPost]
    experiments: dict[str, dict[str, str]]  # experiment → {label: short_id}
    special: dict[str, str]  # hook_flop | hour_flop | good → post_id

    def runs_of(self, owner: str | None) -> list[PlantedRun]:
        return [r for r in self.runs if r.owner_id == owner]

    def posts_of(self, owner: str | None) -> list[PlantedPost]:
        return [p for p in self.posts if p.owner_id == owner]

    def post(self, key: str) -> PlantedPost:
        return next(p for p in self.posts if p.key == key)


class _Writer:
    """Collects rows, then writes each table with one partitioned COPY."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.metrics: list[dict] = []
        self._n = 0

    def event(self, kind: str, at: datetime, owner: str | None, **cols) -> None:
        self._n += 1
        data = cols.pop("data", {})
        row = dict.fromkeys(EVENT_COLUMNS)
        row.update(id=self._n, event_id=f"ev-{self._n}", at=_iso(at), day=at.date().isoformat(), kind=kind, owner_id=owner,
                   data=json.dumps(data), **cols)
        self.events.append(row)

    def snapshot(self, post: PlantedPost, source: str, hours: float, *, imported: bool = False, **cols) -> None:
        """``imported``: a CSV row that does not know the studio's post id."""
        taken = post.posted_at + timedelta(hours=hours)
        row = dict.fromkeys(METRIC_COLUMNS)
        pid = None if imported else post.post_id
        self._n += 1
        row.update(id=self._n, snapshot_id=f"{pid or post.platform + ':' + post.remote_id}|{source}|{_iso(taken)}",
                   owner_id=post.owner_id, post_id=pid, short_id=post.short_id, platform=post.platform,
                   remote_id=post.remote_id, source=source, taken_at=_iso(taken), posted_at=_iso(post.posted_at),
                   day=taken.date().isoformat(), hours=hours, **cols)
        if cols.get("retention") is not None:
            row["retention"] = json.dumps(cols["retention"])
        for name in ("views", "likes", "comments", "shares", "saves"):
            if row[name] is not None:
                post.latest[name] = max(post.latest.get(name) or 0, row[name])
            else:
                post.latest.setdefault(name, None)
        self.metrics.append(row)

    def write(self, root: Path) -> None:
        import duckdb

        root.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        with tempfile.TemporaryDirectory() as tmp:
            for table, rows, columns in (("events", self.events, EVENT_COLUMNS), ("metrics", self.metrics, METRIC_COLUMNS)):
                if not rows:
                    continue
                src = Path(tmp) / f"{table}.jsonl"
                src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
                spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
                con.execute(f"COPY (SELECT * FROM read_json('{src}', format = 'newline_delimited', columns = {spec})) "
                            f"TO '{root / table}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), "
                            "FILENAME_PATTERN 'b0_{i}', OVERWRITE_OR_IGNORE)")
        con.close()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def build(root: Path, *, today: date | None = None, timezone: str = "America/New_York", seed: int = 7) -> Planted:
    """A month of three owners' studios under ``root`` (events/ and metrics/ in the documented layout). ``alice`` has
    the most: ~100 runs, ~55 posts (three planted for the flop diagnosis: ``hook_flop`` lost viewers in the first
    3 s, ``hour_flop`` went out at 03:00 when her posts do poorly, ``good`` did three times her usual), two A/B
    experiments and three CSV-imported videos. ``bob`` has a few posts with huge numbers (a leak would show); ``None``
    (this machine's own CLI runs) a few runs and posts."""
    today = today or datetime.now(UTC).date()
    now = datetime.combine(today, time(12, 0), tzinfo=UTC)
    rng = np.random.default_rng(seed)
    w = _Writer()
    planted = Planted(today=today, now=now, timezone=timezone, runs=[], posts=[], experiments={}, special={})
    zone = ZoneInfo(timezone)
    for owner, n_days, per_day in (("alice", 35, 3), ("bob", 10, 1), (None, 20, 1)):
        planted.runs += _runs(w, rng, owner, now, n_days, per_day)
    _alice_posts(w, rng, planted, zone)
    for i in range(4):
        planted.posts.append(_post(w, rng, "bob", f"bob-{i}", "youtube", now - timedelta(days=3 + i), 2_000_000.0,
                                   now, template="bold", voice="amy", hook_style="stat", duration=35.0))
    for i in range(3):
        planted.posts.append(_post(w, rng, None, f"local-{i}", "tiktok", now - timedelta(days=2 + 3 * i, hours=5),
                                   700_000.0, now, template="news", voice="ryan", hook_style="story", duration=22.0))
    # bob imported a CSV naming one of alice's videos: it must stay bob's own imported post
    twin = planted.post("alice-0")
    planted.posts.append(_imported(w, "bob", twin.platform, twin.remote_id, now, days_old=9, views=5_000_000))
    w.write(root)
    return planted


def _runs(w: _Writer, rng, owner: str | None, now: datetime, n_days: int, per_day: int) -> list[PlantedRun]:
    runs = []
    for d in range(n_days):
        for _ in range(int(rng.integers(0, 2 * per_day + 1))):
            at = now - timedelta(days=d, hours=float(rng.uniform(0, 11)))
            n = len(runs)
            run_id, job_id, short_id = f"{owner}-run-{n}", f"{owner}-job-{n}", f"{owner}-short-{n}"
            failed = rng.random() < 0.15
            code = str(rng.choice(FAIL_CODES)) if failed else None
            names = list(ENGINES)[: int(rng.integers(1, len(ENGINES)))] if failed else list(ENGINES)
            stages = []
            for name in names:
                engine = str(rng.choice(ENGINES[name]))
                seconds = round(float(rng.uniform(0.5, 40.0)), 3)
                calls = int(rng.integers(0, 12))
                hits = int(rng.integers(0, 8))
                stages.append(PlantedStage(name, engine, seconds, calls, hits))
                w.event("stage", at, owner, run_id=run_id, job_id=job_id, short_id=short_id, name=name, engine=engine,
                        seconds=seconds, calls=calls, hits=hits)
            seconds = round(sum(s.seconds for s in stages), 3)
            paid = round(float(rng.uniform(0.01, 0.4)), 4)
            status = "failed" if failed else "succeeded"
            w.event("run", at, owner, run_id=run_id, job_id=job_id, short_id=short_id, platform="youtube",
                    name="web" if owner else "cli", status=status, code=code, seconds=seconds,
                    data={"device": "cpu", "duration": 30.0, "template": "bold", "voice": "amy", "paid_usd": paid,
                          "units": {"voice_chars": 800, "images": 6}, "checks_ok": not failed})
            for status_ in ("queued", "running", status):
                w.event("job", at, owner, job_id=job_id, short_id=short_id, status=status_, data={"attempts": 1})
            runs.append(PlantedRun(run_id, owner, at, status, code, seconds, paid, stages))
    return runs


def _alice_posts(w: _Writer, rng, planted: Planted, zone: ZoneInfo) -> None:
    now = planted.now
    hours = (18, 19, 8, 20, 12, 18, 3, 19, 20, 12, 18, 3, 8, 19, 18, 20, 3, 12, 19, 18, 3, 20)
    n = 40
    for i in range(n):
        local_day = (now - timedelta(days=float(0.3 + 29.5 * i / n))).astimezone(zone).date()
        posted = datetime.combine(local_day, time(hours[i % len(hours)], int(rng.integers(0, 60))), tzinfo=zone)
        if posted >= now - timedelta(hours=1.5):
            posted -= timedelta(days=1)
        template = TEMPLATES[i % 3]
        v24 = 10_000 * HOUR_FACTOR[posted.hour] * TEMPLATE_FACTOR[template] * float(rng.lognormal(0, 0.25))
        platform = ("youtube", "youtube", "instagram", "youtube", "tiktok")[i % 5]
        planted.posts.append(_post(w, rng, "alice", f"alice-{i}", platform, posted.astimezone(UTC), v24, now,
                                   template=template, voice=VOICES[i % 2], hook_style=HOOK_STYLES[i % 3],
                                   duration=DURATIONS[i % 5], shares_missing=i % 2 == 0))
    ten_days = (now - timedelta(days=10)).astimezone(zone).date()
    usual = 10_000 * TEMPLATE_FACTOR["minimal"]
    for name, hour, v24, hook in (("hook_flop", 18, 0.45 * usual, 0.3), ("hour_flop", 3, HOUR_FACTOR[3] * usual, None),
                                  ("good", 18, 3 * usual, None)):
        posted = datetime.combine(ten_days, time(hour, 10), tzinfo=zone).astimezone(UTC)
        planted.posts.append(_post(w, rng, "alice", f"alice-{name}", "youtube", posted, v24, now, template="minimal",
                                   voice="amy", hook_style="question", duration=35.0, hook=hook))
        planted.special[name] = f"alice-{name}"
    # one of alice's YouTube videos also came in through a CSV export without the studio's post id
    first = planted.post("alice-0")
    h = max(first.age - 2.0, first.age / 2)
    views = round(_views(first.v24, h))
    w.snapshot(first, "csv_youtube", h, imported=True, views=views, title=first.title)
    first.points.append((h, views))
    for i, days_old in enumerate((60, 75, 90)):
        planted.posts.append(_imported(w, "alice", "youtube", f"yt-imported-{i}", now, days_old, 40_000 * (i + 1),
                                       duration=(35.0, None, 50.0)[i]))
    _experiments(w, rng, planted)
    # a publish attempt that failed is not a post
    w.event("publish", now - timedelta(days=4), "alice", post_id="alice-never", platform="youtube", status="failed",
            code="quota_exceeded", data={"attempt": 1, "message": "quota"})


def _experiments(w: _Writer, rng, planted: Planted) -> None:
    """Two A/B tests posted at her usual 18:00: a clear one four days old, and one ten hours old with too few views."""
    now = planted.now
    zone = ZoneInfo(planted.timezone)
    plans = {"ab-clear": {"A": (0.03, 3, 10_000, 4), "B": (0.06, 3, 10_000, 4)},
             "ab-young": {"A": (0.05, 1, 150, 0), "B": (0.05, 1, 150, 0)}}
    for exp, variants in plans.items():
        planted.experiments[exp] = {}
        for label, (rate, n_posts, v24, days) in variants.items():
            short = f"{exp}-{label}"
            planted.experiments[exp][label] = short
            for j in range(n_posts):
                if days:
                    local = (now - timedelta(days=days + j)).astimezone(zone).date()
                    posted = datetime.combine(local, time(18, 5 * j), tzinfo=zone).astimezone(UTC)
                else:
                    posted = now - timedelta(hours=10)
                planted.posts.append(_post(w, rng, "alice", f"{short}-{j}", "youtube", posted, v24, now,
                                           template="bold", voice="amy", hook_style="question" if label == "A" else "stat",
                                           duration=22.0,
                                           short_id=short, like_rate=rate))


def _views(v24: float, h: float) -> float:
    """Lifetime views h hours after posting: most within the first day, then a slow steady trickle (never flat, so
    the lagging Analytics rows always report less than an earlier Data API poll)."""
    a = v24 / (1 - math.exp(-24 / 20) + 0.048)
    return a * (1 - math.exp(-h / 20)) + 0.002 * a * h


def _retention(duration: float, hook: float, decay: float) -> list[tuple[float, float]]:
    """YouTube's curve at elapsed ratios 0.01 … 1.00: a straight fall to ``hook`` at 3 s, then an exponential fade."""
    x3 = 3.0 / duration
    out = []
    for k in range(1, 101):
        x = k / 100
        r = 1 - (1 - hook) * x / x3 if x <= x3 else hook * math.exp(-decay * (x - x3))
        out.append((x, round(r, 4)))
    return out


def _post(w: _Writer, rng, owner: str | None, post_id: str, platform: str, posted: datetime, v24: float,
          now: datetime, *, template: str, voice: str, hook_style: str, duration: float, short_id: str | None = None,
          hook: float | None = None, like_rate: float = 0.04, shares_missing: bool = False) -> PlantedPost:
    """One posted short: its publish events, then the snapshots its platform's sources would have taken up to now."""
    remote = f"{platform[:2]}-{post_id}"
    short_id = short_id or f"short-{post_id}"
    title = f"{owner or 'local'} short {post_id}"
    age = (now - posted).total_seconds() / 3600
    post = PlantedPost(key=post_id, post_id=post_id, owner_id=owner, platform=platform, remote_id=remote,
                       short_id=short_id, title=title, posted_at=posted, duration=duration, template=template,
                       voice=voice, hook_style=hook_style, age=age, v24=v24)
    w.event("publish", posted - timedelta(minutes=2), owner, post_id=post_id, short_id=short_id, platform=platform,
            status="retry", seconds=3.0, data={"attempt": 1, "message": "timeout"})
    w.event("publish", posted, owner, post_id=post_id, short_id=short_id, platform=platform, status="posted",
            seconds=12.5, data={"attempt": 2, "remote_id": remote, "url": f"https://example.test/{remote}",
                                "title": title, "posted_at": posted.isoformat(), "duration": duration,
                                "template": template, "voice": voice, "hook_style": hook_style})
    polls = [h for h in EARLY_HOURS if h <= age] + [24.0 * d for d in range(4, int(age // 24) + 1)]
    polls = [h + (float(rng.uniform(0, 0.3)) if h > 1 else 0.0) for h in polls]
    polls = [h for h in polls if h <= age]
    hook = hook if hook is not None else float(rng.uniform(0.65, 0.85))
    decay = float(rng.uniform(0.8, 1.6))
    curve = _retention(duration, hook, decay)
    avg_ratio = round(sum(r for _, r in curve) / len(curve), 4)
    for n, h in enumerate(polls):
        views = round(_views(v24, h))
        likes, comments = round(views * like_rate), round(views * 0.004)
        if platform == "youtube":
            w.snapshot(post, "youtube_data", h, views=views, likes=likes, comments=comments)
        elif platform == "instagram":
            if n == 0:  # the first hour's insights came back empty: every number missing, none of them zero
                w.snapshot(post, "instagram", h)
                continue
            avg_ms = avg_ratio * duration * 1000
            w.snapshot(post, "instagram", h, views=views, reach=round(views * 0.8), likes=likes, comments=comments,
                       shares=None if shares_missing else round(views * 0.002), saves=round(views * 0.003),
                       avg_view_seconds=avg_ms / 1000, watch_seconds=avg_ms / 1000 * views)
        else:
            w.snapshot(post, "tiktok", h, views=views, likes=likes, comments=comments, shares=round(views * 0.002))
        post.points.append((h, views))
    if platform == "youtube":  # YouTube Analytics: daily from day 3, its numbers two days behind
        for d in range(3, int(age // 24) + 1):
            h = 24.0 * d + 0.5
            if h > age:
                break
            lagged = round(_views(v24, h - 48))
            early = d == 3 and age >= 24 * 4 + 1  # an earlier, different curve: the dashboard must show the latest
            w.snapshot(post, "youtube_analytics", h, views=lagged, likes=round(lagged * like_rate),
                       shares=round(lagged * 0.002), engaged_views=round(lagged * 0.7), subscribers=round(lagged / 500),
                       avg_view_ratio=round(min(avg_ratio + 0.1, 1), 4) if early else avg_ratio,
                       avg_view_seconds=avg_ratio * duration, duration=duration,
                       retention=_retention(duration, min(hook + 0.1, 1), decay) if early else curve)
            post.retention = curve
            post.avg_view_ratio = avg_ratio
    elif platform == "instagram" and len(polls) > 1:
        post.avg_view_ratio = avg_ratio
    return post


def _imported(w: _Writer, owner: str, platform: str, remote_id: str, now: datetime, days_old: int, views: int,
              duration: float | None = None) -> PlantedPost:
    """A video from a YouTube Studio CSV export: no publish event, no post id, one lifetime row."""
    posted = now - timedelta(days=days_old)
    key = f"{platform}:{remote_id}"
    post = PlantedPost(key=key, post_id=None, owner_id=owner, platform=platform, remote_id=remote_id, short_id=None,
                       title=f"imported {remote_id}", posted_at=posted, duration=duration, template=None, voice=None,
                       hook_style=None, age=days_old * 24 - 24)
    w.snapshot(post, "csv_youtube", post.age, views=views, likes=views // 50, title=post.title, duration=duration)
    post.points.append((post.age, views))
    return post


def build_bulk(root: Path, *, events: int = 1_000_000, snapshots: int = 100_000, days: int = 365,
               owners: tuple[str | None, ...] = ("alice", "bob", "carol", None), end: date | None = None) -> None:
    """``events`` events and ``snapshots`` metric snapshots over ``days`` days ending ``end``, spread evenly over
    ``owners``, written with DuckDB alone (``range()``, two partitioned COPYs): a benchmark's load, with no planted
    truth. Every post has 25 snapshots at increasing hours and one posted ``publish`` event among the events; the
    other events are runs, their stages and their jobs."""
    import duckdb

    per_post = 25
    posts = max(snapshots // per_post, 1)
    stride = max(events // posts, 1)  # one publish event every `stride` events, spreading the posts over the days
    end = end or datetime.now(UTC).date()
    owner_list = "([" + ", ".join("NULL" if o is None else f"'{o}'" for o in owners) + "]::VARCHAR[])"
    no = len(owners)
    micros = days * 86_400_000_000 // events  # microseconds between events
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        COPY (
          SELECT i AS id, 'e' || i AS event_id, "at"::TIMESTAMPTZ AS "at", strftime("at", '%Y-%m-%d') AS day, kind,
                 {owner_list}[1 + CASE WHEN kind = 'publish' THEN post ELSE i // 8 END % {no}] AS owner_id,
                 'r' || (i // 8) AS run_id, 'j' || (i // 8) AS job_id, 's' || (i // 8) AS short_id,
                 CASE WHEN kind = 'publish' THEN 'p' || post END AS post_id,
                 ['youtube', 'instagram', 'tiktok'][1 + post % 3] AS platform,
                 CASE kind WHEN 'stage' THEN ['script', 'voice', 'stills', 'captions', 'mix'][1 + i % 5]
                           WHEN 'run' THEN 'web' END AS name,
                 CASE WHEN kind = 'stage' THEN ['qwen2', 'piper', 'sd-turbo', 'whisper', 'ffmpeg', 'stock'][1 + i % 6]
                      END AS engine,
                 CASE kind WHEN 'run' THEN CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END
                           WHEN 'job' THEN 'running' WHEN 'publish' THEN 'posted' END AS status,
                 CASE WHEN kind = 'run' AND i % 97 = 0 THEN ['voice_oom', 'stills_timeout'][1 + i % 2] END AS code,
                 (i % 400) / 10.0 AS seconds, (i % 7)::INTEGER AS calls, (i % 5)::INTEGER AS hits,
                 CASE kind
                   WHEN 'run' THEN '{{"device": "cpu", "paid_usd": ' || ((i % 50) / 100.0) || ', "template": "bold"}}'
                   WHEN 'publish' THEN '{{"remote_id": "r' || post || '", "title": "post ' || post
                        || '", "posted_at": "' || strftime("at", '%Y-%m-%dT%H:%M:%S.%f') || '+00:00", "duration": '
                        || (10 + post % 60) || ', "template": "' || ['bold', 'minimal', 'news'][1 + post % 3]
                        || '", "voice": "amy", "hook_style": "question"}}'
                   ELSE '{{}}' END AS data
          FROM (SELECT range AS i, range // {stride} AS post,
                       TIMESTAMP '{end}' + INTERVAL 12 HOUR - to_microseconds((range * {micros})::BIGINT) AS "at",
                       CASE WHEN range % {stride} = 0 AND range // {stride} < {posts} THEN 'publish'
                            WHEN range % 8 = 1 THEN 'run' WHEN range % 8 = 2 THEN 'job' ELSE 'stage' END AS kind
                FROM range({events}))
        ) TO '{root / "events"}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'b0_{{i}}',
             OVERWRITE_OR_IGNORE)
    """)
    con.execute(f"""
        COPY (
          SELECT n AS id, p || '|youtube_data|' || taken_at AS snapshot_id, owner_id, p AS post_id,
                 NULL::VARCHAR AS short_id, platform, 'r' || post AS remote_id, NULL::VARCHAR AS title,
                 'youtube_data' AS source, taken_at::TIMESTAMPTZ AS taken_at, posted_at::TIMESTAMPTZ AS posted_at,
                 strftime(taken_at, '%Y-%m-%d') AS day, hours,
                 (1000 * (1 + post % 13) * ln(1 + hours))::BIGINT AS views,
                 (40 * (1 + post % 13) * ln(1 + hours))::BIGINT AS likes,
                 (4 * ln(1 + hours))::BIGINT AS comments, NULL::BIGINT AS shares,
                 CASE WHEN platform = 'instagram' THEN (2 * ln(1 + hours))::BIGINT END AS saves,
                 NULL::BIGINT AS reach, NULL::BIGINT AS engaged_views, NULL::BIGINT AS subscribers,
                 CASE WHEN platform <> 'tiktok' THEN 12.0::DOUBLE END AS avg_view_seconds,
                 CASE WHEN platform = 'youtube' THEN 0.55::DOUBLE END AS avg_view_ratio, NULL::DOUBLE AS watch_seconds,
                 CASE WHEN platform = 'youtube' AND k >= 7
                      THEN '[[0.01, 0.98], [0.1, 0.7], [0.5, 0.5], [1.0, 0.3]]' END AS retention,
                 (10 + post % 60)::DOUBLE AS duration
          FROM (SELECT n, post, k, 'p' || post AS p, {owner_list}[1 + post % {no}] AS owner_id,
                       ['youtube', 'instagram', 'tiktok'][1 + post % 3] AS platform, posted_at,
                       [1, 2, 3, 6, 12, 24, 48, 72, 96, 120, 144, 168, 192, 216, 240, 264, 288, 312, 336, 360, 384,
                        408, 432, 456, 480][k + 1] + 0.1 AS hours,
                       posted_at + to_microseconds((hours * 3600000000)::BIGINT) AS taken_at
                FROM (SELECT range AS n, range // {per_post} AS post, range % {per_post} AS k,
                             TIMESTAMP '{end}' + INTERVAL 12 HOUR
                               - to_microseconds(((range // {per_post}) * {stride} * {micros})::BIGINT) AS posted_at
                      FROM range({posts * per_post})))
        ) TO '{root / "metrics"}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'b0_{{i}}',
             OVERWRITE_OR_IGNORE)
    """)
    con.close()
