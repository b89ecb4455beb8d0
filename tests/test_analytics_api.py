"""/api/analytics on SQLite and PostgreSQL: the dashboards' numbers from events and snapshots written through the
event store, tenancy (another creator sees nothing of yours and gets 404 for your post and experiment), A/B test
validation, and CSV imports (preview, one-transaction commit, a repeat storing nothing twice, refusals with their
reason, the size limit enforced while the upload streams in)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from studio.analytics.types import Event, MetricSnapshot
from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401

DATA = Path(__file__).parent / "data"
CSV = DATA / "analytics"
NOW = datetime.now(UTC).replace(microsecond=0)
POSTED = NOW - timedelta(days=3)
# post → views at 1 h, 24 h and 48 h after posting, and the share still watching at 3 s
A_POSTS = {"a-1": (900, 10_000, 12_000, 0.80), "a-2": (1_100, 12_000, 14_000, 0.78),
           "a-3": (1_000, 11_000, 13_000, 0.82), "a-flop": (60, 700, 800, 0.30)}


@pytest.fixture
def client(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def _curve(hook: float) -> tuple[tuple[float, float], ...]:
    """A 30 s video's retention: a straight fall to ``hook`` at 3 s (ratio 0.1), then down to half of it."""
    return ((0.0, 1.0), (0.1, hook), (0.5, hook * 0.75), (1.0, hook * 0.5))


def seed_post(store, owner: str, post_id: str, short_id: str, views: tuple[int, int, int], hook: float) -> None:
    store.record_many([Event(kind="publish", event_id=f"pub:{post_id}", at=POSTED, owner_id=owner, post_id=post_id,
                             short_id=short_id, platform="youtube", status="posted", seconds=10.0,
                             data={"remote_id": f"yt-{post_id}", "title": f"Title {post_id}", "duration": 30.0,
                                   "posted_at": POSTED.isoformat(), "template": "bold", "voice": "amy",
                                   "hook_style": "question"})])
    store.snapshots(MetricSnapshot(platform="youtube", remote_id=f"yt-{post_id}", source="youtube_data",
                                   taken_at=POSTED + timedelta(hours=h), posted_at=POSTED, owner_id=owner,
                                   post_id=post_id, short_id=short_id, views=v, likes=v // 25, comments=v // 200)
                    for h, v in zip((1, 24, 48), views))
    store.snapshots([MetricSnapshot(platform="youtube", remote_id=f"yt-{post_id}", source="youtube_analytics",
                                    taken_at=POSTED + timedelta(hours=49), posted_at=POSTED, owner_id=owner,
                                    post_id=post_id, short_id=short_id, views=views[1], avg_view_ratio=hook * 0.7,
                                    retention=_curve(hook), duration=30.0)])


def seed_runs(store, owner: str) -> list[Event]:
    """Two shorts made and one run failed today, with their stages: (engine, seconds, calls, hits)."""
    events = []
    for n, (status, code, paid) in enumerate((("succeeded", None, 0.25), ("succeeded", None, 0.35),
                                              ("failed", "voice_oom", 0.10))):
        run = f"{owner}-run-{n}"
        stages = {"script": ("qwen2", 4.0 + n, 3, 1), "voice": ("piper", 10.0 + n, 2, 2)}
        for name, (engine, seconds, calls, hits) in stages.items():
            events.append(Event(kind="stage", at=NOW, owner_id=owner, run_id=run, name=name, engine=engine,
                                seconds=seconds, calls=calls, hits=hits))
        events.append(Event(kind="run", at=NOW, owner_id=owner, run_id=run, name="web", status=status, code=code,
                            seconds=14.0 + 2 * n, data={"paid_usd": paid}))
    store.record_many(events)
    return events


def _creators(client):
    """Ada with four posts (one a flop: few views, the hook lost them) and three runs; Bob with one huge post."""
    ada, bob = signup(client, "ada@example.com"), signup(client, "bob@example.com")
    store = client.hosted.analytics.store
    for post_id, (*views, hook) in A_POSTS.items():
        seed_post(store, ada["user"]["id"], post_id, f"short-{post_id}", tuple(views), hook)
    seed_post(store, bob["user"]["id"], "b-1", "short-b-1", (90_000, 2_000_000, 2_500_000), 0.9)
    seed_runs(store, ada["user"]["id"])
    return ada, bob


def _shorts(client, owner: str, n: int) -> list[str]:
    from studio.tables import Short

    with client.hosted.db.session() as s:
        rows = [Short(owner_id=owner, title=f"short {i}") for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


# -- dashboards -------------------------------------------------------------------------------------------------------


def test_my_studio_counts_the_creators_own_runs(client):
    ada, bob = _creators(client)
    r = client.get("/api/analytics/studio?days=7", headers=bearer(ada))
    assert r.status_code == 200, r.text
    board = r.json()
    today = NOW.date().isoformat()
    assert board["runs"] == 3 and len(board["shorts_per_day"]) == 7
    assert board["shorts_per_day"][-1] == [today, 2] and sum(n for _, n in board["shorts_per_day"]) == 2
    assert board["failures"] == [["voice_oom", 1]]
    assert board["stage_seconds"] == [["voice", pytest.approx(11.0), 3], ["script", pytest.approx(5.0), 3]]
    assert sorted(board["engines"]) == [["script", "qwen2", 3], ["voice", "piper", 3]]
    assert board["cache_hit_rate"] == pytest.approx(9 / (9 + 15))  # hits ÷ (hits + calls)
    assert board["savings"][-1] == [today, pytest.approx(14 + 16 + 18), pytest.approx(0.70)]

    nothing = client.get("/api/analytics/studio", headers=bearer(bob)).json()  # bob made nothing
    assert nothing["runs"] == 0 and nothing["failures"] == [] and nothing["cache_hit_rate"] is None
    assert len(nothing["shorts_per_day"]) == 30 and all(n == 0 for _, n in nothing["shorts_per_day"])


def test_my_posts_are_the_creators_own_with_their_curves(client):
    ada, bob = _creators(client)
    r = client.get("/api/analytics/posts?timezone=Europe/Berlin", headers=bearer(ada))
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["timezone"] == "Europe/Berlin"
    posts = {p["post_id"]: p for p in board["posts"]}
    assert set(posts) == set(A_POSTS)
    for post_id, (v1, v24, v48, hook) in A_POSTS.items():
        p = posts[post_id]
        assert p["views"] == v48 and p["platform"] == "youtube" and p["title"] == f"Title {post_id}"
        assert datetime.fromisoformat(p["posted_at"].replace("Z", "+00:00")) == POSTED
        assert p["hook_retention"] == pytest.approx(hook, abs=0.02)
        assert p["dimensions"]["template"] == "bold"
        curve = dict(board["curves"][post_id])
        assert curve[1.0] == pytest.approx(v1) and curve[24.0] == pytest.approx(v24) and curve[48.0] == pytest.approx(v48)
        assert board["retention"][post_id][1] == [0.1, pytest.approx(hook)]
    median_24 = dict(board["median_curve"])[24.0]
    assert median_24 == pytest.approx(median(v[1] for v in A_POSTS.values()))
    # all four went out at the same hour: of the week's 168 cells, one has four posts behind it (in Berlin's time)
    assert len(board["heatmap"]) == 7 * 24
    [cell] = [c for c in board["heatmap"] if c["posts"]]
    berlin = POSTED.astimezone(ZoneInfo("Europe/Berlin"))
    assert (cell["weekday"], cell["hour"], cell["posts"]) == (berlin.weekday(), berlin.hour, 4)
    assert cell["median_views"] == pytest.approx(median_24)
    assert {"dimension": "template", "value": "bold", "posts": 4, "median_views": pytest.approx(median_24)} \
        in board["comparisons"]

    theirs = client.get("/api/analytics/posts", headers=bearer(bob)).json()
    assert [p["post_id"] for p in theirs["posts"]] == ["b-1"] and set(theirs["curves"]) == {"b-1"}
    assert dict(theirs["median_curve"])[24.0] == pytest.approx(2_000_000)  # none of ada's numbers in bob's


def test_why_names_the_hook_for_the_flop_and_answers_404_for_another_creators_post(client):
    ada, bob = _creators(client)
    r = client.get("/api/analytics/posts/a-flop/why?timezone=UTC", headers=bearer(ada))
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["post_id"] == "a-flop" and why["below_baseline"] is True
    rules = [reason["rule"] for reason in why["reasons"]]
    assert {"velocity", "hook"} <= set(rules)
    hook = next(reason for reason in why["reasons"] if reason["rule"] == "hook")
    assert "30%" in hook["numbers"] and hook["suggestion"]
    fine = client.get("/api/analytics/posts/a-2/why", headers=bearer(ada)).json()
    assert fine == {"post_id": "a-2", "below_baseline": False, "reasons": []}

    for post_id in ("a-flop", "no-such-post"):  # ada's post and a missing one answer bob alike
        r = client.get(f"/api/analytics/posts/{post_id}/why", headers=bearer(bob))
        assert r.status_code == 404 and r.json()["error"]["code"] in ("not_found", "post_not_found")
    assert client.get("/api/analytics/posts/a-flop/why").status_code == 401


def test_bad_parameters_are_refused_naming_them(client):
    ada = signup(client, "ada@example.com")
    for url, field in (("/api/analytics/studio?days=0", "days"), ("/api/analytics/studio?days=400", "days"),
                       ("/api/analytics/posts?timezone=Mars/Olympus", "timezone"),
                       ("/api/analytics/posts/x/why?timezone=nowhere", "timezone")):
        r = client.get(url, headers=bearer(ada))
        assert r.status_code == 422 and field in r.json()["error"]["message"], (url, r.text)


# -- A/B tests --------------------------------------------------------------------------------------------------------


def test_experiments_are_validated_and_private(client):
    ada, bob = _creators(client)
    a_id, b_id = ada["user"]["id"], bob["user"]["id"]
    mine, theirs = _shorts(client, a_id, 4), _shorts(client, b_id, 1)
    store = client.hosted.analytics.store
    seed_post(store, a_id, "ab-a", mine[0], (100, 5_000, 6_000), 0.7)
    seed_post(store, a_id, "ab-b", mine[1], (120, 5_500, 6_500), 0.7)

    def new(who, body):
        return client.post("/api/analytics/experiments", headers=bearer(who), json=body)

    for body, field in (({"name": "one", "short_ids": mine[:1]}, "short_ids"),
                        ({"name": "four", "short_ids": mine}, "short_ids"),
                        ({"name": "alpha", "short_ids": mine[:2], "alpha": 0.5}, "alpha"),
                        ({"name": "extra", "short_ids": mine[:2], "colour": "red"}, "colour")):
        r = new(ada, body)
        assert r.status_code == 422 and field in r.json()["error"]["message"], r.text
    same = new(ada, {"name": "same twice", "short_ids": [mine[0], mine[0]]})
    assert same.status_code == 422 and "two or three different shorts" in same.json()["error"]["message"]
    other = new(ada, {"name": "not mine", "short_ids": [mine[0], theirs[0]]})
    assert other.status_code == 404 and other.json()["error"]["code"] == "short_not_found"

    r = new(ada, {"name": "Hook test", "short_ids": mine[:2]})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["name"] == "Hook test" and made["alpha"] == 0.05
    assert made["variants"] == [{"label": "A", "short_id": mine[0]}, {"label": "B", "short_id": mine[1]}]
    listed = client.get("/api/analytics/experiments", headers=bearer(ada)).json()["experiments"]
    assert [e["id"] for e in listed] == [made["id"]]

    shown = client.get(f"/api/analytics/experiments/{made['id']}", headers=bearer(ada))
    assert shown.status_code == 200, shown.text
    verdict = shown.json()["verdict"]
    assert shown.json()["name"] == "Hook test" and verdict["experiment_id"] == made["id"]
    by_label = {v["label"]: v for v in verdict["variants"]}
    assert by_label["A"]["post_ids"] == ["ab-a"] and by_label["A"]["views"] == 6_000
    assert by_label["B"]["views"] == 6_500 and by_label["B"]["engaged"] == 6_500 // 25 + 6_500 // 200
    assert verdict["said"]  # a plain statement, leader or not

    # bob: nothing listed, and ada's experiment is a 404 like a missing one, for reading and deleting
    assert client.get("/api/analytics/experiments", headers=bearer(bob)).json() == {"experiments": []}
    for exp_id in (made["id"], "0" * 32):
        assert client.get(f"/api/analytics/experiments/{exp_id}", headers=bearer(bob)).status_code == 404
        assert client.delete(f"/api/analytics/experiments/{exp_id}", headers=bearer(bob)).status_code == 404
    assert client.delete(f"/api/analytics/experiments/{made['id']}", headers=bearer(ada)).status_code == 204
    assert client.get(f"/api/analytics/experiments/{made['id']}", headers=bearer(ada)).status_code == 404


# -- CSV imports ------------------------------------------------------------------------------------------------------


def _upload(client, who, url: str, data: bytes, name: str = "Table data.csv", **form):
    return client.post(url, headers=bearer(who), files={"file": (name, data, "text/csv")},
                       data={k: json.dumps(v) if isinstance(v, dict) else v for k, v in form.items()})


def test_an_import_is_previewed_then_stored_once(client):
    ada, bob = _creators(client)
    data = (CSV / "youtube_studio_table_data.csv").read_bytes()
    r = _upload(client, ada, "/api/analytics/imports/preview", data)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["platform"] == "youtube" and p["can_import"] and p["refused"] is None and p["data_rows"] == 5
    assert p["mapping"]["Content"] == "remote_id" and p["mapping"]["Views"] == "views"
    assert p["rows"][0]["remote_id"] == "a1B2c3D4e5F" and p["sample"][0][0] == "a1B2c3D4e5F"
    assert "views" in p["fields"] and any(x["row"] == 2 and x["skipped"] for x in p["problems"])  # the Total row

    mapping = {**p["mapping"], "Subscribers": "ignore"}  # the creator's change to the proposal
    r = _upload(client, ada, "/api/analytics/imports", data, mapping=mapping, platform="youtube")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["stored"] == 5 and done["read"] == 5 and done["skipped_rows"] == [2] and done["platform"] == "youtube"
    again = _upload(client, ada, "/api/analytics/imports", data, mapping=mapping, platform="youtube").json()
    assert again["stored"] == 0 and again["read"] == 5  # the same file again: nothing twice

    from sqlalchemy import func, select

    from studio.tables import MetricSnapshotRow

    with client.hosted.db.session() as s:
        rows = s.execute(select(MetricSnapshotRow.owner_id, func.count()).where(MetricSnapshotRow.source == "csv_youtube")
                         .group_by(MetricSnapshotRow.owner_id)).all()
        assert rows == [(ada["user"]["id"], 5)]
        assert s.scalar(select(func.count()).where(MetricSnapshotRow.source == "csv_youtube",
                                                   MetricSnapshotRow.subscribers.is_not(None))) == 0
    posts = {p["post_id"]: p for p in client.get("/api/analytics/posts", headers=bearer(ada)).json()["posts"]}
    assert posts["youtube:a1B2c3D4e5F"]["views"] == 21877  # on the dashboard at once
    theirs = client.get("/api/analytics/posts", headers=bearer(bob)).json()["posts"]
    assert [p["post_id"] for p in theirs] == ["b-1"]


def test_an_import_without_a_mapping_uses_the_proposal_and_the_platform_from_the_header(client):
    ada = signup(client, "ada@example.com")
    r = _upload(client, ada, "/api/analytics/imports", (CSV / "tiktok_studio_content.csv").read_bytes())
    assert r.status_code == 201, r.text
    assert r.json()["platform"] == "tiktok" and r.json()["stored"] >= 4


def test_refused_files_say_why(client):
    ada = signup(client, "ada@example.com")
    png = (DATA / "astronaut.png").read_bytes()
    for url in ("/api/analytics/imports/preview", "/api/analytics/imports"):
        r = _upload(client, ada, url, png, name="views.csv")  # a PNG renamed .csv
        assert r.status_code == 415, r.text
        assert r.json()["error"]["reason"] == "not_csv" and "PNG" in r.json()["error"]["message"]

    unknown = (CSV / "unknown_layout.csv").read_bytes()
    p = _upload(client, ada, "/api/analytics/imports/preview", unknown).json()
    assert p["can_import"] is False and "no video id or title column" in p["refused"] and p["platform"] is None
    r = _upload(client, ada, "/api/analytics/imports", unknown, platform="youtube")
    assert r.status_code == 422 and r.json()["error"]["reason"] == "unmapped"
    assert "no views column" in r.json()["error"]["message"] and "Name, Score, When" in r.json()["error"]["message"]
    r = _upload(client, ada, "/api/analytics/imports", unknown)  # no platform, and the header does not say
    assert r.status_code == 422 and "platform" in r.json()["error"]["message"]

    data = (CSV / "youtube_studio_table_data.csv").read_bytes()
    for form, field in (({"mapping": "[1, 2]"}, "mapping"), ({"mapping": "{not json"}, "mapping"),
                        ({"platform": "instagram"}, "platform"), ({"date_order": "ymd"}, "date_order"),
                        ({"timezone": "Nowhere/City"}, "timezone")):
        r = _upload(client, ada, "/api/analytics/imports", data, **form)
        assert r.status_code == 422 and field in r.json()["error"]["message"], (form, r.text)
    r = _upload(client, ada, "/api/analytics/imports", data, mapping={"Nope": "views"})
    assert r.status_code == 422 and r.json()["error"]["reason"] == "mapping" and "'Nope'" in r.json()["error"]["message"]
    r = client.post("/api/analytics/imports", headers=bearer(ada), data={"platform": "youtube"},
                    files={"other": ("x.csv", data, "text/csv")})
    assert r.status_code == 422 and "file" in r.json()["error"]["message"]
    r = client.post("/api/analytics/imports/preview", headers={**bearer(ada), "Content-Type": "text/csv"}, content=data)
    assert r.status_code == 415 and r.json()["error"]["code"] == "not_multipart"
    nothing = client.get("/api/analytics/posts", headers=bearer(ada)).json()
    assert nothing["posts"] == []  # no refused import stored anything


def test_a_large_upload_is_refused_while_it_streams_in(client):
    ada = signup(client, "ada@example.com")
    big = b"Content,Views\n" + b"abcdefghijk,1\n" * (21 * 2**20 // 14)
    r = _upload(client, ada, "/api/analytics/imports/preview", big)
    assert r.status_code == 413 and r.json()["error"]["reason"] == "too_large"

    # no Content-Length (chunked): the body is read 1 MB at a time and the answer comes long before 2 GB are sent
    sent = {"chunks": 0}
    boundary = b"b0undary"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\nContent,Views\n")

    async def receive():
        sent["chunks"] += 1
        if sent["chunks"] > 2048:
            raise AssertionError("the whole 2 GB body was read")
        body = head if sent["chunks"] == 1 else b"abcdefghijk,1\n" * (2**20 // 14)
        return {"type": "http.request", "body": body, "more_body": True}

    answer: dict = {}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/analytics/imports/preview", "raw_path": b"/api/analytics/imports/preview",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {ada['access_token']}".encode()),
                         (b"content-type", b"multipart/form-data; boundary=" + boundary)]}
    asyncio.run(client.app(scope, receive, send))
    assert answer["status"] == 413 and json.loads(answer["body"])["error"]["reason"] == "too_large"
    assert sent["chunks"] <= 24  # 20 MB and a little: never the rest
