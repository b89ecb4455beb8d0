"""Supabase adapters at the HTTP boundary: respx plays GoTrue and Storage with their documented request and response
shapes, and the token checks use real keys made here (ES256 and RS256 served as a JWKS, an HS256 secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from studio.auth.base import Principal, Session
from studio.auth.jwt_verify import SupabaseTokenVerifier
from studio.auth.supabase import SupabaseAuth
from studio.errors import ApiError, Conflict, NotFound, RateLimited, Unauthorized, UpstreamUnavailable
from studio.storage.base import StoredObject, object_key
from studio.storage.supabase import SupabaseStorage

URL = "https://abcdefghijklmnop.supabase.co"
AUTH = f"{URL}/auth/v1"
JWKS_URL = f"{AUTH}/.well-known/jwks.json"
ANON = "anon-public-key-123"
SERVICE = "service-role-key-SECRET-456"
USER_ID = "2f5c5a62-3f1e-4b55-9a0e-0c7f3f3d1a11"
EMAIL = "ana@example.com"
PASSWORD = "correct horse battery staple"
HS_SECRET = "legacy-jwt-secret-with-at-least-thirty-two-characters"


# -- GoTrue shapes ---------------------------------------------------------------------------------------------------

USER = {"id": USER_ID, "aud": "authenticated", "role": "authenticated", "email": EMAIL, "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}, "identities": [],
        "created_at": "2025-05-01T10:00:00.000000Z", "updated_at": "2025-05-01T10:00:00.000000Z", "is_anonymous": False}


def token_body(access: str = "access-1", refresh: str = "refresh-1") -> dict:
    """GoTrue's AccessTokenResponse (openapi.yaml: AccessTokenResponseSchema)."""
    return {"access_token": access, "token_type": "bearer", "expires_in": 3600, "expires_at": int(time.time()) + 3600,
            "refresh_token": refresh, "user": USER}


def gotrue_error(status: int, code: str, message: str, *, legacy: bool = False, **extra) -> httpx.Response:
    """The python client sends ``X-Supabase-Api-Version: 2024-01-01``, so GoTrue answers ``{"code", "message"}`` and
    echoes the version; without that header it answers the legacy ``{"code": <status>, "error_code", "msg"}``."""
    if legacy:
        return httpx.Response(status, json={"code": status, "error_code": code, "msg": message, **extra})
    return httpx.Response(status, json={"code": code, "message": message, **extra},
                          headers={"X-Supabase-Api-Version": "2024-01-01"})


def sent_json(route: respx.Route) -> dict:
    return json.loads(route.calls.last.request.content)


@pytest.fixture
def mock():
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def auth():
    provider = SupabaseAuth(URL, ANON, retry_wait=0)
    yield provider
    provider.close()


# -- auth: password sign-in, sign-up, refresh, sign-out ----------------------------------------------------------------

def test_sign_in_posts_the_password_grant_and_returns_a_session(mock, auth):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "password"}).respond(json=token_body())

    session = auth.sign_in(EMAIL, PASSWORD)

    assert session == Session(access_token="access-1", refresh_token="refresh-1", expires_in=3600,
                              user=Principal(user_id=USER_ID, email=EMAIL))
    request = route.calls.last.request
    assert request.method == "POST" and request.url.path == "/auth/v1/token"
    assert request.url.params["grant_type"] == "password"
    assert request.headers["apikey"] == ANON
    assert "authorization" not in request.headers  # the anon key is not a bearer token; no user token exists yet
    assert request.headers["content-type"].startswith("application/json")
    body = sent_json(route)
    assert body["email"] == EMAIL and body["password"] == PASSWORD


@pytest.mark.parametrize("legacy", [False, True], ids=["api-2024-01-01", "legacy"])
def test_sign_in_with_a_wrong_password_is_invalid_credentials(mock, auth, legacy):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "password"}).mock(
        return_value=gotrue_error(400, "invalid_credentials", "Invalid login credentials", legacy=legacy))

    with pytest.raises(Unauthorized) as caught:
        auth.sign_in(EMAIL, "wrong password")

    assert caught.value.code == "invalid_credentials" and caught.value.status == 401
    assert "wrong password" not in str(caught.value)
    assert route.call_count == 1  # a refusal is not retried


@pytest.mark.parametrize("legacy", [False, True], ids=["api-2024-01-01", "legacy"])
def test_sign_up_with_a_weak_password_is_422_weak_password(mock, auth, legacy):
    mock.post(f"{AUTH}/signup").mock(return_value=gotrue_error(
        422, "weak_password", "Password should be at least 8 characters.", legacy=legacy, weak_password={"reasons": ["length"]}))

    with pytest.raises(ApiError) as caught:
        auth.sign_up(EMAIL, "pw-Xq9")

    assert caught.value.code == "weak_password" and caught.value.status == 422
    assert "at least 8 characters" in caught.value.hint
    assert "pw-Xq9" not in str(caught.value)


@pytest.mark.parametrize("code", ["user_already_exists", "email_exists"])
def test_sign_up_with_a_taken_email_is_a_conflict(mock, auth, code):
    mock.post(f"{AUTH}/signup").mock(return_value=gotrue_error(422, code, "User already registered"))

    with pytest.raises(Conflict) as caught:
        auth.sign_up(EMAIL, PASSWORD)

    assert caught.value.code == "email_taken" and caught.value.status == 409


def test_sign_up_returns_a_session_when_no_confirmation_is_needed(mock, auth):
    route = mock.post(f"{AUTH}/signup").respond(json=token_body())

    result = auth.sign_up(EMAIL, PASSWORD)

    assert isinstance(result, Session) and result.user.user_id == USER_ID
    body = sent_json(route)
    assert body["email"] == EMAIL and body["password"] == PASSWORD
    assert "code_challenge" not in body  # confirmation links are not PKCE: no verifier would survive this call


def test_sign_up_returns_a_principal_when_the_email_must_be_confirmed(mock, auth):
    mock.post(f"{AUTH}/signup").respond(json={**USER, "confirmation_sent_at": "2025-05-01T10:00:01Z"})

    assert auth.sign_up(EMAIL, PASSWORD) == Principal(user_id=USER_ID, email=EMAIL)


def test_refresh_posts_the_refresh_token_grant(mock, auth):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "refresh_token"}).respond(
        json=token_body(access="access-2", refresh="refresh-2"))

    session = auth.refresh("refresh-1")

    assert (session.access_token, session.refresh_token) == ("access-2", "refresh-2")
    assert route.calls.last.request.headers["apikey"] == ANON
    assert sent_json(route) == {"refresh_token": "refresh-1"}


@pytest.mark.parametrize("answer", [
    gotrue_error(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"),
    gotrue_error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"),
    gotrue_error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found", legacy=True),
    gotrue_error(403, "session_expired", "Session Expired"),
    httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid Refresh Token: Refresh Token Not Found"}),
], ids=["already-used", "not-found", "not-found-legacy", "session-expired", "oauth-shape"])
def test_an_expired_or_reused_refresh_token_is_refused(mock, auth, answer):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "refresh_token"}).mock(return_value=answer)

    with pytest.raises(Unauthorized) as caught:
        auth.refresh("refresh-1")

    assert caught.value.code == "invalid_refresh_token"
    assert "refresh-1" not in str(caught.value)
    assert route.call_count == 1


def test_5xx_is_retried_then_succeeds(mock, auth, caplog):
    caplog.set_level(logging.DEBUG)
    route = mock.post(f"{AUTH}/token", params={"grant_type": "password"})
    route.side_effect = [httpx.Response(503, text="upstream connect error"),
                         httpx.Response(500, json={"code": "unexpected_failure", "message": "Database error"},
                                        headers={"X-Supabase-Api-Version": "2024-01-01"}),
                         httpx.Response(200, json=token_body())]

    assert auth.sign_in(EMAIL, PASSWORD).access_token == "access-1"
    assert route.call_count == 3
    assert "retry" in caplog.text
    assert PASSWORD not in caplog.text and "access-1" not in caplog.text


@pytest.mark.parametrize("failure", [httpx.Response(502, text="<html>Bad gateway</html>"),
                                     httpx.ConnectError("connection refused")], ids=["502", "network"])
def test_persistent_upstream_failure_is_upstream_unavailable(mock, auth, failure):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "password"})
    route.side_effect = failure if isinstance(failure, Exception) else lambda request: failure

    with pytest.raises(UpstreamUnavailable) as caught:
        auth.sign_in(EMAIL, PASSWORD)

    assert route.call_count == 3
    assert caught.value.status == 503 and PASSWORD not in str(caught.value)


def test_429_is_rate_limited_and_not_retried(mock, auth):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "password"}).mock(return_value=httpx.Response(
        429, json={"code": "over_request_rate_limit", "message": "Request rate limit reached"},
        headers={"X-Supabase-Api-Version": "2024-01-01", "Retry-After": "17"}))

    with pytest.raises(RateLimited) as caught:
        auth.sign_in(EMAIL, PASSWORD)

    assert caught.value.retry_after == 17 and caught.value.headers == {"Retry-After": "17"}
    assert route.call_count == 1


def test_sign_out_revokes_the_session_with_the_access_token(mock, auth):
    route = mock.post(f"{AUTH}/logout").respond(204)

    auth.sign_out("refresh-1", "access-1")

    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer access-1"
    assert request.headers["apikey"] == ANON
    assert request.url.params["scope"] == "local"  # this session only, not the person's other devices


def test_sign_out_with_an_expired_access_token_refreshes_then_revokes(mock, auth):
    logout = mock.post(f"{AUTH}/logout")
    logout.side_effect = [gotrue_error(403, "bad_jwt", "invalid JWT: token is expired"), httpx.Response(204)]
    refresh = mock.post(f"{AUTH}/token", params={"grant_type": "refresh_token"}).respond(json=token_body(access="access-2"))

    auth.sign_out("refresh-1", "access-1")

    assert refresh.call_count == 1 and sent_json(refresh) == {"refresh_token": "refresh-1"}
    assert [c.request.headers["authorization"] for c in logout.calls] == ["Bearer access-1", "Bearer access-2"]


def test_sign_out_of_a_session_that_already_ended_is_quiet(mock, auth):
    mock.post(f"{AUTH}/logout").mock(return_value=gotrue_error(403, "bad_jwt", "invalid JWT"))
    refresh = mock.post(f"{AUTH}/token", params={"grant_type": "refresh_token"}).mock(
        return_value=gotrue_error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"))

    auth.sign_out("refresh-1", "access-1")

    assert refresh.call_count == 1


# -- auth: OAuth with PKCE -------------------------------------------------------------------------------------------

def test_oauth_url_carries_an_s256_challenge_of_the_returned_verifier(mock, auth):
    url, verifier = auth.oauth_url("github", "https://studio.example.com/auth/callback")

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{AUTH}/authorize"
    assert query["provider"] == "github"
    assert query["redirect_to"] == "https://studio.example.com/auth/callback"
    assert query["code_challenge_method"].upper() == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == expected
    assert 43 <= len(verifier) <= 128
    assert verifier not in url
    assert not mock.calls  # building the URL needs no request
    assert auth.oauth_url("github", "https://studio.example.com/auth/callback")[1] != verifier  # fresh every time


@pytest.mark.parametrize("provider, redirect", [("git hub", "https://x.example"), ("github", "javascript:alert(1)")])
def test_oauth_url_refuses_odd_providers_and_redirects(auth, provider, redirect):
    with pytest.raises(ApiError):
        auth.oauth_url(provider, redirect)


def test_exchange_code_posts_the_auth_code_and_verifier(mock, auth):
    route = mock.post(f"{AUTH}/token", params={"grant_type": "pkce"}).respond(json=token_body())

    session = auth.exchange_code("009e5066-fc11-4eca-8c8c-6fd82aa263f2", "the-verifier-" + "v" * 40)

    assert session.user == Principal(user_id=USER_ID, email=EMAIL)
    assert route.calls.last.request.headers["apikey"] == ANON
    assert sent_json(route) == {"auth_code": "009e5066-fc11-4eca-8c8c-6fd82aa263f2", "code_verifier": "the-verifier-" + "v" * 40}


def test_exchange_code_with_a_spent_code_is_refused(mock, auth):
    mock.post(f"{AUTH}/token", params={"grant_type": "pkce"}).mock(
        return_value=gotrue_error(404, "flow_state_not_found", "invalid flow state, no valid flow state found"))

    with pytest.raises(Unauthorized) as caught:
        auth.exchange_code("009e5066-fc11-4eca-8c8c-6fd82aa263f2", "v" * 43)

    assert caught.value.code == "invalid_auth_code"


# -- access-token verification with real keys ------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(private_key, alg: str, kid: str) -> dict:
    algorithm = jwt.algorithms.ECAlgorithm if alg == "ES256" else jwt.algorithms.RSAAlgorithm
    jwk = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]}


@pytest.fixture(scope="module")
def keys():
    return {"ec": ec.generate_private_key(ec.SECP256R1()), "ec_other": ec.generate_private_key(ec.SECP256R1()),
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture
def jwks(mock, keys):
    """The project's JWKS endpoint, as Supabase publishes it for asymmetric signing keys."""
    published = [_public_jwk(keys["ec"], "ES256", "ec-1"), _public_jwk(keys["rsa"], "RS256", "rsa-1")]
    return mock.get(JWKS_URL).respond(json={"keys": published})


def claims(**changes) -> dict:
    now = int(time.time())
    base = {"iss": AUTH, "sub": USER_ID, "aud": "authenticated", "exp": now + 3600, "iat": now, "email": EMAIL,
            "role": "authenticated", "aal": "aal1", "session_id": "b1e3c2d4-0000-4000-8000-000000000001", "is_anonymous": False}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def es256(keys, kid: str = "ec-1", key: str = "ec", **changes) -> str:
    return jwt.encode(claims(**changes), keys[key], algorithm="ES256", headers={"kid": kid})


def test_es256_token_from_the_jwks_is_accepted_and_the_keys_are_cached(jwks, keys):
    verifier = SupabaseTokenVerifier(URL)

    assert verifier.verify(es256(keys)) == Principal(user_id=USER_ID, email=EMAIL)
    assert verifier.verify(es256(keys, email=None)) == Principal(user_id=USER_ID, email="")
    assert jwks.call_count == 1


def test_rs256_token_from_the_jwks_is_accepted(jwks, keys):
    token = jwt.encode(claims(), keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})

    assert SupabaseTokenVerifier(URL).verify(token).user_id == USER_ID


def test_hs256_token_is_accepted_with_the_configured_secret(mock):
    token = jwt.encode(claims(), HS_SECRET, algorithm="HS256")

    assert SupabaseTokenVerifier(URL, jwt_secret=HS_SECRET).verify(token) == Principal(user_id=USER_ID, email=EMAIL)
    assert not mock.calls  # a legacy token never needs the JWKS


def _forge(header: dict, payload: dict, secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()) if secret is not None else ""
    return f"{signing_input}.{signature}"


def _public_pem(keys) -> bytes:
    return keys["ec"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hs256_with_public_key(keys) -> str:
    """The classic confusion attack: HMAC-sign with the published public key, hoping it is used as the secret."""
    return _forge({"alg": "HS256", "typ": "JWT", "kid": "ec-1"}, claims(), _public_pem(keys))


def _tampered(keys) -> str:
    header, _, signature = es256(keys).split(".")
    return f"{header}.{_b64(json.dumps(claims(sub='someone-else')).encode())}.{signature}"


REFUSED = {
    "expired": (lambda keys: es256(keys, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), None, "token_expired"),
    "tampered-payload": (_tampered, None, "invalid_token"),
    "wrong-key-same-kid": (lambda keys: es256(keys, key="ec_other"), None, "invalid_token"),
    "alg-none": (lambda keys: _forge({"alg": "none", "typ": "JWT", "kid": "ec-1"}, claims(), None), None, "invalid_token"),
    "hs256-public-key-as-secret": (_hs256_with_public_key, None, "invalid_token"),
    "hs256-public-key-as-secret-with-secret-set": (_hs256_with_public_key, HS_SECRET, "invalid_token"),
    "hs256-without-configured-secret": (lambda keys: jwt.encode(claims(), HS_SECRET, algorithm="HS256"), None, "invalid_token"),
    "wrong-audience": (lambda keys: es256(keys, aud="service_role"), None, "invalid_token"),
    "wrong-issuer": (lambda keys: es256(keys, iss="https://evil.supabase.co/auth/v1"), None, "invalid_token"),
    "no-subject": (lambda keys: es256(keys, sub=None), None, "invalid_token"),
    "no-expiry": (lambda keys: es256(keys, exp=None), None, "invalid_token"),
    "es256-header-on-rsa-key": (lambda keys: _forge({"alg": "ES256", "typ": "JWT", "kid": "rsa-1"}, claims(), b"x"), None,
                                "invalid_token"),
    "garbage": (lambda keys: "not-a-jwt", None, "invalid_token"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_bad_tokens_are_refused(jwks, keys, case):
    make, secret, code = REFUSED[case]
    verifier = SupabaseTokenVerifier(URL, jwt_secret=secret)
    assert verifier.verify(es256(keys)).user_id == USER_ID  # the same verifier accepts a good token

    with pytest.raises(Unauthorized) as caught:
        verifier.verify(make(keys))

    assert caught.value.code == code and caught.value.status == 401


def test_unknown_kid_refetches_once_then_is_refused(jwks, keys):
    now = [1000.0]
    verifier = SupabaseTokenVerifier(URL, refetch_cooldown=30, clock=lambda: now[0])
    verifier.verify(es256(keys))  # keys loaded
    now[0] += 60  # still within the TTL, past the cooldown
    stranger = es256(keys, kid="ec-unknown", key="ec_other")

    with pytest.raises(Unauthorized) as caught:
        verifier.verify(stranger)
    with pytest.raises(Unauthorized):
        verifier.verify(stranger)  # within the cooldown: no fetch storm from made-up kids

    assert caught.value.code == "invalid_token"
    assert jwks.call_count == 2  # the first load, then exactly one refetch


def test_a_key_rotated_in_is_picked_up_by_refetching(mock, keys):
    route = mock.get(JWKS_URL)
    route.side_effect = [httpx.Response(200, json={"keys": [_public_jwk(keys["ec"], "ES256", "ec-1")]}),
                         httpx.Response(200, json={"keys": [_public_jwk(keys["ec"], "ES256", "ec-1"),
                                                            _public_jwk(keys["ec_other"], "ES256", "ec-2")]})]
    now = [1000.0]
    verifier = SupabaseTokenVerifier(URL, clock=lambda: now[0])

    assert verifier.verify(es256(keys)).user_id == USER_ID
    now[0] += 60
    assert verifier.verify(es256(keys, kid="ec-2", key="ec_other")).user_id == USER_ID
    assert route.call_count == 2


def test_jwks_cache_expires_and_stale_keys_survive_an_outage(mock, keys):
    now = [1000.0]
    route = mock.get(JWKS_URL)
    route.side_effect = [httpx.Response(200, json={"keys": [_public_jwk(keys["ec"], "ES256", "ec-1")]}), httpx.Response(503)]
    verifier = SupabaseTokenVerifier(URL, jwks_ttl=600, clock=lambda: now[0])

    verifier.verify(es256(keys))
    now[0] += 601
    assert verifier.verify(es256(keys)).user_id == USER_ID  # refetch failed; the cached key still verifies
    assert route.call_count == 2


def test_jwks_unreachable_with_nothing_cached_is_upstream_unavailable(mock, keys):
    mock.get(JWKS_URL).mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(UpstreamUnavailable):
        SupabaseTokenVerifier(URL).verify(es256(keys))


def test_a_symmetric_key_published_in_the_jwks_never_verifies(mock):
    secret = b"published-secret-that-is-long-enough-for-hs256"
    mock.get(JWKS_URL).respond(json={"keys": [{"kty": "oct", "kid": "oct-1", "alg": "HS256", "k": _b64(secret)}]})
    token = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "oct-1"})

    verifier = SupabaseTokenVerifier(URL, jwt_secret=HS_SECRET)  # HS256 is on, but only with the configured secret
    assert verifier.verify(jwt.encode(claims(), HS_SECRET, algorithm="HS256")).user_id == USER_ID

    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_supabase_auth_verify_uses_the_projects_jwks(jwks, keys, auth):
    assert auth.verify(es256(keys)) == Principal(user_id=USER_ID, email=EMAIL)
    assert jwks.calls.last.request.headers["apikey"] == ANON


# -- storage ---------------------------------------------------------------------------------------------------------

SHA = hashlib.sha256(b"a finished short").hexdigest()
KEY = object_key(USER_ID, SHA)
STORAGE = f"{URL}/storage/v1"


@pytest.fixture
def storage():
    store = SupabaseStorage(URL, SERVICE, "studio", retry_wait=0)
    yield store
    store.close()


def _multipart(request: httpx.Request) -> dict[str, tuple[str, bytes]]:
    """name → (part headers, part body) of a multipart/form-data request."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    parts = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = chunk.strip(b"\r\n").partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        parts[name] = (head.decode(), body)
    return parts


def _assert_service_auth(request: httpx.Request) -> None:
    assert request.headers["apikey"] == SERVICE
    assert request.headers["authorization"] == f"Bearer {SERVICE}"


def test_put_file_uploads_with_content_type_and_upsert(mock, storage, tmp_path):
    video = tmp_path / "short.mp4"
    video.write_bytes(b"a finished short")
    route = mock.post(f"{STORAGE}/object/studio/{KEY}").respond(
        json={"Id": "3c6a8b0e-0000-4000-8000-000000000002", "Key": f"studio/{KEY}"})

    stored = storage.put_file(USER_ID, video, "video/mp4", SHA)

    assert stored == StoredObject(key=KEY, size=len(b"a finished short"), sha256=SHA, content_type="video/mp4")
    request = route.calls.last.request
    _assert_service_auth(request)
    assert request.headers["x-upsert"] == "true"  # same content, same key: a second upload is a no-op, not a 409
    assert request.headers["content-type"].startswith("multipart/form-data")
    head, body = _multipart(request)["file"]
    assert "Content-Type: video/mp4" in head and body == b"a finished short"


def test_storage_5xx_is_retried_then_succeeds(mock, storage, tmp_path):
    video = tmp_path / "short.mp4"
    video.write_bytes(b"a finished short")
    route = mock.post(f"{STORAGE}/object/studio/{KEY}")
    route.side_effect = [httpx.Response(500, json={"statusCode": "500", "error": "internal", "message": "Internal Server Error"}),
                         httpx.Response(502, text="<html>Bad gateway</html>"),
                         httpx.Response(200, json={"Key": f"studio/{KEY}"})]

    assert storage.put_file(USER_ID, video, "video/mp4", SHA).key == KEY
    assert route.call_count == 3
    assert _multipart(route.calls.last.request)["file"][1] == b"a finished short"  # the file is re-read on each try


def test_storage_5xx_persistent_is_upstream_unavailable(mock, storage, caplog):
    caplog.set_level(logging.DEBUG)
    route = mock.post(f"{STORAGE}/object/sign/studio/{KEY}").respond(503, text="Service Unavailable")

    with pytest.raises(UpstreamUnavailable) as caught:
        storage.signed_url(KEY, expires_in=600, filename="short.mp4", content_type="video/mp4")

    assert route.call_count == 3
    assert SERVICE not in str(caught.value) and SERVICE not in caplog.text


def test_signed_url_is_absolute_and_downloads_under_the_file_name(mock, storage):
    route = mock.post(f"{STORAGE}/object/sign/studio/{KEY}").respond(
        json={"signedURL": f"/object/sign/studio/{KEY}?token=eyJhbGciOiJIUzI1NiJ9.signed.token"})

    url = storage.signed_url(KEY, expires_in=600, filename="My short.mp4", content_type="video/mp4")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", urlsplit(URL).netloc, f"/storage/v1/object/sign/studio/{KEY}")
    query = parse_qs(parts.query)
    assert query["token"] == ["eyJhbGciOiJIUzI1NiJ9.signed.token"] and query["download"] == ["My short.mp4"]
    _assert_service_auth(route.calls.last.request)
    sent = sent_json(route)
    assert int(sent["expiresIn"]) == 600 and sent["download"] == "My short.mp4"


@pytest.mark.parametrize("http_status", [400, 404], ids=["legacy-400", "404"])
def test_signed_url_for_a_missing_object_is_not_found(mock, storage, http_status):
    mock.post(f"{STORAGE}/object/sign/studio/{KEY}").respond(
        http_status, json={"statusCode": "404", "error": "not_found", "message": "Object not found"})

    with pytest.raises(NotFound) as caught:
        storage.signed_url(KEY, expires_in=600, filename="short.mp4", content_type="video/mp4")

    assert caught.value.status == 404


def test_delete_removes_the_object(mock, storage):
    route = mock.delete(f"{STORAGE}/object/studio").respond(json=[{"name": KEY, "bucket_id": "studio"}])

    storage.delete(KEY)

    _assert_service_auth(route.calls.last.request)
    assert sent_json(route) == {"prefixes": [KEY]}


@pytest.mark.parametrize("http_status", [400, 404], ids=["legacy-400", "404"])
def test_delete_of_a_missing_object_is_quiet(mock, storage, http_status):
    route = mock.delete(f"{STORAGE}/object/studio").respond(
        http_status, json={"statusCode": "404", "error": "not_found", "message": "Object not found"})

    storage.delete(KEY)

    assert route.call_count == 1


def test_nothing_secret_in_reprs(auth, storage):
    assert ANON not in repr(auth) and SERVICE not in repr(storage)
