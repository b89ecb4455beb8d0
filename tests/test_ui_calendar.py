"""The Calendar tab without a browser: what its grids and accounts panel draw (studio.ui_calendar_html), the Connect
link's route (studio/web.py), and the tab being there only for signed-in creators. The whole flow in Chromium is
tests/test_calendar_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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


# -- the schedule form: one press, one post per ticked account, each with its own platform's options ---------------
def test_each_post_on_the_same_hour_has_its_own_chip_with_its_platform_and_status():
    labels = {"youtube": "YouTube", "instagram": "Instagram", "facebook": "Facebook", "tiktok": "TikTok"}
    posts = [post("2026-12-02T09:00", id="p-yt", status="posted"),
             post("2026-12-02T09:00", id="p-ig", platform="instagram", status="scheduled", error_code="deferred",
                  message="Instagram's publishing limit for this account is reached: 100 of 100 posts in 24 h."),
             post("2026-12-02T09:00", id="p-fb", platform="facebook", status="publishing"),
             post("2026-12-02T09:00", id="p-tt", platform="tiktok", status="failed",
                  message="TikTok no longer offers 'PUBLIC_TO_EVERYONE' for this account.")]
    for view in ("week", "month"):
        html = calendar_html(posts, window(view, date(2026, 12, 2), BERLIN), date(2026, 12, 1), labels=labels)
        chips = dict(re.findall(r'<div class="chip [^"]*" data-id="([^"]+)"(.*?)</div>', html, re.S))
        assert set(chips) == {"p-yt", "p-ig", "p-fb", "p-tt"}, view
        for pid, mark, words in (("p-yt", "YT", "Posted"), ("p-ig", "IG", "Waiting for Instagram"),
                                 ("p-fb", "FB", "Publishing…"), ("p-tt", "TT", "Failed")):
            assert f">{mark}</span>" in chips[pid] and words in chips[pid], (view, pid)
    week = calendar_html(posts, window("week", date(2026, 12, 2), BERLIN), date(2026, 12, 1), labels=labels)
    # why it waits or failed is on the chip where there is room, and in the list under the grid
    assert re.search(r'class="chip-msg">Instagram&#x27;s publishing limit', week)
    assert re.search(r'class="cal-msg">Instagram&#x27;s publishing limit', week)
    assert re.search(r'class="chip-msg">TikTok no longer offers', week)


@pytest.fixture
def studio_four(tmp_path):
    """A hosted studio with a creator, a short and four connected accounts (TikTok's creator_info on a local fake)."""
    from studio.hosted import Hosted
    from studio.settings import PublishSettings
    from studio.tables import Short, User
    from studio.ui_hooks import Account, UiHooks
    from tests.fake_tiktok import FakeTikTok
    from tests.publish_helpers import connect_account

    tiktok = FakeTikTok(tokens=("tt-token",))
    tiktok.start()
    publish = PublishSettings(tiktok_client_key="key", tiktok_client_secret="secret", tiktok_api_url=tiktok.base_url,
                              dispatch=False)
    hosted = Hosted(make_settings(tmp_path / "home", publish=publish))
    with hosted.db.session() as s:
        s.add(User(id="ada", email="ada@example.com", password_hash="x"))
        s.flush()
        s.add(Short(id="short1", owner_id="ada", title="Morning habits", files={}))
    ids = {name: connect_account(hosted, "ada", platform=name, account_id=f"{name}-1", name=who,
                                 access_token="tt-token" if name == "tiktok" else "test-token")
           for name, who in (("youtube", "Fake channel"), ("instagram", "fake.creator"), ("facebook", "Fake Bakery"),
                             ("tiktok", "Fake Creator"))}
    hooks, who = UiHooks(hosted), Account(owner="ada", user=None, ip="127.0.0.1")
    yield hooks, who, ids, tiktok
    tiktok.stop()
    hosted.db.dispose()


def _form(ids: dict, **over):
    from studio.ui_calendar_form import ScheduleForm, TikTokChoice

    tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    base = dict(short_id="short1", accounts=tuple(ids.values()), local_time=tomorrow, timezone="Europe/Berlin",
                text=None, made_for_kids=False, share_to_feed=False,
                tiktok=TikTokChoice("MUTUAL_FOLLOW_FRIENDS", allow_comment=True, disclose=True,
                                    brands=("brand_organic",)))
    return ScheduleForm(**{**base, **over})


def _press(hooks, who, form, key="press-1"):
    from studio.ui_calendar_form import schedule_all

    return schedule_all(lambda spec, k: hooks.schedule(who, spec, k), form, hooks.platforms(who), key)


def test_one_press_makes_one_post_per_ticked_account_with_its_platforms_options(studio_four):
    from studio.ui_calendar_form import account_choices, outcome_html

    hooks, who, ids, _ = studio_four
    assert [label for label, _ in account_choices(hooks.platforms(who))] == [
        "YouTube · Fake channel", "Instagram · @fake.creator", "Facebook Page · Fake Bakery", "TikTok · Fake Creator"]
    outcomes = _press(hooks, who, _form(ids))
    assert [(o.label, o.made, o.refused) for o in outcomes] == [
        ("YouTube · Fake channel", True, ""), ("Instagram · @fake.creator", True, ""),
        ("Facebook Page · Fake Bakery", True, ""), ("TikTok · Fake Creator", True, "")]
    options = {p["platform"]: p["options"] for p in hooks.posts(who, None, None)}
    assert options == {
        "youtube": {"synthetic_media": True, "privacy": "public", "made_for_kids": False},
        "instagram": {"synthetic_media": True, "share_to_feed": False},
        "facebook": {"synthetic_media": True},
        "tiktok": {"synthetic_media": True, "privacy_level": "MUTUAL_FOLLOW_FRIENDS", "allow_comment": True,
                   "allow_duet": False, "allow_stitch": False, "brand_organic": True, "brand_content": False}}
    said = outcome_html(outcomes, "tomorrow at 09:00", "Europe/Berlin", "Morning habits")
    assert "✓ Scheduled “Morning habits”" in said and "TikTok · Fake Creator" in said
    # the same press again (a double click): each account's key answers the post made the first time
    again = _press(hooks, who, _form(ids))
    assert [o.made for o in again] == [False] * 4 and {o.post["id"] for o in again} == {o.post["id"] for o in outcomes}
    assert len(hooks.posts(who, None, None)) == 4
    assert "Already scheduled" in outcome_html(again, "tomorrow at 09:00", "Europe/Berlin")


def test_tiktok_with_no_privacy_chosen_is_refused_in_words_and_the_others_still_go(studio_four):
    from studio.ui_calendar_form import TikTokChoice, outcome_html

    hooks, who, ids, _ = studio_four
    outcomes = _press(hooks, who, _form(ids, tiktok=TikTokChoice()))
    assert [o.made for o in outcomes] == [True, True, True, False]
    said = outcome_html(outcomes, "tomorrow at 09:00", "Europe/Berlin")
    assert ("✗ Not scheduled to TikTok · Fake Creator: Choose who can see it on TikTok: nothing is chosen for you."
            in said), said
    assert sorted(p["platform"] for p in hooks.posts(who, None, None)) == ["facebook", "instagram", "youtube"]


def test_one_refusal_does_not_stop_the_others(studio_four):
    from studio.ui_calendar_form import TikTokChoice

    hooks, who, ids, tiktok = studio_four
    # YouTube's unanswered question, and TikTok no longer offering what was chosen (asked live while scheduling)
    tiktok.privacy_options = ["SELF_ONLY"]
    outcomes = _press(hooks, who, _form(ids, made_for_kids=None, tiktok=TikTokChoice("PUBLIC_TO_EVERYONE")))
    refused = {o.label: o.refused for o in outcomes if not o.made}
    assert refused.keys() == {"YouTube · Fake channel", "TikTok · Fake Creator"}
    assert refused["YouTube · Fake channel"].startswith("Say whether the short is made for kids")
    assert "PUBLIC_TO_EVERYONE" in refused["TikTok · Fake Creator"] and "SELF_ONLY" in refused["TikTok · Fake Creator"]
    assert sorted(p["platform"] for p in hooks.posts(who, None, None)) == ["facebook", "instagram"]
    # TikTok down: said for that account; the others were scheduled all the same
    tiktok.api_errors["/v2/post/publish/creator_info/query/"] = (500, "internal_error")
    outcomes = _press(hooks, who, _form(ids, tiktok=TikTokChoice("SELF_ONLY")), key="press-2")
    assert [o.made for o in outcomes] == [True, True, True, False] and outcomes[3].refused


def test_tiktoks_own_rules_are_said_before_anything_is_sent():
    from models.errors import InvalidRequest
    from studio.ui_calendar_form import TikTokChoice, options_for

    def refusal(choice):
        with pytest.raises(InvalidRequest) as got:
            options_for("tiktok", _form({}, tiktok=choice))
        return got.value.message

    assert "Branded content cannot be posted as “Only me”" in refusal(
        TikTokChoice("SELF_ONLY", disclose=True, brands=("brand_content",)))
    assert "Say what the TikTok post promotes" in refusal(TikTokChoice("SELF_ONLY", disclose=True))
    # brands ticked and then the disclosure turned off: nothing is disclosed
    assert options_for("tiktok", _form({}, tiktok=TikTokChoice("SELF_ONLY", brands=("brand_content",))))[
        "brand_content"] is False
    assert options_for("facebook", _form({}, synthetic_media=False)) == {"synthetic_media": False}


def test_tiktoks_live_answer_in_the_form():
    from studio.errors import UpstreamUnavailable
    from studio.ui_calendar_form import tiktok_terms, tiktok_view

    one = {"nickname": "Fake Creator", "username": "fakecreator", "comment_disabled": True, "max_duration_s": 60,
           "privacy_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]}
    two = {"nickname": "Cats", "privacy_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"], "max_duration_s": 600}
    shown = tiktok_view([("TikTok · Fake Creator", one), ("TikTok · Cats", two)], seconds=75)
    assert "Posting to TikTok as <b>Fake Creator</b> (@fakecreator)" in shown.about and "<b>Cats</b>" in shown.about
    assert shown.privacy == [("Only me", "SELF_ONLY")]  # what every ticked account allows
    assert shown.locked == {"allow_comment": "Fake Creator turned comments off in TikTok's settings"}
    assert "This short lasts 75 s; TikTok takes up to 60 s from Fake Creator" in shown.about
    assert "audit" in shown.about and "“Only me”" in shown.about
    down = tiktok_view([("TikTok · Cats", UpstreamUnavailable("TikTok did not answer.", "Try again in a minute."))],
                       seconds=None)
    assert "Could not ask TikTok how TikTok · Cats may post: TikTok did not answer." in down.about
    assert down.privacy == [] and "The other accounts still schedule." in down.about
    terms = tiktok_terms(True, ["brand_content"], "SELF_ONLY")
    assert "Paid partnership" in terms and "Branded Content Policy" in terms and "cannot be “Only me”" in terms
    assert "Music Usage Confirmation" in tiktok_terms(False, [], None)
