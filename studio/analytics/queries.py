"""The dashboards' questions, asked of the exported Parquet (docs/analytics.md) with DuckDB.

Reads ``root/events/day=*/*.parquet`` and ``root/metrics/day=*/*.parquet`` over an in-memory connection: nothing is
ever written, no ``.duckdb`` file is opened. Every scan is filtered by the owner with a bound parameter inside the
scan itself, so another account's rows never reach an aggregate; a table with no files yet reads as empty.
DuckDB does the aggregating; Python only shapes the per-post and per-day results.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from studio.analytics import diagnose, stats
from studio.analytics.export import reading
from studio.analytics.types import (
    Comparison,
    HeatCell,
    PostsDashboard,
    PostSummary,
    Reason,
    StudioDashboard,
    VariantResult,
    Verdict,
)
from studio.errors import NotFound

__all__ = ["DIMENSIONS", "Dashboards", "HOUR_MARKS", "LENGTHS", "hook_retention", "length_bucket"]

HOUR_MARKS = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)
SCORE_HOURS = diagnose.SCORE_HOURS  # the heatmap and comparisons compare posts by their views 24 h in
MIN_POSTS_PER_CELL = 3
HOOK_SECONDS = 3.0
LENGTHS = ("<15 s", "15–30 s", "30–45 s", "45–60 s", ">60 s")
DIMENSIONS = ("template", "voice", "hook_style", "length", "platform")

# the documented columns, for reading a table that has no files yet as an empty one
EVENT_TYPES = {"event_id": "VARCHAR", "at": "TIMESTAMPTZ", "day": "VARCHAR", "kind": "VARCHAR", "owner_id": "VARCHAR",
               "run_id": "VARCHAR", "job_id": "VARCHAR", "short_id": "VARCHAR", "post_id": "VARCHAR",
               "platform": "VARCHAR", "name": "VARCHAR", "engine": "VARCHAR", "status": "VARCHAR", "code": "VARCHAR",
               "seconds": "DOUBLE", "calls": "BIGINT", "hits": "BIGINT", "data": "VARCHAR"}
METRIC_TYPES = {"snapshot_id": "VARCHAR", "owner_id": "VARCHAR", "post_id": "VARCHAR", "short_id": "VARCHAR",
                "platform": "VARCHAR", "remote_id": "VARCHAR", "title": "VARCHAR", "source": "VARCHAR",
                "taken_at": "TIMESTAMPTZ", "posted_at": "TIMESTAMPTZ", "day": "VARCHAR", "hours": "DOUBLE",
                "views": "BIGINT", "likes": "BIGINT", "comments": "BIGINT", "shares": "BIGINT", "saves": "BIGINT",
                "reach": "BIGINT", "engaged_views": "BIGINT", "subscribers": "BIGINT", "avg_view_seconds": "DOUBLE",
                "avg_view_ratio": "DOUBLE", "watch_seconds": "DOUBLE", "retention": "VARCHAR", "duration": "DOUBLE"}


def length_bucket(seconds: float | None) -> str | None:
    """<15 s, 15–30 s, 30–45 s, 45–60 s (60 included: a full-length short) or >60 s."""
    if seconds is None:
        return None
    if seconds > 60:
        return LENGTHS[-1]
    return LENGTHS[min(int(seconds // 15), 3)]


class Dashboards:
    """One creator's dashboards. ``owner_id`` None means this machine's own CLI and Python API rows (the events with
    no owner), never everyone's. ``timezone`` (IANA name) places posts on the heatmap; ``today`` (UTC date, default
    the real one) ends the studio dashboard's window."""

    def __init__(self, root: Path, owner_id: str | None, *, timezone: str = "UTC", today: date | None = None) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone {timezone!r}: give an IANA name such as 'Europe/Paris'.") from exc
        self.root = Path(root)
        self.owner_id = owner_id
        self.timezone = timezone
        self._today = today

    # -- My studio ----------------------------------------------------------------------------------------------------

    def studio(self, days: int = 30) -> StudioDashboard:
        """The last ``days`` UTC days up to today: shorts made (succeeded runs) per day, mean seconds per stage, engines
        per stage, cache hit rate = hits ÷ (hits + calls), failed runs by code, and compute seconds against what the
        paid APIs would have charged (``data.paid_usd``), both summed from the window's first day. Runs count whatever
        their outcome in compute and savings: a failed run used the machine, and a paid API would have billed it."""
        if days < 1:
            raise ValueError(f"days must be at least 1; got {days}.")
        last = self._today or datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        window = {"first": first.isoformat(), "last": last.isoformat()}
        # two narrow scans beat one grouped by every key of both: a stage needs no day, a run no engine
        stages = self._sql(f"""
            SELECT name, engine, count(*) AS n, sum(seconds::DOUBLE) AS seconds, count(seconds) AS timed,
                   sum(calls::BIGINT) AS calls, sum(hits::BIGINT) AS hits
            FROM {self._events("kind = 'stage' AND day BETWEEN $first AND $last")}
            GROUP BY name, engine""", **window)
        runs = self._sql(f"""
            SELECT day, status, code, count(*) AS n, sum(seconds::DOUBLE) AS seconds,
                   sum(TRY_CAST(data->>'paid_usd' AS DOUBLE)) AS paid
            FROM {self._events("kind = 'run' AND day BETWEEN $first AND $last")}
            GROUP BY day, status, code""", **window)
        return _studio_answer(stages, runs, first, days)

    # -- My posts -----------------------------------------------------------------------------------------------------

    def posts(self, hour_marks: Sequence[float] = HOUR_MARKS) -> PostsDashboard:
        """Every post: the studio's posted ``publish`` events with their snapshots, and videos known only from imported
        snapshots (keyed ``platform:remote_id``). Views at each hour mark are interpolated linearly between snapshots
        of lifetime views, never beyond the first or the latest; a snapshot lower than an earlier one (YouTube
        Analytics runs two to three days behind) is left out. The median curve takes, at each mark, the posts that
        have reached it. The heatmap and the comparisons rank posts by their views 24 h after posting, so old and new
        posts compare fairly; a post without a 24 h value (younger, or imported with a later first snapshot) is not in
        them. A heatmap cell shows its median only from MIN_POSTS_PER_CELL posts on. A video whose posting time is
        unknown (a CSV row without one) cannot be placed on any of these and is left out."""
        marks = sorted({float(m) for m in hour_marks})
        if not marks or marks[0] <= 0:
            raise ValueError(f"hour marks must be positive hours since posting; got {list(hour_marks)}.")
        asked = sorted(set(marks) | {SCORE_HOURS})
        rows = self._sql(self._posts_sql() + _CURVES_SQL, marks=asked)
        return _posts_answer(rows, marks, self._zone, self.timezone)

    # -- A/B tests ----------------------------------------------------------------------------------------------------

    def verdict(self, experiment_id: str, variants: Sequence[tuple[str, str]], alpha: float = 0.05) -> Verdict:
        """Each variant's (label, short id) posts summed: latest views and engagements (likes + comments + shares +
        saves). A counter the source did not report adds nothing; a post that reported views but none of the four
        (an empty insights reply) is left out of both sums rather than counted as unengaging. stats.judge decides."""
        if len(variants) < 2:
            raise ValueError(f"An A/B test needs at least two variants; got {len(variants)}.")
        shorts = [short for _, short in variants]
        rows = self._sql(self._posts_sql() + """
            SELECT short_id, list(key ORDER BY key) AS posts,
                   coalesce(sum(views) FILTER (WHERE counted), 0) AS views,
                   coalesce(sum(engaged) FILTER (WHERE counted), 0) AS engaged
            FROM (SELECT key, short_id, views,
                         coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0) AS engaged,
                         views IS NOT NULL AND coalesce(likes, comments, shares, saves) IS NOT NULL AS counted
                  FROM post WHERE list_contains($shorts, short_id))
            GROUP BY short_id""", shorts=shorts)
        found = {r["short_id"]: r for r in rows}
        results = []
        for label, short in variants:
            r = found.get(short, {"posts": [], "views": 0, "engaged": 0})
            views, engaged = int(r["views"]), int(r["engaged"])
            results.append(VariantResult(label=label, short_id=short, post_ids=tuple(r["posts"]), views=views,
                                         engaged=engaged, rate=engaged / views if views else None))
        return stats.judge(experiment_id, results, alpha)

    # -- Why did this one flop? ----------------------------------------------------------------------------------------

    def why(self, post_id: str) -> tuple[Reason, ...] | None:
        """The flop diagnosis (diagnose.py) against the creator's own other posts. None: nothing to explain (the post
        is at or above their baseline, or there are too few other posts for one). An empty tuple: below the baseline,
        but no rule finds a cause in the numbers at hand. Raises NotFound for a post that is not this owner's."""
        board = self.posts()
        numbers = _post_numbers(board, self._zone)
        if post_id not in numbers:
            raise NotFound(f"No post {post_id!r} in your analytics.", "Pick one from the list of your posts.")
        others = [n for key, n in numbers.items() if key != post_id]
        return diagnose.diagnose(numbers[post_id], others)

    # -- plumbing -----------------------------------------------------------------------------------------------------

    def _events(self, where: str) -> str:
        return self._scan("events", EVENT_TYPES, where, hive=True)

    def _metrics(self) -> str:
        return self._scan("metrics", METRIC_TYPES, "true", hive=False)  # no query of snapshots needs their day

    def _scan(self, table: str, types: dict[str, str], where: str, *, hive: bool) -> str:
        """A filtered scan of one table, the owner's filter inside it so DuckDB pushes it into the Parquet reader.
        ``hive``: read the partition's ``day`` from the folder name (and prune folders on it)."""
        owner = "owner_id IS NULL" if self.owner_id is None else "owner_id = $owner"
        folder = self.root / table
        if any(folder.glob("day=*/*.parquet")):
            files = str(folder / "day=*" / "*.parquet").replace("'", "''")
            # one schema for every file (the exporter writes the documented columns): union_by_name would
            # triple the cost of opening a year of daily partitions
            partitions = "hive_partitioning = true, hive_types = {'day': VARCHAR}" if hive else "hive_partitioning = false"
            source = f"read_parquet('{files}', {partitions})"
        else:
            source = "(SELECT " + ", ".join(f'NULL::{t} AS "{c}"' for c, t in types.items()) + " LIMIT 0)"
        return f"(SELECT * FROM {source} WHERE {owner} AND ({where}))"

    def _posts_sql(self) -> str:
        return _POSTS_SQL.format(events=self._events("kind = 'publish' AND status = 'posted' AND post_id IS NOT NULL"),
                                 metrics=self._metrics())

    def _sql(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        if self.owner_id is not None:
            params["owner"] = self.owner_id
        cur = _cursor()
        try:
            with reading(self.root):  # the exporter replaces or deletes no file while DuckDB reads them
                result = cur.execute(sql, params)
                rows = result.fetchall()
            names = [d[0] for d in result.description]
            return [dict(zip(names, row)) for row in rows]
        finally:
            cur.close()


_databases: dict[int, Any] = {}  # process id → its in-memory DuckDB (a connection must not cross a fork)
_databases_lock = threading.Lock()


def _cursor():
    """A fresh connection (cursor) to this process's in-memory DuckDB, one per query: the web server asks from
    several threads, and a DuckDB connection serves one at a time. Sharing the database keeps the Parquet footers it
    has read cached (checked against each file's modification, so a rewritten file is read again)."""
    with _databases_lock:
        con = _databases.get(os.getpid())
        if con is None:
            try:
                import duckdb
            except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
                raise RuntimeError("The analytics dashboards need DuckDB: pip install duckdb==2.0.1") from exc
            con = duckdb.connect(":memory:")
            # GLOBAL: a cursor is a new session and would not see a session setting. TIMESTAMPTZ columns then read
            # as UTC wall time whatever the machine's zone; a year of daily files has each footer read once.
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            con.execute("SET GLOBAL parquet_metadata_cache = true")
            _databases[os.getpid()] = con
        return con.cursor()


# The posts: the owner's posted publish events and their snapshots; a snapshot without a post id joins its post by
# platform and remote id, or is an imported video of its own. `post` has one row per post. A post is posted once; were
# it recorded twice, one event is picked deterministically. Its time is data.posted_at, else the event's time.
_POSTS_SQL = """
WITH pub AS (
  SELECT post_id, arg_max(platform, data) AS platform, arg_max(short_id, data) AS short_id, max(data) AS data,
         max("at")::TIMESTAMP AS "at"
  FROM {events} GROUP BY post_id
), posted AS (
  SELECT post_id, platform, short_id, data->>'remote_id' AS remote_id, data->>'title' AS title,
         coalesce(TRY_CAST(data->>'posted_at' AS TIMESTAMPTZ)::TIMESTAMP, "at") AS posted_at,
         TRY_CAST(data->>'duration' AS DOUBLE) AS duration, data->>'template' AS template, data->>'voice' AS voice,
         data->>'hook_style' AS hook_style
  FROM pub
), snap AS (
  SELECT coalesce(m.post_id::VARCHAR, p.post_id, m.platform || ':' || m.remote_id) AS key, m.platform::VARCHAR AS platform,
         m.short_id::VARCHAR AS short_id, m.title::VARCHAR AS title,
         m.taken_at::TIMESTAMP AS taken_at, m.posted_at::TIMESTAMP AS posted_at,
         coalesce(m.hours::DOUBLE, (epoch(m.taken_at::TIMESTAMP) - epoch(m.posted_at::TIMESTAMP)) / 3600) AS h,
         m.views::BIGINT AS views, m.likes::BIGINT AS likes, m.comments::BIGINT AS comments,
         m.shares::BIGINT AS shares, m.saves::BIGINT AS saves, m.avg_view_seconds::DOUBLE AS avg_view_seconds,
         m.avg_view_ratio::DOUBLE AS avg_view_ratio, m.retention::VARCHAR AS retention, m.duration::DOUBLE AS duration
  FROM {metrics} m LEFT JOIN posted p
    ON m.post_id IS NULL AND p.platform = m.platform AND p.remote_id = m.remote_id
), agg AS (
  SELECT key, any_value(platform) AS platform, max(short_id) AS short_id,
         arg_max(title, taken_at) FILTER (WHERE title IS NOT NULL) AS title, min(posted_at) AS posted_at,
         max(views) AS views, max(h) AS hours, max(likes) AS likes, max(comments) AS comments,
         max(shares) AS shares, max(saves) AS saves,
         arg_max(avg_view_ratio, taken_at) FILTER (WHERE avg_view_ratio IS NOT NULL) AS avg_view_ratio,
         arg_max(avg_view_seconds, taken_at) FILTER (WHERE avg_view_seconds IS NOT NULL) AS avg_view_seconds,
         arg_max(retention, taken_at) FILTER (WHERE retention IS NOT NULL) AS retention, max(duration) AS duration
  FROM snap GROUP BY key
), post AS (
  SELECT coalesce(p.post_id, a.key) AS key, coalesce(p.platform, a.platform) AS platform,
         coalesce(p.short_id, a.short_id) AS short_id, coalesce(p.title, a.title) AS title,
         coalesce(p.posted_at, a.posted_at) AS posted_at, coalesce(p.duration, a.duration) AS duration,
         p.template, p.voice, p.hook_style, a.views, a.hours, a.likes, a.comments, a.shares, a.saves,
         a.avg_view_ratio, a.avg_view_seconds, a.retention
  FROM posted p FULL OUTER JOIN agg a ON a.key = p.post_id
)"""

# Views at each hour mark: per post the lifetime counts by hours since posting (the highest where sources agree on the
# hour), without any count lower than an earlier one, then the straight line between the points either side; one row
# per post with its marks and views as lists, so the Parquet is read once (and only the columns named are read).
_CURVES_SQL = """
, pts AS (
  SELECT key, h, max(views) AS v FROM snap WHERE views IS NOT NULL AND h IS NOT NULL GROUP BY key, h
), kept AS (
  SELECT key, h, v FROM (
    SELECT key, h, v,
           max(v) OVER (PARTITION BY key ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
    FROM pts)
  WHERE before IS NULL OR v >= before
), around AS (
  SELECT key, mark, max(h) FILTER (WHERE h <= mark) AS h0, arg_max(v, h) FILTER (WHERE h <= mark) AS v0,
         min(h) FILTER (WHERE h >= mark) AS h1, arg_min(v, h) FILTER (WHERE h >= mark) AS v1
  FROM kept, (SELECT unnest($marks::DOUBLE[]) AS mark) GROUP BY key, mark
), curve AS (
  SELECT key, list(mark ORDER BY mark) AS marks,
         list(CASE WHEN h1 = h0 THEN v0 ELSE v0 + (v1 - v0) * (mark - h0) / (h1 - h0) END ORDER BY mark) AS at_marks
  FROM around WHERE h0 IS NOT NULL AND h1 IS NOT NULL GROUP BY key
)
SELECT post.key, post.platform, post.title, post.posted_at, post.duration, post.template, post.voice, post.hook_style,
       post.views, post.hours, post.avg_view_ratio, post.avg_view_seconds, post.retention, curve.marks, curve.at_marks
FROM post LEFT JOIN curve USING (key) WHERE post.posted_at IS NOT NULL"""


# -- shaping the answers ----------------------------------------------------------------------------------------------


def _studio_answer(stages: list[dict[str, Any]], runs_by_day: list[dict[str, Any]], first: date,
                   days: int) -> StudioDashboard:
    day_list = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    made = dict.fromkeys(day_list, 0)
    compute, paid = dict.fromkeys(day_list, 0.0), dict.fromkeys(day_list, 0.0)
    stage_time: dict[str, list[float]] = {}  # stage → [seconds, timed, events]
    engines: dict[tuple[str, str], int] = {}
    failures: dict[str, int] = {}
    hits = calls = runs = 0
    for r in stages:  # one row per (stage, engine)
        name = r["name"] or "unknown"
        acc = stage_time.setdefault(name, [0.0, 0, 0])
        acc[0] += r["seconds"] or 0.0
        acc[1] += r["timed"]
        acc[2] += r["n"]
        engine = (name, r["engine"] or "unknown")
        engines[engine] = engines.get(engine, 0) + r["n"]
        hits += r["hits"] or 0
        calls += r["calls"] or 0
    for r in runs_by_day:  # one row per (day, status, code)
        runs += r["n"]
        compute[r["day"]] += r["seconds"] or 0.0
        paid[r["day"]] += r["paid"] or 0.0
        if r["status"] == "succeeded":
            made[r["day"]] += r["n"]
        elif r["status"] == "failed":
            code = r["code"] or "unknown"
            failures[code] = failures.get(code, 0) + r["n"]
    savings, total_s, total_usd = [], 0.0, 0.0
    for d in day_list:
        total_s += compute[d]
        total_usd += paid[d]
        savings.append((d, round(total_s, 6), round(total_usd, 6)))
    return StudioDashboard(
        shorts_per_day=tuple(made.items()),
        stage_seconds=tuple(sorted(((s, a[0] / a[1] if a[1] else 0.0, a[2]) for s, a in stage_time.items()),
                                   key=lambda t: (-t[1], t[0]))),
        engines=tuple(sorted(((s, e, n) for (s, e), n in engines.items()), key=lambda t: (t[0], -t[2], t[1]))),
        cache_hit_rate=hits / (hits + calls) if hits + calls else None,
        failures=tuple(sorted(failures.items(), key=lambda t: (-t[1], t[0]))),
        savings=tuple(savings),
        runs=runs,
    )


def _posts_answer(rows: list[dict[str, Any]], marks: list[float], zone: ZoneInfo, timezone: str) -> PostsDashboard:
    views_at: dict[str, dict[float, float]] = {}
    posts, retention = [], {}
    for r in rows:  # one row per post
        views_at[r["key"]] = dict(zip(r["marks"] or (), map(float, r["at_marks"] or ())))
        curve = _retention(r["retention"])
        if curve:
            retention[r["key"]] = curve
        posts.append(_summary(r, curve))
    posts.sort(key=lambda p: p.posted_at, reverse=True)
    keys = [p.post_id for p in posts]
    curves = {k: tuple((m, v) for m, v in sorted(views_at.get(k, {}).items()) if m in marks) for k in keys}
    median_curve = []
    for m in marks:
        values = [views_at[k][m] for k in keys if m in views_at.get(k, {})]
        if values:
            median_curve.append((m, float(median(values))))
    scored = [(p, views_at[p.post_id][SCORE_HOURS]) for p in posts if SCORE_HOURS in views_at.get(p.post_id, {})]
    return PostsDashboard(posts=tuple(posts), curves=curves, median_curve=tuple(median_curve), retention=retention,
                          heatmap=_heatmap(scored, zone), comparisons=_comparisons(scored), timezone=timezone,
                          min_posts_per_cell=MIN_POSTS_PER_CELL)


def _summary(r: dict[str, Any], curve: tuple[tuple[float, float], ...]) -> PostSummary:
    duration = r["duration"]
    ratio = r["avg_view_ratio"]
    if ratio is None and r["avg_view_seconds"] is not None and duration:
        ratio = r["avg_view_seconds"] / duration  # Instagram reports watch time, not the share watched
    dims = {"template": r["template"], "voice": r["voice"], "hook_style": r["hook_style"],
            "length": length_bucket(duration), "platform": r["platform"]}
    return PostSummary(
        post_id=r["key"], platform=r["platform"], title=r["title"] or r["key"],
        posted_at=r["posted_at"].replace(tzinfo=UTC),
        views=int(r["views"]) if r["views"] is not None else None, hours=r["hours"], duration=duration,
        hook_retention=hook_retention(curve, duration), avg_view_ratio=ratio,
        dimensions={k: str(v) for k, v in dims.items() if v is not None})


def _retention(text: str | None) -> tuple[tuple[float, float], ...]:
    if not text:
        return ()
    return tuple(sorted((float(x), float(y)) for x, y in json.loads(text)))


def hook_retention(curve: Sequence[tuple[float, float]], duration: float | None) -> float | None:
    """The audience watch ratio at 3 s (elapsed ratio 3 ÷ duration), interpolated linearly between the curve's points;
    None without a curve or a duration, or when 3 s lies outside the curve."""
    if not curve or not duration or duration <= 0:
        return None
    x = HOOK_SECONDS / duration
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return curve[0][1] if len(curve) == 1 and curve[0][0] == x else None


def _heatmap(scored: list[tuple[PostSummary, float]], zone: ZoneInfo) -> tuple[HeatCell, ...]:
    cells: dict[tuple[int, int], list[float]] = {}
    for post, views in scored:
        local = post.posted_at.astimezone(zone)
        cells.setdefault((local.weekday(), local.hour), []).append(views)
    out = []
    for day in range(7):
        for hour in range(24):
            views = cells.get((day, hour), [])
            typical = float(median(views)) if len(views) >= MIN_POSTS_PER_CELL else None  # None: greyed out
            out.append(HeatCell(weekday=day, hour=hour, posts=len(views), median_views=typical))
    return tuple(out)


def _comparisons(scored: list[tuple[PostSummary, float]]) -> tuple[Comparison, ...]:
    """Posts and median views at 24 h per value of each dimension (a median from one post on: the count is shown)."""
    out = []
    for dim in DIMENSIONS:
        groups: dict[str, list[float]] = {}
        for post, views in scored:
            value = post.dimensions.get(dim)
            if value is not None:
                groups.setdefault(value, []).append(views)
        out += sorted((Comparison(dimension=dim, value=v, posts=len(vs), median_views=float(median(vs)))
                       for v, vs in groups.items()), key=lambda c: (-(c.median_views or 0), c.value))
    return tuple(out)


def _post_numbers(board: PostsDashboard, zone: ZoneInfo) -> dict[str, diagnose.PostNumbers]:
    out = {}
    for p in board.posts:
        local = p.posted_at.astimezone(zone)
        out[p.post_id] = diagnose.PostNumbers(post_id=p.post_id, views=dict(board.curves.get(p.post_id, ())),
                                              hook=p.hook_retention, avg_view_ratio=p.avg_view_ratio,
                                              weekday=local.weekday(), hour=local.hour,
                                              length=p.dimensions.get("length"))
    return out
