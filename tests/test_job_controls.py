"""Cancel and Retry as a creator meets them, through the REST API (the UI's buttons call the same Hosted methods):
a job cancelled before it started gives its quota back, once; one cancelled while it runs stays counted; Retry
spends again only what was given back. Then the words the UI's progress bar shows for a job, look after look."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401

SHORT = {"script": "Cats sleep most of the day. They dream of fish.", "profile": "offline"}


class HeldRunner:
    """Sends jobs nowhere: they wait, queued, as they do before a worker is free (the claim is the test's)."""

    def __init__(self, store) -> None:
        self.store = store
        self.sent: list[str] = []
        self.revoked: list[str] = []

    def submit(self, job_id: str) -> None:
        self.sent.append(job_id)
        self.store.sent(job_id)

    def revoke(self, job_id: str) -> None:
        self.revoked.append(job_id)

    def start(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture
def api(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url, daily_shorts=2))
    hosted.runner = HeldRunner(hosted.runner.store)
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        c.creds = bearer(signup(c, "cat@example.com"))
        c.owner = c.get("/api/me", headers=c.creds).json()["id"]
        yield c
    hosted.db.dispose()


def _used(api) -> int:
    return api.hosted.quota(f"user:{api.owner}", 2).used


def _start(api) -> str:
    r = api.post("/api/shorts", json=SHORT, headers=api.creds)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_a_job_cancelled_before_it_starts_gives_its_quota_back_once(api):
    job_id = _start(api)
    assert _used(api) == 1
    results: list = []
    gate = threading.Barrier(4)

    def cancel() -> None:  # four cancels at the same moment (two tabs, a script, a double tap)
        gate.wait()
        try:
            results.append(api.hosted.cancel_job(api.owner, job_id))
        except Exception as exc:  # a cancel that finds it already cancelled: 409 job_finished
            results.append(getattr(exc, "code", repr(exc)))

    threads = [threading.Thread(target=cancel) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "cancelled" in results and set(results) <= {"cancelled", "job_finished"}, results
    assert _used(api) == 0  # given back exactly once
    assert api.hosted.runner.revoked and api.hosted.runner.revoked[0] == job_id
    again = api.post(f"/api/jobs/{job_id}/cancel", headers=api.creds)
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
    assert _used(api) == 0


def test_a_job_cancelled_while_it_runs_stays_counted(api):
    job_id = _start(api)
    assert api.hosted.jobs.claim(job_id, "a-worker") == "run"
    r = api.post(f"/api/jobs/{job_id}/cancel", headers=api.creds)
    assert r.status_code == 200 and (r.json()["status"], r.json()["cancel_requested"]) == ("running", True)
    assert _used(api) == 1  # its work ran: cancelling late does not make it free


def test_retry_spends_again_only_what_was_given_back(api):
    cancelled = _start(api)
    assert api.post(f"/api/jobs/{cancelled}/cancel", headers=api.creds).json()["status"] == "cancelled"
    assert _used(api) == 0
    r = api.post(f"/api/jobs/{cancelled}/retry", headers=api.creds)
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    assert _used(api) == 1 and api.hosted.runner.sent.count(cancelled) == 2

    failed = _start(api)  # the day's second and last short
    assert api.hosted.jobs.claim(failed, "a-worker") == "run"
    api.hosted.jobs.fail(failed, "render_failed", "ffmpeg stopped.")
    r = api.post(f"/api/jobs/{failed}/retry", headers=api.creds)
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    assert _used(api) == 2  # it kept what it spent: not charged again

    r = api.post(f"/api/jobs/{cancelled}/retry", headers=api.creds)  # queued now: nothing to retry
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_not_retryable"
    assert api.post(f"/api/jobs/{cancelled}/cancel", headers=api.creds).json()["status"] == "cancelled"
    assert _used(api) == 1
    third = _start(api)  # the freed short is used by a new one
    assert _used(api) == 2
    r = api.post(f"/api/jobs/{cancelled}/retry", headers=api.creds)  # it would need a short the day has not got
    assert r.status_code == 429 and r.json()["error"]["code"] == "quota_exceeded"
    with api.hosted.db.session() as s:
        from studio.tables import Job

        assert s.get(Job, cancelled).status == "cancelled" and s.get(Job, third).status == "queued"
    assert _used(api) == 2


def test_the_progress_bar_says_where_the_job_is_and_never_moves_back():
    from studio.ui_jobs import JobView, ProgressWords, cancelled_words

    def look(status, progress=0.0, stage="", attempts=1, **kw):
        return JobView(status, progress, stage, "", attempts, kw.pop("cancel", False), False, **kw)

    words = ProgressWords()
    assert words(look("queued", attempts=0)) == (0.0, "Waiting for a free worker…")
    assert words(look("queued", attempts=0, ahead=2)) == (0.0, "Waiting for a free worker… (2 shorts ahead of yours)")
    assert words(look("queued", attempts=0, held_back=True))[1].startswith("Waiting: your other shorts")
    assert words(look("running")) == (0.0, "Starting…")
    assert words(look("running", 0.1, "voice")) == (0.1, "Recording the voice…")
    assert words(look("running", 0.6, "render")) == (0.6, "Rendering the video…")
    # its worker stopped; another took it over and starts again: the bar stays, and says why the stages repeat
    assert words(look("running", 0.05, "script", attempts=2)) == (
        0.6, "Writing the script… (started again: its worker stopped)")
    assert words(look("running", 0.7, "render", attempts=2, cancel=True)) == (0.7, "Cancelling…")
    assert "does not count" in cancelled_words(JobView("cancelled", 0, "", "", 0, False, True))
    assert "still counts toward today's re-renders" in cancelled_words(
        JobView("cancelled", 0.5, "render", "", 1, True, False, kind="render"))


def test_a_queued_job_knows_its_place_and_when_its_creator_is_at_the_cap(api):
    from studio.ui_hooks import Account, UiHooks

    hooks, who = UiHooks(api.hosted), Account(api.owner, None, "127.0.0.1")
    more = (f"user:{api.owner}", 9)  # the day's two shorts are not enough for three jobs
    first, second = _start(api), api.hosted.start_short(api.owner, SHORT, None, quota=more)
    assert (hooks.job(who, first).ahead, hooks.job(who, second).ahead) == (0, 1)
    third = api.hosted.start_short(api.owner, SHORT, None, quota=more)
    for job_id in (first, second):  # two of the creator's shorts are being made: the most one may have at once
        assert api.hosted.jobs.claim(job_id, f"worker-{job_id}") == "run"
    view = hooks.job(who, third)
    assert (view.status, view.ahead, view.held_back) == ("queued", 0, True)
