"""The Analytics tab in Debian's Chromium, on a phone, against a real `studio serve` whose metadata database holds a
month of a creator's studio: runs with their stages, posts on YouTube, Instagram and TikTok with their publish events
and metric snapshots (YouTube's with retention curves), written through the event store as the studio writes them
(tests/analytics_data.py plants them). The creator sees the heatmap and the retention curves drawn from those numbers,
asks why a post flopped, starts an A/B test from two of their shorts, imports a YouTube Studio CSV; another creator,
signed in, sees none of it. Screenshots of each section go into the test's tmp_path."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC
from pathlib import Path

import pytest

from studio.analytics import figures
from tests.api_helpers import make_settings
from tests.test_api_media import png_bytes
from tests.test_calendar_browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, _overflow
from tests.test_serve import Server
from tests.ui_client import open_tab

pytestmark = [
    pytest.mark.slow,  # a server, a browser and a month of data: about a minute on two cores
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)"),
]

ZONE = "America/New_York"  # the planted creator's: her best hours are 18:00-20:00 there
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True,
         "timezone_id": ZONE, "locale": "en-US"}
# her posts at 18:00-20:00 New York time do best (in UTC that would be 22:00-00:00)
BEST_HOUR = re.compile(r"your best hour so far: \w+ (18|19|20):00")
EMPTY_HEIGHT = round(2.4 * figures.DPI)  # an empty-state figure's height in pixels
CSV = Path(__file__).parent / "data" / "analytics" / "youtube_studio_table_data.csv"  # 5 videos and a Total row


@pytest.fixture
def studio(tmp_path):
    (tmp_path / "home").mkdir()
    server = Server(tmp_path / "home", STUDIO_DISPATCH="0", GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    server.start()
    yield server
    server.stop()


def plant(home: Path, owner: str, tmp: Path):
    """tests/analytics_data.build's month for its creator "alice", recorded as ``owner``'s through the server's own
    event store (the other planted owners are left out), plus her A/B test's two shorts. Returns the planted truth."""
    import duckdb

    from studio.analytics.store import EventStore
    from studio.analytics.types import Event, MetricSnapshot
    from studio.hosted import Hosted
    from studio.tables import Short
    from tests import analytics_data

    planted = analytics_data.build(tmp / "planted", timezone=ZONE)
    con = duckdb.connect()

    def rows(table: str) -> list[dict]:
        cur = con.execute(f"SELECT * FROM read_parquet('{tmp / 'planted' / table}/*/*.parquet', "
                          "hive_partitioning = true, hive_types = {'day': VARCHAR}) WHERE owner_id = 'alice'")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def utc(t):
        return t.replace(tzinfo=UTC) if t is not None else None

    events = [Event(kind=r["kind"], at=utc(r["at"]), event_id=r["event_id"], owner_id=owner, run_id=r["run_id"],
                    job_id=r["job_id"], short_id=r["short_id"], post_id=r["post_id"], platform=r["platform"],
                    name=r["name"], engine=r["engine"], status=r["status"], code=r["code"], seconds=r["seconds"],
                    calls=r["calls"], hits=r["hits"], data=json.loads(r["data"] or "{}")) for r in rows("events")]
    numbers = ("views", "likes", "comments", "shares", "saves", "reach", "engaged_views", "subscribers")
    snaps = [MetricSnapshot(platform=r["platform"], remote_id=r["remote_id"], source=r["source"],
                            taken_at=utc(r["taken_at"]), posted_at=utc(r["posted_at"]), owner_id=owner,
                            post_id=r["post_id"], short_id=r["short_id"], title=r["title"],
                            **{k: r[k] for k in numbers}, avg_view_seconds=r["avg_view_seconds"],
                            avg_view_ratio=r["avg_view_ratio"], watch_seconds=r["watch_seconds"],
                            retention=tuple(map(tuple, json.loads(r["retention"]))) if r["retention"] else None,
                            duration=r["duration"]) for r in rows("metrics")]
    con.close()
    hosted = Hosted(make_settings(home))  # the server's database, in its home
    try:
        store = EventStore(hosted.db)
        assert store.record_many(events) == len(events)
        assert store.snapshots(snaps) == len(snaps)
        with hosted.db.session() as s:
            for label, hook in (("A", "Question hook"), ("B", "A number first")):
                s.add(Short(id=planted.experiments["ab-clear"][label], owner_id=owner, title=hook))
    finally:
        hosted.db.dispose()
    return planted


def section(page, name: str) -> None:
    page.locator("#an-section").get_by_text(name, exact=True).click()


def drawn(page, elem_id: str, min_height: int, timeout: float = 60_000) -> dict:
    """The plot's image once it has loaded at least ``min_height`` pixels tall (taller than an empty state's)."""
    page.wait_for_function(
        """([id, h]) => { const im = document.querySelector(`#${id} img`);
                         return im && im.complete && im.naturalHeight >= h; }""",
        arg=[elem_id, min_height], timeout=timeout)
    return page.eval_on_selector(f"#{elem_id} img", """im => ({w: im.naturalWidth, h: im.naturalHeight,
        shown: im.getBoundingClientRect().width, src: im.src.slice(0, 30), alt: im.alt})""")


def test_a_creator_sees_their_month_in_plots_on_a_phone_and_another_sees_none_of_it(studio, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(**PHONE)
        r = phone.request.post(studio.url + "/api/auth/signup", data={"email": "ada@example.com",
                                                                      "password": PASSWORD})
        assert r.status == 201, r.text()
        planted = plant(studio.home, r.json()["user"]["id"], tmp_path)
        alice = planted.posts_of("alice")

        # 1. My studio, drawn as the tab opens
        page = phone.new_page()
        page.goto(studio.url + "/studio/")
        open_tab(page, "Analytics")
        said = page.locator("#an-studio-said")
        expect(said).to_contain_text("shorts made in", timeout=60_000)
        made = sum(1 for run in planted.runs_of("alice") if run.status == "succeeded"
                   and (planted.today - run.at.date()).days < 30)
        expect(said).to_contain_text(f"{made} shorts made in")
        for name in figures.STUDIO_FIGURES:
            img = drawn(page, f"an-{name}", EMPTY_HEIGHT + 1)
            assert img["w"] == 720 and img["src"].startswith("data:image/png"), (name, img)
            assert img["shown"] <= 390, f"{name} is wider than the phone"
        assert _overflow(page) <= 0, "My studio scrolls sideways on a phone"
        page.screenshot(path=str(tmp_path / "1-my-studio-phone.png"), full_page=True)

        # 2. My posts: the heatmap and the retention curves, with data, in the browser's time zone
        section(page, "My posts")
        expect(page.locator("#an-posts-said")).to_contain_text(f"{len(alice)} posts with numbers", timeout=60_000)
        assert page.locator("#an-zone input").input_value() == ZONE
        heat = drawn(page, "an-heatmap", 1000)  # the 24-hour map; its empty state is 345 px tall
        assert heat["w"] == 720 and heat["shown"] <= 390
        curves = drawn(page, "an-retention", EMPTY_HEIGHT + 100)
        views = drawn(page, "an-views", EMPTY_HEIGHT + 100)
        assert curves["w"] == 720 and views["w"] == 720
        expect(page.locator("#an-posts-said")).to_contain_text(BEST_HOUR)
        assert _overflow(page) <= 0, "My posts scrolls sideways on a phone"
        page.screenshot(path=str(tmp_path / "2-my-posts-phone.png"), full_page=True)
        page.locator("#an-heatmap").screenshot(path=str(tmp_path / "2-heatmap.png"))
        page.locator("#an-retention").screenshot(path=str(tmp_path / "2-retention.png"))
        heat_src = page.eval_on_selector("#an-heatmap img", "im => im.src")

        # 3. Why did this one flop? The post whose hook was cut: the hook is named first
        section(page, "Why did this one flop?")
        expect(page.locator("#an-why-said")).to_contain_text("of your usual views", timeout=60_000)
        hook_flop = planted.post(planted.special["hook_flop"])
        page.locator("#an-why-pick input").click()
        page.get_by_role("option", name=hook_flop.title, exact=False).dispatch_event("mousedown")
        reasons = page.locator("#an-why-said .an-reasons li")
        expect(reasons.first).to_contain_text("The hook lost them", timeout=60_000)
        expect(reasons.first).to_contain_text("still watching at 3 s")
        expect(page.locator("#an-why-said")).to_contain_text("Try:")
        drawn(page, "an-why-retention", EMPTY_HEIGHT + 100)
        assert _overflow(page) <= 0, "Why did this one flop? scrolls sideways on a phone"
        page.screenshot(path=str(tmp_path / "3-why-phone.png"), full_page=True)

        # 4. A/B tests: none yet; start one from her two shorts; the verdict names the leader in plain words
        section(page, "A/B tests")
        expect(page.locator("#an-ab-list")).to_contain_text("No A/B test yet", timeout=60_000)
        expect(page.locator("#an-ab-shorts")).to_be_visible()  # with no test yet, the form to start one is open
        assert not page.locator("#an-ab-plot").is_visible()
        for hook in ("Question hook", "A number first"):
            page.locator("#an-ab-shorts input").click()
            page.get_by_role("option", name=hook, exact=False).dispatch_event("mousedown")
        page.locator("#an-ab-name textarea, #an-ab-name input").first.fill("Question vs number")
        page.locator("#an-ab-start").click()
        test = page.locator("#an-ab-list .an-exp")
        expect(test).to_contain_text("Question vs number", timeout=60_000)
        expect(test).to_contain_text("A: Question hook, B: A number first")
        expect(test.locator(".an-verdict")).to_contain_text("B leads")
        drawn(page, "an-ab-plot", EMPTY_HEIGHT + 1)
        assert _overflow(page) <= 0, "A/B tests scrolls sideways on a phone"
        page.screenshot(path=str(tmp_path / "4-ab-phone.png"), full_page=True)

        # 5. Refresh reads again (the same numbers: the same heatmap)
        section(page, "My posts")
        page.locator("#an-refresh").click()
        expect(page.locator("#an-posts-said")).to_contain_text(f"{len(alice)} posts with numbers", timeout=60_000)
        drawn(page, "an-heatmap", 1000)
        assert page.eval_on_selector("#an-heatmap img", "im => im.src") == heat_src

        # 6. On a wide screen the figures sit side by side, none wider than the page
        wide = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id=ZONE)
        wide.context.add_cookies(phone.cookies())
        wide.goto(studio.url + "/studio/")
        open_tab(wide, "Analytics")
        section(wide, "My posts")
        drawn(wide, "an-heatmap", 1000)
        expect(wide.locator("#an-posts-said")).to_contain_text(BEST_HOUR)
        expect(wide.locator("#an-zone input")).to_have_value(ZONE)
        tops = [wide.eval_on_selector(f"#an-{n}", "e => e.getBoundingClientRect().top") for n in ("views", "retention")]
        assert tops[0] == tops[1], "two figures to a row on a wide screen"
        assert _overflow(wide) <= 0
        wide.screenshot(path=str(tmp_path / "6-my-posts-desktop.png"), full_page=True)
        wide.close()

        # 7. Another creator, signed in on another phone, sees only empty states, none of Ada's posts
        other = browser.new_context(**PHONE)
        r = other.request.post(studio.url + "/api/auth/signup", data={"email": "bea@example.com",
                                                                      "password": PASSWORD})
        assert r.status == 201, r.text()
        bea = other.new_page()
        bea.goto(studio.url + "/studio/")
        open_tab(bea, "Analytics")
        expect(bea.locator("#an-studio-said")).to_contain_text("No shorts made", timeout=60_000)
        section(bea, "My posts")
        expect(bea.locator("#an-posts-said")).to_contain_text("No posts with numbers yet", timeout=60_000)
        bea.wait_for_function("() => document.querySelector('#an-heatmap img')?.naturalHeight > 0")
        assert bea.eval_on_selector("#an-heatmap img", "im => im.naturalHeight") == EMPTY_HEIGHT
        section(bea, "Why did this one flop?")
        expect(bea.locator("#an-why-said")).to_contain_text("No posts with numbers yet", timeout=60_000)
        bea.locator("#an-why-pick input").click()
        assert bea.get_by_role("option").count() == 0
        section(bea, "A/B tests")
        expect(bea.locator("#an-ab-list")).to_contain_text("No A/B test yet", timeout=60_000)
        assert "Question vs number" not in bea.content() and hook_flop.title not in bea.content()
        bea.screenshot(path=str(tmp_path / "5-another-creator-phone.png"), full_page=True)

        # 8. Ada imports a YouTube Studio export on her phone: the preview, Import, her posts counting the videos
        section(page, "Import a CSV")
        said = page.locator("#an-imp-said")
        fake = tmp_path / "numbers.csv"  # a photo with a CSV's name: judged by its content
        fake.write_bytes(png_bytes())
        page.locator("#an-imp-pick input[type=file]").set_input_files(str(fake))
        expect(said).to_contain_text("✗ This is a PNG image, not a CSV file.", timeout=60_000)
        assert not page.locator("#an-imp-go").is_visible()
        page.locator("#an-import").screenshot(path=str(tmp_path / "7-import-refused.png"))
        page.locator("#an-imp-pick input[type=file]").set_input_files(str(CSV))
        expect(said).to_contain_text("YouTube Studio export · 5 videos to import", timeout=60_000)
        expect(page.locator("#an-imp-table")).to_contain_text("5 habits that changed my mornings")
        expect(page.locator("#an-imp-platform input[value=youtube]")).to_be_checked()
        page.locator("#an-imp-map").get_by_text("What each column holds").click()
        expect(page.locator("#an-imp-col-4 input")).to_have_value("Views")  # the Views column, proposed as views
        page.locator("#an-imp-col-3 input").click()  # Duration: left out this time
        page.get_by_role("option", name="Not imported", exact=True).dispatch_event("mousedown")
        expect(said).to_contain_text("Left out: Duration, Impressions", timeout=60_000)
        assert _overflow(page) <= 0, "the import's preview scrolls sideways on a phone"
        assert page.eval_on_selector(".an-imp-rows", "e => e.scrollWidth - e.clientWidth") <= 0, "the rows are cut"
        page.screenshot(path=str(tmp_path / "7-import-preview-phone.png"), full_page=True)
        page.locator("#an-imp-go").click()
        done = page.locator("#an-imp-done")
        expect(done).to_contain_text("✓ 5 snapshots of 5 videos stored; 1 row skipped (row 2:", timeout=60_000)
        assert _overflow(page) <= 0
        page.locator("#an-import").screenshot(path=str(tmp_path / "7-import-done.png"))
        page.locator("#an-imp-pick input[type=file]").set_input_files(str(CSV))  # the same file again
        expect(said).to_contain_text("5 videos to import", timeout=60_000)
        expect(done).to_have_text("")
        page.locator("#an-imp-go").click()
        expect(done).to_contain_text("Already imported", timeout=60_000)
        section(page, "My posts")
        expect(page.locator("#an-posts-said")).to_contain_text(f"{len(alice) + 5} posts with numbers", timeout=60_000)
        browser.close()
