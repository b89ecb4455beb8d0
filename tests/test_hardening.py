"""The smaller walls: logout only from the studio's own pages, a Bearer logout ends its session at once, security
headers on every page, credentials kept out of the access log."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, make_settings, signup


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from studio.web import create_server

    app = create_server(make_settings(tmp_path_factory.mktemp("home")), with_ui=True)
    with TestClient(app, base_url="http://studio.example") as client:
        yield client


def test_a_cross_site_form_cannot_sign_a_creator_out(web):
    session = signup(web, "xs@example.com")
    for path in ("/logout", "/api/auth/logout"):
        r = web.post(path, headers={"Origin": "https://evil.example"}, follow_redirects=False)
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site_request", path
        r = web.post(path, headers={"Referer": "https://evil.example/page"}, follow_redirects=False)
        assert r.status_code == 403, path
    assert "studio_refresh" in web.cookies  # nothing was cleared
    r = web.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 200  # the session is alive
    # from the studio's own page it works
    r = web.post("/logout", headers={"Origin": "http://studio.example"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_bearer_logout_ends_the_session_and_its_access_token(web):
    web.cookies.clear()
    session = signup(web, "bl@example.com")
    web.cookies.clear()  # an API client: no cookies, only the access token
    assert web.get("/api/me", headers=bearer(session)).status_code == 200
    assert web.post("/api/auth/logout", headers=bearer(session)).status_code == 204
    r = web.get("/api/me", headers=bearer(session))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    r = web.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_refresh_token"


def test_pages_carry_security_headers(web):
    web.cookies.clear()
    signup(web, "hd@example.com")
    for path in ("/login", "/studio/", "/api/health"):
        r = web.get(path, follow_redirects=False)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'self'" in r.headers["content-security-policy"], path
        assert r.headers["x-frame-options"] == "SAMEORIGIN" and r.headers["referrer-policy"] == "same-origin", path


def test_access_log_redacts_every_credential_in_a_url():
    from studio.web import _Redact

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/1.1" %d', (
        "127.0.0.1", "GET", "/api/x?access_token=AAA.BBB.CCC&code=123&refresh_token=zzz&token=t&ok=1", 200), None)
    _Redact().filter(record)
    line = record.getMessage()
    assert "AAA.BBB" not in line and "zzz" not in line and "123" not in line and "ok=1" in line
    assert line.count("[redacted]") == 4
