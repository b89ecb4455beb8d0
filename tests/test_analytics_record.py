"""What the front ends record (studio/analytics/record.py): a hosted short's run, its stages and its job's state
changes; a short's A/B variant made from its timeline; a failed job as a failed run; the CLI's and the Python API's
own runs in this machine's database; and a deleted short's rows gone from the database and, at the next export,
from the Parquet. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401
from tests.test_api_media import png_bytes, upload, wait


@pytest.fixture
def client(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url, daily_shorts=5, daily_renders=3))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def _events(hosted, **where):
    from studio.tables import EventRow

    with hosted.db.session() as s:
        q = select(EventRow).order_by(EventRow.id)
        for name, value in where.items():
            q = q.where(getattr(EventRow, name) == value)
        return [{c: getattr(e, c) for c in ("kind", "owner_id", "run_id", "job_id", "short_id", "name", "engine",
                                             "status", "code", "seconds", "calls", "hits", "data")}
                for e in s.scalars(q)]


@pytest.mark.slow  # two real renders
def test_a_short_its_variant_and_its_deletion(client, tmp_path):
    h = client.hosted
    ada, bob = signup(client, "ada@example.com"), signup(client, "bob@example.com")
    photo = upload(client, ada, png_bytes(480, 320)).json()
    r = client.post("/api/shorts", headers=bearer(ada), json={
        "script": "Mornings matter. Drink water first. Then walk outside.", "profile": "offline",
        "asset_ids": [photo["id"]]})
    assert r.status_code == 202, r.text
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    short_id, owner = job["short"]["id"], ada["user"]["id"]

    # 1. the run: one run event, a stage event per stage with its engine, the job's changes in order
    [run] = _events(h, kind="run", short_id=short_id)
    assert run["owner_id"] == owner and run["status"] == "succeeded" and run["job_id"] == job["id"]
    assert run["data"]["device"] == "cpu" and run["data"]["duration"] > 3
    assert run["data"]["units"]["voice_chars"] == len("Mornings matter. Drink water first. Then walk outside.")
    assert run["data"]["paid_usd"] > 0 and run["data"]["hook_style"] and run["data"]["request"]["script_chars"] > 0
    stages = _events(h, kind="stage", run_id=run["run_id"])
    with h.db.session() as s:
        from studio.tables import Short

        engines = s.get(Short, short_id).engines
    assert {e["name"]: e["engine"] for e in stages} == engines
    assert run["seconds"] == pytest.approx(sum(e["seconds"] for e in stages), abs=0.01)
    assert [e["status"] for e in _events(h, kind="job", job_id=job["id"])] == ["queued", "running", "succeeded"]

    # 2. a variant with another hook: a new short rendered from the timeline, both in one experiment
    r = client.post(f"/api/shorts/{short_id}/variants", headers=bearer(ada), json={"hook": "Stop scrolling"})
    assert r.status_code == 202, r.text
    made = r.json()
    assert [v["label"] for v in made["experiment"]["variants"]] == ["A", "B"]
    assert [v["short_id"] for v in made["experiment"]["variants"]] == [short_id, made["short_id"]]
    done = wait(client, ada, made["job"]["id"])
    assert done["status"] == "succeeded", done["error"]
    got = client.get(f"/api/shorts/{made['short_id']}/timeline", headers=bearer(ada)).json()
    assert got["hook"] == "Stop scrolling"
    [variant_run] = _events(h, kind="run", short_id=made["short_id"])
    assert variant_run["data"]["hook_style"] == "warning"
    # the same hook again is no variant; another creator's short is not found
    same = client.post(f"/api/shorts/{short_id}/variants", headers=bearer(ada), json={"hook": got["hook"]})
    assert same.status_code == 202  # the original's hook differs from the variant's: a third variant, C
    assert [v["label"] for v in same.json()["experiment"]["variants"]] == ["A", "B", "C"]
    assert wait(client, ada, same.json()["job"]["id"])["status"] == "succeeded"
    original_hook = client.get(f"/api/shorts/{short_id}/timeline", headers=bearer(ada)).json()["hook"]
    r = client.post(f"/api/shorts/{short_id}/variants", headers=bearer(ada), json={"hook": original_hook})
    assert r.status_code == 422 and "different" in r.json()["error"]["message"]
    r = client.post(f"/api/shorts/{short_id}/variants", headers=bearer(bob), json={"hook": "Mine now"})
    assert r.status_code == 404
    verdict = h.analytics.verdict(owner, made["experiment"]["id"])
    assert verdict.leader is None and "enough" in verdict.said.lower()

    # 3. deleting the short deletes its events now, and its rows from the Parquet at the next export
    h.analytics.refresh(force=True)
    import duckdb

    files = str(h.analytics.root / "events" / "day=*" / "*.parquet")

    def in_parquet(sid: str) -> int:
        return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{files}') WHERE short_id = ?",
                                        [sid]).fetchone()[0]

    assert in_parquet(short_id) == len(_events(h, short_id=short_id)) > 0
    assert client.delete(f"/api/shorts/{short_id}", headers=bearer(ada)).status_code == 204
    assert _events(h, short_id=short_id) == []
    h.analytics.refresh(force=True)
    assert in_parquet(short_id) == 0
    assert in_parquet(made["short_id"]) == len(_events(h, short_id=made["short_id"])) > 0


def test_a_failed_job_is_a_failed_run_with_its_code(client):
    h = client.hosted
    ada = signup(client, "ada@example.com")
    owner = ada["user"]["id"]
    job_id = h.new_job(owner, "short", {"script": "x"}, f"user:{owner}", 5, "short")
    h.jobs.fail(job_id, "voice_missing", "No voice.")
    h.jobs.fail(job_id, "voice_missing", "No voice.")  # a second report of the same end changes nothing
    assert [(e["status"], e["code"]) for e in _events(h, kind="job", job_id=job_id)] == [
        ("queued", None), ("failed", "voice_missing")]
    [run] = _events(h, kind="run", job_id=job_id)
    assert (run["status"], run["code"], run["owner_id"]) == ("failed", "voice_missing", owner)
    assert h.jobs.retry(job_id)
    assert [e["status"] for e in _events(h, kind="job", job_id=job_id)] == ["queued", "failed", "queued"]


def test_the_python_api_records_its_runs_in_this_machines_database(studio, session_home, topic_short):
    from studio.analytics.store import EventStore  # noqa: F401 - the table exists once the store's migration ran
    from studio.db import Database
    from studio.tables import EventRow

    db = Database.for_home(session_home)
    try:
        with db.session() as s:
            runs = s.scalars(select(EventRow).where(EventRow.kind == "run",
                                                    EventRow.run_id == topic_short.report["run_id"])).all()
            assert [(e.name, e.owner_id, e.status) for e in runs] == [("python", None, "succeeded")]
            stages = s.scalars(select(EventRow).where(EventRow.kind == "stage",
                                                      EventRow.run_id == topic_short.report["run_id"])).all()
            assert {e.name for e in stages} == {r.stage for r in topic_short.stages}
            assert runs[0].data["units"]["voice_chars"] > 0 and runs[0].data["cost"]["lines"]
    finally:
        db.dispose()


def test_hook_styles_are_rules_on_the_words():
    from studio.analytics.record import hook_style

    assert [hook_style(h) for h in ("Is your coffee lying to you?", "3 habits that stick", "How I wake at 5",
                                    "Stop doing this", "Your mornings are broken", "Mornings matter", "")] == [
        "question", "number", "how", "warning", "you", "statement", "none"]


def test_deleting_an_account_deletes_its_events_and_the_next_export_forgets_them(client):
    from datetime import UTC, datetime

    import duckdb

    from studio.analytics.types import MetricSnapshot
    from studio.tables import User

    h = client.hosted
    ada, bob = signup(client, "ada@example.com"), signup(client, "bob@example.com")
    for who in (ada, bob):
        owner = who["user"]["id"]
        h.jobs.fail(h.new_job(owner, "short", {"script": "x"}, f"user:{owner}", 5, "short"), "boom", "No.")
        h.analytics.store.snapshots([MetricSnapshot(platform="tiktok", remote_id=f"v-{owner}", source="csv_tiktok",
                                                    taken_at=datetime.now(UTC), owner_id=owner, views=10)])
    h.analytics.refresh(force=True)
    root = h.analytics.root

    def rows(owner: str) -> int:
        con = duckdb.connect()
        return sum(con.execute(f"SELECT count(*) FROM read_parquet('{root}/{t}/*/*.parquet') WHERE owner_id = ?",
                               [owner]).fetchone()[0] for t in ("events", "metrics"))

    a, b = ada["user"]["id"], bob["user"]["id"]
    assert rows(a) == 4 and rows(b) == 4  # queued, failed, the failed run, one snapshot
    r = client.request("DELETE", "/api/me", headers=bearer(ada), json={"confirm": "yes"})
    assert r.status_code == 422 and "delete my account" in r.json()["error"]["message"]
    r = client.request("DELETE", "/api/me", headers=bearer(ada), json={"confirm": "delete my account"})
    assert r.status_code == 200 and r.json()["events"] == 4, r.text
    with h.db.session() as s:
        assert s.get(User, a) is None and s.get(User, b) is not None
    assert _events(h, owner_id=a) == [] and len(_events(h, owner_id=b)) == 3
    h.analytics.refresh(force=True)
    assert rows(a) == 0 and rows(b) == 4
