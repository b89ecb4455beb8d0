"""The Calendar tab in Debian's Chromium against a real `studio serve`, with Google's addresses pointed at a local
OAuth server and a local YouTube (tests/fake_oauth.py, tests/fake_youtube.py): connect a channel through the Connect
link, schedule a real rendered short for tomorrow at 09:00 in the browser's time zone, see it on the calendar, drag
it to 10:00, and let a dispatcher post it.

The server's own dispatcher uploads YouTube posts only an hour ahead, so it leaves tomorrow's post alone; once the
post has been dragged, a `studio dispatch` process started with STUDIO_YOUTUBE_UPLOAD_AHEAD_HOURS=48 uploads it (as
a deployment that uploads two days ahead would), private with publishAt at the dragged time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fake_oauth import FakeOAuth
from tests.fake_youtube import FakeYouTube
from tests.test_serve import ROOT, Server
from tests.ui_client import open_tab

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ZONE = "Europe/Berlin"
CLIENT_ID, CLIENT_SECRET = "calendar-test.apps.googleusercontent.com", "calendar-test-secret"
SCRIPT = "Cats sleep most of the day. They dream of fish and sunny windows."
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.slow,  # a real short is rendered first: about half a minute on two cores
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)"),
]


@pytest.fixture
def google():
    oauth, youtube = FakeOAuth(CLIENT_ID, CLIENT_SECRET), FakeYouTube(tokens=())
    oauth.start()
    youtube.start()
    oauth.on_token, oauth.on_revoke = youtube.tokens.add, youtube.tokens.discard  # what Google issued works there
    yield oauth, youtube
    oauth.stop()
    youtube.stop()


@pytest.fixture
def studio(tmp_path, google):
    oauth, youtube = google
    server = Server(tmp_path / "home", STUDIO_YOUTUBE_CLIENT_ID=CLIENT_ID, STUDIO_YOUTUBE_CLIENT_SECRET=CLIENT_SECRET,
                    STUDIO_GOOGLE_AUTH_URL=oauth.base_url + "/authorize",
                    STUDIO_GOOGLE_TOKEN_URL=oauth.base_url + "/token",
                    STUDIO_GOOGLE_REVOKE_URL=oauth.base_url + "/revoke", STUDIO_YOUTUBE_API_URL=youtube.base_url + "/",
                    STUDIO_DISPATCH_EVERY="0.5", STUDIO_YOUTUBE_UPLOAD_AHEAD_HOURS="1",
                    GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    (tmp_path / "home").mkdir()
    server.start()
    yield server
    server.stop()


class Dispatch:
    """`studio dispatch` in its own process, on the server's database and storage."""

    def __init__(self, env: dict, log: Path) -> None:
        self.log = open(log, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "dispatch"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def _until(predicate, timeout: float, what: str, every: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _open_calendar(page) -> None:
    """As a creator does: the tab, or on a phone the tab bar's "More tabs" menu, then Calendar."""
    open_tab(page, "Calendar")
    page.locator("#cal-view .cal").wait_for(timeout=30_000)


def _chip_in(page, slot: str):
    """The chip in the calendar's cell ``slot``, going one week (or month) later when that cell is not in the one
    shown (a page opened on a Sunday shows the week before tomorrow's)."""
    if page.locator(f'#cal-view [data-slot="{slot}"]').count() == 0:
        page.locator("#cal-next").click()
    chip = page.locator(f'#cal-view [data-slot="{slot}"] .chip')
    chip.wait_for(timeout=15_000)
    return chip


def test_connect_schedule_drag_and_the_dispatcher_posts_it(studio, google, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    oauth, youtube = google
    tomorrow = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).date().isoformat()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE, locale="en-GB")
        api = context.request

        # 1. A creator signs up in this browser (the session cookies land in it) and has a real rendered short
        r = api.post(studio.url + "/api/auth/signup", data={"email": "ada@example.com", "password": PASSWORD})
        assert r.status == 201, r.text()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(studio.url + "/api/shorts", headers=auth, data={"script": SCRIPT, "profile": "offline"})
        assert r.status == 202, r.text()
        job_id = r.json()["id"]
        job = _until(lambda: (j := api.get(f"{studio.url}/api/jobs/{job_id}", headers=auth).json())["status"]
                     in ("succeeded", "failed") and j, 300, "the short")
        assert job["status"] == "succeeded", job
        short_id = job["short"]["id"]

        # 2. The Calendar tab: YouTube is configured, with what to know before connecting; no account yet
        page = context.new_page()
        page.goto(studio.url + "/studio/")
        _open_calendar(page)
        accounts = page.locator("#cal-accounts")
        said = accounts.inner_text()
        assert "private" in said and "quota" in said and "3 minutes" in said, said
        assert page.locator("#cal-zone input").input_value() == ZONE  # the browser's own zone, shown

        # 3. Connect: the link starts OAuth in this browser; the fake Google approves and sends it back
        accounts.get_by_role("link", name="Connect a YouTube account").click()
        page.wait_for_url("**/studio/**", timeout=30_000)
        expect(page.locator("#cal-notice")).to_contain_text("YouTube account connected", timeout=30_000)
        assert "connected=" not in page.url  # the address is cleaned: a reload does not say it again
        expect(accounts).to_contain_text("Fake Channel", timeout=15_000)
        expect(accounts.locator(".acct-ok")).to_contain_text("connected")
        assert oauth.exchanges == 1 and len(oauth.authorizations) == 1
        connection_id = api.get(studio.url + "/api/connections", headers=auth).json()["connections"][0]["id"]

        # 4. Preset times for the account, offered as one-click choices when scheduling to it
        page.locator("#cal-slot-text textarea").fill("18:30, 9:00")
        page.locator("#cal-save-slots").click()
        expect(accounts).to_contain_text("preset times: 09:00, 18:30", timeout=15_000)

        # 5. Schedule the short for tomorrow 09:00: its post.json text for Shorts is prefilled
        expect(page.locator("#cal-title textarea")).not_to_have_value("", timeout=15_000)
        assert page.locator("#cal-day input").first.input_value().startswith(tomorrow)
        page.locator("#cal-slots").get_by_text("09:00").click()
        expect(page.locator("#cal-time textarea")).to_have_value("09:00")
        page.get_by_text("No, it is not made for kids").click()
        assert page.locator("#cal-ai input").is_checked()  # the AI label is on by default
        title = page.locator("#cal-title textarea").input_value()
        page.locator("#cal-schedule").click()
        expect(page.locator("#cal-said")).to_contain_text("Scheduled", timeout=30_000)
        chip = page.locator(f'#cal-view [data-slot="{tomorrow}T09"] .chip')
        expect(chip).to_have_count(1, timeout=15_000)
        expect(chip).to_contain_text("09:00")
        expect(chip).to_contain_text("Scheduled")
        expect(chip).to_contain_text("YouTube")
        posts = api.get(studio.url + "/api/posts", headers=auth).json()["posts"]
        assert [(p["short_id"], p["connection_id"], p["local_time"], p["timezone"], p["status"]) for p in posts] == \
            [(short_id, connection_id, f"{tomorrow}T09:00", ZONE, "scheduled")]
        assert posts[0]["options"] == {"privacy": "public", "synthetic_media": True, "made_for_kids": False}
        assert posts[0]["text"]["title"] == title
        page.screenshot(path=str(tmp_path / "1-scheduled-desktop.png"), full_page=True)

        # 6. Drag the chip to 10:00 the same day
        target = page.locator(f'#cal-view [data-slot="{tomorrow}T10"]')
        # the hour under it on screen too: a drag onto a cell below the fold never starts (the page scrolls first)
        chip.evaluate("e => e.scrollIntoView({block: 'center'})")
        chip.drag_to(target)
        expect(page.locator("#cal-moved")).to_contain_text("Moved", timeout=30_000)
        expect(target.locator(".chip")).to_have_count(1, timeout=15_000)
        expect(page.locator(f'#cal-view [data-slot="{tomorrow}T09"] .chip')).to_have_count(0)
        post = api.get(f"{studio.url}/api/posts/{posts[0]['id']}", headers=auth).json()
        assert (post["local_time"], post["timezone"], post["status"]) == (f"{tomorrow}T10:00", ZONE, "scheduled")
        publish_at = datetime.fromisoformat(f"{tomorrow}T10:00").replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
        assert datetime.fromisoformat(post["publish_at"].replace("Z", "+00:00")) == publish_at
        page.screenshot(path=str(tmp_path / "2-dragged-desktop.png"), full_page=True)

        # 7. On a phone: the same tab fits the screen, the chips readable
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                    has_touch=True, timezone_id=ZONE, storage_state=context.storage_state())
        small = phone.new_page()
        small.goto(studio.url + "/studio/")
        _open_calendar(small)
        on_phone = _chip_in(small, f"{tomorrow}T10")
        assert _overflow(small) <= 0, f"the Calendar tab scrolls sideways by {_overflow(small)}px on a phone"
        shown = on_phone.evaluate("""e => {const t = e.querySelector('.chip-time'), r = e.getBoundingClientRect();
            return {size: parseFloat(getComputedStyle(e).fontSize), cut: t.scrollWidth > t.clientWidth,
                    text: t.innerText, left: r.left, right: r.right}}""")
        assert shown["size"] >= 11 and not shown["cut"] and shown["text"] == "10:00", shown
        assert 0 <= shown["left"] and shown["right"] <= 390, shown  # the whole week fits: no day off screen
        small.screenshot(path=str(tmp_path / "3-phone.png"), full_page=True)
        small.locator("#cal-view").screenshot(path=str(tmp_path / "3-phone-calendar.png"))
        # no dragging on a touch screen: a tap picks the post, to move it with the date and time fields
        on_phone.tap()
        expect(small.locator("#cal-move-time textarea")).to_have_value("10:00", timeout=15_000)
        assert small.locator("#cal-move-day input").first.input_value() == tomorrow
        small.locator("#cal-viewpick").get_by_text("Month").click()
        small.locator("#cal-view .cal-month").wait_for(timeout=15_000)
        _chip_in(small, tomorrow)
        assert _overflow(small) <= 0
        small.locator("#cal-view").screenshot(path=str(tmp_path / "4-phone-month.png"))
        phone.close()
        assert youtube.videos == {}  # nothing was uploaded yet: the server's dispatcher looks one hour ahead

        # 8. A dispatcher that uploads two days ahead starts now and posts it: private, publishAt the dragged time
        dispatch = Dispatch({**studio.env, "STUDIO_YOUTUBE_UPLOAD_AHEAD_HOURS": "48", "STUDIO_DISPATCH_EVERY": "0.5"},
                            tmp_path / "dispatch.log")
        try:
            done = _until(lambda: (q := api.get(f"{studio.url}/api/posts/{post['id']}", headers=auth).json())[
                "status"] in ("posted", "failed", "unconfirmed") and q, 180, "the post to be posted")
        finally:
            dispatch.stop()
        assert done["status"] == "posted", (done, (tmp_path / "dispatch.log").read_text()[-3000:])
        page.locator("#cal-refresh").click()
        posted = page.locator(f'#cal-view [data-slot="{tomorrow}T10"] .chip')
        # uploaded private with publishAt: YouTube makes it public at its time, and the chip says so
        expect(posted).to_contain_text("Uploaded: goes public at its time", timeout=30_000)
        link = posted.get_by_role("link", name="Open on YouTube")
        assert done["result"]["remote_id"] in link.get_attribute("href")
        page.screenshot(path=str(tmp_path / "5-posted-desktop.png"), full_page=True)
        [video] = youtube.videos.values()
        assert video["status"]["privacyStatus"] == "private"
        assert datetime.fromisoformat(video["status"]["publishAt"].replace("Z", "+00:00")) == publish_at

        # 9. The upload waits for its time on YouTube: moving it to 11:00 (click it, change its time) moves its
        #    publishAt there with videos.update, and it is not uploaded again
        later = page.locator(f'#cal-view [data-slot="{tomorrow}T11"]')
        posted.locator(".chip-time").click()
        expect(page.locator("#cal-move-time textarea")).to_have_value("10:00", timeout=15_000)
        page.locator("#cal-move-time textarea").fill("11:00")
        page.locator("#cal-move").click()
        expect(page.locator("#cal-moved")).to_contain_text(f"{tomorrow} at 11:00", timeout=30_000)
        expect(later.locator(".chip")).to_contain_text("Uploaded", timeout=30_000)
        publish_at = datetime.fromisoformat(f"{tomorrow}T11:00").replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
        browser.close()

    assert len(youtube.videos) == 1 and len(youtube.session_starts()) == 1 and len(youtube.updates) == 1
    video = next(iter(youtube.videos.values()))
    assert video["status"]["privacyStatus"] == "private"
    assert datetime.fromisoformat(video["status"]["publishAt"].replace("Z", "+00:00")) == publish_at
    assert video["status"]["selfDeclaredMadeForKids"] is False
