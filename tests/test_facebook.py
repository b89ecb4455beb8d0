"""Facebook Page Reels against a local fake of Meta's APIs (tests/fake_meta.py), through the same publisher a real
Page uses: start an upload session, send the bytes to rupload, finish (published now, or SCHEDULED in Unix seconds);
an interrupted upload resumes from Facebook's bytes_transferred; a saved handle is asked first and never finished
twice; connecting one login brings one account per Page, each with its own Page token; and a `studio dispatch`
killed right after finish leaves exactly one Reel."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from studio.publishing.base import ClaimLost, Delivery, Refused, Transient, Unconfirmed
from studio.publishing.facebook import SCOPES, Facebook, FacebookPublisher, finish_fields
from tests import test_instagram as shared
from tests.api_helpers import database_url  # noqa: F401
from tests.fake_meta import CLIENT_ID, FakeMeta
from tests.publish_helpers import killed_after_the_final_step
from tests.test_instagram import (
    Recorder,
    connect,
    delivery,
    meta_connection,
    schedule,
    sealed,
    settings_for,
)

# the fixtures tests/test_instagram.py defines: the fake, a hosted studio with a short, one for connecting
meta, hosted_env, connecting = shared.meta, shared.hosted_env, shared.connecting

PAGE = "100000000000001"


@pytest.fixture
def page_token(meta):
    return meta.page_token(PAGE)


def fb(short, publish_at: datetime | None = None, handle: dict | None = None) -> Delivery:
    return delivery(short, "facebook", PAGE, publish_at, handle)


def publish(meta: FakeMeta, d: Delivery, token: str, sink: Recorder):
    return FacebookPublisher(settings_for(meta)).publish(d, token, sink)


def finishes(meta: FakeMeta) -> list:
    return [r for r in meta.calls("POST", "/video_reels") if r.params.get("upload_phase") == "finish"]


def starts(meta: FakeMeta) -> list:
    return [r for r in meta.calls("POST", "/video_reels") if r.params.get("upload_phase") == "start"]


def test_start_upload_finish_publishes_one_reel_now(meta, page_token, topic_short):
    sink = Recorder(meta)
    posted = publish(meta, fb(topic_short), page_token, sink)
    [reel] = meta.reels.values()
    size = topic_short.video.stat().st_size
    assert reel.state == "PUBLISHED" and bytes(reel.data) == topic_short.video.read_bytes()
    assert posted.remote_id == reel.id and posted.url == f"https://www.facebook.com/reel/{reel.id}/"
    assert posted.detail == {} and "#reels" in reel.description
    [upload] = [r for r in meta.requests if r.path.startswith("/rupload/video-upload/")]
    assert upload.headers["offset"] == "0" and upload.headers["file_size"] == str(size)
    assert upload.headers["authorization"] == "OAuth <hidden>"
    [finish] = finishes(meta)
    assert finish.params["video_state"] == "PUBLISHED" and "scheduled_publish_time" not in finish.params
    # the session saved before any byte went, final_sent saved before finish was applied
    (first, held0, _), (final, held1, done1) = sink.saves
    assert first == {"video_id": reel.id, "upload_url": first["upload_url"], "total": size} and held0 == 0
    assert first["upload_url"].endswith(f"/video-upload/v23.0/{reel.id}")
    assert final["final_sent"] is True and held1 == size and done1 == 0
    assert sink.progress_calls[-1] == (size, size)


def test_a_later_time_is_scheduled_in_unix_seconds(meta, page_token, topic_short):
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    posted = publish(meta, fb(topic_short, at), page_token, Recorder(meta))
    [reel] = meta.reels.values()
    [finish] = finishes(meta)
    assert finish.params["video_state"] == "SCHEDULED" and finish.params["scheduled_publish_time"] == str(int(at.timestamp()))
    assert reel.state == "SCHEDULED" and reel.publish_time == int(at.timestamp())
    assert posted.detail == {"publish_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}  # the calendar: uploaded, public at its time


def test_the_fake_refuses_a_time_in_milliseconds_like_graph(meta, page_token, topic_short):
    """Graph takes scheduled_publish_time in seconds: milliseconds (or a time under ten minutes ahead) is error 100."""
    data = topic_short.video.read_bytes()
    graph = f"{meta.fb_graph}/{PAGE}/video_reels"
    auth = {"Authorization": f"Bearer {page_token}"}
    with httpx.Client() as http:
        started = http.post(graph, headers=auth, data={"upload_phase": "start"}).json()
        r = http.post(started["upload_url"], content=data, headers={"Authorization": f"OAuth {page_token}",
                                                                     "offset": "0", "file_size": str(len(data))})
        assert r.json() == {"success": True, "message": "Upload successful."}

        def finish(when: int) -> httpx.Response:
            return http.post(graph, headers=auth, data={"upload_phase": "finish", "video_id": started["video_id"],
                                                        "video_state": "SCHEDULED", "scheduled_publish_time": when})

        at = datetime.now(UTC) + timedelta(hours=2)
        for wrong in (int(at.timestamp() * 1000), int(time.time()) + 5 * 60, int(time.time()) + 30 * 86400):
            refused = finish(wrong)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
        assert finish(int(at.timestamp())).json() == {"success": True}
    assert meta.reels[started["video_id"]].state == "SCHEDULED"


def test_finish_fields_near_far_and_too_far():
    from studio.publishing.base import PostFiles, PostText

    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    d = Delivery(post_id="p", platform="facebook", account_id=PAGE, files=PostFiles(video=None),  # type: ignore[arg-type]
                 text=PostText("t", "Caption", ("reels",)), publish_at=now + timedelta(minutes=9))
    assert finish_fields(d, now) == {"video_state": "PUBLISHED", "description": "Caption\n\n#reels"}
    later = Delivery(**{**d.__dict__, "publish_at": now + timedelta(days=3)})
    assert finish_fields(later, now)["scheduled_publish_time"] == int((now + timedelta(days=3)).timestamp())
    with pytest.raises(Refused, match="29 days"):
        finish_fields(Delivery(**{**d.__dict__, "publish_at": now + timedelta(days=30)}), now)


def test_an_interrupted_upload_resumes_from_bytes_transferred(meta, page_token, topic_short):
    meta.keep_only = 300_000  # the connection broke after this many bytes
    sink = Recorder(meta)
    with pytest.raises(Transient):
        publish(meta, fb(topic_short), page_token, sink)
    [reel] = meta.reels.values()
    assert len(reel.data) == 300_000 and reel.state is None
    meta.requests.clear()
    publish(meta, fb(topic_short, handle=sink.handle), page_token, Recorder(meta))
    assert meta.requests[0].method == "GET" and meta.requests[0].path.endswith(reel.id)  # asked first
    [upload] = [r for r in meta.requests if r.path.startswith("/rupload/")]
    assert upload.headers["offset"] == "300000" and upload.headers["content-length"] == str(len(reel.data) - 300_000)
    assert bytes(reel.data) == topic_short.video.read_bytes() and reel.state == "PUBLISHED"
    assert not starts(meta) and len(meta.reels) == 1


def test_a_handle_already_finished_is_posted_without_a_second_finish(meta, page_token, topic_short):
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    sink = Recorder(meta)
    first = publish(meta, fb(topic_short, at), page_token, sink)
    meta.requests.clear()  # the answer lost: the next attempt has only the handle
    posted = publish(meta, fb(topic_short, at, handle=sink.handle), page_token, Recorder(meta))
    assert posted == first and len(meta.reels) == 1
    assert not finishes(meta) and not starts(meta) and not [r for r in meta.requests if "rupload" in r.path]


def test_final_sent_without_finish_finishes_on_the_next_try(meta, page_token, topic_short):
    sink = Recorder(meta, stop_after_final_save=True)
    with pytest.raises(ClaimLost):
        publish(meta, fb(topic_short), page_token, sink)
    [reel] = meta.reels.values()
    assert sink.handle["final_sent"] and reel.state is None and len(reel.data) == reel.size
    posted = publish(meta, fb(topic_short, handle=sink.handle), page_token, Recorder(meta))
    assert posted.remote_id == reel.id and reel.state == "PUBLISHED" and len(finishes(meta)) == 1
    assert len(meta.calls("POST", "/rupload/video-upload/v23.0/" + reel.id)) == 1  # not sent again


def test_a_video_gone_after_final_sent_is_unconfirmed_and_before_it_starts_again(meta, page_token, topic_short):
    sink = Recorder(meta, stop_after_final_save=True)
    with pytest.raises(ClaimLost):
        publish(meta, fb(topic_short), page_token, sink)
    meta.reels.clear()  # Facebook no longer knows the video
    with pytest.raises(Unconfirmed) as unknown:
        publish(meta, fb(topic_short, handle=sink.handle), page_token, Recorder(meta))
    assert unknown.value.link == f"https://business.facebook.com/latest/posts/published_posts?asset_id={PAGE}"
    assert not finishes(meta)
    early = {k: v for k, v in sink.handle.items() if k != "final_sent"}  # gone before finish: safe to start again
    publish(meta, fb(topic_short, handle=early), page_token, Recorder(meta))
    assert len(starts(meta)) == 2 and [r.state for r in meta.reels.values()] == ["PUBLISHED"]


def test_a_processing_error_is_refused_with_facebooks_reason(meta, page_token, topic_short):
    meta.keep_only = 10
    sink = Recorder(meta)
    with pytest.raises(Transient):
        publish(meta, fb(topic_short), page_token, sink)
    next(iter(meta.reels.values())).error = "The video file is corrupt"
    with pytest.raises(Refused, match="corrupt"):
        publish(meta, fb(topic_short, handle=sink.handle), page_token, Recorder(meta))
    assert not finishes(meta)


def test_oauth_client_and_notes(meta):
    p = Facebook(settings_for(meta))
    spec = p.oauth()
    assert spec is not None and spec.scopes == SCOPES and spec.scope_separator == "," and spec.pkce is False
    assert spec.token_url == f"{meta.fb_graph}/oauth/access_token" and spec.revoke_url is None
    assert p.upload_ahead == timedelta(hours=1) and any("Business integrations" in n for n in p.notes)


def test_connect_brings_one_account_per_page_each_with_its_page_token(connecting, meta):
    from sqlalchemy import select

    from studio.tables import Connection
    view = connect(connecting, meta, "facebook")
    asked = meta.authorizations[0]
    assert asked["client_id"] == CLIENT_ID and asked["scope"] == ",".join(SCOPES) and "code_challenge" not in asked
    exchange = [r for r in meta.calls("GET", "/oauth/access_token") if r.params.get("grant_type") == "fb_exchange_token"]
    assert len(exchange) == 1  # the short user token traded for a 60-day one before the Pages were read
    with connecting.db.session() as s:
        rows = {r.account_id: r for r in s.scalars(select(Connection))}
    assert set(rows) == {"100000000000001", "100000000000002"}  # the read-only Page cannot create content
    assert view["account_id"] == "100000000000001" and [v["name"] for v in view["also_connected"]] == ["Fake Band"]
    for page_id, row in rows.items():
        token = sealed(connecting, row.id)
        assert meta.tokens[token["access_token"]].kind == "fb_page" and meta.tokens[token["access_token"]].subject == page_id
        assert token["expires_at"] is None and row.expires_at is None  # a Page token does not expire
        assert row.info["link"] == f"https://www.facebook.com/{page_id}"
    # one Page token posts to its own Page only
    conn = rows[PAGE]
    assert connecting.connections.access_token(conn.id) == sealed(connecting, conn.id)["access_token"]


def test_connect_without_pages_is_refused(connecting, meta):
    from sqlalchemy import select

    from studio.tables import Connection

    meta.pages = [p for p in meta.pages if "CREATE_CONTENT" not in p["tasks"]]
    with pytest.raises(Refused, match="create content") as refused:
        connect(connecting, meta, "facebook")
    assert "Create content task" in refused.value.hint
    meta.pages = []
    with pytest.raises(Refused, match="manages no Facebook Page"):
        connect(connecting, meta, "facebook")
    with connecting.db.session() as s:
        assert s.scalars(select(Connection)).all() == []


def test_a_dispatcher_killed_after_finish_leaves_exactly_one_reel(hosted_env, meta, tmp_path):
    hosted, short_id, url = hosted_env
    conn_id = meta_connection(hosted, "facebook", PAGE, meta.page_token(PAGE), "Fake Bakery")
    schedule(hosted, short_id, conn_id, datetime.now(UTC))
    post = killed_after_the_final_step(hosted, url, meta, meta.env(), tmp_path / "finished")
    assert post.status == "posted", post.message
    [reel] = meta.reels.values()
    assert post.result["remote_id"] == reel.id and reel.state == "PUBLISHED"
    assert post.result["url"] == f"https://www.facebook.com/reel/{reel.id}/"
    assert len(finishes(meta)) == 1 and len(starts(meta)) == 1  # found through the handle, not finished again


def test_a_reel_due_too_soon_to_schedule_is_uploaded_then_finished_at_its_time(meta, page_token, topic_short):
    """Five minutes ahead is too near for SCHEDULED (10 minutes at least) and publishing now would be early: the
    upload goes now, the finish waits for its time (Deferred), and the next try only finishes."""
    from studio.publishing.base import Deferred

    at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    sink = Recorder(meta)
    with pytest.raises(Deferred) as held:
        publish(meta, fb(topic_short, at), page_token, sink)
    assert held.value.until == at and "published at" in held.value.message
    [reel] = meta.reels.values()
    assert finishes(meta) == [] and reel.state != "PUBLISHED" and len(reel.data) == topic_short.video.stat().st_size
    handle = sink.saves[-1][0]
    assert handle["video_id"] == reel.id and not handle.get("final_sent")
    posted = publish(meta, fb(topic_short, datetime.now(UTC), handle), page_token, Recorder(meta))  # its time came
    [finish] = finishes(meta)
    assert finish.params["video_state"] == "PUBLISHED" and reel.state == "PUBLISHED" and posted.remote_id == reel.id
    assert len(starts(meta)) == 1  # uploaded once
