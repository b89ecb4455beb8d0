"""Check-then-act on shared state is atomic on SQLite and on the real PostgreSQL: one successor per refresh token,
exact daily quotas. Each race is run several times; a lucky interleaving must not pass a broken implementation."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from studio.errors import RateLimited
from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401


@pytest.fixture
def hosted(tmp_path, database_url):  # noqa: F811
    from studio.hosted import Hosted

    h = Hosted(make_settings(tmp_path / "home", database_url, daily_shorts=3))
    yield h
    h.db.dispose()


def _together(n: int, fn):
    """Run ``fn(i)`` in ``n`` threads released at the same instant; answers results and exceptions."""
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - the race's losers are part of the result
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_parallel_redemptions_give_one_successor_and_a_late_one_revokes(hosted):
    from studio.tables import RefreshToken

    for round_ in range(3):
        first = hosted.auth.sign_up(f"r{round_}@example.com", "correct horse battery")
        out = _together(24, lambda _i, t=first.refresh_token: hosted.auth.refresh(t))
        assert not [o for o in out if isinstance(o, Exception)], out
        assert len({(o.refresh_token, o.access_token) for o in out}) == 1
        with hosted.db.session() as db:
            rows = db.scalars(select(RefreshToken).where(RefreshToken.user_id == first.user.user_id)).all()
        assert len(rows) == 2 and all(r.revoked_at is None for r in rows)
        # after the window the spent token is theft: the family ends, the successor with it
        hosted.auth.refresh_grace_s = 0
        with pytest.raises(Exception, match="already used"):
            hosted.auth.refresh(first.refresh_token)
        with pytest.raises(Exception, match="session has ended"):
            hosted.auth.refresh(out[0].refresh_token)
        hosted.auth.refresh_grace_s = 10


def test_parallel_spending_never_passes_the_quota(hosted):
    from studio.tables import UsageEvent

    for round_ in range(4):
        subject = f"user:race-{round_}"
        out = _together(20, lambda _i, s=subject: hosted.spend(s, 3))
        assert sum(o is None for o in out) == 3, out
        assert all(isinstance(o, RateLimited) for o in out if o is not None)
        assert hosted.quota(subject, 3).used == 3
        with hosted.db.session() as db:
            assert db.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.subject == subject)) == 3


def test_parallel_short_requests_accept_exactly_the_quota(hosted):
    """Through POST /api/shorts (the runner is real; its work is a no-op so only the accounting is measured)."""
    from studio.api.app import create_api
    from studio.tables import Job

    hosted.runner.work = lambda job_id: None
    with TestClient(create_api(hosted)) as client:
        for round_ in range(3):
            who = signup(client, f"q{round_}@example.com")
            out = _together(20, lambda i, h=bearer(who): client.post("/api/shorts", headers=h,
                                                      json={"topic": f"race {i}", "profile": "offline"}).status_code)
            assert sorted(out) == [202] * 3 + [429] * 17, out
            with hosted.db.session() as db:
                assert db.scalar(select(func.count()).select_from(Job).where(Job.owner_id == who["user"]["id"])) == 3


def test_an_invalid_field_costs_no_quota(hosted):
    from studio.api.app import create_api

    with TestClient(create_api(hosted)) as client:
        who = signup(client, "inv@example.com")
        for body in ({"topic": "x", "profile": "turbo"}, {"topic": "x", "voice": "robot"},
                     {"topic": "x", "template": "nope"}, {"topic": "x", "language": "xx"}, {"topic": "x", "duration": 1}):
            r = client.post("/api/shorts", headers=bearer(who), json=body)
            assert r.status_code == 422, (body, r.text)
        assert client.get("/api/me", headers=bearer(who)).json()["quota"]["used_today"] == 0


def test_voice_cloning_without_consent_and_too_many_photos_are_refused_before_charging(hosted):
    from studio.api.app import create_api

    with TestClient(create_api(hosted)) as client:
        who = signup(client, "vc@example.com")
        from tests.test_api_media import upload, wav_bytes

        voice = upload(client, who, wav_bytes(seconds=8.0)).json()["id"]
        r = client.post("/api/shorts", headers=bearer(who), json={"topic": "x", "voice_sample_asset_id": voice})
        assert r.status_code == 422 and r.json()["error"]["remedy"]["field"] == "voice_consent"
        r = client.post("/api/shorts", headers=bearer(who), json={"topic": "x", "asset_ids": ["a"] * 31})
        assert r.status_code == 422 and "asset_ids" in r.json()["error"]["message"]
        assert client.get("/api/me", headers=bearer(who)).json()["quota"]["used_today"] == 0
