"""Analytics figures, measured in one run on this machine.

1. Event append throughput through the event store (studio/analytics/store.py) into the metadata database, on
   SQLite and on the local PostgreSQL: one event per transaction (how a job or a post records a change) and
   batches of 500 (how a run records its stages), from one writer.
2. Exporter throughput: those events (and metric snapshots) claimed, read and written as Parquet partitioned by day.
3. Parquet size per million events, from what the exporter wrote (realistic rows, not a synthetic fill).
4. Dashboard query times with 10,000,000 events and 100,000 metric snapshots (a year of days, 1,000 creators, one
   busy creator with 300 posts): each question the dashboards ask, cold (first call on a fresh in-memory DuckDB
   connection) and warm (median of 3). Target: < 1 s each.

Usage: python benchmarks/analytics.py [--events 10000000] [--snapshots 100000] [--append 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.analytics.export import Exporter  # noqa: E402
from studio.analytics.queries import Dashboards  # noqa: E402
from studio.analytics.store import EventStore  # noqa: E402
from studio.analytics.types import Event, MetricSnapshot  # noqa: E402
from studio.db import Database  # noqa: E402

PG_URL = os.environ.get("STUDIO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
STAGES = (("script", "template"), ("voice", "piper"), ("stills", "sdxl-turbo"), ("motion", "kenburns"),
          ("music", "musicgen"), ("timing", "faster-whisper"), ("scoring", "open_clip"), ("render", "ffmpeg"))


def realistic_events(n: int, owners: int = 20) -> list[Event]:
    """Runs with their stages, job changes and publish attempts, in the proportions a studio writes them."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Event] = []
    while len(out) < n:
        owner, run, job, short = f"user{rng.randrange(owners)}", uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
        at = start + timedelta(seconds=rng.randrange(30 * 86400))  # a month of activity
        out.append(Event(kind="run", at=at, owner_id=owner, run_id=run, job_id=job, short_id=short, name="web",
                         status="succeeded", seconds=rng.uniform(20, 200),
                         data={"device": "cpu", "duration": rng.uniform(15, 60), "template": "bold",
                               "voice": "joe", "hook_style": "question", "paid_usd": rng.uniform(0.1, 2),
                               "units": {"voice_chars": rng.randrange(300, 900), "images": rng.randrange(3, 8)}}))
        for stage, engine in STAGES:
            out.append(Event(kind="stage", at=at, owner_id=owner, run_id=run, job_id=job, short_id=short, name=stage,
                             engine=engine, seconds=rng.uniform(0.1, 30), calls=rng.randrange(0, 8),
                             hits=rng.randrange(0, 8)))
        for status in ("queued", "running", "succeeded"):
            out.append(Event(kind="job", at=at, owner_id=owner, job_id=job, short_id=short, status=status,
                             data={"attempts": 1, "queue": "cpu", "worker": "node:1"}))
        out.append(Event(kind="publish", at=at, owner_id=owner, short_id=short, post_id=uuid.uuid4().hex,
                         platform="youtube", status="posted", data={"attempt": 1, "remote_id": uuid.uuid4().hex[:11],
                                                                    "title": "Three habits for better mornings"}))
    return out[:n]


def realistic_snapshots(n: int) -> list[MetricSnapshot]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        posted = start + timedelta(hours=i // 20 * 7)
        taken = posted + timedelta(hours=1 + (i % 20) * 12)
        views = int(1000 * (1 - 0.9 ** (1 + i % 20)))
        out.append(MetricSnapshot(platform="youtube", remote_id=f"v{i // 20}", source="youtube_data", taken_at=taken,
                                  posted_at=posted, owner_id=f"user{i % 7}", post_id=f"p{i // 20}", views=views,
                                  likes=views // 20, comments=views // 200,
                                  retention=tuple((r / 10, 1 - r / 14) for r in range(11)) if i % 3 == 0 else None,
                                  duration=30.0))
    return out


def measure_append_and_export(url: str, label: str, n: int) -> dict:
    db = Database(url)
    db.migrate()
    store = EventStore(db)
    events = realistic_events(n)
    singles = events[: min(1000, n // 10)]
    t = time.perf_counter()
    for e in singles:
        store.record(e)
    single_rate = len(singles) / (time.perf_counter() - t)
    rest = events[len(singles):]
    t = time.perf_counter()
    for i in range(0, len(rest), 500):
        store.record_many(rest[i:i + 500])
    batch_rate = len(rest) / (time.perf_counter() - t)
    snaps = realistic_snapshots(n // 4)
    store.snapshots(snaps)
    with tempfile.TemporaryDirectory() as tmp:
        stats = Exporter(db, Path(tmp)).run()
        size = sum(f.stat().st_size for f in (Path(tmp) / "events").rglob("*.parquet"))
    db.dispose()
    return {"label": label, "single": single_rate, "batch": batch_rate, "exported": stats.events + stats.snapshots,
            "export_s": stats.seconds, "bytes_per_million": size / stats.events * 1_000_000 if stats.events else 0}


def synthetic_parquet(root: Path, events: int, snapshots: int) -> tuple[str, list[str], float]:
    """10 M events and 100 k snapshots written straight to Parquet in the exporter's layout with DuckDB (the append
    path is measured above; filling 10 M through it would take the run's hour). Creator ``u0`` is the busy one."""
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    (root / "events").mkdir(parents=True)
    (root / "metrics").mkdir(parents=True)
    kinds = "['stage','stage','stage','stage','stage','stage','stage','stage','run','job','job','job','publish']"
    con.execute(f"""
    COPY (
      SELECT 'e' || i AS event_id, TIMESTAMP '2026-01-01' + to_seconds(i * 3) AS "at",
             strftime(TIMESTAMP '2026-01-01' + to_seconds(i * 3), '%Y-%m-%d') AS day,
             {kinds}[1 + (i % 13)::INT] AS kind,
             CASE WHEN i % 100 = 0 THEN 'u0' ELSE 'u' || (i % 997) END AS owner_id,
             'r' || (i // 13) AS run_id, 'j' || (i // 13) AS job_id, 's' || (i // 13) AS short_id,
             CASE WHEN i % 13 = 12 THEN 'p' || (i // 13) END AS post_id,
             'youtube' AS platform,
             CASE WHEN i % 13 = 8 THEN 'web' ELSE ['script','voice','stills','motion','music','timing','scoring',
                  'render'][1 + (i % 8)::INT] END AS name,
             'engine' || (i % 5) AS engine,
             CASE WHEN i % 13 = 12 THEN 'posted' WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END AS status,
             CASE WHEN i % 97 = 0 THEN 'code' || (i % 4) END AS code,
             (i % 300) / 10.0 AS seconds, (i % 4)::BIGINT AS calls, (i % 3)::BIGINT AS hits,
             CASE WHEN i % 13 = 8 THEN '{{"duration": 30, "paid_usd": 0.8}}'
                  WHEN i % 13 = 12 THEN '{{"title": "t", "duration": 31, "template": "bold", "voice": "joe",
                     "hook_style": "question"}}'
                  ELSE '{{}}' END AS data
      FROM range({events}) t(i)
    ) TO '{root / "events"}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'b0000000001_{{i}}')""")
    # the busy creator's 300 posts carry 30 snapshots each; the rest are spread over other creators
    busy = min(9000, snapshots)
    con.execute(f"""
    COPY (
      SELECT 'm' || i AS snapshot_id, CASE WHEN i < {busy} THEN 'u0' ELSE 'u' || (1 + i % 996) END AS owner_id,
             CASE WHEN i < {busy} THEN 'p' || (i // 30) ELSE 'q' || (i // 30) END AS post_id,
             NULL AS short_id, 'youtube' AS platform, 'v' || (i // 30) AS remote_id, NULL AS title,
             'youtube_analytics' AS source,
             TIMESTAMP '2026-01-01' + to_hours((i // 30) * 2 + (i % 30) * 8 + 1) AS taken_at,
             TIMESTAMP '2026-01-01' + to_hours((i // 30) * 2) AS posted_at,
             strftime(TIMESTAMP '2026-01-01' + to_hours((i // 30) * 2 + (i % 30) * 8 + 1), '%Y-%m-%d') AS day,
             ((i % 30) * 8 + 1)::DOUBLE AS hours, (1000 * (i % 30 + 1) + (i // 30) % 700)::BIGINT AS views,
             (50 * (i % 30 + 1))::BIGINT AS likes, (i % 30)::BIGINT AS comments, (i % 7)::BIGINT AS shares,
             (i % 5)::BIGINT AS saves, NULL::BIGINT AS reach, NULL::BIGINT AS engaged_views,
             NULL::BIGINT AS subscribers, 12.5 AS avg_view_seconds, 0.4 + ((i // 30) % 10) / 50 AS avg_view_ratio,
             NULL::DOUBLE AS watch_seconds,
             '[[0.0,1.0],[0.1,' || (0.5 + ((i // 30) % 10) / 40) || '],[0.5,0.4],[1.0,0.2]]' AS retention,
             30.0 AS duration
      FROM range({snapshots}) t(i)
    ) TO '{root / "metrics"}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'b0000000001_{{i}}')""")
    posts = [r[0] for r in con.execute(f"""SELECT DISTINCT post_id FROM read_parquet('{root}/metrics/*/*.parquet')
                                           WHERE owner_id = 'u0' LIMIT 3""").fetchall()]
    return "u0", posts, time.perf_counter() - t


def timed(fn) -> tuple[float, float]:
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    return cold, statistics.median(warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--snapshots", type=int, default=100_000)
    ap.add_argument("--append", type=int, default=20_000, help="events appended (and exported) per database")
    args = ap.parse_args()

    print(f"1-3. append and export, {args.append:,} realistic events (+ {args.append // 4:,} snapshots), one writer:")
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure_append_and_export(f"sqlite:///{tmp}/meta.db", "SQLite", args.append)]
    try:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
        try:
            results.append(measure_append_and_export(f"{PG_URL}?options=-csearch_path%3D{schema}", "PostgreSQL",
                                                     args.append))
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except Exception as exc:  # noqa: BLE001 - the figure is then missing, and said so
        print(f"  PostgreSQL not measured: {type(exc).__name__}: {exc}")
    for r in results:
        print(f"  {r['label']:<10} append: {r['single']:,.0f} events/s one per transaction, "
              f"{r['batch']:,.0f} events/s in batches of 500; export: {r['exported'] / r['export_s']:,.0f} rows/s "
              f"({r['exported']:,} rows in {r['export_s']:.2f} s); Parquet {r['bytes_per_million'] / 2**20:.1f} MiB "
              "per million events")

    print(f"4. dashboards over {args.events:,} events and {args.snapshots:,} snapshots (target < 1 s each):")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        owner, posts, fill = synthetic_parquet(root, args.events, args.snapshots)
        size = sum(f.stat().st_size for f in (root / "events").rglob("*.parquet"))
        files = sum(1 for _ in root.rglob("*.parquet"))
        print(f"  synthetic fill {fill:.1f} s, {files} files, events {size / 2**20:.0f} MiB "
              f"({size / args.events * 1e6 / 2**20:.1f} MiB per million synthetic events)")
        variants = [("A", "s100"), ("B", "s200")]
        questions = {
            "My studio (30 days)": lambda: Dashboards(root, owner, today=datetime(2026, 12, 1).date()).studio(30),
            "My studio (365 days)": lambda: Dashboards(root, owner, today=datetime(2026, 12, 1).date()).studio(365),
            "My posts (curves, retention, heatmap, comparisons)": lambda: Dashboards(root, owner).posts(),
            "Why did this one flop?": lambda: Dashboards(root, owner).why(posts[0]),
            "A/B verdict": lambda: Dashboards(root, owner).verdict("x", variants),
        }
        worst = 0.0
        for name, fn in questions.items():
            cold, warm = timed(fn)
            worst = max(worst, cold)
            print(f"  {name:<52} cold {cold * 1000:7.0f} ms, warm {warm * 1000:7.0f} ms")
        print(f"  slowest cold query ÷ 1 s target = {worst:.2f}")


if __name__ == "__main__":
    main()
