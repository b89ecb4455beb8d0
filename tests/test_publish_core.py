"""The publishing core's hooks that every platform module leans on, exercised with a small platform defined here
(registered like a built-in) against the local OAuth server: several accounts from one login, each kept with its
own token; a token refreshed for its age by the platform's own refresh (and a failed one not breaking posting); the
platform's refusal marking the account for reconnecting; comma-separated scopes; live posting options checked when
scheduling; and a Deferred post put back until its time without spending an attempt. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.errors import InvalidRequest
from studio.publishing.base import AuthRevoked, Deferred, NoReschedule, Posted, Transient
from studio.publishing.platforms import Account, OAuthSpec, PlatformBase, no_options
from studio.settings import PublishSettings
from studio.tables import Connection, Post, User
from tests.api_helpers import database_url, make_settings  # noqa: F401
from tests.fake_oauth import FakeOAuth
from tests.publish_helpers import deliver_one


class Echo(PlatformBase):
    """A platform whose behaviour each test sets on the class: what it answers, what it raises."""

    name, label = "echo", "Echo"
    settings_names = ("ECHO_ID",)
    notes = ()
    live_options = True
    upload_ahead = timedelta(minutes=10)
    oauth_base = ""
    refresh_after: timedelta | None = timedelta(days=1)
    own_refresh: object = None  # a dict answered by refresh(), an exception raised, or None (standard refresh)
    info: dict = {}
    outcomes: list = []  # what publish() does, one per call: an exception to raise or a Posted
    seen: list = []

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def oauth(self) -> OAuthSpec | None:
        b = self.oauth_base
        return OAuthSpec(authorize_url=b + "/authorize", token_url=b + "/token", revoke_url=None,
                         scopes=("read", "post"), pkce=False, client_id="echo-id", client_secret="echo-secret",
                         token_auth="client_secret_post", scope_separator=",", refresh_after=self.refresh_after)

    def accounts(self, token: dict) -> list[Account]:
        return [Account("page-1", "First page", token={"access_token": "page-token-1"}),
                Account("page-2", "Second page", token={"access_token": "page-token-2"})]

    def refresh(self, spec: OAuthSpec, token: dict) -> dict | None:
        Echo.seen.append(("refresh", token["access_token"]))
        if isinstance(Echo.own_refresh, Exception):
            raise Echo.own_refresh
        return Echo.own_refresh  # type: ignore[return-value]

    def posting_info(self, access_token: str) -> dict:
        Echo.seen.append(("info", access_token))
        return dict(Echo.info)

    def check_options(self, options: dict, info: dict) -> dict:
        out = no_options(options, ("level",))
        if options.get("level") not in info.get("levels", []):
            raise InvalidRequest(f"Choose a level: {', '.join(info.get('levels', []))}.", "Send options.level.")
        return {**out, "level": options["level"]}

    def publisher(self):
        return EchoPublisher()


class EchoPublisher(NoReschedule):
    platform = "echo"

    def publish(self, delivery, access_token, sink):
        Echo.seen.append(("publish", dict(delivery.handle)))
        outcome = Echo.outcomes.pop(0)
        if isinstance(outcome, dict):
            sink.save_handle(outcome)
            outcome = Echo.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def oauth():
    fake = FakeOAuth("echo-id", "echo-secret")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def hosted(tmp_path, database_url, oauth, monkeypatch, topic_short):  # noqa: F811
    from studio.hosted import Hosted
    from studio.publishing import platforms

    monkeypatch.setitem(platforms.BUILT_IN, "echo", f"{__name__}:Echo")
    monkeypatch.setattr(Echo, "oauth_base", oauth.base_url)
    for name, value in {"own_refresh": None, "info": {"levels": ["low", "high"]}, "outcomes": [], "seen": []}.items():
        monkeypatch.setattr(Echo, name, value)
    h = Hosted(make_settings(tmp_path / "home", database_url, publish=PublishSettings(dispatch=False)))
    with h.db.session() as s:
        s.add(User(id="ada", email="ada@example.com"))
    h.short_id = h.save_short("ada", None, topic_short)
    h._test_short = topic_short
    yield h
    h.db.dispose()


def _connect(hosted, oauth) -> list[dict]:
    started = hosted.connections.start("ada", "echo", "http://studio.test/cb")
    back = oauth.approve(started.authorize_url)
    from urllib.parse import parse_qs, urlsplit

    q = parse_qs(urlsplit(back).query)
    view = hosted.connections.finish(q["state"][0], q["code"][0], "http://studio.test/cb",
                                     browser_binding=started.browser_binding)
    return [view, *view.get("also_connected", [])]


def _rows(hosted) -> list[Connection]:
    with hosted.db.session() as s:
        return list(s.scalars(select(Connection).order_by(Connection.account_id)))


def test_one_login_brings_each_account_with_its_own_token_and_comma_scopes(hosted, oauth):
    views = _connect(hosted, oauth)
    assert [v["account_id"] for v in views] == ["page-1", "page-2"]
    rows = _rows(hosted)
    assert [hosted.token_box.open(r.token)["access_token"] for r in rows] == ["page-token-1", "page-token-2"]
    assert oauth.authorizations[0]["scope"] == "read,post"  # the platform's separator, not a space
    assert hosted.connections.access_token(rows[1].id) == "page-token-2"
    assert all(r.scopes == ["read", "post"] for r in rows)


def _age(hosted, row: Connection, seconds: float) -> None:
    token = hosted.token_box.open(row.token)
    token["issued_at"] = int(time.time() - seconds)
    with hosted.db.session() as s:
        s.get(Connection, row.id).token = hosted.token_box.seal(token)


def test_a_token_a_day_old_is_refreshed_by_the_platforms_own_refresh(hosted, oauth):
    _connect(hosted, oauth)
    row = _rows(hosted)[0]
    assert hosted.connections.access_token(row.id) == "page-token-1" and not Echo.seen  # young: used as it is
    _age(hosted, row, 86400 + 5)
    Echo.own_refresh = {"access_token": "renewed", "token_type": "bearer", "expires_in": 60 * 86400}
    assert hosted.connections.access_token(row.id) == "renewed"
    assert Echo.seen == [("refresh", "page-token-1")]
    stored = hosted.token_box.open(_rows(hosted)[0].token)
    assert stored["access_token"] == "renewed" and stored["issued_at"] >= time.time() - 5
    assert _rows(hosted)[0].expires_at is not None  # expires_in became an expiry
    assert hosted.connections.access_token(row.id) == "renewed" and len(Echo.seen) == 1  # young again


def test_an_age_refresh_that_fails_for_now_keeps_posting_with_the_token_in_hand(hosted, oauth):
    _connect(hosted, oauth)
    row = _rows(hosted)[0]
    _age(hosted, row, 2 * 86400)
    Echo.own_refresh = Transient("Echo did not answer.")
    assert hosted.connections.access_token(row.id) == "page-token-1"
    assert _rows(hosted)[0].status == "active" and _rows(hosted)[0].token_version % 2 == 0  # claim ended


def test_the_platform_refusing_its_refresh_marks_the_account_for_reconnecting(hosted, oauth):
    _connect(hosted, oauth)
    row = _rows(hosted)[0]
    _age(hosted, row, 2 * 86400)
    Echo.own_refresh = AuthRevoked("Echo refused the refresh (the user removed the app).")
    with pytest.raises(AuthRevoked, match="needs reconnecting"):
        hosted.connections.access_token(row.id)
    after = _rows(hosted)[0]
    assert after.status == "needs_reconnect" and "removed the app" in after.error


def _spec(hosted, conn_id: str, at: datetime, **options):
    from studio.publishing.posts import PostSpec

    return PostSpec(hosted.short_id, conn_id, at.strftime("%Y-%m-%dT%H:%M"), "UTC",
                    text={"title": "t", "caption": "c", "hashtags": []}, options=options)


def test_live_posting_options_are_asked_and_checked_when_scheduling(hosted, oauth):
    _connect(hosted, oauth)
    conn = _rows(hosted)[0].id
    info = hosted.posts.posting_info("ada", conn)
    assert info["live"] is True and info["levels"] == ["low", "high"] and info["account"] == "First page"
    at = datetime.now(UTC) + timedelta(hours=3)
    with pytest.raises(InvalidRequest, match="Choose a level: low, high"):
        hosted.posts.schedule("ada", _spec(hosted, conn, at))
    Echo.info = {"levels": ["low"]}  # what the platform offers now decides
    with pytest.raises(InvalidRequest, match="Choose a level: low"):
        hosted.posts.schedule("ada", _spec(hosted, conn, at, level="high"))
    post, made = hosted.posts.schedule("ada", _spec(hosted, conn, at, level="low"))
    assert made and post["options"] == {"synthetic_media": True, "level": "low"}
    with pytest.raises(InvalidRequest, match="Unknown option 'privacy'"):
        hosted.posts.schedule("ada", _spec(hosted, conn, at, level="low", privacy="public"))


def test_a_deferred_post_waits_without_spending_an_attempt_and_keeps_its_handle(hosted, oauth):
    from studio.publishing.dispatch import Dispatcher

    _connect(hosted, oauth)
    conn = _rows(hosted)[0].id
    at = datetime.now(UTC) + timedelta(minutes=5)  # inside the platform's 10 minutes ahead: due now
    post, _ = hosted.posts.schedule("ada", _spec(hosted, conn, at, level="low"))
    d = Dispatcher(hosted, name="here")
    Echo.outcomes = [{"prepared": "c-1"}, Deferred("Prepared; published at its time.", until=at)]
    assert deliver_one(d) == "deferred"
    with hosted.db.session() as s:
        row = s.get(Post, post["id"])
        assert (row.status, row.attempts, row.handle) == ("publishing", 0, {"prepared": "c-1"})
        assert row.next_try_at.replace(tzinfo=UTC) == at
        assert "published at its time" in row.message
    assert d.claim(1) == []  # not before its time
    with hosted.db.session() as s:  # its time comes
        s.get(Post, post["id"]).next_try_at = datetime.now(UTC) - timedelta(seconds=1)
    Echo.outcomes = [Posted("r-1", "https://echo.test/r-1")]
    [claimed] = d.claim(1)
    assert claimed.handle == {"prepared": "c-1"}  # the publisher continues from what it saved
    assert d.deliver(claimed) == "posted"
    assert Echo.seen[-1] == ("publish", {"prepared": "c-1"})
    with hosted.db.session() as s:
        row = s.get(Post, post["id"])
        assert (row.status, row.attempts, row.result["remote_id"]) == ("posted", 1, "r-1")


def test_a_platform_limit_defers_a_post_that_had_not_started(hosted, oauth):
    from studio.publishing.dispatch import Dispatcher

    _connect(hosted, oauth)
    conn = _rows(hosted)[0].id
    post, _ = hosted.posts.schedule("ada", _spec(hosted, conn, datetime.now(UTC), level="low"))
    later = datetime.now(UTC) + timedelta(hours=1)
    Echo.outcomes = [Deferred("Echo's limit of 2 posts a day is reached (2 used).", until=later)]
    d = Dispatcher(hosted, name="here")
    assert deliver_one(d) == "deferred"
    with hosted.db.session() as s:
        row = s.get(Post, post["id"])
        assert (row.status, row.attempts, row.handle) == ("scheduled", 0, {})
        assert "limit of 2 posts" in row.message and row.error_code == "deferred"
    assert d.claim(1) == []


def test_the_api_shows_live_posting_options_and_names_a_wrong_option(hosted, oauth):
    from fastapi.testclient import TestClient

    from studio.api.app import create_api
    from tests.api_helpers import bearer, signup

    with TestClient(create_api(hosted)) as client:
        who = signup(client, "grace@example.com")
        owner = who["user"]["id"]
        started = hosted.connections.start(owner, "echo", "http://studio.test/cb")
        from urllib.parse import parse_qs, urlsplit

        q = parse_qs(urlsplit(oauth.approve(started.authorize_url)).query)
        conn = hosted.connections.finish(q["state"][0], q["code"][0], "http://studio.test/cb", owner=owner)["id"]
        short_id = hosted.save_short(owner, None, hosted_short(hosted))
        r = client.get(f"/api/connections/{conn}/posting", headers=bearer(who))
        assert r.status_code == 200 and r.json()["levels"] == ["low", "high"] and r.json()["platform"] == "echo"
        assert client.get(f"/api/connections/{conn}/posting").status_code == 401
        other = signup(client, "eve@example.com")
        assert client.get(f"/api/connections/{conn}/posting", headers=bearer(other)).status_code == 404
        at = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        body = {"short_id": short_id, "connection_id": conn, "local_time": at, "timezone": "UTC",
                "options": {"made_for_kids": False}}
        r = client.post("/api/posts", headers=bearer(who), json=body)
        assert r.status_code == 422 and "Unknown option 'made_for_kids'" in r.text, r.text  # YouTube's, named
        r = client.post("/api/posts", headers=bearer(who), json={**body, "options": {"level": "high"}})
        assert r.status_code == 422 and "level" in r.text  # not an option of any platform: the schema refuses it
        body["options"] = {}
        r = client.post("/api/posts", headers=bearer(who), json=body)
        assert r.status_code == 422 and "Choose a level" in r.text


def hosted_short(hosted):
    return hosted._test_short


def test_a_failed_post_moved_starts_afresh_without_its_old_handle(hosted, oauth):
    _connect(hosted, oauth)
    conn = _rows(hosted)[0].id
    post, _ = hosted.posts.schedule("ada", _spec(hosted, conn, datetime.now(UTC) + timedelta(hours=1), level="low"))
    with hosted.db.session() as s:  # the platform refused it after its handle was saved (TikTok's FAILED)
        row = s.get(Post, post["id"])
        row.status, row.handle, row.attempts = "failed", {"publish_id": "p-1", "final_sent": True}, 3
    at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    moved = hosted.posts.reschedule("ada", post["id"], local_time=at)
    assert moved["status"] == "scheduled" and moved["attempts"] == 0
    with hosted.db.session() as s:
        assert s.get(Post, post["id"]).handle == {}
