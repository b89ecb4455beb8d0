"""``studio analytics …`` on this machine's metadata database: the Parquet export DuckDB reads back (and a second run
adding nothing), the dashboards as tables for this machine's own runs and, with --user, for a hosted account, --png
writing real PNG files, A/B tests, CSV imports (--dry-run storing nothing, a repeat storing nothing twice, refusals
with their reason and exit 2), and bad flag values named in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studio.cli import app
from tests.test_analytics_api import A_POSTS, seed_post, seed_runs

DATA = Path(__file__).parent / "data"
CSV = DATA / "analytics"
runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A studio home with this machine's own runs and posts (owner null) and a hosted account with one post."""
    from studio.analytics.store import EventStore
    from studio.db import Database
    from studio.tables import User

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    db = Database.for_home(tmp_path / "home")
    db.migrate()
    with db.session() as s:
        ada = User(email="ada@example.com")
        s.add(ada)
        s.flush()
        ada_id = ada.id
    store = EventStore(db)
    for post_id, (*views, hook) in A_POSTS.items():
        seed_post(store, None, post_id, f"short-{post_id}", tuple(views), hook)
    seed_runs(store, None)
    seed_post(store, ada_id, "ada-1", "short-ada-1", (90_000, 2_000_000, 2_500_000), 0.9)
    db.dispose()
    return {"path": tmp_path / "home", "db": db, "ada": ada_id, "events": 5 + 9, "snapshots": 5 * 4}


def _run(*args: str):
    return runner.invoke(app, ["analytics", *args])


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_export_writes_parquet_that_duckdb_reads_back(home, tmp_path):
    import duckdb

    target = tmp_path / "research"
    r = _run("export", "--parquet", str(target))
    assert r.exit_code == 0, r.output
    said = _one_line(r.output)
    assert f"Exported {home['events']} new events and {home['snapshots']} new metric snapshots" in said
    assert "events file(s)" in said and "read_parquet" in said
    con = duckdb.connect()
    events = con.execute(f"SELECT kind, count(*), count(DISTINCT day) FROM read_parquet('{target}/events/*/*.parquet', "
                         "hive_partitioning = true) GROUP BY kind ORDER BY kind").fetchall()
    assert [(k, n) for k, n, _ in events] == [("publish", 5), ("run", 3), ("stage", 6)]
    snaps = con.execute(f"SELECT count(*), count(DISTINCT owner_id), sum(views) FILTER (WHERE post_id = 'a-flop' "
                        f"AND source = 'youtube_data') FROM read_parquet('{target}/metrics/*/*.parquet')").fetchone()
    assert snaps == (home["snapshots"], 1, 60 + 700 + 800)  # owner null is not counted as a distinct owner

    again = _run("export", "--parquet", str(target))
    assert again.exit_code == 0 and "Exported 0 new events and 0 new metric snapshots" in _one_line(again.output)
    count = con.execute(f"SELECT count(*) FROM read_parquet('{target}/events/*/*.parquet')").fetchone()[0]
    assert count == home["events"]  # nothing doubled

    inside = _run("export", "--parquet", str(home["path"] / "analytics" / "copy"))
    assert inside.exit_code == 2 and "--parquet:" in inside.output


def test_the_dashboards_print_this_machines_runs_or_an_accounts(home):
    r = _run("studio", "--days", "7")
    assert r.exit_code == 0, r.output
    said = _one_line(r.output)
    assert "this machine's own runs" in said and "3 run(s)" in said and "38%" in said  # 9 hits ÷ 24
    assert "voice_oom" in said and "qwen2×3" in said and "$0.70" in said

    posts = _run("posts", "--timezone", "Europe/Berlin")
    assert posts.exit_code == 0, posts.output
    said = _one_line(posts.output)
    assert all(post_id in said for post_id in A_POSTS) and "ada-1" not in said
    assert "12,000" in said and "800" in said and "30%" in said  # a-2's views, a-flop's, a-flop's hook
    assert "What works" in said

    theirs = _one_line(_run("posts", "--user", "ADA@example.com").output)
    assert "ada-1" in theirs and "2,500,000" in theirs and "a-flop" not in theirs
    assert "0 run(s)" in _one_line(_run("studio", "--user", "ada@example.com").output)


def test_why_explains_the_flop_in_plain_words(home):
    r = _run("why", "a-flop")
    assert r.exit_code == 0, r.output
    said = _one_line(r.output)
    assert "below your baseline" in said and "The hook lost them" in said and "→" in said
    assert "not below your baseline" in _one_line(_run("why", "a-2").output)
    missing = _run("why", "ada-1")  # the account's post, asked for this machine's runs
    assert missing.exit_code == 2 and "ada-1" in missing.output


def test_png_writes_real_figures(home, tmp_path):
    from PIL import Image

    folder = tmp_path / "figures"
    for args in (("studio",), ("posts",)):
        r = _run(*args, "--png", str(folder))
        assert r.exit_code == 0, r.output
    written = sorted(folder.glob("*.png"))
    names = {p.stem for p in written}
    assert {"studio_shorts_per_day", "studio_savings", "posts_heatmap", "posts_retention", "posts_views"} <= names
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            assert im.width >= 600 and im.height >= 200
            assert len(im.convert("L").getcolors(256) or ()) > 8, path  # something was drawn, not a blank canvas
    a_file = tmp_path / "taken.png"
    a_file.write_bytes(b"x")
    bad = _run("studio", "--png", str(a_file))
    assert bad.exit_code == 2 and "--png:" in bad.output


def test_ab_tests_belong_to_an_account(home, tmp_path):
    from studio.db import Database
    from studio.tables import Short

    db = Database.for_home(home["path"])
    with db.session() as s:
        shorts = [Short(owner_id=home["ada"], title=f"variant {i}") for i in range(2)]
        s.add_all(shorts)
        s.flush()
        ids = [x.id for x in shorts]
    db.dispose()

    local = _run("ab", "list")
    assert local.exit_code == 2 and "--user EMAIL" in local.output
    one = _run("ab", "new", ids[0], "--user", "ada@example.com")
    assert one.exit_code == 2 and "SHORT_ID: give two or three shorts" in _one_line(one.output)
    made = _run("ab", "new", *ids, "--name", "Hook test", "--user", "ada@example.com")
    assert made.exit_code == 0, made.output
    exp_id = re.search(r"A/B test (\w+) \(Hook test\)", made.output).group(1)
    assert exp_id in _run("ab", "list", "--user", "ada@example.com").output
    shown = _run("ab", "show", exp_id, "--user", "ada@example.com", "--png", str(tmp_path / "ab"))
    assert shown.exit_code == 0, shown.output
    assert "Hook test" in shown.output and (tmp_path / "ab" / f"experiment_{exp_id}.png").stat().st_size > 1000
    assert _run("ab", "delete", exp_id, "--user", "ada@example.com").exit_code == 0
    assert _run("ab", "show", exp_id, "--user", "ada@example.com").exit_code == 2


def _csv_snapshots(home) -> int:
    from sqlalchemy import func, select

    from studio.db import Database
    from studio.tables import MetricSnapshotRow

    db = Database.for_home(home["path"])
    with db.session() as s:
        n = s.scalar(select(func.count()).where(MetricSnapshotRow.source.like("csv_%")))
    db.dispose()
    return n


def test_import_dry_run_then_for_real_then_again(home):
    path = str(CSV / "youtube_studio_table_data.csv")
    dry = _run("import", path, "--dry-run", "--map", "Subscribers=ignore")
    assert dry.exit_code == 0, dry.output
    said = _one_line(dry.output)
    assert "youtube" in said and "Mapping" in said and "remote_id" in said and "ignore (yours)" in said
    assert "a1B2c3D4e5F" in said and "21,877" in said and "Total" in said
    assert "5 video(s) would be imported; skipped row(s) 2. Nothing was stored." in said
    assert _csv_snapshots(home) == 0

    done = _run("import", path, "--user", "ada@example.com")
    assert done.exit_code == 0 and "Imported 5 new snapshot(s) of 5 video(s) read" in _one_line(done.output)
    again = _run("import", path, "--user", "ada@example.com")
    assert "Imported 0 new snapshot(s)" in _one_line(again.output) and _csv_snapshots(home) == 5
    assert "a1B2c3D4e5F" in _run("posts", "--user", "ada@example.com").output


def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(home, tmp_path):
    unknown = _run("import", str(CSV / "unknown_layout.csv"), "--platform", "youtube", "--dry-run")
    said = _one_line(unknown.output)
    assert unknown.exit_code == 2 and "Refused:" in said and "no video id or title column" in said
    assert "--map COLUMN=FIELD" in said
    no_platform = _run("import", str(CSV / "unknown_layout.csv"))
    assert no_platform.exit_code == 2 and "--platform:" in no_platform.output
    png = tmp_path / "views.csv"
    png.write_bytes((DATA / "astronaut.png").read_bytes())
    r = _run("import", str(png))
    assert r.exit_code == 2 and "not a CSV" in _one_line(r.output) and "PNG" in r.output
    assert _csv_snapshots(home) == 0


@pytest.mark.parametrize(("args", "flag"), [
    (("studio", "--days", "0"), "--days"),
    (("posts", "--timezone", "Mars/Olympus"), "--timezone"),
    (("why", "a-1", "--timezone", "nowhere"), "--timezone"),
    (("import", str(CSV / "tiktok_studio_content.csv"), "--platform", "instagram"), "--platform"),
    (("import", str(CSV / "tiktok_studio_content.csv"), "--date-order", "ymd"), "--date-order"),
    (("import", str(CSV / "tiktok_studio_content.csv"), "--map", "Total views"), "--map"),
    (("import", str(CSV / "tiktok_studio_content.csv"), "--map", "Total views=clicks"), "--map"),
    (("studio", "--user", "nobody@example.com"), "--user"),
    (("ab", "new", "a", "b", "--alpha", "0.5", "--user", "ada@example.com"), "--alpha"),
])
def test_a_bad_flag_value_names_the_flag(home, args, flag):
    r = _run(*args)
    assert r.exit_code == 2 and flag in r.output, r.output
