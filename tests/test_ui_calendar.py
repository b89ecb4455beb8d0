"""The Calendar tab without a browser: what its grids and accounts panel draw (studio.ui_calendar_html), the Connect
link's route (studio/web.py), and the tab being there only for signed-in creators. The whole flow in Chromium is
tests/test_calendar_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from studio.ui_calendar_html import (
    accounts_html,
    calendar_html,
    connect_notice,
    shift,
    window,
)
from tests.api_helpers import make_settings, signup

BERLIN = ZoneInfo("Europe/Berlin")
HOSTILE = '<img src=x onerror=alert(1)> {{constructor}} ${alert(2)} "quoted" & </div>'


def post(local: str, zone: str = "Europe/Berlin", **over) -> dict:
    at = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    view = {"id": f"p{abs(hash((local, zone))) % 10**8}", "short_id": "s1", "connection_id": "c1",
            "platform": "youtube", "status": "scheduled", "local_time": local, "timezone": zone,
            "publish_at": at.isoformat().replace("+00:00", "Z"), "text": {"title": "Morning habits"}, "options": {},
            "attempts": 0, "message": "", "error_code": None, "result": {}, "posted_at": None,
            "account": "My channel", "short_title": "Morning habits"}
    return {**view, **over}


def test_the_week_and_the_month_around_a_day():
    wed = date(2026, 12, 2)
    week = window("week", wed, BERLIN)
    assert (week.first, week.days) == (date(2026, 11, 30), 7)
    assert week.start == datetime(2026, 11, 29, 23, tzinfo=UTC)  # Monday 00:00 in Berlin (UTC+1 in winter)
    month = window("month", wed, BERLIN)
    assert month.first == date(2026, 11, 30) and month.days == 35 and month.dates()[-1] == date(2027, 1, 3)
    assert window("month", date(2026, 3, 15), BERLIN).days == 42  # March 2026 starts on a Sunday: six weeks
    assert shift("month", date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert shift("month", date(2026, 1, 10), -1) == date(2025, 12, 1)
    assert shift("week", wed, -1) == date(2026, 11, 25)


def test_a_post_sits_at_its_wall_time_in_the_creators_zone_across_a_dst_change():
    # Europe/Berlin moves its clocks on Sunday 29 March 2026: a post at 09:00 that day is at 09:00 on the grid
    posts = [post("2026-03-28T09:00"), post("2026-03-29T09:00"), post("2026-03-27T18:30")]
    html = calendar_html(posts, window("week", date(2026, 3, 26), BERLIN), date(2026, 3, 26))
    for when in ("2026-03-28T09", "2026-03-29T09", "2026-03-27T18"):
        cell = re.search(rf'data-slot="{when}"[^>]*>(.*?)</div></div>', html, re.S)
        assert cell and "Morning habits" in cell.group(1), when
    # the same post seen from New York: at its time there, saying when it is in its own zone
    ny = ZoneInfo("America/New_York")
    html = calendar_html([post("2026-03-29T09:00")], window("week", date(2026, 3, 26), ny), date(2026, 3, 26))
    assert 'data-slot="2026-03-29T03"' in html and "(09:00 in Europe/Berlin)" in html
    assert "Times in America/New_York" in html


def test_status_is_said_in_words_not_only_colour():
    posts = [post("2026-12-02T09:00", status="posted", result={"url": "https://www.youtube.com/watch?v=abc"}),
             post("2026-12-02T10:00", status="failed", message="YouTube refused it: too long."),
             post("2026-12-02T11:00", status="unconfirmed", message="Check it.",
                  result={"check": "https://studio.youtube.com/"}),
             post("2026-12-02T12:00", status="publishing"),
             post("2026-12-02T13:00", connection_id="gone-bad"),
             post("2026-12-02T14:00", status="posted", result={"publish_at": "2999-01-01T00:00:00Z"})]
    html = calendar_html(posts, window("week", date(2026, 12, 2), BERLIN), date(2026, 12, 1), reconnect={"gone-bad"},
                         labels={"youtube": "YouTube"})
    for css, words in (("posted", "Posted"), ("failed", "Failed"), ("unconfirmed", "Unconfirmed: check your account"),
                       ("publishing", "Publishing…"), ("reconnect", "Needs reconnecting"),
                       ("posted", "Uploaded: goes public at its time")):
        assert re.search(rf'class="chip st-{css}[^"]*".*?{re.escape(words)}', html, re.S), css
    assert 'href="https://www.youtube.com/watch?v=abc"' in html and "Open on YouTube" in html
    assert "YouTube refused it: too long." in html and "Check the account" in html
    # only waiting posts, and an upload YouTube holds until its time, can be dragged
    assert html.count('draggable="true"') == 3 and 'class="chip st-posted"' in html


def test_creator_and_platform_text_is_escaped_everywhere():
    bad = post("2026-12-02T09:00", text={"title": HOSTILE}, account=HOSTILE, message=HOSTILE, status="failed",
               result={"url": "javascript:alert(3)", "check": "data:text/html,x"}, id='x" onmouseover="alert(4)')
    html = calendar_html([bad], window("week", date(2026, 12, 2), BERLIN), date(2026, 12, 1),
                         labels={"youtube": HOSTILE})
    month = calendar_html([bad], window("month", date(2026, 12, 2), BERLIN), date(2026, 12, 1))
    for out in (html, month):
        assert "<img" not in out and 'onmouseover="' not in out and "javascript:" not in out and "data:text" not in out
        assert "&lt;img src=x onerror=alert(1)&gt;" in out
    panel = accounts_html([{"name": "youtube", "label": "YouTube", "configured": True, "settings_needed": [],
                            "notes": [HOSTILE], "accounts": [
                                {"id": "c1", "name": HOSTILE, "account_id": "UC1", "status": "needs_reconnect",
                                 "reason": HOSTILE, "link": "javascript:alert(5)"}]}], {"c1": ["09:00"]})
    assert "<img" not in panel and "javascript:" not in panel and "&lt;img" in panel


def test_the_accounts_panel():
    configured = {"name": "youtube", "label": "YouTube", "configured": True, "settings_needed": [],
                  "notes": ["Uploads from unaudited projects are private."], "accounts": [
                      {"id": "c1", "name": "Cats daily", "account_id": "UC1", "status": "active", "reason": "",
                       "link": "https://www.youtube.com/channel/UC1"},
                      {"id": "c2", "name": "Dogs daily", "account_id": "UC2", "status": "needs_reconnect",
                       "reason": "YouTube refused the refresh (invalid_grant).", "link": ""}]}
    html = accounts_html([configured], {"c1": ["09:00", "18:30"]})
    assert "Uploads from unaudited projects are private." in html
    assert "✓" in html and "preset times: 09:00, 18:30" in html
    assert re.search(r'role="alert">⚠ <b>Dogs daily needs reconnecting</b>: YouTube refused the refresh '
                     r'\(invalid_grant\)\. .*href="/studio/connect/youtube">Reconnect YouTube', html)
    assert 'href="/studio/connect/youtube">Connect another YouTube account' in html
    off = accounts_html([{**configured, "configured": False, "accounts": [],
                          "settings_needed": ["STUDIO_YOUTUBE_CLIENT_ID", "STUDIO_YOUTUBE_CLIENT_SECRET"]}], {})
    assert "Not configured" in off and "STUDIO_YOUTUBE_CLIENT_ID and STUDIO_YOUTUBE_CLIENT_SECRET" in off
    assert "/studio/connect/" not in off


def test_the_page_address_after_connecting_is_said_in_our_own_words():
    platforms = [{"name": "youtube", "label": "YouTube"}]
    assert "YouTube account connected" in connect_notice("?connected=youtube", platforms)
    assert connect_notice("?connected=<b>myspace</b>", platforms) == ""
    said = connect_notice("?connect_error=access_denied&connect_message=Call+0900+now", platforms)
    assert "You did not allow the studio" in said and "0900" not in said
    said = connect_notice("?connect_error=<script>x&connect_message=<script>", platforms)
    assert "<script" not in said and "(scriptx)" in said


@pytest.fixture
def web(tmp_path):
    from fastapi.testclient import TestClient

    from studio.settings import PublishSettings
    from studio.web import create_server

    def make(**publish):
        settings = make_settings(tmp_path / "home", publish=PublishSettings(**publish))
        return TestClient(create_server(settings, with_ui=False), follow_redirects=False)

    return make


def test_the_connect_link_starts_oauth_in_this_browser(web):
    client = web(youtube_client_id="cid", youtube_client_secret="secret",
                 google_auth_url="https://accounts.example/authorize")
    with client:
        assert client.get("/studio/connect/youtube").status_code == 401  # no session
        signup(client, "ada@example.com")  # the session cookies now ride along
        r = client.get("/studio/connect/youtube", headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 303
        to = urlsplit(r.headers["location"])
        q = parse_qs(to.query)
        assert f"{to.scheme}://{to.netloc}{to.path}" == "https://accounts.example/authorize"
        assert q["client_id"] == ["cid"] and q["redirect_uri"] == ["http://testserver/api/connections/youtube/callback"]
        assert q["code_challenge_method"] == ["S256"] and q["state"][0]
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("studio_connect=") and "Path=/api/connections" in cookie and "HttpOnly" in cookie
        # another site cannot start it for the creator; an unknown platform is said in words on the tab
        r = client.get("/studio/connect/youtube", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        r = client.get("/studio/connect/myspace")
        assert r.status_code == 303 and r.headers["location"] == "/studio/?connect_error=invalid_request"


def test_the_connect_link_says_when_the_platform_is_not_configured(web):
    with web() as client:
        signup(client, "ada@example.com")
        r = client.get("/studio/connect/youtube")
        assert r.status_code == 303 and r.headers["location"] == "/studio/?connect_error=platform_not_configured"


@pytest.mark.parametrize("auth_mode", ["local", "none"])
def test_the_calendar_tab_is_only_for_signed_in_creators(tmp_path, auth_mode):
    from fastapi.testclient import TestClient

    from studio.web import create_server

    settings = make_settings(tmp_path / "home", auth_mode=auth_mode)
    with TestClient(create_server(settings)) as client:
        if auth_mode == "local":
            signup(client, "ada@example.com")
        config = client.get("/studio/config").json()
        tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert ("Calendar" in tabs) is (auth_mode == "local"), tabs
