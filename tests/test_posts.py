"""/api/posts on SQLite and PostgreSQL: scheduling a real short to a connected account in the creator's time zone,
the post text from post.json, Idempotency-Key, rescheduling across a DST change, cancelling, and tenancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401
from tests.publish_helpers import connect_account


@pytest.fixture
def client(tmp_path, database_url, topic_short):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        c.short = topic_short
        yield c
    hosted.db.dispose()


def _ready(client, email: str):
    """A creator with a real rendered short saved to their account and a connected (fake) YouTube channel."""
    who = signup(client, email)
    uid = who["user"]["id"]
    short_id = client.hosted.save_short(uid, None, client.short)
    conn_id = connect_account(client.hosted, uid)
    return who, short_id, conn_id


def _tomorrow(hour: int = 9) -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime(f"%Y-%m-%dT{hour:02d}:00")


def test_schedule_uses_the_platforms_text_and_an_idempotency_key_makes_it_once(client):
    ada, short_id, conn_id = _ready(client, "ada@example.com")
    body = {"short_id": short_id, "connection_id": conn_id, "local_time": _tomorrow(9), "timezone": "Europe/Berlin",
            "options": {"made_for_kids": False}}
    h = {**bearer(ada), "Idempotency-Key": "calendar-1"}
    first = client.post("/api/posts", headers=h, json=body)
    assert first.status_code == 201, first.text
    post = first.json()
    shorts_text = json.loads(Path(client.short.post).read_text())["platforms"]["shorts"]
    assert post["text"]["title"] == shorts_text["title"] and post["text"]["caption"] == shorts_text["caption"]
    assert post["status"] == "scheduled" and post["platform"] == "youtube"
    assert post["options"] == {"privacy": "public", "synthetic_media": True, "made_for_kids": False}
    # the same key and body: the same post, not a second one; the same key with another body: refused
    again = client.post("/api/posts", headers=h, json=body)
    assert again.status_code == 200 and again.json()["id"] == post["id"]
    other = client.post("/api/posts", headers=h, json={**body, "local_time": _tomorrow(11)})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(client.get("/api/posts", headers=bearer(ada)).json()["posts"]) == 1
    # YouTube asks every upload whether it is made for kids: no default is chosen for the creator
    r = client.post("/api/posts", headers=bearer(ada), json={**body, "options": {}})
    assert r.status_code == 422 and "made for kids" in r.json()["error"]["message"]
    # the creator's own text, checked like the editor's
    own = {"title": "My title", "caption": "Line one\nLine two #tag", "hashtags": ["#tag"]}
    r = client.post("/api/posts", headers=bearer(ada), json={**body, "text": own})
    assert r.status_code == 201 and r.json()["text"] == own
    bad = client.post("/api/posts", headers=bearer(ada), json={**body, "text": {**own, "title": "a\u0000b"}})
    assert bad.status_code == 422 and "control character" in bad.json()["error"]["message"]


def test_wall_times_hold_across_a_dst_change(client):
    """Berlin leaves CET (UTC+1) for CEST (UTC+2) on 28 March 2027. 09:00 on each side is 08:00 and 07:00 UTC; a
    post moved across the change keeps its 09:00; a time the clocks skip is refused, naming it."""
    ada, short_id, conn_id = _ready(client, "ada@example.com")
    base = {"short_id": short_id, "connection_id": conn_id, "timezone": "Europe/Berlin",
            "options": {"made_for_kids": False}}
    before = client.post("/api/posts", headers=bearer(ada), json={**base, "local_time": "2027-03-27T09:00"}).json()
    after = client.post("/api/posts", headers=bearer(ada), json={**base, "local_time": "2027-03-29T09:00"}).json()
    assert before["publish_at"] == "2027-03-27T08:00:00Z" and after["publish_at"] == "2027-03-29T07:00:00Z"
    moved = client.patch(f"/api/posts/{before['id']}", headers=bearer(ada), json={"local_time": "2027-03-30T09:00"})
    assert moved.status_code == 200 and moved.json()["publish_at"] == "2027-03-30T07:00:00Z"
    assert moved.json()["local_time"] == "2027-03-30T09:00"
    gap = client.post("/api/posts", headers=bearer(ada), json={**base, "local_time": "2027-03-28T02:30"})
    assert gap.status_code == 422 and "does not exist" in gap.json()["error"]["message"]
    # the other side of the year: 31 October 2027, 02:30 happens twice; the first (CEST) is taken
    twice = client.post("/api/posts", headers=bearer(ada), json={**base, "local_time": "2027-10-31T02:30"}).json()
    assert twice["publish_at"] == "2027-10-31T00:30:00Z"
    # a zone somewhere else: New York's change is on 14 March 2027
    ny = client.post("/api/posts", headers=bearer(ada), json={**base, "timezone": "America/New_York",
                                                               "local_time": "2027-03-15T09:00"}).json()
    assert ny["publish_at"] == "2027-03-15T13:00:00Z"
    for bad, words in (("Mars/Olympus", "Unknown time zone"), ("Europe/Berlin", "has passed")):
        when = "2020-01-01T09:00" if words == "has passed" else _tomorrow()
        r = client.post("/api/posts", headers=bearer(ada), json={**base, "timezone": bad, "local_time": when})
        assert r.status_code == 422 and words in r.json()["error"]["message"], r.text


def test_the_dispatcher_claims_at_the_local_time_across_dst(client, monkeypatch):
    """The post for 09:00 Berlin on the day after the change is due at 07:00 UTC, not at 08:00 (winter's offset)."""
    from studio.publishing import dispatch

    ada, short_id, conn_id = _ready(client, "ada@example.com")
    post = client.post("/api/posts", headers=bearer(ada), json={
        "short_id": short_id, "connection_id": conn_id, "timezone": "Europe/Berlin", "local_time": "2027-03-29T09:00",
        "options": {"made_for_kids": False}}).json()
    d = dispatch.Dispatcher(client.hosted, name="test-dispatcher")
    d.settings = _no_lead(d.settings)  # YouTube's posts are otherwise uploaded ahead (private + publishAt)
    for now, due in ((datetime(2027, 3, 29, 6, 59, 30, tzinfo=UTC), False),
                     (datetime(2027, 3, 29, 7, 0, 5, tzinfo=UTC), True)):
        monkeypatch.setattr(dispatch, "utcnow", lambda now=now: now)
        claimed = d.claim(10)
        assert [c.post_id for c in claimed] == ([post["id"]] if due else []), now
    d.stop(wait=False)


def _no_lead(settings):
    from dataclasses import replace

    return replace(settings, youtube_upload_ahead_h=0.0)


def test_reschedule_cancel_and_what_cannot_change(client):
    ada, short_id, conn_id = _ready(client, "ada@example.com")
    body = {"short_id": short_id, "connection_id": conn_id, "local_time": _tomorrow(9), "timezone": "Europe/Berlin",
            "options": {"made_for_kids": True}}
    post = client.post("/api/posts", headers=bearer(ada), json=body).json()
    r = client.patch(f"/api/posts/{post['id']}", headers=bearer(ada), json={"options": {"privacy": "unlisted"}})
    assert r.status_code == 200 and r.json()["options"]["privacy"] == "unlisted" and r.json()["options"]["made_for_kids"]
    # a post a dispatcher holds (or has posted) is not moved under it
    from studio.tables import Post

    with client.hosted.db.session() as s:
        s.get(Post, post["id"]).status = "publishing"
    r = client.patch(f"/api/posts/{post['id']}", headers=bearer(ada), json={"local_time": _tomorrow(10)})
    assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_editable"
    assert client.delete(f"/api/posts/{post['id']}", headers=bearer(ada)).status_code == 409
    with client.hosted.db.session() as s:
        s.get(Post, post["id"]).status = "scheduled"
    r = client.delete(f"/api/posts/{post['id']}", headers=bearer(ada))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    listed = client.get("/api/posts", headers=bearer(ada), params={"status": "cancelled"}).json()["posts"]
    assert [p["id"] for p in listed] == [post["id"]] and listed[0]["account"] == "Fake channel"
    assert listed[0]["account_status"] == "active"
    # the calendar's window: from/to with offsets
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert client.get("/api/posts", headers=bearer(ada), params={"from": start}).json()["posts"] == []
    r = client.get("/api/posts", headers=bearer(ada), params={"from": "2026-12-01T00:00"})
    assert r.status_code == 422 and "offset" in r.json()["error"]["message"]
    # preset slots per account
    r = client.put(f"/api/connections/{conn_id}/slots", headers=bearer(ada), json={"slots": ["18:30", "9:00", "09:00"]})
    assert r.status_code == 200 and r.json()["slots"] == ["09:00", "18:30"]
    r = client.put(f"/api/connections/{conn_id}/slots", headers=bearer(ada), json={"slots": ["25:00"]})
    assert r.status_code == 422


def test_tenancy_of_posts(client):
    ada, short_id, conn_id = _ready(client, "ada@example.com")
    bo, bo_short, bo_conn = _ready(client, "bo@example.com")
    body = {"short_id": short_id, "connection_id": conn_id, "local_time": _tomorrow(9), "timezone": "UTC",
            "options": {"made_for_kids": False}}
    post = client.post("/api/posts", headers=bearer(ada), json=body).json()
    for method in ("get", "delete"):
        r = getattr(client, method)(f"/api/posts/{post['id']}", headers=bearer(bo))
        assert r.status_code == 404 and r.json()["error"]["code"] == "post_not_found"
    r = client.patch(f"/api/posts/{post['id']}", headers=bearer(bo), json={"local_time": _tomorrow(10)})
    assert r.status_code == 404
    assert client.get("/api/posts", headers=bearer(bo)).json()["posts"] == []
    # Bo cannot post Ada's short, nor to Ada's account, nor set her slots
    for mix in ({"short_id": short_id, "connection_id": bo_conn}, {"short_id": bo_short, "connection_id": conn_id}):
        r = client.post("/api/posts", headers=bearer(bo), json={**body, **mix})
        assert r.status_code == 404, mix
    assert client.put(f"/api/connections/{conn_id}/slots", headers=bearer(bo), json={"slots": []}).status_code == 404
    # the same Idempotency-Key is per creator: Bo's does not collide with Ada's
    for who, s_id, c_id in ((ada, short_id, conn_id), (bo, bo_short, bo_conn)):
        r = client.post("/api/posts", headers={**bearer(who), "Idempotency-Key": "k"},
                        json={**body, "short_id": s_id, "connection_id": c_id})
        assert r.status_code == 201
