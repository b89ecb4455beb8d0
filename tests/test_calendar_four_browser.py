"""The Calendar tab in Debian's Chromium: one short scheduled to four platforms at once, and each post's status shown
on its own. A real `studio serve` (no dispatcher of its own) with YouTube, Instagram, Facebook and TikTok pointed at
their local fakes (tests/fake_youtube.py, tests/fake_meta.py, tests/fake_tiktok.py) and one account connected on
each; the creator, on a phone, ticks all four, answers YouTube's and TikTok's questions (TikTok's asked live from the
fake) and presses Schedule once. Before it goes out the TikTok account turns private (the fake offers only "Only me"
from then on); a `studio dispatch` process then posts them, and the page, looking again by itself, shows three chips
"Posted" and TikTok's "Failed" with TikTok's reason."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.api_helpers import make_settings
from tests.fake_meta import IG_USER_ID, IG_USERNAME, FakeMeta, default_pages
from tests.fake_tiktok import NICKNAME, OPEN_ID, FakeTikTok
from tests.fake_youtube import CHANNEL_ID, FakeYouTube
from tests.publish_helpers import connect_account
from tests.test_calendar_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    SCRIPT,
    ZONE,
    Dispatch,
    _open_calendar,
    _overflow,
    _until,
)
from tests.test_serve import Server

pytestmark = [
    pytest.mark.slow,  # a real short is rendered first
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)"),
]

PAGE = default_pages()[0]  # "Fake Bakery": a Page the fake lets the studio post to
ACCOUNTS = ("YouTube · Fake Channel", f"Instagram · @{IG_USERNAME}", f"Facebook Page · {PAGE['name']}",
            f"TikTok · {NICKNAME}")


@pytest.fixture
def fakes():
    youtube, meta, tiktok = FakeYouTube(tokens=("yt-token",)), FakeMeta(), FakeTikTok(tokens=("tt-token",))
    for fake in (youtube, meta, tiktok):
        fake.start()
    yield youtube, meta, tiktok
    for fake in (youtube, meta, tiktok):
        fake.stop()


@pytest.fixture
def studio(tmp_path, fakes):
    youtube, meta, tiktok = fakes
    (tmp_path / "home").mkdir()
    server = Server(tmp_path / "home", STUDIO_YOUTUBE_CLIENT_ID="four.apps.googleusercontent.com",
                    STUDIO_YOUTUBE_CLIENT_SECRET="four-secret", STUDIO_YOUTUBE_API_URL=youtube.base_url + "/",
                    **meta.env(), STUDIO_TIKTOK_CLIENT_KEY="fake-client-key", STUDIO_TIKTOK_CLIENT_SECRET="secret",
                    STUDIO_TIKTOK_API_URL=tiktok.base_url, STUDIO_DISPATCH="0", GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    server.start()
    yield server
    server.stop()


def _connect_four(home, owner: str, meta: FakeMeta) -> None:
    """One account on each platform, stored as a connect stores it (the fakes know their tokens)."""
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(home))  # the server's database and token key, both in its home
    try:
        for platform, account_id, token, name in (
                ("youtube", CHANNEL_ID, "yt-token", "Fake Channel"),
                ("instagram", IG_USER_ID, meta.issue("ig_long", IG_USER_ID), IG_USERNAME),
                ("facebook", PAGE["id"], meta.page_token(PAGE["id"]), PAGE["name"]),
                ("tiktok", OPEN_ID, "tt-token", NICKNAME)):
            connect_account(hosted, owner, platform=platform, account_id=account_id, access_token=token, name=name,
                            expires_in=86400)
    finally:
        hosted.db.dispose()


def test_one_short_to_four_platforms_at_once_each_post_with_its_own_status(studio, fakes, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    youtube, meta, tiktok = fakes
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                    has_touch=True, timezone_id=ZONE, locale="en-GB")
        api = phone.request

        # 1. A creator with a real rendered short and an account on each of the four platforms
        r = api.post(studio.url + "/api/auth/signup", data={"email": "ada@example.com", "password": PASSWORD})
        assert r.status == 201, r.text()
        owner, auth = r.json()["user"]["id"], {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(studio.url + "/api/shorts", headers=auth, data={"script": SCRIPT, "profile": "offline"})
        assert r.status == 202, r.text()
        job = _until(lambda: (j := api.get(f"{studio.url}/api/jobs/{r.json()['id']}", headers=auth).json())[
            "status"] in ("succeeded", "failed") and j, 300, "the short")
        assert job["status"] == "succeeded", job
        _connect_four(studio.home, owner, meta)

        # 2. On a phone: the accounts panel has all four platforms; tick every account
        page = phone.new_page()
        page.goto(studio.url + "/studio/")
        _open_calendar(page)
        panel = page.locator("#cal-accounts")
        for label in ("YouTube", "Instagram", "Facebook", "TikTok"):
            expect(panel.locator(f"section.acct-platform:has(h3:text('{label}')) .acct-ok")).to_contain_text(
                "connected")
        picks = page.locator("#cal-account")
        # TikTok answers slowly: the answers to these ticks arrive while the creator is already choosing below, and
        # must not set their choices back
        tiktok.creator_info_delay_s = 1.5
        for label in ACCOUNTS:
            box = picks.get_by_label(label)
            if not box.is_checked():
                box.check()
        # each platform's own questions, only for the platforms ticked; TikTok's asked from TikTok now
        tt = page.locator("#cal-tt")
        expect(tt).to_contain_text(f"Posting to TikTok as {NICKNAME}", timeout=30_000)
        expect(page.locator("#cal-yt")).to_be_visible()
        expect(page.locator("#cal-ig")).to_be_visible()
        assert page.locator("#cal-ig-feed input").is_checked()  # also in the profile grid, by default
        privacy = page.locator("#cal-tt-privacy")
        for words in ("Everyone", "Friends", "Only me"):
            expect(privacy).to_contain_text(words)
        assert privacy.locator("input:checked").count() == 0  # nothing chosen for the creator
        for name in ("allow_comment", "allow_duet", "allow_stitch"):
            assert not page.locator(f"#cal-tt-{name} input").is_checked()
        expect(tt).to_contain_text("Music Usage Confirmation")
        expect(tt).to_contain_text("audit")

        # 3. Today, this minute (due at once), in the browser's zone; YouTube's and TikTok's answers
        now = datetime.now(ZoneInfo(ZONE))
        today, hour = now.date().isoformat(), f"{now:%H}"
        page.locator("#cal-day input").first.fill(today)
        page.locator("#cal-day input").first.press("Enter")
        page.locator("#cal-time textarea").fill(f"{now:%H:%M}")
        page.get_by_text("No, it is not made for kids").click()
        picks.get_by_label(ACCOUNTS[1]).uncheck()  # a second thought: TikTok is asked again, and answers slowly
        picks.get_by_label(ACCOUNTS[1]).check()
        privacy.get_by_text("Everyone").click()  # chosen while those answers are on their way
        page.locator("#cal-tt-allow_comment input").check()
        page.wait_for_timeout(4_000)  # every look asked above has answered
        assert privacy.locator("input:checked").count() == 1, "the creator's privacy choice was set back"
        assert page.locator("#cal-tt-allow_comment input").is_checked(), "the creator's comment choice was set back"
        tiktok.creator_info_delay_s = 0.0
        assert _overflow(page) <= 0, f"the form scrolls sideways by {_overflow(page)}px on a phone"
        page.locator("#cal-tt").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "1-phone-four-ticked.png"), full_page=True)
        tt.screenshot(path=str(tmp_path / "1-phone-tiktok-options.png"))

        # 4. One press: four posts, one per account
        page.locator("#cal-schedule").click()
        said = page.locator("#cal-said")
        expect(said).to_contain_text("✓ Scheduled", timeout=60_000)
        for label in ACCOUNTS:
            expect(said).to_contain_text(label)
        posts = api.get(studio.url + "/api/posts", headers=auth).json()["posts"]
        assert sorted(p["platform"] for p in posts) == ["facebook", "instagram", "tiktok", "youtube"], \
            said.inner_text()
        options = {p["platform"]: p["options"] for p in posts}
        assert options["youtube"]["made_for_kids"] is False and options["instagram"]["share_to_feed"] is True
        assert options["tiktok"] == {"synthetic_media": True, "privacy_level": "PUBLIC_TO_EVERYONE",
                                     "allow_comment": True, "allow_duet": False, "allow_stitch": False,
                                     "brand_organic": False, "brand_content": False}
        cell = page.locator(f'#cal-view [data-slot="{today}T{hour}"]')
        expect(cell.locator(".chip")).to_have_count(4, timeout=15_000)
        for mark in ("YT", "IG", "FB", "TT"):
            expect(cell.locator(f".chip:has(.pf:text-is('{mark}'))")).to_have_count(1)
        assert _overflow(page) <= 0
        page.locator("#cal-view").screenshot(path=str(tmp_path / "2-phone-four-chips.png"))

        # 5. The TikTok account turns private before the post goes out; a dispatcher posts all four
        tiktok.privacy_options = ["SELF_ONLY"]
        desk = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE, locale="en-GB",
                                   storage_state=phone.storage_state())
        wide = desk.new_page()
        wide.goto(studio.url + "/studio/")
        _open_calendar(wide)
        dispatch = Dispatch({**studio.env, "STUDIO_DISPATCH": "1", "STUDIO_DISPATCH_EVERY": "0.5"},
                            tmp_path / "dispatch.log")
        try:
            done = _until(lambda: (q := api.get(studio.url + "/api/posts", headers=auth).json()["posts"]) and all(
                x["status"] in ("posted", "failed", "unconfirmed") for x in q) and q, 240, "the four posts")
        finally:
            dispatch.stop()
        by = {x["platform"]: x for x in done}
        log = (tmp_path / "dispatch.log").read_text()[-3000:]
        assert [by[n]["status"] for n in ("youtube", "instagram", "facebook", "tiktok")] == \
            ["posted", "posted", "posted", "failed"], (done, log)

        # 6. Each chip turns to its own outcome; the page looks again by itself while posts are due or in flight
        chips = wide.locator(f'#cal-view [data-slot="{today}T{hour}"] .chip')
        for platform, words in (("youtube", "Posted"), ("instagram", "Posted"), ("facebook", "Posted"),
                                ("tiktok", "Failed")):
            expect(chips.locator(f'xpath=self::*[@data-platform="{platform}"]')).to_contain_text(words, timeout=40_000)
        refused = chips.locator('xpath=self::*[@data-platform="tiktok"]')
        expect(refused).to_contain_text("TikTok no longer offers")
        expect(wide.locator("#cal-view .cal-list")).to_contain_text("TikTok no longer offers")
        wide.screenshot(path=str(tmp_path / "3-desktop-outcomes.png"), full_page=True)
        page.locator("#cal-refresh").click()
        expect(cell.locator(".chip.st-posted")).to_have_count(3, timeout=15_000)
        expect(cell.locator(".chip.st-failed .pf")).to_have_text("TT")
        page.locator("#cal-view").screenshot(path=str(tmp_path / "4-phone-outcomes.png"))
        browser.close()

    assert len(youtube.videos) == 1 and len(meta.media) == 1 and len(meta.reels) == 1 and tiktok.posts == {}
