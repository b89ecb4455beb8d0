"""Accounts and tokens over the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401


@pytest.fixture
def client(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def test_signup_login_me_refresh_logout(client):
    made = signup(client, "Ada@Example.com")
    assert made["user"]["email"] == "ada@example.com" and made["access_token"] and made["refresh_token"]
    r = client.post("/api/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"})
    assert r.status_code == 200
    session = r.json()
    assert set(session) >= {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    cookie = r.headers["set-cookie"]
    assert "studio_refresh=" in cookie and "HttpOnly" in cookie
    me = client.get("/api/me", headers=bearer(session)).json()
    assert me["email"] == "ada@example.com" and me["quota"]["remaining_today"] == 20

    fresh = client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert fresh.status_code == 200 and fresh.json()["refresh_token"] != session["refresh_token"]
    # inside the grace window (a page's parallel requests) the same token answers the very same successor
    again = client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert again.status_code == 200
    assert (again.json()["refresh_token"], again.json()["access_token"]) == (fresh.json()["refresh_token"],
                                                                            fresh.json()["access_token"])
    # after the window the old one is spent: reusing it is refused and ends the whole session
    client.hosted.auth.refresh_grace_s = 0
    reused = client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "refresh_token_reused"
    after = client.post("/api/auth/refresh", json={"refresh_token": fresh.json()["refresh_token"]})
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_refresh_token"


def test_logout_revokes_refresh_token(client):
    session = signup(client, "bo@example.com")
    assert client.post("/api/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code == 204
    r = client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_refresh_token"


def test_refresh_from_cookie(client):
    client.cookies.clear()
    signup(client, "cy@example.com")  # sets the cookies in the client
    r = client.post("/api/auth/refresh")
    assert r.status_code == 200 and r.json()["user"]["email"] == "cy@example.com"


def test_wrong_password_and_weak_password_and_duplicate(client):
    signup(client, "di@example.com")
    r = client.post("/api/auth/login", json={"email": "di@example.com", "password": "wrong password!!"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "wrong password!!"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = client.post("/api/auth/signup", json={"email": "ed@example.com", "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    r = client.post("/api/auth/signup", json={"email": "DI@example.com", "password": "another good one"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_taken"
    r = client.post("/api/auth/signup", json={"email": "not-an-email", "password": "another good one"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_email"


def _token(claims: dict, key: str = "test-secret-" + "x" * 32, alg: str = "HS256") -> str:
    base = {"sub": "u", "email": "e@example.com", "iat": int(time.time()), "exp": int(time.time()) + 600,
            "iss": "viral-ai-studio", "aud": "studio"}
    return jwt.encode({**base, **claims}, key, algorithm=alg)


def test_bad_access_tokens_are_refused(client):
    session = signup(client, "fi@example.com")
    good = session["access_token"]
    head, payload, sig = good.split(".")
    import base64
    import json

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    cases = {
        "missing": None,
        "expired": _token({"sub": session["user"]["id"], "exp": int(time.time()) - 5}),
        "tampered": f"{head}.{forged_payload}.{sig}",
        "wrong_key": _token({"sub": session["user"]["id"]}, key="another-secret-" + "y" * 32),
        "alg_none": f"{none_header}.{payload}.",
        "wrong_audience": _token({"sub": session["user"]["id"], "aud": "other"}),
        "garbage": "not.a.jwt",
    }
    assert client.get("/api/me", headers=bearer(session)).status_code == 200
    for name, token in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = client.get("/api/me", headers=headers)
        assert r.status_code == 401, name
        assert r.json()["error"]["code"] in {"missing_token", "token_expired", "invalid_token"}, name
    assert client.get("/api/me", headers={"Authorization": f"Bearer {cases['expired']}"}).json()["error"]["code"] == \
        "token_expired"


def test_login_rate_limited_per_account_and_ip(tmp_path):
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", login_per_minute=3))
    with TestClient(create_api(hosted)) as c:
        signup(c, "gi@example.com")
        codes = [c.post("/api/auth/login", json={"email": "gi@example.com", "password": "nope nope nope"}).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = c.post("/api/auth/login", json={"email": "gi@example.com", "password": "correct horse battery"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
        assert r.json()["error"]["code"] == "rate_limited"


def test_secrets_never_in_logs_or_errors(client, caplog):
    caplog.set_level("DEBUG")
    password = "my very secret passphrase"
    session = signup(client, "hi@example.com", password)
    r = client.post("/api/auth/login", json={"email": "hi@example.com", "password": password + "x"})
    r2 = client.post("/api/auth/signup", json={"email": "hi@example.com", "password": 12345})
    for text in (caplog.text, r.text, r2.text, repr(client.hosted.settings)):
        assert password not in text and session["refresh_token"] not in text and "test-secret-" not in text


def test_sign_in_attempts_limited_per_ip_across_accounts(tmp_path):
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", login_per_minute=4))
    with TestClient(create_api(hosted)) as c:
        codes = [c.post("/api/auth/login", json={"email": f"user{i}@example.com", "password": "nope nope nope"}).status_code
                 for i in range(5)]  # five different accounts, one address
        assert codes == [401, 401, 401, 401, 429]
        signups = [c.post("/api/auth/signup", json={"email": f"new{i}@example.com", "password": "correct horse battery"})
                   .status_code for i in range(5)]
        assert signups == [201, 201, 201, 201, 429]


def test_parallel_redemptions_of_one_refresh_token_share_one_successor(client):
    """A page load sends several requests with the same expired session at once: all of them succeed with one
    successor, none revokes the session, and the successor works (on SQLite and on PostgreSQL)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from studio.tables import RefreshToken

    token = signup(client, "par@example.com")["refresh_token"]
    with ThreadPoolExecutor(12) as pool:
        sessions = list(pool.map(lambda _: client.hosted.auth.refresh(token), range(12)))
    assert len({(s.refresh_token, s.access_token) for s in sessions}) == 1
    with client.hosted.db.session() as db:
        family = db.scalar(select(RefreshToken.family).where(RefreshToken.user_id == sessions[0].user.user_id))
        rows = db.scalar(select(func.count()).select_from(RefreshToken).where(RefreshToken.family == family))
        revoked = db.scalar(select(func.count()).select_from(RefreshToken).where(
            RefreshToken.family == family, RefreshToken.revoked_at.is_not(None)))
    assert (rows, revoked) == (2, 0)  # the signup's token and exactly one successor
    nxt = client.post("/api/auth/refresh", json={"refresh_token": sessions[0].refresh_token})
    assert nxt.status_code == 200


def test_an_attacker_guessing_from_one_address_cannot_lock_the_owner_out(tmp_path):
    """Failures slow down the address that makes them, with a growing delay; the owner signs in from elsewhere."""
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", login_per_minute=30))
    app = create_api(hosted)
    wrong = {"email": "jo@example.com", "password": "not the password"}
    right = {"email": "jo@example.com", "password": "correct horse battery"}
    with TestClient(app, client=("203.0.113.9", 5000)) as attacker, TestClient(app, client=("198.51.100.7", 5000)) as owner:
        signup(owner, "jo@example.com")
        codes = [attacker.post("/api/auth/login", json=wrong).status_code for _ in range(8)]
        assert codes[:5] == [401] * 5 and 429 in codes[5:]  # from the sixth failure on, the attacker waits
        held = attacker.post("/api/auth/login", json=wrong)
        assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
        assert owner.post("/api/auth/login", json=right).status_code == 200  # a clean address is never held back
        # a success clears the account's record: the attacker starts from nothing again, and waits again
        codes = [attacker.post("/api/auth/login", json=wrong).status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
