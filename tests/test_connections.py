"""Connected accounts over OAuth 2, through the routes, against a local authorization server (tests/fake_oauth.py)
and the fake YouTube API (tests/fake_youtube.py) with the real YouTube platform: connect, state and PKCE checks,
replays, refresh before expiry (once, with two refreshers at once), a refused refresh, revoke on delete, tenancy,
and no secret in any log. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from studio.publishing.base import AuthRevoked, Transient
from studio.settings import PublishSettings
from studio.tables import Connection, OAuthState, now
from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401
from tests.fake_oauth import FakeOAuth
from tests.fake_youtube import FakeYouTube

CLIENT_ID, CLIENT_SECRET = "studio-client.apps.example", "client-secret-" + "s" * 24


@pytest.fixture
def oauth():
    fake = FakeOAuth(CLIENT_ID, CLIENT_SECRET)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def youtube(oauth):
    fake = FakeYouTube(tokens=())
    fake.start()
    oauth.on_token, oauth.on_revoke = fake.tokens.add, fake.tokens.discard  # the fake API takes what was issued
    yield fake
    fake.stop()


def publish_settings(oauth: FakeOAuth, youtube: FakeYouTube) -> PublishSettings:
    return PublishSettings(youtube_client_id=CLIENT_ID, youtube_client_secret=CLIENT_SECRET,
                           youtube_api_url=youtube.base_url + "/", google_auth_url=oauth.base_url + "/authorize",
                           google_token_url=oauth.base_url + "/token", google_revoke_url=oauth.base_url + "/revoke")


def serve(home, database_url, publish: PublishSettings | None = None):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(home, database_url, login_per_minute=1000,
                                  **({"publish": publish} if publish else {})))
    client = TestClient(create_api(hosted))
    client.hosted = hosted
    return client


@pytest.fixture
def client(tmp_path, database_url, oauth, youtube):  # noqa: F811
    with serve(tmp_path / "home", database_url, publish_settings(oauth, youtube)) as c:
        yield c
    c.hosted.db.dispose()


def start(client, who, **body) -> str:
    r = client.post("/api/connections/youtube/start", headers=bearer(who), json=body or None)
    assert r.status_code == 200, r.text
    return r.json()["authorize_url"]


def callback(client, back: str):
    """The browser arriving back from the platform at the studio's callback."""
    parts = urlsplit(back)
    assert parts.path == "/api/connections/youtube/callback", back
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def outcome(r) -> tuple[str, dict]:
    assert r.status_code == 303, r.text
    parts = urlsplit(r.headers["location"])
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def connect(client, oauth, who, **body) -> dict:
    path, q = outcome(callback(client, oauth.approve(start(client, who, **body))))
    assert q.get("connected") == "youtube", q
    return accounts(client, who)[-1]


def accounts(client, who) -> list[dict]:
    r = client.get("/api/connections", headers=bearer(who))
    assert r.status_code == 200, r.text
    return r.json()["connections"]


def row(client, connection_id) -> Connection:
    with client.hosted.db.session() as s:
        return s.get(Connection, connection_id)


def set_expiry(client, connection_id, in_s: float) -> None:
    with client.hosted.db.session() as s:
        s.execute(update(Connection).where(Connection.id == connection_id).values(expires_at=now() + timedelta(seconds=in_s)))


def test_connect_youtube_end_to_end(client, oauth, youtube):
    ada = signup(client, "ada@example.com")
    listing = client.get("/api/connections", headers=bearer(ada)).json()
    yt = next(p for p in listing["platforms"] if p["name"] == "youtube")
    assert yt["configured"] and yt["settings_needed"] == [] and yt["notes"] and yt["accounts"] == []

    url = start(client, ada, return_to="/studio/?tab=calendar")
    asked = parse_qs(urlsplit(url).query)
    assert asked["client_id"] == [CLIENT_ID] and asked["redirect_uri"] == ["http://testserver/api/connections/youtube/callback"]
    assert {"https://www.googleapis.com/auth/youtube.upload",
            "https://www.googleapis.com/auth/yt-analytics.readonly"} <= set(asked["scope"][0].split())
    assert asked["code_challenge_method"] == ["S256"] and len(asked["state"][0]) >= 32
    r = callback(client, oauth.approve(url))
    assert outcome(r) == ("/studio/", {"tab": "calendar", "connected": "youtube"})
    assert oauth.exchanges == 1 and oauth.authorizations[0]["code_challenge"]

    [account] = accounts(client, ada)
    assert account["name"] == "Fake Channel" and account["account_id"] == youtube.channel["id"]
    assert account["link"].endswith(youtube.channel["id"])
    assert account["status"] == "active" and account["expires_at"] and "youtube.upload" in " ".join(account["scopes"])
    everything = client.get("/api/connections", headers=bearer(ada)).text
    issued = [*oauth.access_tokens, *oauth.refresh_tokens]
    assert issued and not any(t in everything for t in issued)
    stored = row(client, account["id"])
    assert not any(t in stored.token for t in issued)  # sealed, not plaintext
    assert client.hosted.token_box.open(stored.token)["access_token"] in oauth.access_tokens
    assert client.hosted.connections.access_token(account["id"]) in youtube.tokens  # usable at the API as is

    # an API client connects the same channel again: the same connection, updated
    url = start(client, ada)
    q = parse_qs(urlsplit(oauth.approve(url)).query)
    r = client.post("/api/connections/youtube/callback", headers=bearer(ada),
                    json={"code": q["code"][0], "state": q["state"][0]})
    assert r.status_code == 200, r.text
    assert r.json()["connection"]["id"] == account["id"] and len(accounts(client, ada)) == 1
    assert row(client, account["id"]).token_version > stored.token_version


def test_state_mismatch_is_refused(client, oauth, tmp_path):
    ada = signup(client, "ada@example.com")
    back = oauth.approve(start(client, ada))
    code = parse_qs(urlsplit(back).query)["code"][0]
    # an unknown state, then the right state from a browser that did not start it (no connect cookie)
    assert outcome(callback(client, back.replace("state=", "state=x")))[1]["connect_error"] == "oauth_state_mismatch"
    elsewhere = TestClient(client.app)
    path, q = outcome(callback(elsewhere, back))
    assert (path, q["connect_error"]) == ("/studio/", "oauth_state_mismatch") and "state mismatch" in q["connect_message"]
    assert oauth.exchanges == 0 and accounts(client, ada) == []
    # the attempt is intact for its own browser ...
    assert outcome(callback(client, back))[1] == {"connected": "youtube"}
    # ... and an expired one is refused
    back = oauth.approve(start(client, ada))
    with client.hosted.db.session() as s:
        s.execute(update(OAuthState).values(created_at=now() - timedelta(minutes=11)))
    assert outcome(callback(client, back))[1]["connect_error"] == "oauth_state_mismatch"
    assert oauth.exchanges == 1 and code


def test_missing_pkce_verifier_is_refused(client, oauth):
    ada = signup(client, "ada@example.com")
    back = oauth.approve(start(client, ada))
    with client.hosted.db.session() as s:  # an attempt whose verifier was lost
        s.execute(update(OAuthState).values(verifier=""))
    path, q = outcome(callback(client, back))
    assert q["connect_error"] == "missing_pkce_verifier" and "missing PKCE verifier" in q["connect_message"]
    assert oauth.exchanges == 0 and accounts(client, ada) == []
    # the fake itself refuses a PKCE code traded without its verifier
    back = oauth.approve(start(client, ada))
    q = parse_qs(urlsplit(back).query)
    with client.hosted.db.session() as s:
        s.execute(update(OAuthState).values(verifier=client.hosted.token_box.seal("not-the-verifier-" + "v" * 40)))
    assert outcome(callback(client, back))[1]["connect_error"] == "oauth_code_refused"
    assert q["code"] and accounts(client, ada) == []


def test_replayed_code_is_refused(client, oauth):
    ada = signup(client, "ada@example.com")
    back = oauth.approve(start(client, ada))
    assert outcome(callback(client, back))[1] == {"connected": "youtube"}
    # the same callback again: its state is used
    assert outcome(callback(client, back))[1]["connect_error"] == "oauth_state_mismatch"
    # the same code under a fresh state: the platform refuses it (invalid_grant)
    code = parse_qs(urlsplit(back).query)["code"][0]
    fresh = parse_qs(urlsplit(oauth.approve(start(client, ada))).query)["state"][0]
    r = client.get(f"/api/connections/youtube/callback?code={code}&state={fresh}", follow_redirects=False)
    assert outcome(r)[1]["connect_error"] == "oauth_code_refused"
    assert oauth.exchanges == 1 and len(accounts(client, ada)) == 1


def test_expired_token_is_refreshed_before_use(client, oauth, youtube):
    ada = signup(client, "ada@example.com")
    oauth.expires_in, oauth.rotate = 120, True  # expires within the five minutes: refreshed before use
    account = connect(client, oauth, ada)
    before = row(client, account["id"])
    first = client.hosted.token_box.open(before.token)
    oauth.expires_in = 3600
    token = client.hosted.connections.access_token(account["id"])
    assert token != first["access_token"] and token in youtube.tokens and oauth.refreshes == 1
    after = row(client, account["id"])
    assert after.token_version > before.token_version and after.token_version % 2 == 0
    opened = client.hosted.token_box.open(after.token)
    assert token not in after.token and opened["access_token"] == token
    assert opened["refresh_token"] != first["refresh_token"]  # rotated: the newest is kept
    assert client.hosted.connections.access_token(account["id"]) == token and oauth.refreshes == 1  # fresh now
    set_expiry(client, account["id"], 60)  # the rotated refresh token works for the next refresh
    assert client.hosted.connections.access_token(account["id"]) not in (token, first["access_token"])
    assert oauth.refreshes == 2 and accounts(client, ada)[0]["status"] == "active"


def test_two_refreshers_at_once_refresh_once(client, oauth):
    ada = signup(client, "ada@example.com")
    oauth.expires_in, oauth.rotate = 60, True  # with rotation a second refresh would end the grant
    account = connect(client, oauth, ada)
    oauth.expires_in, oauth.refresh_delay_s = 3600, 0.5
    barrier, got, failed = threading.Barrier(2), [], []

    def use():
        barrier.wait()
        try:
            got.append(client.hosted.connections.access_token(account["id"]))
        except Exception as exc:  # noqa: BLE001
            failed.append(exc)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failed == [] and len(got) == 2 and got[0] == got[1]
    assert oauth.refreshes == 1 and row(client, account["id"]).token_version == 2


def test_refused_refresh_needs_reconnecting(client, oauth):
    ada = signup(client, "ada@example.com")
    oauth.expires_in = 60
    account = connect(client, oauth, ada)
    oauth.token_status = 503  # the platform is down: worth trying again, the account is fine
    with pytest.raises(Transient):
        client.hosted.connections.access_token(account["id"])
    assert accounts(client, ada)[0]["status"] == "active" and row(client, account["id"]).token_version % 2 == 0
    oauth.token_status, oauth.refuse_refresh = None, True  # the creator revoked the studio at Google
    with pytest.raises(AuthRevoked) as refused:
        client.hosted.connections.access_token(account["id"])
    assert "Fake Channel" in refused.value.message and "reconnect" in refused.value.message
    [shown] = accounts(client, ada)
    assert shown["status"] == "needs_reconnect" and "invalid_grant" in shown["reason"]
    with pytest.raises(AuthRevoked):  # no further refresh is tried
        client.hosted.connections.access_token(account["id"])
    assert oauth.refreshes == 1  # the 503 never reached the grant
    # reconnecting makes it active again, under the same id
    oauth.refuse_refresh = False
    assert connect(client, oauth, ada)["id"] == account["id"]
    assert accounts(client, ada)[0]["status"] == "active"


def test_access_denied_and_not_configured(client, oauth, tmp_path, database_url):  # noqa: F811
    ada = signup(client, "ada@example.com")
    oauth.deny = True
    path, q = outcome(callback(client, oauth.approve(start(client, ada))))
    assert q["connect_error"] == "access_denied" and "did not allow" in q["connect_message"]
    assert client.get("/api/connections/myspace/callback?code=x&state=y", follow_redirects=False).status_code == 303
    r = client.post("/api/connections/myspace/start", headers=bearer(ada))
    assert r.status_code == 422 and "youtube" in r.json()["error"]["hint"]

    with serve(tmp_path / "bare", None) as bare:  # no client id or secret
        bo = signup(bare, "bo@example.com")
        yt = next(p for p in bare.get("/api/connections", headers=bearer(bo)).json()["platforms"] if p["name"] == "youtube")
        assert yt["configured"] is False and yt["status"] == "not configured"
        assert {"STUDIO_YOUTUBE_CLIENT_ID", "STUDIO_YOUTUBE_CLIENT_SECRET"} <= set(yt["settings_needed"])
        r = bare.post("/api/connections/youtube/start", headers=bearer(bo))
        assert r.status_code == 409 and r.json()["error"]["code"] == "platform_not_configured"
        assert all(name in r.json()["error"]["hint"] for name in yt["settings_needed"])


def test_delete_revokes_at_the_platform(client, oauth, youtube):
    ada = signup(client, "ada@example.com")
    account = connect(client, oauth, ada)
    token = client.hosted.connections.access_token(account["id"])
    r = client.delete(f"/api/connections/{account['id']}", headers=bearer(ada))
    assert r.status_code == 204 and len(oauth.revoked) == 1 and oauth.revoked[0] in oauth.refresh_tokens
    assert not oauth.is_live(token) and token not in youtube.tokens and accounts(client, ada) == []
    # a revoke the platform does not confirm still deletes here, and says so
    account = connect(client, oauth, ada)
    oauth.revoke_status = 503
    r = client.delete(f"/api/connections/{account['id']}", headers=bearer(ada))
    assert r.status_code == 200 and r.json()["revoked"] is False and "remove the studio's access" in r.json()["message"]
    assert accounts(client, ada) == []
    assert client.delete(f"/api/connections/{account['id']}", headers=bearer(ada)).status_code == 404


def test_another_user_cannot_see_delete_or_finish(client, oauth):
    ada, bo = signup(client, "ada@example.com"), signup(client, "bo@example.com")
    account = connect(client, oauth, ada)
    assert accounts(client, bo) == []
    r = client.delete(f"/api/connections/{account['id']}", headers=bearer(bo))
    missing = client.delete("/api/connections/" + "0" * 32, headers=bearer(bo))
    assert r.status_code == 404 and r.json()["error"]["code"] == "connection_not_found"
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "connection_not_found")
    # Bo holds Ada's code and state: neither his API callback nor his browser can finish her attempt
    back = oauth.approve(start(client, ada))
    q = parse_qs(urlsplit(back).query)
    r = client.post("/api/connections/youtube/callback", headers=bearer(bo),
                    json={"code": q["code"][0], "state": q["state"][0]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_mismatch"
    assert outcome(callback(TestClient(client.app), back))[1]["connect_error"] == "oauth_state_mismatch"
    assert accounts(client, bo) == [] and oauth.exchanges == 1
    # Ada's things survived: her connection, and her attempt, which she finishes
    assert outcome(callback(client, back))[1] == {"connected": "youtube"}
    assert [a["id"] for a in accounts(client, ada)] == [account["id"]]
    with client.hosted.db.session() as s:
        assert s.scalars(select(Connection.owner_id)).all() == [ada["user"]["id"]]


SECRETS_LOGGERS = ("studio", "httpx", "httpcore", "httpx2", "httpcore2", "authlib", "urllib3", "googleapiclient", "")


def test_no_token_code_or_verifier_in_any_log(client, oauth, caplog):
    caplog.set_level(logging.DEBUG)
    for name in SECRETS_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    ada = signup(client, "ada@example.com")
    oauth.expires_in, oauth.rotate = 60, True
    url = start(client, ada)
    with client.hosted.db.session() as s:
        verifier = client.hosted.token_box.open_text(s.scalars(select(OAuthState.verifier)).one())
    back = oauth.approve(url)
    assert outcome(callback(client, back))[1] == {"connected": "youtube"}
    account = accounts(client, ada)[0]
    client.hosted.connections.access_token(account["id"])  # a refresh
    oauth.refuse_refresh = True
    set_expiry(client, account["id"], 0)
    with pytest.raises(AuthRevoked):
        client.hosted.connections.access_token(account["id"])
    client.delete(f"/api/connections/{account['id']}", headers=bearer(ada))

    q = parse_qs(urlsplit(back).query)
    secrets = [*oauth.access_tokens, *oauth.refresh_tokens, *oauth.codes, q["code"][0], q["state"][0], verifier,
               CLIENT_SECRET]
    assert len(secrets) >= 8 and oauth.refreshes == 2
    # the test's own requests as the creator's browser (httpx's "HTTP Request: GET http://testserver/...?code=") are
    # the browser's, not the studio's: a real browser's address bar is not in the studio's log
    studio_side = [r for r in caplog.records if "http://testserver" not in r.getMessage()]
    assert any(r.name.startswith("httpx") for r in studio_side)  # the studio's own calls were logged, and checked
    for record in studio_side:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert not any(s in text for s in secrets), (record.name, text)
