"""The whole REST API on Supabase, switched by settings alone: ``auth_mode="supabase"`` and ``storage="supabase"``.

respx plays the project's GoTrue and Storage at the HTTP boundary (shapes as in tests/test_supabase.py). The access
tokens GoTrue hands out are real ES256 JWTs signed here, with the private half of the key the mocked JWKS publishes.

respx patches ``httpcore`` (the transport under the ``httpx`` client the Supabase libraries use); Starlette's
TestClient talks to the app through ``httpx2`` and its own in-process transport, so respx never sees that traffic.
The router is nonetheless strict (``assert_all_mocked=True``) with a pass-through route for ``testserver`` that each
test checks was never taken, and every recorded call is checked to have gone to the Supabase project.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from PIL import Image

from studio.storage.base import object_key
from studio.tables import Asset, User
from tests.api_helpers import make_settings
from tests.test_supabase import _multipart as multipart

URL = "https://proj.supabase.co"
AUTH = f"{URL}/auth/v1"
STORAGE = f"{URL}/storage/v1"
JWKS_URL = f"{AUTH}/.well-known/jwks.json"
ANON = "anon-key-proj-PUBLIC-7c1d"
SERVICE = "service-role-key-proj-SECRET-93fa"
BUCKET = "studio"
KID = "proj-ec-1"
PASSWORD = "correct horse battery staple"

SUPABASE = {"auth_mode": "supabase", "storage": "supabase", "supabase_url": URL, "supabase_anon_key": ANON,
            "supabase_service_key": SERVICE, "supabase_bucket": BUCKET}
# the only routes whose answers may carry tokens (in the body and in cookies); every other answer must not
SESSION_ROUTES = {"/api/auth/signup", "/api/auth/login", "/api/auth/refresh"}


@dataclass(frozen=True)
class Person:
    id: str
    email: str


ADA = Person("2f5c5a62-3f1e-4b55-9a0e-0c7f3f3d1a11", "ada@example.com")
BEN = Person("7d0e1b9c-5a44-4c1e-8f3a-21b6c9e0d2f4", "ben@example.com")


# -- the Supabase project, played by respx ------------------------------------------------------------------------------

def gotrue_user(who: Person) -> dict:
    return {"id": who.id, "aud": "authenticated", "role": "authenticated", "email": who.email, "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}, "identities": [],
            "created_at": "2025-05-01T10:00:00.000000Z", "updated_at": "2025-05-01T10:00:00.000000Z", "is_anonymous": False}


def gotrue_error(status: int, code: str, message: str) -> httpx.Response:
    """GoTrue's answer to a client sending ``X-Supabase-Api-Version: 2024-01-01`` (as supabase_auth does)."""
    return httpx.Response(status, json={"code": code, "message": message}, headers={"X-Supabase-Api-Version": "2024-01-01"})


def sent_json(request: httpx.Request) -> dict:
    return json.loads(request.content)


def assert_anon(request: httpx.Request) -> None:
    """GoTrue is called with the public anon key only, never with the service-role key."""
    assert request.headers["apikey"] == ANON
    assert SERVICE not in str(request.headers)


def assert_service(request: httpx.Request) -> None:
    assert request.headers["apikey"] == SERVICE
    assert request.headers["authorization"] == f"Bearer {SERVICE}"


class Supabase:
    """The mocked project: GoTrue answers, the JWKS, Storage, and the tokens issued along the way (to check that none
    of them leaks)."""

    def __init__(self, router: respx.MockRouter, keys: dict) -> None:
        self.router = router
        self.keys = keys
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(keys["project"].public_key(), as_dict=True)
        self.jwks = router.get(JWKS_URL).respond(json={"keys": [{**jwk, "kid": KID, "alg": "ES256", "use": "sig"}]})
        self.testserver = router.route(host="testserver").pass_through()
        self.issued: list[str] = []

    def access_token(self, who: Person, *, key: str = "project", kid: str = KID, **changes) -> str:
        now = int(time.time())
        claims = {"iss": AUTH, "sub": who.id, "aud": "authenticated", "exp": now + 3600, "iat": now, "email": who.email,
                  "role": "authenticated", "aal": "aal1", "session_id": str(uuid.uuid4()), "is_anonymous": False, **changes}
        token = jwt.encode(claims, self.keys[key], algorithm="ES256", headers={"kid": kid})
        self.issued.append(token)
        return token

    def refresh_token(self) -> str:
        token = f"rt-{uuid.uuid4().hex[:12]}"
        self.issued.append(token)
        return token

    def session(self, who: Person) -> dict:
        """GoTrue's AccessTokenResponse."""
        return {"access_token": self.access_token(who), "token_type": "bearer", "expires_in": 3600,
                "expires_at": int(time.time()) + 3600, "refresh_token": self.refresh_token(), "user": gotrue_user(who)}

    def token_route(self, grant: str) -> respx.Route:
        return self.router.post(f"{AUTH}/token", params={"grant_type": grant})

    def storage_routes(self) -> tuple[respx.Route, respx.Route, respx.Route]:
        """Upload, sign and delete, as Supabase Storage answers them."""
        upload = self.router.post(url__regex=rf"^{re.escape(STORAGE)}/object/{BUCKET}/.+").mock(
            side_effect=lambda request: httpx.Response(200, json={"Id": str(uuid.uuid4()), "Key": request.url.path[12:]}))

        def sign(request: httpx.Request) -> httpx.Response:
            key = request.url.path.split(f"/object/sign/{BUCKET}/", 1)[1]
            return httpx.Response(200, json={"signedURL": f"/object/sign/{BUCKET}/{key}?token=signed.{key[-8:]}"})

        signer = self.router.post(url__regex=rf"^{re.escape(STORAGE)}/object/sign/{BUCKET}/.+").mock(side_effect=sign)
        delete = self.router.delete(f"{STORAGE}/object/{BUCKET}").mock(
            side_effect=lambda request: httpx.Response(200, json=[{"name": n, "bucket_id": BUCKET}
                                                                  for n in sent_json(request)["prefixes"]]))
        return upload, signer, delete


@pytest.fixture(scope="module")
def keys():
    return {"project": ec.generate_private_key(ec.SECP256R1()), "stranger": ec.generate_private_key(ec.SECP256R1())}


@pytest.fixture
def sb(keys, caplog):
    caplog.set_level(logging.DEBUG)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        project = Supabase(router, keys)
        yield project
    assert not project.testserver.called  # the TestClient's own requests never reach respx
    assert {call.request.url.host for call in router.calls} <= {"proj.supabase.co"}
    logged = "\n".join(logging.Formatter().format(r) for phase in ("setup", "call") for r in caplog.get_records(phase))
    for secret in (PASSWORD, SERVICE, ANON, *project.issued):
        assert secret not in logged


@pytest.fixture
def api(tmp_path, sb):
    """Builds servers; by default from settings alone. Every answer is recorded and checked for leaks at the end."""
    from studio.api.app import create_api
    from studio.hosted import Hosted

    opened: list[TestClient] = []

    def build(server: dict | None = None, **hosted_kwargs) -> TestClient:
        hosted = Hosted(make_settings(tmp_path / f"home-{len(opened)}", None, **(SUPABASE if server is None else server)),
                        **hosted_kwargs)
        client = TestClient(create_api(hosted))
        client.__enter__()
        client.hosted = hosted
        client.answers = []

        def record(response) -> None:
            response.read()
            client.answers.append(response)

        client.event_hooks["response"].append(record)
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)
        client.hosted.db.dispose()
        for service in (client.hosted.auth, client.hosted.storage):
            getattr(service, "close", lambda: None)()
        for answer in client.answers:
            text = answer.text + answer.headers.get("location", "")
            for secret in (PASSWORD, SERVICE, ANON):
                assert secret not in text, answer.request.url.path
            if answer.request.url.path not in SESSION_ROUTES or answer.status_code >= 400:
                for token in sb.issued:
                    assert token not in answer.text, answer.request.url.path


@pytest.fixture
def client(api):
    return api()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def user_row(client, who: Person) -> User | None:
    with client.hosted.db.session() as s:
        row = s.get(User, who.id)
        if row is not None:
            s.expunge(row)
        return row


def set_cookies(response) -> dict[str, str]:
    """cookie name → its whole Set-Cookie line."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def png_bytes(w: int = 64, h: int = 96) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 40, 90)).save(buf, "PNG")
    return buf.getvalue()


# -- the switch --------------------------------------------------------------------------------------------------------

def test_settings_alone_put_auth_and_storage_on_supabase(client, sb):
    assert client.get("/api/health").json() == {"ok": True, "auth_mode": "supabase", "storage": "supabase"}
    assert type(client.hosted.auth).__name__ == "SupabaseAuth" and type(client.hosted.storage).__name__ == "SupabaseStorage"
    assert not sb.router.calls  # building the server asks Supabase nothing


# -- sign-up and sign-in -----------------------------------------------------------------------------------------------

def test_signup_creates_the_account_at_gotrue_and_answers_the_session(client, sb):
    route = sb.router.post(f"{AUTH}/signup").respond(json=sb.session(ADA))

    r = client.post("/api/auth/signup", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["confirmation_required"] is False and body["user"] == {"id": ADA.id, "email": ADA.email}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"] == route.calls.last.response.json()["access_token"]
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/signup"
    assert_anon(request)
    assert "authorization" not in request.headers
    sent = sent_json(request)
    assert sent["email"] == ADA.email and sent["password"] == PASSWORD
    assert user_row(client, ADA).password_hash is None  # Supabase keeps the password, not us
    assert "HttpOnly" in set_cookies(r)["studio_refresh"]
    assert client.get("/api/me", headers=bearer(body["access_token"])).json()["id"] == ADA.id


def test_signup_that_needs_email_confirmation_answers_without_a_session(client, sb):
    sb.router.post(f"{AUTH}/signup").respond(json={**gotrue_user(ADA), "confirmation_sent_at": "2025-05-01T10:00:01Z"})

    r = client.post("/api/auth/signup", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 201, r.text
    assert r.json() == {"user": {"id": ADA.id, "email": ADA.email}, "confirmation_required": True}
    assert "set-cookie" not in r.headers
    assert user_row(client, ADA).email == ADA.email


def test_login_is_the_password_grant_and_sets_an_httponly_refresh_cookie(client, sb):
    route = sb.token_route("password").respond(json=sb.session(ADA))

    r = client.post("/api/auth/login", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 200, r.text
    gotrue = route.calls.last.response.json()
    assert r.json()["access_token"] == gotrue["access_token"] and r.json()["refresh_token"] == gotrue["refresh_token"]
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/token"
    assert request.url.params["grant_type"] == "password"
    assert_anon(request)
    assert sent_json(request)["email"] == ADA.email and sent_json(request)["password"] == PASSWORD
    cookie = set_cookies(r)["studio_refresh"]
    assert cookie.startswith(f"studio_refresh={gotrue['refresh_token']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert user_row(client, ADA) is not None


def test_login_with_a_wrong_password_is_401_invalid_credentials(client, sb):
    route = sb.token_route("password").mock(return_value=gotrue_error(400, "invalid_credentials", "Invalid login credentials"))

    r = client.post("/api/auth/login", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"
    assert route.call_count == 1  # a refusal is not retried
    assert "set-cookie" not in r.headers
    assert user_row(client, ADA) is None


# -- access tokens -----------------------------------------------------------------------------------------------------

def test_me_accepts_a_supabase_token_and_creates_the_user_row(client, sb):
    token = sb.access_token(ADA)
    assert user_row(client, ADA) is None

    r = client.get("/api/me", headers=bearer(token))

    assert r.status_code == 200, r.text
    assert r.json()["id"] == ADA.id and r.json()["email"] == ADA.email and r.json()["auth_mode"] == "supabase"
    row = user_row(client, ADA)
    assert row.email == ADA.email and row.password_hash is None
    assert client.get("/api/me", headers=bearer(sb.access_token(ADA))).status_code == 200
    assert sb.jwks.call_count == 1  # keys are cached; tokens are verified here, not at GoTrue
    assert_anon(sb.jwks.calls.last.request)
    assert [c.request.url.path for c in sb.router.calls] == ["/auth/v1/.well-known/jwks.json"]


@pytest.mark.parametrize("make, code", [
    (lambda sb: sb.access_token(ADA, key="stranger"), "invalid_token"),
    (lambda sb: sb.access_token(ADA, key="stranger", kid="stranger-1"), "invalid_token"),
    (lambda sb: sb.access_token(ADA, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), "token_expired"),
    (lambda sb: sb.access_token(ADA, aud="service_role"), "invalid_token"),
    (lambda sb: sb.access_token(ADA, iss="https://other.supabase.co/auth/v1"), "invalid_token"),
], ids=["other-key-same-kid", "other-key-unknown-kid", "expired", "wrong-audience", "wrong-issuer"])
def test_me_refuses_tokens_the_project_did_not_sign_or_that_expired(client, sb, make, code):
    r = client.get("/api/me", headers=bearer(make(sb)))

    assert r.status_code == 401
    assert r.json()["error"]["code"] == code
    assert user_row(client, ADA) is None
    assert client.get("/api/me", headers=bearer(sb.access_token(ADA))).status_code == 200  # the real key still works


def test_a_browsers_parallel_first_requests_all_succeed(client, sb):
    """The first sight of a Supabase user inserts their row; parallel first requests race to do it."""
    for n in range(5):
        who = Person(str(uuid.uuid4()), f"new{n}@example.com")
        tokens = [sb.access_token(who) for _ in range(6)]
        with ThreadPoolExecutor(len(tokens)) as pool:
            codes = list(pool.map(lambda token: client.get("/api/me", headers=bearer(token)).status_code, tokens))
        assert codes == [200] * len(tokens)
        assert user_row(client, who).email == who.email


def test_an_address_another_row_holds_does_not_lock_the_user_out(client, sb):
    """An account deleted and made again in Supabase keeps its email under a new id (as does a local account from
    before the switch): the new id still gets its row."""
    with client.hosted.db.session() as s:
        s.add(User(id="1b2c3d4e-0000-4000-8000-00000000dead", email=ADA.email, password_hash=None))

    r = client.get("/api/me", headers=bearer(sb.access_token(ADA)))

    assert r.status_code == 200, r.text
    assert r.json()["email"] == ADA.email
    assert user_row(client, ADA).email == f"{ADA.id}@users.invalid"


def test_me_without_a_token_is_401(client, sb):
    r = client.get("/api/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
    assert not sb.router.calls


# -- refresh and sign-out ----------------------------------------------------------------------------------------------

def test_refresh_is_the_refresh_token_grant_and_a_reused_token_is_401(client, sb):
    first, second = sb.session(ADA), sb.session(ADA)
    route = sb.token_route("refresh_token")
    route.side_effect = [httpx.Response(200, json=second),
                         gotrue_error(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")]

    r = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert r.status_code == 200, r.text
    assert (r.json()["access_token"], r.json()["refresh_token"]) == (second["access_token"], second["refresh_token"])
    assert set_cookies(r)["studio_refresh"].startswith(f"studio_refresh={second['refresh_token']};")
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/token"
    assert request.url.params["grant_type"] == "refresh_token"
    assert_anon(request)
    assert sent_json(request) == {"refresh_token": first["refresh_token"]}

    again = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert again.status_code == 401
    assert again.json()["error"]["code"] == "invalid_refresh_token"
    assert route.call_count == 2 and sent_json(route.calls.last.request) == {"refresh_token": first["refresh_token"]}


def test_refresh_reads_the_cookie_a_login_set(client, sb):
    login, fresh = sb.session(ADA), sb.session(ADA)
    sb.token_route("password").respond(json=login)
    route = sb.token_route("refresh_token").respond(json=fresh)
    client.post("/api/auth/login", json={"email": ADA.email, "password": PASSWORD})

    r = client.post("/api/auth/refresh")

    assert r.status_code == 200 and r.json()["access_token"] == fresh["access_token"]
    assert sent_json(route.calls.last.request) == {"refresh_token": login["refresh_token"]}


def test_logout_revokes_the_session_at_gotrue_with_the_bearer(client, sb):
    session = sb.session(ADA)
    route = sb.router.post(f"{AUTH}/logout").respond(204)

    r = client.post("/api/auth/logout", headers=bearer(session["access_token"]),
                    json={"refresh_token": session["refresh_token"]})

    assert r.status_code == 204
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/logout"
    assert request.headers["authorization"] == f"Bearer {session['access_token']}"
    assert_anon(request)
    assert request.url.params["scope"] == "local"
    assert route.call_count == 1
    cleared = set_cookies(r)
    assert 'studio_refresh=""' in cleared["studio_refresh"] and "Max-Age=0" in cleared["studio_refresh"]


# -- media in Supabase Storage -----------------------------------------------------------------------------------------

def test_assets_live_in_supabase_storage_per_user(client, sb):
    upload, signer, delete = sb.storage_routes()
    ada, ben = bearer(sb.access_token(ADA)), bearer(sb.access_token(BEN))
    data = png_bytes()
    sha = hashlib.sha256(data).hexdigest()
    key = object_key(ADA.id, sha)

    r = client.post("/api/assets", headers=ada, files={"file": ("holiday.png", data, "image/png")})

    assert r.status_code == 201, r.text
    asset = r.json()
    assert (asset["kind"], asset["content_type"], asset["sha256"], asset["size"]) == ("image", "image/png", sha, len(data))
    assert upload.call_count == 1
    sent = upload.calls.last.request
    assert sent.method == "POST" and sent.url.path == f"/storage/v1/object/{BUCKET}/{ADA.id}/{sha[:2]}/{sha}"
    assert_service(sent)
    assert sent.headers["x-upsert"] == "true"
    head, body = multipart(sent)["file"]
    assert "Content-Type: image/png" in head and body == data
    expected_url = f"{STORAGE}/object/sign/{BUCKET}/{key}?token=signed.{key[-8:]}&download=holiday.png"
    assert asset["download_url"] == expected_url
    with client.hosted.db.session() as s:
        assert s.get(Asset, asset["id"]).storage_key == key

    got = client.get(f"/api/assets/{asset['id']}", headers=ada)

    assert got.status_code == 200 and got.json()["download_url"] == expected_url
    signed = signer.calls.last.request
    assert signed.method == "POST" and signed.url.path == f"/storage/v1/object/sign/{BUCKET}/{key}"
    assert_service(signed)
    assert sent_json(signed) == {"expiresIn": str(client.hosted.server.signed_url_ttl_s), "download": "holiday.png"}
    link = urlsplit(got.json()["download_url"])
    assert (link.scheme, link.netloc) == ("https", "proj.supabase.co") and parse_qs(link.query)["download"] == ["holiday.png"]

    # another Supabase user cannot see, list or delete it: the id might as well not exist
    hidden = client.get(f"/api/assets/{asset['id']}", headers=ben)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "asset_not_found"
    assert client.delete(f"/api/assets/{asset['id']}", headers=ben).status_code == 404
    assert client.get("/api/assets", headers=ben).json() == {"assets": []}
    assert not delete.called
    assert user_row(client, BEN) is not None

    gone = client.delete(f"/api/assets/{asset['id']}", headers=ada)

    assert gone.status_code == 204
    assert delete.call_count == 1
    removed = delete.calls.last.request
    assert removed.method == "DELETE" and removed.url.path == f"/storage/v1/object/{BUCKET}"
    assert_service(removed)
    assert sent_json(removed) == {"prefixes": [key]}
    assert client.get(f"/api/assets/{asset['id']}", headers=ada).status_code == 404
    assert not any(c.request.url.path.startswith("/auth/v1/") and "jwks" not in c.request.url.path for c in sb.router.calls)


def test_the_same_photo_from_two_users_is_two_objects_and_one_delete_keeps_the_other(client, sb):
    upload, _signer, delete = sb.storage_routes()
    data = png_bytes(96, 64)
    sha = hashlib.sha256(data).hexdigest()
    ada, ben = bearer(sb.access_token(ADA)), bearer(sb.access_token(BEN))
    a = client.post("/api/assets", headers=ada, files={"file": ("p.png", data, "image/png")}).json()
    client.post("/api/assets", headers=ben, files={"file": ("p.png", data, "image/png")})

    assert [c.request.url.path for c in upload.calls] == [f"/storage/v1/object/{BUCKET}/{object_key(who.id, sha)}"
                                                          for who in (ADA, BEN)]
    assert client.delete(f"/api/assets/{a['id']}", headers=ada).status_code == 204
    assert sent_json(delete.calls.last.request) == {"prefixes": [object_key(ADA.id, sha)]}
    assert len(client.get("/api/assets", headers=ben).json()["assets"]) == 1


# -- OAuth with PKCE ---------------------------------------------------------------------------------------------------

def test_oauth_round_trip_through_supabase_with_pkce(client, sb):
    start = client.get("/api/auth/oauth/github", follow_redirects=False)

    assert start.status_code == 303
    location = urlsplit(start.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{AUTH}/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["provider"] == "github"
    assert query["redirect_to"] == "http://testserver/api/auth/callback"
    assert query["code_challenge_method"].lower() == "s256"
    pkce = set_cookies(start)["studio_pkce"]
    assert "HttpOnly" in pkce and "Path=/api/auth" in pkce
    verifier = client.cookies["studio_pkce"]
    assert query["code_challenge"] == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert verifier not in start.headers["location"]
    assert not sb.router.calls  # sending the browser away needs no request
    session = sb.session(ADA)
    route = sb.token_route("pkce").respond(json=session)

    back = client.get("/api/auth/callback", params={"code": "abc"}, follow_redirects=False)

    assert back.status_code == 303 and back.headers["location"] == "/studio/"
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/token" and request.url.params["grant_type"] == "pkce"
    assert_anon(request)
    assert sent_json(request) == {"auth_code": "abc", "code_verifier": verifier}
    cookies = set_cookies(back)
    assert cookies["studio_refresh"].startswith(f"studio_refresh={session['refresh_token']};")
    assert cookies["studio_access"].startswith(f"studio_access={session['access_token']};")
    assert "HttpOnly" in cookies["studio_refresh"] and "HttpOnly" in cookies["studio_access"]
    assert 'studio_pkce=""' in cookies["studio_pkce"]  # the verifier is spent
    assert user_row(client, ADA).email == ADA.email


def test_oauth_callback_without_the_pkce_cookie_is_401(client, sb):
    route = sb.token_route("pkce").respond(json=sb.session(ADA))

    r = client.get("/api/auth/callback", params={"code": "abc"}, follow_redirects=False)

    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_auth_code"
    assert not route.called


def test_oauth_callback_with_a_spent_code_is_401(client, sb):
    client.get("/api/auth/oauth/google", follow_redirects=False)
    route = sb.token_route("pkce").mock(return_value=gotrue_error(404, "flow_state_not_found", "invalid flow state"))

    r = client.get("/api/auth/callback", params={"code": "abc"}, follow_redirects=False)

    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_auth_code"
    assert route.call_count == 1 and "set-cookie" not in r.headers


def test_oauth_is_unavailable_with_local_accounts(api, sb):
    client = api({})  # make_settings' default: local accounts, local storage

    r = client.get("/api/auth/oauth/github", follow_redirects=False)

    assert r.status_code == 404 and r.json()["error"]["code"] == "oauth_unavailable"
    assert "set-cookie" not in r.headers
    assert client.get("/api/health").json()["auth_mode"] == "local"


# -- Supabase down -----------------------------------------------------------------------------------------------------

@pytest.fixture
def impatient(api):
    """A Supabase server whose adapters retry without waiting (the defaults back off for seconds)."""
    from studio.auth.supabase import SupabaseAuth
    from studio.storage.supabase import SupabaseStorage

    return api(auth=SupabaseAuth(URL, ANON, retry_wait=0), storage=SupabaseStorage(URL, SERVICE, BUCKET, retry_wait=0))


def test_gotrue_failing_persistently_is_503_upstream_unavailable(impatient, sb, caplog):
    route = sb.token_route("password").mock(side_effect=lambda request: httpx.Response(502, text="<html>Bad gateway</html>"))

    started = time.monotonic()
    r = impatient.post("/api/auth/login", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 503
    assert r.json()["error"]["code"] == "upstream_unavailable"
    assert route.call_count == 3 and all(c.request.url.params["grant_type"] == "password" for c in route.calls)
    assert time.monotonic() - started < 5
    assert "retry" in caplog.text
    assert user_row(impatient, ADA) is None


def test_gotrue_unreachable_on_signup_is_503(impatient, sb):
    route = sb.router.post(f"{AUTH}/signup").mock(side_effect=httpx.ConnectError("connection refused"))

    r = impatient.post("/api/auth/signup", json={"email": ADA.email, "password": PASSWORD})

    assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
    assert route.call_count == 3


def test_storage_failing_persistently_is_503_and_nothing_is_recorded(impatient, sb):
    route = sb.router.post(url__regex=rf"^{re.escape(STORAGE)}/object/{BUCKET}/.+").respond(503, text="Service Unavailable")

    r = impatient.post("/api/assets", headers=bearer(sb.access_token(ADA)), files={"file": ("p.png", png_bytes(), "image/png")})

    assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
    assert route.call_count == 3
    assert_service(route.calls.last.request)
    assert impatient.get("/api/assets", headers=bearer(sb.access_token(ADA))).json() == {"assets": []}
    leftovers = impatient.hosted.uploads_dir
    assert not leftovers.exists() or not list(leftovers.iterdir())
