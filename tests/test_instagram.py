"""Instagram Reels against a local fake of Meta's APIs (tests/fake_meta.py), through the same publisher a real account
uses (only the base addresses differ): a rendered short goes up through a resumable container; every way an attempt
can end (processing stuck or failed, the container expired, the publishing limit reached, bytes sent to the wrong
address, the outcome lost after media_publish) leaves Instagram with at most one Reel. Also connecting (code →
short-lived → long-lived token), the rolling refresh, and a `studio dispatch` killed right after media_publish."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from studio.publishing.base import (
    AuthRevoked,
    ClaimLost,
    Deferred,
    Delivery,
    PostFiles,
    PostText,
    Refused,
    Transient,
)
from studio.publishing.instagram import SCOPES, Instagram, InstagramPublisher, reel_caption
from studio.settings import PublishSettings
from tests.api_helpers import database_url, make_settings  # noqa: F401
from tests.fake_meta import CLIENT_ID, CLIENT_SECRET, IG_USER_ID, IG_USERNAME, FakeMeta
from tests.publish_helpers import all_posts as posts
from tests.publish_helpers import connect_account, killed_after_the_final_step

REDIRECT = "http://studio.test/api/connections/{}/callback"


# ---- shared with tests/test_facebook.py ---------------------------------------------------------------------------
@pytest.fixture
def meta():
    fake = FakeMeta()
    fake.start()
    yield fake
    fake.stop()


def settings_for(meta: FakeMeta, **kw) -> PublishSettings:
    return PublishSettings(dispatch=False, **meta.settings(), **kw)


class Recorder:
    """A sink that records each save with what the fake held at that moment (bytes of the container or video,
    published Reels); ``stop_after_final_save`` ends the attempt right after the final_sent save committed, as a
    crash would."""

    def __init__(self, meta: FakeMeta, stop_after_final_save: bool = False) -> None:
        self.meta, self.stop_after_final_save = meta, stop_after_final_save
        self.saves: list[tuple[dict, int, int]] = []
        self.progress_calls: list[tuple[int, int]] = []

    def save_handle(self, handle: dict) -> None:
        target = self.meta.containers.get(handle.get("container_id", "")) or self.meta.reels.get(handle.get("video_id", ""))
        done = len(self.meta.media) + sum(1 for r in self.meta.reels.values() if r.state)
        self.saves.append((dict(handle), len(target.data) if target else -1, done))
        if self.stop_after_final_save and handle.get("final_sent"):
            raise ClaimLost()

    def progress(self, sent: int, total: int) -> None:
        self.progress_calls.append((sent, total))

    @property
    def handle(self) -> dict:
        return self.saves[-1][0]


def delivery(short, platform: str, account_id: str, publish_at: datetime | None = None, handle: dict | None = None,
             options: dict | None = None) -> Delivery:
    text = json.loads(short.post.read_text())["platforms"]["reels"]
    return Delivery(post_id="p1", platform=platform, account_id=account_id,
                    files=PostFiles(video=short.video, thumbnail=short.thumbnail, captions=short.captions_srt),
                    text=PostText(title=text["title"], caption=text["caption"], hashtags=tuple(text["hashtags"])),
                    publish_at=publish_at or datetime.now(UTC), options=options or {}, handle=handle or {})


@pytest.fixture
def hosted_env(tmp_path, database_url, meta, topic_short):  # noqa: F811
    """A hosted studio (no dispatcher of its own) pointed at the fake, with a creator and a real rendered short."""
    from studio.hosted import Hosted
    from studio.tables import User

    hosted = Hosted(make_settings(tmp_path / "home", database_url, publish=settings_for(meta)))
    with hosted.db.session() as s:
        s.add(User(id="ada", email="ada@example.com"))
    short_id = hosted.save_short("ada", None, topic_short)
    yield hosted, short_id, database_url
    hosted.db.dispose()


def meta_connection(hosted, platform: str, account_id: str, token: str, name: str) -> str:
    """A connected account holding ``token``, stamped as a connect stamps it (issued now)."""
    from studio.tables import Connection

    conn_id = connect_account(hosted, "ada", platform=platform, account_id=account_id, access_token=token,
                              refresh_token="", expires_in=60 * 86400, name=name)
    with hosted.db.session() as s:
        row = s.get(Connection, conn_id)
        row.token = hosted.token_box.seal({**hosted.token_box.open(row.token), "issued_at": int(time.time())})
    return conn_id


def schedule(hosted, short_id: str, conn_id: str, at: datetime, options: dict | None = None) -> str:
    from studio.publishing.posts import PostSpec

    post, _ = hosted.posts.schedule("ada", PostSpec(short_id, conn_id, at.strftime("%Y-%m-%dT%H:%M"), "UTC",
                                                    options=options or {}))
    return post["id"]


def aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite gives naive UTC datetimes


# ---- Instagram -----------------------------------------------------------------------------------------------------
@pytest.fixture
def token(meta):
    return meta.issue("ig_long", IG_USER_ID)


def publisher(meta: FakeMeta, naps: list | None = None, poll_for_s: float = 120.0) -> InstagramPublisher:
    return InstagramPublisher(settings_for(meta), sleep=(naps if naps is not None else []).append, poll_for_s=poll_for_s)


def ig(short, publish_at: datetime | None = None, handle: dict | None = None, options: dict | None = None) -> Delivery:
    return delivery(short, "instagram", IG_USER_ID, publish_at, handle, options)


def test_a_reel_goes_up_through_a_container_and_is_published_once(meta, token, topic_short):
    naps: list[float] = []
    sink = Recorder(meta)
    posted = publisher(meta, naps).publish(ig(topic_short, options={"share_to_feed": False}), token, sink)
    [container] = meta.containers.values()
    [media] = meta.media.values()
    assert posted.remote_id == media["id"] and posted.url == media["permalink"]
    assert media["_bytes"] == topic_short.video.read_bytes() and container.media_id == media["id"]
    assert media["caption"] == reel_caption(ig(topic_short).text) and "#reels" in media["caption"]
    assert container.share_to_feed is False
    # the order of calls: the limit read live, the container, the bytes, its status, media_publish, the permalink
    graph = [(r.method, r.path.rsplit("/", 1)[-1]) for r in meta.requests]
    assert graph[:3] == [("GET", "content_publishing_limit"), ("POST", "media"), ("POST", container.id)]
    assert graph[3:] == [("GET", container.id), ("GET", container.id), ("POST", "media_publish"), ("GET", media["id"])]
    create, upload = meta.calls("POST", "/media")[0], meta.requests[2]
    assert create.params["media_type"] == "REELS" and create.params["upload_type"] == "resumable"
    size = topic_short.video.stat().st_size
    assert upload.headers["offset"] == "0" and upload.headers["file_size"] == str(size)
    assert upload.headers["authorization"] == "OAuth <hidden>" and create.headers["authorization"] == "Bearer <hidden>"
    assert "access_token" not in create.params  # the token travels in a header, never in an address
    # the container id saved before any byte went; final_sent saved before media_publish; progress up to the end
    (first, held0, done0), (uploaded, _, _), (final, held2, done2) = sink.saves
    assert first["container_id"] == container.id and first["uri"].endswith(f"/{container.id}") and held0 == 0
    assert uploaded["uploaded"] is True and final["final_sent"] is True and (done0, done2) == (0, 0) and held2 == size
    assert sink.progress_calls[-1] == (size, size)
    assert naps == [3.0]  # one IN_PROGRESS answer, one pause, then FINISHED


def test_stuck_in_progress_is_checked_again_and_an_error_fails_with_instagrams_reason(meta, token, topic_short):
    meta.fail_after_polls = 3  # three IN_PROGRESS answers, then ERROR
    sink = Recorder(meta)
    with pytest.raises(Transient, match="not finished processing"):
        publisher(meta, poll_for_s=6.0).publish(ig(topic_short), token, sink)  # asks twice, then gives the try up
    assert sink.handle["uploaded"] is True and not meta.media
    with pytest.raises(Refused) as refused:
        publisher(meta).publish(ig(topic_short, handle=sink.handle), token, Recorder(meta))
    assert "2207026" in refused.value.message and not meta.media
    assert len(meta.containers) == 1 and not meta.calls("POST", "/media_publish")


def test_an_expired_container_is_replaced_and_one_reel_is_published(meta, token, topic_short):
    at = datetime.now(UTC) + timedelta(minutes=5)
    sink = Recorder(meta)
    with pytest.raises(Deferred) as held:
        publisher(meta).publish(ig(topic_short, at), token, sink)
    assert held.value.until == at and f"published at {at:%H:%M} UTC" in held.value.message
    old = sink.handle["container_id"]
    meta.expire(old)  # its time came more than 24 hours later
    again = Recorder(meta)
    posted = publisher(meta).publish(ig(topic_short, handle=sink.handle), token, again)
    [media] = meta.media.values()
    assert posted.remote_id == media["id"] and len(meta.containers) == 2
    assert meta.containers[old].status_code == "EXPIRED" and again.handle["container_id"] != old
    assert again.handle["containers"] == 2 and len(meta.calls("POST", "/media_publish")) == 1


def test_the_publishing_limit_read_live_defers_without_making_a_container(meta, token, topic_short):
    meta.quota_usage = meta.quota_total = 50
    sink = Recorder(meta)
    before = datetime.now(UTC)
    with pytest.raises(Deferred) as waiting:
        publisher(meta).publish(ig(topic_short), token, sink)
    assert "50 of 50 posts in 24 hours" in waiting.value.message
    assert timedelta(minutes=59) < waiting.value.until - before <= timedelta(hours=1, seconds=5)
    assert not sink.saves and not meta.containers and not meta.calls("POST", "/media")
    meta.quota_total = 100  # the number is read, never assumed
    publisher(meta).publish(ig(topic_short), token, Recorder(meta))
    assert len(meta.media) == 1 and meta.quota_usage == 51


def test_bytes_sent_to_the_wrong_address_leave_the_container_unpublished_then_a_new_one_goes_up(meta, token,
                                                                                                 topic_short):
    meta.misroute_upload = True  # the create answer's uri names another container
    sink = Recorder(meta)
    with pytest.raises(Transient, match="not finished processing"):
        publisher(meta, poll_for_s=9.0).publish(ig(topic_short), token, sink)
    real = meta.containers[sink.handle["container_id"]]
    assert real.status_code == "IN_PROGRESS" and not real.data  # its bytes went elsewhere
    assert not meta.media and not meta.calls("POST", "/media_publish")
    # a later try within the quarter hour only asks; after it, the stuck container is left to expire
    with pytest.raises(Transient):
        publisher(meta, poll_for_s=3.0).publish(ig(topic_short, handle=sink.handle), token, Recorder(meta))
    assert len(meta.containers) == 2  # the real one and the decoy: nothing new
    stale = {**sink.handle, "uploaded_at": sink.handle["uploaded_at"] - 16 * 60}
    again = Recorder(meta)
    posted = publisher(meta).publish(ig(topic_short, handle=stale), token, again)
    [media] = meta.media.values()
    assert posted.remote_id == media["id"] and media["_bytes"] == topic_short.video.read_bytes()
    assert again.handle["container_id"] != real.id and real.status_code == "IN_PROGRESS"


def test_a_container_that_never_finishes_is_refused_after_three(meta, token, topic_short):
    handle: dict = {}
    for _ in range(3):
        meta.misroute_upload = True
        sink = Recorder(meta)
        with pytest.raises(Transient):
            publisher(meta, poll_for_s=3.0).publish(ig(topic_short, handle=handle), token, sink)
        handle = {**sink.handle, "uploaded_at": sink.handle["uploaded_at"] - 16 * 60}
    with pytest.raises(Refused, match="Nothing was published"):
        publisher(meta).publish(ig(topic_short, handle=handle), token, Recorder(meta))
    assert not meta.media and not meta.calls("POST", "/media_publish")


def test_a_handle_whose_container_is_published_answers_posted_without_publishing_again(meta, token, topic_short):
    sink = Recorder(meta)
    first = publisher(meta).publish(ig(topic_short), token, sink)
    meta.requests.clear()  # as if that answer had been lost: the next attempt has only the handle
    posted = publisher(meta).publish(ig(topic_short, handle=sink.handle), token, Recorder(meta))
    assert posted.remote_id == first.remote_id and posted.url == first.url and len(meta.media) == 1
    assert meta.requests[0].path.endswith(sink.handle["container_id"])  # the container asked first
    assert not meta.calls("POST", "/media_publish") and not meta.calls("POST", "/media")


def test_a_final_save_without_media_publish_publishes_on_the_next_try(meta, token, topic_short):
    sink = Recorder(meta, stop_after_final_save=True)
    with pytest.raises(ClaimLost):
        publisher(meta).publish(ig(topic_short), token, sink)
    assert sink.handle["final_sent"] and not meta.media
    posted = publisher(meta).publish(ig(topic_short, handle=sink.handle), token, Recorder(meta))
    assert [posted.remote_id] == list(meta.media) and len(meta.containers) == 1


def test_a_revoked_token_and_a_missing_file(meta, topic_short, tmp_path):
    with pytest.raises(AuthRevoked):
        publisher(meta).publish(ig(topic_short), "IGAA-not-a-token", Recorder(meta))
    gone = Delivery(**{**ig(topic_short).__dict__, "files": PostFiles(video=tmp_path / "gone.mp4")})
    with pytest.raises(Refused, match="missing"):
        publisher(meta).publish(gone, "IGAA-not-a-token", Recorder(meta))
    assert not meta.containers


def test_captions_keep_instagrams_limits():
    tags = tuple(f"tag{i}" for i in range(40))
    caption = reel_caption(PostText(title="t", caption="Mornings matter " + "x" * 10, hashtags=tags))
    assert caption.count("#") == 30 and "#tag29" in caption and "#tag30" not in caption
    long = reel_caption(PostText(title="t", caption="word " * 600))
    assert len(long) == 2200 and long.endswith("…")


def test_options_and_the_oauth_client(meta):
    from models.errors import InvalidRequest

    p = Instagram(settings_for(meta))
    assert p.check_options({}, {}) == {"synthetic_media": True, "share_to_feed": True}
    assert p.check_options({"share_to_feed": False}, {})["share_to_feed"] is False
    with pytest.raises(InvalidRequest):
        p.check_options({"privacy": "public"}, {})
    spec = p.oauth()
    assert spec is not None and spec.scopes == SCOPES and spec.scope_separator == "," and spec.pkce is False
    assert spec.revoke_url is None and spec.token_auth == "client_secret_post"
    assert spec.refresh_after == timedelta(days=1) and p.upload_ahead <= timedelta(minutes=15)
    assert Instagram(PublishSettings()).oauth() is None
    assert any("Business and Creator" in n for n in p.notes) and any("Apps and websites" in n for n in p.notes)


# ---- through the dispatcher ----------------------------------------------------------------------------------------
def test_a_reel_ready_before_its_time_is_held_then_published_at_its_time(hosted_env, meta, monkeypatch):
    from studio.publishing import dispatch, instagram
    from studio.publishing.dispatch import Dispatcher

    hosted, short_id, _url = hosted_env
    conn_id = meta_connection(hosted, "instagram", IG_USER_ID, meta.issue("ig_long", IG_USER_ID), f"@{IG_USERNAME}")
    at = (datetime.now(UTC) + timedelta(minutes=6)).replace(second=0, microsecond=0)
    post_id = schedule(hosted, short_id, conn_id, at)
    meta.processing_polls = 0
    d = Dispatcher(hosted, name="here")
    try:
        [c] = d.claim(5)  # due: Instagram is handed its posts ten minutes ahead
        assert d.deliver(c) == "deferred"
        [post] = posts(hosted)
        assert post.status == "publishing" and post.handle["container_id"] in meta.containers
        assert aware(post.next_try_at) == at and post.attempts == 0
        assert post.message == f"Uploaded to Instagram; it is published at {at:%H:%M} UTC."
        assert d.claim(5) == [] and not meta.media
        later = at + timedelta(seconds=1)
        monkeypatch.setattr(dispatch, "utcnow", lambda: later)
        monkeypatch.setattr(instagram, "utcnow", lambda: later)
        [c] = d.claim(5)
        assert d.deliver(c) == "posted"
    finally:
        d.stop(wait=False)
    [post] = posts(hosted)
    [media] = meta.media.values()
    assert post.id == post_id and post.result["remote_id"] == media["id"] and post.result["url"] == media["permalink"]
    assert len(meta.containers) == 1 and len(meta.calls("POST", "/media_publish")) == 1


def test_a_dispatcher_killed_after_media_publish_leaves_exactly_one_reel(hosted_env, meta, tmp_path):
    hosted, short_id, url = hosted_env
    conn_id = meta_connection(hosted, "instagram", IG_USER_ID, meta.issue("ig_long", IG_USER_ID), f"@{IG_USERNAME}")
    schedule(hosted, short_id, conn_id, datetime.now(UTC))
    meta.processing_polls = 0  # FINISHED at the first look: no pause in the dispatcher
    post = killed_after_the_final_step(hosted, url, meta, meta.env(), tmp_path / "published")
    assert post.status == "posted", post.message
    [media] = meta.media.values()
    assert post.result["remote_id"] == media["id"] and post.result["url"] == media["permalink"]
    assert len(meta.calls("POST", "/media_publish")) == 1 and len(meta.containers) == 1  # found, not published again


# ---- connecting ------------------------------------------------------------------------------------------------------
@pytest.fixture
def connecting(tmp_path, database_url, meta):  # noqa: F811
    from studio.hosted import Hosted
    from studio.tables import User

    hosted = Hosted(make_settings(tmp_path / "home", database_url, publish=settings_for(meta)))
    with hosted.db.session() as s:
        s.add(User(id="ada", email="ada@example.com"))
    yield hosted
    hosted.db.dispose()


def connect(hosted, meta: FakeMeta, platform: str) -> dict:
    """Start, approve at the fake's dialog, and finish as the API callback does."""
    started = hosted.connections.start("ada", platform, REDIRECT.format(platform))
    back = urlsplit(meta.approve(started.authorize_url))
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    return hosted.connections.finish(q["state"], q["code"], REDIRECT.format(platform), owner="ada")


def sealed(hosted, conn_id: str) -> dict:
    from studio.tables import Connection

    with hosted.db.session() as s:
        return hosted.token_box.open(s.get(Connection, conn_id).token)


@pytest.mark.parametrize("shape", ["data", "flat"])
def test_connect_keeps_the_long_lived_token(connecting, meta, shape, caplog):
    caplog.set_level(logging.DEBUG)
    meta.ig_token_shape = shape  # newer versions wrap the code exchange's answer in data[]
    view = connect(connecting, meta, "instagram")
    asked = meta.authorizations[0]
    assert asked["client_id"] == CLIENT_ID and asked["scope"] == ",".join(SCOPES) and "code_challenge" not in asked
    assert view["account_id"] == IG_USER_ID and view["name"] == f"@{IG_USERNAME}"
    assert view["link"] == f"https://www.instagram.com/{IG_USERNAME}/" and view["status"] == "active"
    assert "instagram_business_content_publish" in view["scopes"]
    token = sealed(connecting, view["id"])
    assert meta.tokens[token["access_token"]].kind == "ig_long"  # the 60-day token, not the 1-hour one
    assert 59 * 86400 < token["expires_at"] - time.time() <= 60 * 86400 and token["issued_at"] >= time.time() - 60
    exchange = meta.calls("GET", "/access_token")[0]
    assert exchange.params["grant_type"] == "ig_exchange_token" and exchange.params["client_secret"] == "<hidden>"
    issued = [*meta.tokens, CLIENT_SECRET]
    logged = [r.getMessage() for r in caplog.records]
    assert any("access_token?" in m for m in logged)  # httpx logged the exchange's address ...
    assert not any(t in m for t in issued for m in logged)  # ... without its token or the app's secret


def test_a_personal_account_is_refused_with_how_to_switch(connecting, meta):
    meta.account_type = "PERSONAL"
    with pytest.raises(Refused) as refused:
        connect(connecting, meta, "instagram")
    assert "professional account" in refused.value.hint
    from studio.tables import Connection

    with connecting.db.session() as s:
        assert s.scalars(select(Connection)).all() == []


def test_the_token_is_refreshed_once_a_day_old_and_a_refused_refresh_needs_reconnecting(connecting, meta):
    from studio.tables import Connection

    view = connect(connecting, meta, "instagram")
    first = sealed(connecting, view["id"])["access_token"]
    assert connecting.connections.access_token(view["id"]) == first  # a fresh token is used as it is
    assert not meta.calls("GET", "/refresh_access_token")

    def a_day_passes() -> None:
        token = sealed(connecting, view["id"])
        meta.age_token(token["access_token"], 86400 + 60)
        with connecting.db.session() as s:
            s.execute(update(Connection).where(Connection.id == view["id"]).values(
                token=connecting.token_box.seal({**token, "issued_at": token["issued_at"] - 86400 - 60})))

    a_day_passes()
    second = connecting.connections.access_token(view["id"])
    assert second != first and meta.tokens[second].kind == "ig_long"
    assert len(meta.calls("GET", "/refresh_access_token")) == 1
    stored = sealed(connecting, view["id"])
    assert stored["access_token"] == second and stored["issued_at"] >= time.time() - 60
    assert connecting.connections.access_token(view["id"]) == second  # a day younger again: not refreshed

    a_day_passes()
    meta.refuse_refresh = True  # the creator removed the studio in Instagram's settings
    with pytest.raises(AuthRevoked):
        connecting.connections.access_token(view["id"])
    with connecting.db.session() as s:
        row = s.get(Connection, view["id"])
        assert row.status == "needs_reconnect" and "Instagram" in row.error
