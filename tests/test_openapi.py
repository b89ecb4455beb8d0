"""The OpenAPI schema describes what the server really answers: schemathesis sends generated requests (valid and
invalid) to every operation and requires no server error, no undeclared status, header or body shape, and correct
405 answers (with Allow) to undeclared methods. Bounded per operation so that CI stays quick."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from tests.api_helpers import make_settings  # noqa: E402

EXAMPLES = 25
_state: dict = {}
_counts = {"requests": 0, "5xx": 0}


def _app():
    import tempfile
    from pathlib import Path

    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(Path(tempfile.mkdtemp(prefix="studio-openapi-")), login_per_minute=100_000,
                                  daily_shorts=100_000))
    hosted.runner.work = lambda job_id: None  # the API's answers are under test, not the video pipeline
    app = create_api(hosted)

    @app.middleware("http")
    async def count(request, call_next):
        response = await call_next(request)
        _counts["requests"] += 1
        _counts["5xx"] += response.status_code >= 500
        return response

    client = TestClient(app)
    client.__enter__()
    _state.update(app=app, client=client)
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


def _token(fresh: bool) -> str:
    """The session the generated requests use; a new one for logout, which ends it."""
    import uuid

    if fresh or "token" not in _state:
        r = _state["client"].post("/api/auth/signup", json={"email": f"s{uuid.uuid4().hex[:12]}@example.com",
                                                             "password": "correct horse battery"})
        _state["token"] = r.json()["access_token"]
    return _state["token"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case):
    # Valid-looking data may still be refused for reasons a schema cannot say (a weak password, an email already
    # taken, a quota): that check is left out; every answer must still be declared.
    logout = case.path == "/api/auth/logout"
    case.call_and_validate(headers={"Authorization": f"Bearer {_token(logout)}"},
                           excluded_checks=[positive_data_acceptance])
    if logout:
        _state.pop("token", None)


def test_the_run_sent_many_requests_and_got_no_server_error():
    """Runs after the operations above (file order); the figures go to the README's security section."""
    print(f"\nschemathesis: {_counts['requests']} requests, {_counts['5xx']} answered 5xx")
    assert _counts["requests"] >= 300 and _counts["5xx"] == 0
