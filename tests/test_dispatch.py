"""The dispatcher posts each post exactly once, on SQLite and PostgreSQL: two `studio dispatch` processes share 50
due posts to a local fake YouTube and one is killed mid-way; a dispatcher killed right after the fake applied an
upload's final byte; YouTube's daily upload budget; transient failures, unconfirmed outcomes and revoked tokens."""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.api_helpers import database_url, make_settings  # noqa: F401
from tests.fake_youtube import FakeYouTube
from tests.publish_helpers import (
    DONE,
    all_posts,
    connect_account,
    deliver_one,
    dispatcher_process,
    killed_after_the_final_step,
    stop_processes,
    wait_for,
)


@pytest.fixture
def fake():
    yt = FakeYouTube()
    yt.start()
    yield yt
    yt.stop()


def _publish_settings(fake, **kw):
    from studio.settings import PublishSettings

    return PublishSettings(youtube_client_id="cid.apps.googleusercontent.com", youtube_client_secret="secret",
                           youtube_api_url=fake.base_url, dispatch=False, **kw)


@pytest.fixture
def studio_env(tmp_path, database_url, fake, topic_short):  # noqa: F811
    """A hosted studio (no dispatcher of its own) with a creator, a real rendered short and a connected channel."""
    from studio.hosted import Hosted
    from studio.tables import User

    home = tmp_path / "home"
    hosted = Hosted(make_settings(home, database_url, publish=_publish_settings(fake)))
    with hosted.db.session() as s:
        s.add(User(id="ada", email="ada@example.com"))
    short_id = hosted.save_short("ada", None, topic_short)
    conn_id = connect_account(hosted, "ada")
    yield hosted, short_id, conn_id, database_url
    hosted.db.dispose()


def _schedule(hosted, short_id, conn_id, n: int, *, at: datetime | None = None) -> list[str]:
    from studio.publishing.posts import PostSpec

    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M")
    ids = []
    for i in range(n):
        post, _ = hosted.posts.schedule("ada", PostSpec(
            short_id, conn_id, when, "UTC", text={"title": f"Post {i:03d}", "caption": f"Number {i}", "hashtags": []},
            options={"made_for_kids": False}))
        ids.append(post["id"])
    return ids


def _youtube_env(fake) -> dict:
    return {"STUDIO_YOUTUBE_CLIENT_ID": "cid.apps.googleusercontent.com", "STUDIO_YOUTUBE_CLIENT_SECRET": "secret",
            "STUDIO_YOUTUBE_API_URL": fake.base_url}


def _dispatcher(hosted, url: str, fake, **env) -> subprocess.Popen:
    return dispatcher_process(hosted, url, {**_youtube_env(fake), **env})


@pytest.mark.slow
def test_two_dispatchers_fifty_posts_one_killed_mid_way(studio_env, fake):
    """Every post is posted exactly once: one video per post at the fake, no post claimed by both at once, and the
    killed dispatcher's posts are finished by the other through their saved handles (status queries), not again."""
    hosted, short_id, conn_id, url = studio_env
    ids = _schedule(hosted, short_id, conn_id, 50)
    fake.final_hold_s = 0.3  # the fake answers the final chunk late: a kill lands after the irreversible step
    a, b = _dispatcher(hosted, url, fake), _dispatcher(hosted, url, fake)
    try:
        tag = f":{a.pid}:"
        held = wait_for(lambda: [p for p in all_posts(hosted) if p.status == "publishing" and tag in (p.claimed_by or "")]
                     if len(fake.videos) >= 5 else [], timeout=120)
        a.kill()  # SIGKILL: no clean-up, its claims stay until their lease lapses
        a.wait()
        held_ids = {p.id for p in held}
        wait_for(lambda: all(p.status in DONE for p in all_posts(hosted)), timeout=240, every=0.3)
    finally:
        stop_processes(a, b)
    posts = {p.id: p for p in all_posts(hosted)}
    assert set(posts) == set(ids)
    assert [p.status for p in posts.values()].count("posted") == 50, {p.status: p.message for p in posts.values()}
    titles = [v["snippet"]["title"] for v in fake.videos.values()]
    assert len(titles) == 50 and len(set(titles)) == 50  # one video per post, none twice
    assert {p.result["remote_id"] for p in posts.values()} == set(fake.videos)
    for p in posts.values():
        assert fake.videos[p.result["remote_id"]]["snippet"]["title"] == p.text["title"]
    # the killed dispatcher's posts were taken over through their handles: a status query on each one's session
    queried = {r.path for r in fake.requests if r.method == "PUT" and r.content_range.startswith("bytes */")}
    assert held_ids and all(posts[i].claimed_by is None for i in held_ids)
    rechecked = [i for i in held_ids if urlpath(posts[i].handle["upload_url"]) in queried]
    assert rechecked, "no post of the killed dispatcher was re-checked through its saved session"
    assert max(p.attempts for p in posts.values()) <= 3


def urlpath(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def test_a_dispatcher_killed_after_the_final_byte_leaves_exactly_one_video(studio_env, fake, tmp_path):
    """The fake has applied the last byte (the video exists) when the dispatcher is killed, before it heard so. A
    dispatcher started afterwards finds the video through the saved session's status query: one video, posted."""
    hosted, short_id, conn_id, url = studio_env
    [post_id] = _schedule(hosted, short_id, conn_id, 1)
    post = killed_after_the_final_step(hosted, url, fake, _youtube_env(fake), tmp_path / "final-applied")
    assert post.status == "posted", post.message
    assert len(fake.videos) == 1 and post.result["remote_id"] in fake.videos
    assert len(fake.session_starts()) == 1  # found, not uploaded again


def _dispatcher_here(hosted, **settings):
    from studio.publishing.dispatch import Dispatcher

    d = Dispatcher(hosted, name="here")
    d.settings = replace(d.settings, **settings)
    return d


def test_the_google_projects_daily_uploads_are_a_budget(studio_env, fake):
    hosted, short_id, conn_id, _url = studio_env
    ids = _schedule(hosted, short_id, conn_id, 3)
    d = _dispatcher_here(hosted, youtube_daily_uploads=2)
    try:
        claimed = d.claim(10)
        assert len(claimed) == 2
        for c in claimed:
            assert d.deliver(c) == "posted"
        assert d.claim(10) == []  # the third waits for the Pacific midnight, saying why
    finally:
        d.stop(wait=False)
    waiting = [p for p in all_posts(hosted) if p.status == "scheduled"]
    assert len(waiting) == 1 and waiting[0].id in ids and len(fake.videos) == 2
    assert "STUDIO_YOUTUBE_DAILY_UPLOADS" in waiting[0].message and "Pacific" in waiting[0].message
    assert waiting[0].error_code == "youtube_daily_uploads" and waiting[0].attempts == 0
    from zoneinfo import ZoneInfo

    reset = waiting[0].next_try_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (reset.hour, reset.minute) == (0, 0) and reset > datetime.now(UTC)


def test_a_failure_before_the_upload_is_retried_with_backoff(studio_env, fake, monkeypatch):
    from studio.publishing import dispatch

    hosted, short_id, conn_id, _url = studio_env
    [post_id] = _schedule(hosted, short_id, conn_id, 1)
    fake.insert_error = (503, "backendError")  # the session start fails once: nothing was uploaded
    d = _dispatcher_here(hosted)
    try:
        assert deliver_one(d) == "scheduled"
        [post] = all_posts(hosted)
        assert post.attempts == 1 and post.next_try_at is not None and "tried again" in post.message
        assert d.claim(5) == []  # not before its time
        later = datetime.now(UTC) + timedelta(seconds=dispatch.backoff_s(1) + 1)
        monkeypatch.setattr(dispatch, "utcnow", lambda: later)
        assert deliver_one(d) == "posted"
    finally:
        d.stop(wait=False)
    assert len(fake.videos) == 1 and all_posts(hosted)[0].attempts == 2
    # each attempt is an analytics event, the posted one carrying what the "what works" dashboards group by
    from sqlalchemy import select

    from studio.tables import EventRow

    with hosted.db.session() as s:
        events = s.scalars(select(EventRow).where(EventRow.post_id == post_id).order_by(EventRow.id)).all()
        assert [(e.status, e.code, e.data["attempt"]) for e in events] == [("retry", "publish_transient", 1),
                                                                        ("posted", None, 2)]
        posted = events[-1]
        assert posted.owner_id == "ada" and posted.short_id == short_id and posted.platform == "youtube"
        assert posted.data["remote_id"] == next(iter(fake.videos)) and posted.data["title"] == "Post 000"
        assert posted.data["template"] and posted.data["voice"] and posted.data["hook_style"]


def test_an_unknown_outcome_is_unconfirmed_and_never_retried(studio_env, fake):
    """A post whose final byte was sent, and whose session has since gone, cannot be checked: it is unconfirmed, with
    a link to the account, and no dispatcher touches it again."""
    from studio.tables import Post

    hosted, short_id, conn_id, _url = studio_env
    [post_id] = _schedule(hosted, short_id, conn_id, 1)
    gone = f"{fake.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id=vanished"
    with hosted.db.session() as s:
        p = s.get(Post, post_id)
        p.status, p.handle, p.lease_until = "publishing", {"upload_url": gone, "total": 10, "final_sent": True}, \
            datetime.now(UTC) - timedelta(seconds=1)
    d = _dispatcher_here(hosted)
    try:
        assert deliver_one(d) == "unconfirmed"
        assert d.claim(5) == []
    finally:
        d.stop(wait=False)
    [post] = all_posts(hosted)
    assert post.status == "unconfirmed" and "studio.youtube.com" in post.result.get("check", "")
    assert fake.session_starts() == [] and fake.videos == {}


def test_a_revoked_token_marks_the_account_and_fails_the_post(studio_env, fake):
    from studio.tables import Connection

    hosted, short_id, conn_id, _url = studio_env
    fake.tokens = {"another-token"}  # the platform no longer takes ours
    _schedule(hosted, short_id, conn_id, 1)
    d = _dispatcher_here(hosted)
    try:
        assert deliver_one(d) == "failed"
    finally:
        d.stop(wait=False)
    [post] = all_posts(hosted)
    assert post.error_code == "needs_reconnect" and "Reconnect" in post.message
    with hosted.db.session() as s:
        assert s.get(Connection, conn_id).status == "needs_reconnect"
    assert fake.videos == {}


def test_studio_worker_beat_dispatches_under_celery(studio_env, fake, tmp_path):
    """Under Celery the dispatcher runs in `studio worker --beat` (one per deployment); a plain worker does not."""
    from tests.celery_helpers import WorkerProc, fresh_redis_url, job_env, need_redis

    need_redis()
    hosted, short_id, conn_id, url = studio_env
    env = job_env(hosted.settings.home, fresh_redis_url(), database_url=url, STUDIO_JWT_SECRET=hosted.secret,
                  STUDIO_YOUTUBE_CLIENT_ID="cid.apps.googleusercontent.com", STUDIO_YOUTUBE_CLIENT_SECRET="secret",
                  STUDIO_YOUTUBE_API_URL=fake.base_url, STUDIO_DISPATCH_EVERY="0.3")
    plain = WorkerProc(env, tmp_path / "plain.log", queues="io").start()
    try:
        plain.wait_ready()
        [post_id] = _schedule(hosted, short_id, conn_id, 1)
        time.sleep(2)
        assert all_posts(hosted)[0].status == "scheduled" and fake.videos == {}
        beat = WorkerProc(env, tmp_path / "beat.log", queues="io", beat=True).start()
        try:
            beat.wait_ready()
            wait_for(lambda: all_posts(hosted)[0].status in DONE, timeout=60)
        finally:
            beat.stop()
    finally:
        plain.stop()
    [post] = all_posts(hosted)
    assert post.status == "posted", post.message
    assert len(fake.videos) == 1


def test_an_uploaded_video_waiting_for_its_time_is_moved_on_youtube(studio_env, fake):
    """Uploaded ahead as private with publishAt, the video can still be moved (videos.update keeps every status field
    the studio set); its text cannot be changed here, nor can it be cancelled here."""
    from studio.errors import Conflict

    hosted, short_id, conn_id, _url = studio_env
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    [post_id] = _schedule(hosted, short_id, conn_id, 1, at=tomorrow.replace(hour=9, minute=0))
    d = _dispatcher_here(hosted, youtube_upload_ahead_h=48.0)
    try:
        assert deliver_one(d) == "posted"
    finally:
        d.stop(wait=False)
    [video] = fake.videos.values()
    assert video["status"]["privacyStatus"] == "private" and video["status"]["publishAt"].endswith("T09:00:00Z")
    moved = hosted.posts.reschedule("ada", post_id, local_time=tomorrow.strftime("%Y-%m-%dT10:30"))
    assert moved["status"] == "posted" and moved["publish_at"].endswith("T10:30:00Z")
    assert moved["result"]["publish_at"].endswith("T10:30:00Z")
    [video] = fake.videos.values()
    assert video["status"]["publishAt"].endswith("T10:30:00Z") and video["status"]["privacyStatus"] == "private"
    assert video["status"]["selfDeclaredMadeForKids"] is False and video["status"]["containsSyntheticMedia"] is True
    assert len(fake.updates) == 1 and len(fake.session_starts()) == 1  # moved, not uploaded again
    with pytest.raises(Conflict, match="only its time"):
        hosted.posts.reschedule("ada", post_id, local_time=tomorrow.strftime("%Y-%m-%dT11:00"),
                                text={"title": "New", "caption": "", "hashtags": []})
    with pytest.raises(Conflict, match="waits for its time"):
        hosted.posts.cancel("ada", post_id)
    fake.tokens = {"another-token"}  # revoked meanwhile: the move is refused, the account marked, nothing changes
    with pytest.raises(Conflict) as refused:
        hosted.posts.reschedule("ada", post_id, local_time=tomorrow.strftime("%Y-%m-%dT12:00"))
    assert refused.value.code == "needs_reconnect" and "old time" in refused.value.message
    assert hosted.posts.get("ada", post_id)["publish_at"].endswith("T10:30:00Z")
