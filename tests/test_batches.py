"""Batches (studio.batches): a CSV or JSON list of shorts, every row checked as POST /api/shorts checks one. Bad rows
refuse the batch by row number and cost nothing, or are skipped with --skip-bad and listed as refused in the summary
CSV; the good rows are real offline shorts. Through the API (tenancy included) and through `studio batch`."""

from __future__ import annotations

import csv
import io
import time

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401

GOOD = "Mornings matter. Drink water first."
# rows 2 and 4 are good; row 3 asks for a negative duration, row 5 for a platform that does not exist
MIXED_CSV = ("\ufefftopic,script,duration,profile,platform\n"
             f",{GOOD},5,offline,reels\n"
             "A bad one,,-4,offline,reels\n"
             f",\"{GOOD} Then walk.\",5,offline,shorts\n"
             "Another,,5,offline,myspace\n")


def _api(tmp_path, url: str, **server):
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", url, **server))
    client = TestClient(create_api(hosted))
    client.hosted = hosted
    return client


@pytest.fixture
def client(tmp_path):
    with _api(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", daily_shorts=5) as c:
        yield c
    c.hosted.db.dispose()


def _post_csv(client, who, text: str, **query):
    return client.post("/api/batches", headers={**bearer(who), "Content-Type": "text/csv"}, content=text.encode(),
                       params=query)


def _quota_used(client, who) -> int:
    return client.get("/api/me", headers=bearer(who)).json()["quota"]["used_today"]


def test_bad_rows_refuse_the_batch_by_number_and_cost_nothing(tmp_path, database_url):  # noqa: F811
    with _api(tmp_path, database_url, daily_shorts=3, max_body_kb=8) as client:
        ada = signup(client, "ada@example.com")
        r = _post_csv(client, ada, MIXED_CSV)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "bad_rows" and [row["row"] for row in error["rows"]] == [3, 5]
        assert error["rows"][0]["errors"] == ["duration: Input should be greater than 0"]
        assert "myspace" in error["rows"][1]["errors"][0]
        assert "2 of 4 rows cannot be made (the header is row 1): row 3: duration:" in error["message"]

        # the same shorts as JSON: the first short is row 1
        shorts = [{"script": GOOD, "duration": 5, "profile": "offline"}, {"topic": "x", "seed": -1}, "not a short",
                  {"topic": "y", "voice": "nobody"}]
        r = client.post("/api/batches", headers=bearer(ada), json={"shorts": shorts})
        assert r.status_code == 422 and [row["row"] for row in r.json()["error"]["rows"]] == [2, 3, 4]

        r = _post_csv(client, ada, "topic,colour\nx,red\n")
        assert r.status_code == 422 and "'colour'" in r.json()["error"]["message"]
        r = client.post("/api/batches", headers={**bearer(ada), "Content-Type": "text/plain"}, content=b"topic\nx\n")
        assert r.status_code == 415
        r = client.post("/api/batches", headers={**bearer(ada), "Content-Type": "application/json"}, content=b"{nope")
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body"
        r = _post_csv(client, ada, "topic\n" + "x" * 9000 + "\n")  # over STUDIO_MAX_BODY_KB, with no middleware
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

        # four good shorts and three left today: refused whole, naming what is left
        four = "script,duration,profile\n" + f"{GOOD},5,offline\n" * 4
        r = _post_csv(client, ada, four)
        assert r.status_code == 429 and r.json()["error"]["code"] == "quota_exceeded"
        assert "3 of today's 3 are left" in r.json()["error"]["message"]

        assert _quota_used(client, ada) == 0
        assert client.get("/api/jobs", headers=bearer(ada)).json()["jobs"] == []
    client.hosted.db.dispose()


def _wait_batch(client, who, batch_id: str, timeout: float = 150) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        body = client.get(f"/api/batches/{batch_id}", headers=bearer(who)).json()
        if body["done"]:
            return body
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} did not finish: {body}")


@pytest.mark.slow
def test_skip_bad_makes_the_good_rows_and_the_summary_lists_the_refused(client):
    ada, bob = signup(client, "ada@example.com"), signup(client, "bob@example.com")
    r = _post_csv(client, ada, MIXED_CSV, skip_bad="true", name="mornings")
    assert r.status_code == 202, r.text
    queued = r.json()
    assert [j["row"] for j in queued["jobs"]] == [2, 4] and [x["row"] for x in queued["refused"]] == [3, 5]
    assert queued["counts"]["refused"] == 2 and _quota_used(client, ada) == 2  # the refused rows cost nothing

    done = _wait_batch(client, ada, queued["id"])
    assert done["counts"] == {"queued": 0, "running": 0, "succeeded": 2, "failed": 0, "cancelled": 0, "refused": 2}
    assert done["progress"] == 1.0 and all(j["short_id"] and j["progress"] == 1.0 for j in done["jobs"])

    r = client.get(f"/api/batches/{queued['id']}/summary.csv", headers=bearer(ada))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["row"], x["status"]) for x in lines] == [("2", "succeeded"), ("3", "refused"), ("4", "succeeded"),
                                                        ("5", "refused")]
    assert lines[1]["title"] == "A bad one" and lines[1]["error_code"] == "bad_row"
    assert "duration" in lines[1]["error_message"] and "myspace" in lines[3]["error_message"]
    assert lines[0]["short_id"] and lines[0]["title"]
    video = client.get(lines[0]["video"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    # another creator's batch is exactly a missing one
    for path in (f"/api/batches/{queued['id']}", f"/api/batches/{queued['id']}/summary.csv"):
        theirs, missing = client.get(path, headers=bearer(bob)), client.get(path.replace(queued["id"], "0" * 32),
                                                                             headers=bearer(bob))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "batch_not_found"


def _cli(*args: str):
    from typer.testing import CliRunner

    from studio.cli import app

    return CliRunner().invoke(app, ["batch", *args], catch_exceptions=False)


@pytest.mark.slow
def test_studio_batch_runs_the_rows_copies_them_out_and_writes_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DAILY_SHORTS", "1")  # the operator's batch is not held to a creator's quota
    topics = tmp_path / "topics.csv"
    topics.write_text(MIXED_CSV, encoding="utf-8")

    r = _cli(str(topics))
    assert r.exit_code == 2 and "row 3: duration:" in r.output and "row 5:" in r.output
    assert not (tmp_path / "topics.summary.csv").exists()
    for args, flag in (([str(tmp_path / "nope.csv")], "CSV_FILE:"), ([str(topics), "--user", "who@example.com"], "--user:"),
                       ([str(topics), "--summary", str(tmp_path / "no" / "s.csv")], "--summary:"),
                       ([str(topics), "--out", str(topics)], "--out:")):
        r = _cli(*args)
        assert r.exit_code == 2 and flag in r.output, r.output

    out = tmp_path / "shorts"
    r = _cli(str(topics), "--skip-bad", "--out", str(out))
    assert r.exit_code == 1, r.output  # two rows made no short: skipped as bad
    assert "row 3" in r.output and "2 succeeded" in r.output
    lines = list(csv.DictReader((tmp_path / "topics.summary.csv").open(encoding="utf-8")))
    assert [(x["row"], x["status"]) for x in lines] == [("2", "succeeded"), ("3", "refused"), ("4", "succeeded"),
                                                        ("5", "refused")]
    for x in (lines[0], lines[2]):
        assert x["video"] == str(out / f"row-{x['row']}" / "short.mp4")
        video = out / f"row-{x['row']}" / "short.mp4"
        assert video.read_bytes()[4:8] == b"ftyp" and (video.parent / "timeline.json").is_file()

    # for a creator: their short, the operator's count
    from sqlalchemy import select

    from studio.db import Database
    from studio.tables import Job, QuotaCounter, User

    db = Database.for_home(tmp_path / "home")
    with db.session() as s:
        s.add(User(email="ada@example.com", password_hash=None))
    good = tmp_path / "good.csv"
    good.write_text(f"script,duration,profile\n{GOOD},5,offline\n", encoding="utf-8")
    r = _cli(str(good), "--summary", str(tmp_path / "good-summary.csv"), "--user", "ada@example.com")
    assert r.exit_code == 0, r.output
    line, = csv.DictReader((tmp_path / "good-summary.csv").open(encoding="utf-8"))
    assert line["status"] == "succeeded" and line["video"]
    with db.session() as s:
        ada = s.scalar(select(User.id).where(User.email == "ada@example.com"))
        assert s.scalar(select(Job.owner_id).where(Job.id == line["job_id"])) == ada
        assert {q.subject: q.used for q in s.scalars(select(QuotaCounter))} == {"operator": 3}
    db.dispose()
