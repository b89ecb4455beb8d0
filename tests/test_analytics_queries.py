"""The dashboards (studio/analytics/queries.py) against numbers worked out here, in plain Python, from the planted
synthetic data (tests/analytics_data.py); the flop diagnosis names the planted causes; nobody sees another's rows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import timedelta
from pathlib import Path
from statistics import mean, median
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from studio.analytics import diagnose
from studio.analytics.diagnose import PostNumbers
from studio.analytics.queries import Dashboards, length_bucket
from studio.errors import NotFound
from tests import analytics_data

MARKS = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    truth = analytics_data.build(root)
    truth.root = root  # type: ignore[attr-defined]
    return truth


def _boards(planted, owner):
    return Dashboards(planted.root, owner, timezone=planted.timezone, today=planted.today)


@pytest.fixture(scope="module")
def alice(planted):
    return _boards(planted, "alice")


@pytest.fixture(scope="module")
def alice_posts(alice):
    return alice.posts()


# -- My studio ------------------------------------------------------------------------------------------------------


def _window(planted, owner, days=30):
    first = (planted.today - timedelta(days=days - 1)).isoformat()
    return [r for r in planted.runs_of(owner) if first <= r.day <= planted.today.isoformat()]


def test_shorts_per_day_and_failures_by_code(planted, alice):
    board = alice.studio(days=30)
    runs = _window(planted, "alice")
    assert len(runs) < len(planted.runs_of("alice"))  # the window leaves the oldest days out
    made = Counter(r.day for r in runs if r.status == "succeeded")
    assert len(board.shorts_per_day) == 30
    assert board.shorts_per_day[-1][0] == planted.today.isoformat()
    assert dict(board.shorts_per_day) == {d: made.get(d, 0) for d, _ in board.shorts_per_day}
    assert sum(n for _, n in board.shorts_per_day) == sum(made.values())
    assert dict(board.failures) == Counter(r.code for r in runs if r.status == "failed")
    assert [n for _, n in board.failures] == sorted((n for _, n in board.failures), reverse=True)
    assert board.runs == len(runs)


def test_stage_time_engines_cache_and_savings(planted, alice):
    board = alice.studio(days=30)
    runs = _window(planted, "alice")
    stages = [s for r in runs for s in r.stages]
    hits, calls = sum(s.hits for s in stages), sum(s.calls for s in stages)
    assert board.cache_hit_rate == pytest.approx(hits / (hits + calls))
    by_stage = {name: [s.seconds for s in stages if s.name == name] for name in {s.name for s in stages}}
    assert {name: (secs, n) for name, secs, n in board.stage_seconds} == {
        name: (pytest.approx(mean(v)), len(v)) for name, v in by_stage.items()}
    assert Counter({(s, e): n for s, e, n in board.engines}) == Counter((s.name, s.engine) for s in stages)
    day, seconds, usd = board.savings[-1]
    assert day == planted.today.isoformat()
    assert seconds == pytest.approx(sum(r.seconds for r in runs))
    assert usd == pytest.approx(sum(r.paid_usd for r in runs))
    assert all(a[1] <= b[1] and a[2] <= b[2] for a, b in zip(board.savings, board.savings[1:]))  # cumulative


# -- My posts -------------------------------------------------------------------------------------------------------


def test_every_post_once_imported_videos_included_failed_attempts_not(planted, alice_posts):
    keys = [p.post_id for p in alice_posts.posts]
    assert sorted(keys) == sorted(p.key for p in planted.posts_of("alice"))
    assert "alice-never" not in keys  # its publish attempt failed
    assert "youtube:yt-imported-0" in keys  # CSV rows with no post id are posts of their own
    imported = next(p for p in alice_posts.posts if p.post_id == "youtube:yt-imported-1")
    assert imported.views == planted.post("youtube:yt-imported-1").latest["views"]
    assert imported.title == "imported yt-imported-1"


def test_latest_numbers_hook_retention_and_watch_ratio_per_post(planted, alice_posts):
    summaries = {p.post_id: p for p in alice_posts.posts}
    for truth in planted.posts_of("alice"):
        got = summaries[truth.key]
        assert got.views == truth.latest["views"]
        assert got.posted_at == truth.posted_at
        assert got.platform == truth.platform
        if truth.retention:  # YouTube, old enough for Analytics: the latest curve, 3 s interpolated on it
            xs, ys = zip(*truth.retention)
            assert alice_posts.retention[truth.key] == tuple(truth.retention)
            assert got.hook_retention == pytest.approx(float(np.interp(3 / truth.duration, xs, ys)))
        else:  # Instagram and TikTok report no curve
            assert got.hook_retention is None and truth.key not in alice_posts.retention
        assert got.avg_view_ratio == (pytest.approx(truth.avg_view_ratio) if truth.avg_view_ratio is not None
                                      else None)


def test_views_at_hour_marks_follow_the_snapshots_and_never_go_past_the_latest(planted, alice_posts):
    for truth in planted.posts_of("alice"):
        expected = [(float(m), truth.views_at(m)) for m in MARKS if truth.views_at(m) is not None]
        got = alice_posts.curves[truth.key]
        assert [m for m, _ in got] == [m for m, _ in expected], truth.key
        assert [v for _, v in got] == pytest.approx([v for _, v in expected]), truth.key
        assert all(m <= truth.age for m, _ in got)
    # the YouTube Analytics rows lag two days: their lower counts must not bend the curve down
    old = planted.post("alice-hook_flop")
    assert alice_posts.curves[old.key][-1][1] == pytest.approx(old.views_at(alice_posts.curves[old.key][-1][0]))


def test_the_median_curve_takes_the_posts_old_enough_for_each_mark(planted, alice_posts):
    expected = []
    for m in MARKS:
        values = [v for p in planted.posts_of("alice") if (v := p.views_at(m)) is not None]
        if values:
            expected.append((float(m), median(values)))
    assert [m for m, _ in alice_posts.median_curve] == [m for m, _ in expected]
    assert [v for _, v in alice_posts.median_curve] == pytest.approx([v for _, v in expected])
    assert 720.0 not in dict(alice_posts.median_curve)  # nobody is 30 days old yet


def test_heatmap_counts_and_medians_in_the_creators_zone(planted, alice_posts):
    zone = ZoneInfo(planted.timezone)
    cells: dict[tuple[int, int], list[float]] = {}
    for p in planted.posts_of("alice"):
        if (v := p.views_at(24)) is not None:
            local = p.posted_at.astimezone(zone)
            cells.setdefault((local.weekday(), local.hour), []).append(v)
    got = {(c.weekday, c.hour): c for c in alice_posts.heatmap}
    assert len(got) == 7 * 24
    assert {k: c.posts for k, c in got.items() if c.posts} == {k: len(v) for k, v in cells.items()}
    for k, values in cells.items():
        if len(values) >= 3:
            assert got[k].median_views == pytest.approx(median(values))
        else:
            assert got[k].median_views is None  # greyed out
    assert any(c.median_views is not None for c in alice_posts.heatmap)
    assert alice_posts.timezone == planted.timezone


def test_comparisons_by_template_length_and_platform(planted, alice_posts):
    scored = [(p, p.views_at(24)) for p in planted.posts_of("alice") if p.views_at(24) is not None]
    got = {(c.dimension, c.value): c for c in alice_posts.comparisons}
    for dimension, value_of in (("template", lambda p: p.template), ("length", lambda p: length_bucket(p.duration)),
                                ("platform", lambda p: p.platform), ("hook_style", lambda p: p.hook_style)):
        groups: dict[str, list[float]] = {}
        for p, v in scored:
            if value_of(p) is not None:
                groups.setdefault(value_of(p), []).append(v)
        assert {v for d, v in got if d == dimension} == set(groups)
        for value, views in groups.items():
            assert got[dimension, value].posts == len(views)
            assert got[dimension, value].median_views == pytest.approx(median(views))
    bold = [v for p, v in scored if p.template == "bold"]
    assert got["template", "bold"].median_views == pytest.approx(median(bold))


# -- A/B tests ------------------------------------------------------------------------------------------------------


def test_verdict_sums_each_variants_latest_views_and_engagements(planted, alice):
    variants = list(planted.experiments["ab-clear"].items())
    verdict = alice.verdict("ab-clear", variants)
    for result, (label, short) in zip(verdict.variants, variants):
        posts = [p for p in planted.posts_of("alice") if p.short_id == short]
        assert result.label == label and sorted(result.post_ids) == sorted(p.key for p in posts)
        assert result.views == sum(p.latest["views"] for p in posts)
        assert result.engaged == sum(p.latest[c] or 0 for p in posts for c in ("likes", "comments", "shares", "saves"))
    assert verdict.leader == "B" and verdict.said.startswith("B leads: ")
    young = alice.verdict("ab-young", list(planted.experiments["ab-young"].items()))
    assert young.leader is None and young.said.startswith("Not enough data yet: A has ")


# -- Why did this one flop? -----------------------------------------------------------------------------------------


def test_a_post_whose_hook_was_cut_gets_the_hook_first(planted, alice):
    reasons = alice.why(planted.special["hook_flop"])
    assert reasons and reasons[0].rule == "hook"
    assert "still watching at 3 s" in reasons[0].numbers and reasons[0].suggestion
    assert [r.severity for r in reasons] == sorted((r.severity for r in reasons), reverse=True)


def test_a_post_at_a_bad_hour_gets_the_hour_reason(planted, alice):
    reasons = alice.why(planted.special["hour_flop"])
    rules = [r.rule for r in reasons]
    assert "hour" in rules and "hook" not in rules
    hour = reasons[rules.index("hour")]
    assert "03:00" in hour.numbers and "18:00" in hour.suggestion + hour.numbers


def test_a_good_post_has_nothing_to_explain(planted, alice):
    assert alice.why(planted.special["good"]) is None


def test_below_baseline_with_no_cause_in_the_numbers_is_an_empty_tuple_not_none():
    others = [PostNumbers(f"p{i}", views={24.0: 1000.0 + i}, hour=18, length="15–30 s") for i in range(5)]
    slightly_low = PostNumbers("x", views={24.0: 990.0}, hour=18, length="15–30 s")
    assert diagnose.diagnose(slightly_low, others) == ()
    assert diagnose.diagnose(slightly_low, others[:2]) is None  # two other posts are no baseline


def test_a_young_post_is_compared_at_its_latest_mark():
    others = [PostNumbers(f"p{i}", views={6.0: 500.0, 24.0: 2000.0}) for i in range(4)]
    young = PostNumbers("y", views={6.0: 50.0})
    assert diagnose.comparison_mark(young, others) == 6.0
    reasons = diagnose.diagnose(young, others)
    assert reasons and reasons[0].rule == "velocity" and "6 h after posting" in reasons[0].numbers


# -- tenancy and edges ----------------------------------------------------------------------------------------------


def test_another_owner_sees_none_of_alices_rows(planted):
    bob = _boards(planted, "bob")
    posts = bob.posts()
    assert sorted(p.post_id for p in posts.posts) == sorted(p.key for p in planted.posts_of("bob"))
    # bob imported a CSV naming alice's video: it stays his own post with his own numbers
    twin = next(p for p in posts.posts if p.post_id == "youtube:yo-alice-0")
    assert twin.views == 5_000_000 and twin.title == "imported yo-alice-0"
    assert bob.studio().runs == len(_window(planted, "bob"))
    alices = bob.verdict("ab-clear", list(planted.experiments["ab-clear"].items()))
    assert all(v.views == 0 and not v.post_ids for v in alices.variants)
    with pytest.raises(NotFound):
        bob.why(planted.special["hook_flop"])
    stranger = _boards(planted, "mallory'; DROP TABLE x; --")
    assert stranger.studio().runs == 0 and stranger.posts().posts == ()


def test_no_owner_means_this_machines_own_rows_only(planted):
    local = _boards(planted, None)
    assert sorted(p.post_id for p in local.posts().posts) == sorted(p.key for p in planted.posts_of(None))
    board = local.studio()
    assert board.runs == len(_window(planted, None))
    assert sum(n for _, n in board.shorts_per_day) == sum(r.status == "succeeded" for r in _window(planted, None))


def test_no_parquet_yet_gives_empty_answers(tmp_path):
    boards = Dashboards(tmp_path / "nothing", "alice")
    studio = boards.studio(days=7)
    assert studio.runs == 0 and studio.cache_hit_rate is None and studio.failures == ()
    assert [n for _, n in studio.shorts_per_day] == [0] * 7
    posts = boards.posts()
    assert posts.posts == () and posts.median_curve == () and all(c.posts == 0 for c in posts.heatmap)
    assert boards.verdict("e", [("A", "a"), ("B", "b")]).said.startswith("Not enough data yet")
    with pytest.raises(NotFound):
        boards.why("p1")


def test_a_post_known_only_from_its_publish_event(tmp_path):
    """No snapshots yet (no metrics folder at all), and an older recorder left posted_at out of the event's data: the
    post is still listed, at the event's time, with no numbers."""
    import duckdb

    (tmp_path / "events").mkdir()
    duckdb.execute(f"""COPY (SELECT 'e1' AS event_id, TIMESTAMPTZ '2026-03-04 05:06:07+00' AS "at", '2026-03-04' AS day,
                                    'publish' AS kind, 'alice' AS owner_id, 's1' AS short_id, 'p1' AS post_id,
                                    'tiktok' AS platform, 'posted' AS status, '{{"title": "First"}}' AS data)
                       TO '{tmp_path / "events"}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'b1_{{i}}')""")
    board = Dashboards(tmp_path, "alice").posts()
    assert [(p.post_id, p.title, p.posted_at.isoformat(), p.views) for p in board.posts] == [
        ("p1", "First", "2026-03-04T05:06:07+00:00", None)]
    assert board.curves == {"p1": ()} and board.median_curve == ()


def test_bad_arguments_fail_early(tmp_path):
    with pytest.raises(ValueError, match="time zone"):
        Dashboards(tmp_path, "alice", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="days"):
        Dashboards(tmp_path, "alice").studio(days=0)
    with pytest.raises(ValueError, match="hour marks"):
        Dashboards(tmp_path, "alice").posts(hour_marks=(0, 24))


def test_times_stay_utc_on_a_machine_in_another_zone(tmp_path):
    """DuckDB reads TIMESTAMPTZ in its session's zone, which defaults to the machine's: a studio in New York must
    place posts at the same instants (and so the same heatmap cells) as one in UTC."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from tests import analytics_data
        from studio.analytics.queries import Dashboards
        root = Path({str(tmp_path)!r})
        planted = analytics_data.build(root)
        board = Dashboards(root, "alice", timezone=planted.timezone, today=planted.today)
        got = {{p.post_id: p.posted_at for p in board.posts().posts}}
        assert got == {{p.key: p.posted_at for p in planted.posts_of("alice")}}, "posting times moved"
        print("ok")
    """)
    env = {**os.environ, "TZ": "America/New_York"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_million_events_load_and_every_query_runs(tmp_path):
    """Timing belongs to benchmarks/analytics.py; this only proves the queries run on a bulk load."""
    analytics_data.build_bulk(tmp_path, events=1_000_000, snapshots=25_000, days=90)
    boards = Dashboards(tmp_path, "alice", timezone="Europe/Paris")
    studio = boards.studio(days=90)
    assert studio.runs > 0 and studio.cache_hit_rate is not None and studio.failures
    posts = boards.posts()
    assert len(posts.posts) == 250  # 1,000 posts over four owners
    assert posts.median_curve and any(c.posts for c in posts.heatmap)
    assert boards.verdict("e", [("A", "s0"), ("B", "s1")]).leader is None
    assert boards.why(posts.posts[-1].post_id) is None or isinstance(boards.why(posts.posts[-1].post_id), tuple)
