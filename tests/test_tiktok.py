"""TikTok's Direct Post flow against a local fake of its OAuth v2 and Content Posting API (tests/fake_tiktok.py): a
rendered short goes up whole, a 70 MB file in 10 MiB chunks; the chunk rules (the fake's own checks applied to our
plans); the creator's options asked live and again before posting (privacy_level_option_mismatch); TikTok's FAILED
in plain words; a saved publish_id asked first; refresh tokens that rotate; and a dispatcher killed right after the
last chunk posted the video, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from models.errors import InvalidRequest
from studio.publishing.base import (
    AuthRevoked,
    ClaimLost,
    Deferred,
    Delivery,
    PostFiles,
    PostText,
    Refused,
    Transient,
    Unconfirmed,
)
from studio.publishing.platforms import platform
from studio.publishing.tiktok import MB, ChunkPlan, TikTok, TikTokPublisher, chunk_plan
from studio.settings import PublishSettings
from tests.api_helpers import database_url, make_settings  # noqa: F401
from tests.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, NICKNAME, OPEN_ID, USERNAME, FakeTikTok, Upload, source_problem
from tests.publish_helpers import all_posts, connect_account, deliver_one, killed_after_the_final_step

TOKEN = "test-token"
REDIRECT = "http://testserver/api/connections/tiktok/callback"


@pytest.fixture
def fake():
    f = FakeTikTok(tokens=(TOKEN,))
    f.start()
    yield f
    f.stop()


@pytest.fixture(scope="session")
def big_video(tmp_path_factory) -> Path:
    """A ~70 MB MP4 (1.4 s of incompressible noise at near-lossless quality), made once in about a second."""
    path = tmp_path_factory.mktemp("big") / "noise.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                    "-s", "720x1280", "-r", "30", "-i", "/dev/urandom", "-frames:v", "42", "-c:v", "mpeg4", "-q:v", "1",
                    str(path)], check=True)
    return path


def settings_for(fake: FakeTikTok, **kw) -> PublishSettings:
    return PublishSettings(tiktok_client_key=CLIENT_KEY, tiktok_client_secret=CLIENT_SECRET, tiktok_auth_url=fake.auth_url,
                           tiktok_api_url=fake.base_url, dispatch=False, **kw)


def publisher(fake: FakeTikTok, **kw) -> TikTokPublisher:
    return TikTokPublisher(settings_for(fake), sleep=lambda s: None, **kw)


class Recorder:
    """A sink that records each save with what the fake held then (bytes of that upload, posts); it can stop the
    attempt as a crash would, right after a save (``stop_at_save``: the n-th save commits, then the attempt dies)."""

    def __init__(self, fake: FakeTikTok, stop_at_save: int = 0) -> None:
        self.fake, self.stop_at_save = fake, stop_at_save
        self.saves: list[tuple[dict, int, int]] = []
        self.progress_calls: list[tuple[int, int]] = []

    def save_handle(self, handle: dict) -> None:
        upload = self.fake.uploads[parse_qs(urlsplit(handle["upload_url"]).query)["upload_id"][0]]
        self.saves.append((dict(handle), upload.received, len(self.fake.posts)))
        if len(self.saves) == self.stop_at_save:
            raise ClaimLost()

    def progress(self, sent: int, total: int) -> None:
        self.progress_calls.append((sent, total))

    @property
    def handle(self) -> dict:
        return self.saves[-1][0]


def delivery(video: Path, options: dict | None = None, handle: dict | None = None, text: PostText | None = None):
    return Delivery(post_id="p1", platform="tiktok", account_id=OPEN_ID, files=PostFiles(video=video),
                    text=text or PostText(title="Five habits", caption="Five habits that changed my mornings #fyp",
                                          hashtags=("fyp", "morning")),
                    publish_at=datetime.now(UTC), options={"privacy_level": "PUBLIC_TO_EVERYONE", **(options or {})},
                    handle=handle or {})


def the_upload(fake: FakeTikTok) -> Upload:
    [upload] = fake.uploads.values()
    return upload


# ---- posting -------------------------------------------------------------------------------------------------------
def test_a_rendered_short_goes_up_as_one_chunk_and_is_posted(fake, topic_short):
    video = topic_short.video
    size = video.stat().st_size
    # the 12 s short is about 6.6 MB: over 5 MB, so one chunk is TikTok's choice to allow (5-64 MB), ours to take
    assert size < 20 * MB
    text = json.loads(topic_short.post.read_text())["platforms"]["tiktok"]
    sink = Recorder(fake)
    posted = publisher(fake).publish(delivery(video, text=PostText(text["title"], text["caption"],
                                                                   tuple(text["hashtags"]))), TOKEN, sink)
    [init] = fake.inits
    assert init["source_info"] == {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size,
                                   "total_chunk_count": 1}
    info = init["post_info"]
    assert info["title"].startswith(text["caption"].strip()) and "#fyp" in info["title"]
    assert info["privacy_level"] == "PUBLIC_TO_EVERYONE" and info["is_aigc"] is True
    # nothing pre-ticked: every interaction off unless asked; no branded content unless asked
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (True, True, True)
    assert (info["brand_content_toggle"], info["brand_organic_toggle"]) == (False, False)
    assert fake.content_ranges == [f"bytes 0-{size - 1}/{size}"]
    assert bytes(the_upload(fake).data) == video.read_bytes()
    # the publish_id is saved before any byte leaves, and again, final, before the chunk that posts it
    (first, sent1, posts1), (final, sent2, posts2) = sink.saves
    assert first["publish_id"] and "final_sent" not in first and (sent1, posts1) == (0, 0)
    assert final["final_sent"] is True and final["publish_id"] == first["publish_id"] and (sent2, posts2) == (0, 0)
    [(post_id, post)] = fake.posts.items()
    assert post["publish_id"] == first["publish_id"]
    assert posted.remote_id == post_id and posted.url == f"https://www.tiktok.com/@{USERNAME}/video/{post_id}"
    assert posted.detail["publish_id"] == first["publish_id"]


def test_a_70_mb_video_goes_up_in_10_mib_chunks_in_order(fake, big_video):
    size = big_video.stat().st_size
    assert 64 * MB < size < 128 * MB, size
    sink = Recorder(fake)
    posted = publisher(fake).publish(delivery(big_video, {"privacy_level": "SELF_ONLY", "allow_comment": True}),
                                     TOKEN, sink)
    chunk, count = 10 * 1024 * 1024, size // (10 * 1024 * 1024)
    [init] = fake.inits
    assert init["source_info"] == {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                                   "total_chunk_count": count}
    assert init["post_info"]["disable_comment"] is False and init["post_info"]["disable_duet"] is True
    starts = [i * chunk for i in range(count)]
    ends = [s - 1 for s in starts[1:]] + [size - 1]  # the last chunk carries the remainder
    assert fake.content_ranges == [f"bytes {a}-{b}/{size}" for a, b in zip(starts, ends)]
    assert hashlib.sha256(the_upload(fake).data).digest() == hashlib.sha256(big_video.read_bytes()).digest()
    assert sink.progress_calls[: count - 1] == [((i + 1) * chunk, size) for i in range(count - 1)]
    # final_sent is saved when every chunk but the last has landed, and no post exists yet
    assert sink.saves[-1][0]["final_sent"] and sink.saves[-1][1:] == ((count - 1) * chunk, 0)
    # SELF_ONLY: no public id, so the post is known by its publish_id and links to the profile
    assert len(fake.posts) == 1 and posted.remote_id == sink.handle["publish_id"]
    assert posted.url == f"https://www.tiktok.com/@{USERNAME}" and posted.detail["privacy_level"] == "SELF_ONLY"


def test_our_chunk_plans_pass_the_fakes_own_chunk_rules():
    sizes = [1 * MB, int(4.9 * MB), 5_000_000, 5 * MB, 20 * MB - 1, 20 * MB, 70 * MB, 700 * MB, 6 * 1024 * MB,
             12 * 1024 * MB, 60 * 1024 * MB]
    for size in sizes:
        plan = chunk_plan(size)
        assert source_problem(size, plan.chunk_size, plan.count) is None, (size, plan)
        upload = Upload("p", "u", size, plan.chunk_size, plan.count, keep=False)
        for first, last in plan.ranges():
            assert upload.take(first, last, size, last - first + 1) is None, (size, first, last)
        assert upload.complete and upload.received == size
    assert chunk_plan(1 * MB) == ChunkPlan(MB, MB, 1) and chunk_plan(int(4.9 * MB)).count == 1
    assert chunk_plan(70 * MB) == ChunkPlan(70 * MB, 10 * MB, 7)
    assert chunk_plan(6 * 1024 * MB) == ChunkPlan(6 * 1024 * MB, 10 * MB, 614)
    huge = chunk_plan(12 * 1024 * MB)  # 1,000 chunks of 10 MiB would not hold it: larger chunks
    assert huge.chunk_size > 10 * MB and huge.count <= 1000
    with pytest.raises(Refused, match="too large"):
        chunk_plan(70 * 1024 * MB)


def test_the_fake_refuses_what_breaks_the_chunk_rules(fake):
    api = httpx.Client(base_url=fake.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

    def init(size: int, chunk: int, count: int, level: str = "SELF_ONLY") -> httpx.Response:
        return api.post("/v2/post/publish/video/init/", json={
            "post_info": {"title": "t", "privacy_level": level},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}})

    refused = {
        "under 5 MB not whole": init(4 * MB, 2 * MB, 2),
        "count not floor": init(70 * MB, 10 * MB, 8),
        "chunk under 5 MB": init(70 * MB, 4 * MB, 17),
        "over 1000 chunks": init(7000 * MB, 5 * MB, 1400),
        "final chunk over 128 MB": init(139 * MB, 70 * MB, 1),
        "over 64 MB whole": init(100 * MB, 100 * MB, 1),
    }
    for why, r in refused.items():
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_params"), why
    assert "128 MB" in refused["final chunk over 128 MB"].json()["error"]["message"]
    assert fake.uploads == {}
    mismatch = init(25 * MB, 10 * MB, 2, level="FOLLOWER_OF_CREATOR")  # not offered to this (public) account
    assert mismatch.json()["error"]["code"] == "privacy_level_option_mismatch" and fake.uploads == {}

    ok = init(25 * MB, 10 * MB, 2)
    assert ok.status_code == 200 and ok.json()["error"]["code"] == "ok"
    url = ok.json()["data"]["upload_url"]

    def put(first: int, last: int, body: int, total: int = 25 * MB) -> int:
        return httpx.put(url, content=b"\0" * body, timeout=30, headers={
            "Content-Type": "video/mp4", "Content-Range": f"bytes {first}-{last}/{total}"}).status_code

    assert put(10 * MB, 25 * MB - 1, 15 * MB) == 416  # the second chunk first: out of order
    assert put(0, 10 * MB - 1, 5 * MB) == 400  # Content-Range does not match the body
    assert put(0, 10 * MB - 1, 10 * MB, total=26 * MB) == 400  # not the announced size
    assert put(0, 5 * MB - 1, 5 * MB) == 400  # a chunk that is not chunk_size
    assert fake.posts == {}
    assert (put(0, 10 * MB - 1, 10 * MB), put(10 * MB, 25 * MB - 1, 15 * MB)) == (206, 201)
    assert len(fake.posts) == 1


def test_a_failed_post_says_why_in_plain_words(fake, topic_short):
    fake.fail_reason = "frame_rate_check_failed"
    with pytest.raises(Refused) as failed:
        publisher(fake).publish(delivery(topic_short.video), TOKEN, Recorder(fake))
    assert "frame rate" in failed.value.message and "frame_rate_check_failed" in failed.value.message
    assert fake.posts == {} and len(fake.inits) == 1


def test_tiktoks_refusals_become_the_right_errors(fake, topic_short):
    tiktok = TikTok(settings_for(fake))
    with pytest.raises(AuthRevoked):
        tiktok.posting_info("a-token-tiktok-never-issued")
    fake.api_errors["/v2/post/publish/creator_info/query/"] = (500, "internal_error")
    with pytest.raises(Transient):
        tiktok.posting_info(TOKEN)
    fake.api_errors["/v2/post/publish/video/init/"] = (403, "spam_risk_too_many_posts")
    with pytest.raises(Deferred) as limit:
        publisher(fake).publish(delivery(topic_short.video), TOKEN, Recorder(fake))
    assert "the most TikTok allows" in limit.value.message and limit.value.until > datetime.now(UTC)
    fake.max_duration_s = 3  # the short lasts 12 s
    with pytest.raises(Refused, match=r"lasts 1\d\.\d s; TikTok takes at most 3 s"):
        publisher(fake).publish(delivery(topic_short.video), TOKEN, Recorder(fake))
    assert fake.uploads == {} and fake.posts == {}


def test_a_long_caption_is_cut_to_2200_utf16_units_and_taken(fake, topic_short):
    long = PostText("t", "Mornings " + "😀" * 3000, ("fyp",))  # each emoji is two UTF-16 units
    publisher(fake).publish(delivery(topic_short.video, text=long), TOKEN, Recorder(fake))
    [init] = fake.inits
    title = init["post_info"]["title"]
    assert len(title.encode("utf-16-le")) // 2 <= 2200 and title.endswith("😀…") and len(fake.posts) == 1


def test_a_saved_publish_id_is_asked_before_anything_is_sent(fake, topic_short):
    video = topic_short.video
    # 1. an attempt that died after init, before its last chunk: that publish_id can never be posted, so it starts over
    with pytest.raises(ClaimLost):
        publisher(fake).publish(delivery(video), TOKEN, Recorder(fake, stop_at_save=1))
    [upload] = fake.uploads.values()
    handle = {"publish_id": upload.publish_id, "upload_url": f"{fake.base_url}/upload/?upload_id={upload.upload_id}",
              "total": upload.video_size, "username": USERNAME}
    sink = Recorder(fake)
    posted = publisher(fake).publish(delivery(video, handle=handle), TOKEN, sink)
    assert len(fake.inits) == 2 and len(fake.posts) == 1 and sink.handle["publish_id"] != upload.publish_id
    # 2. a posted publish_id is found, not posted again
    again = publisher(fake).publish(delivery(video, handle=sink.handle), TOKEN, Recorder(fake))
    assert again == posted and len(fake.inits) == 2 and len(fake.posts) == 1
    # 3. still processing past the bounded wait: Transient, and nothing is sent (the next attempt asks again)
    fake.processing_polls = 100
    with pytest.raises(Transient, match="still processing"):
        publisher(fake, poll_for_s=10).publish(delivery(video), TOKEN, Recorder(fake))
    [*_, slow] = fake.uploads.values()
    slow_handle = {"publish_id": slow.publish_id, "upload_url": "", "total": slow.video_size, "username": USERNAME,
                   "final_sent": True}
    fake.processing_polls, slow.polls_left = 0, 2  # processing still when asked: waited for, not sent again
    assert publisher(fake).publish(delivery(video, handle=slow_handle), TOKEN, Recorder(fake)).detail["publish_id"] \
        == slow.publish_id
    assert len(fake.inits) == 3 and len(fake.posts) == 2
    # 4. the last chunk went and TikTok no longer knows the publish_id: Unconfirmed, with the profile to check
    lost = {**slow_handle, "publish_id": "v_pub_file~v2-1.000000000000000000"}
    with pytest.raises(Unconfirmed) as unknown:
        publisher(fake).publish(delivery(video, handle=lost), TOKEN, Recorder(fake))
    assert unknown.value.link == f"https://www.tiktok.com/@{USERNAME}" and len(fake.inits) == 3


# ---- the studio around it: schedule, dispatch, connect ------------------------------------------------------------
def _hosted(home: Path, url: str, fake: FakeTikTok):
    from studio.hosted import Hosted
    from studio.tables import User

    hosted = Hosted(make_settings(home, url, publish=settings_for(fake)))
    with hosted.db.session() as s:
        s.add(User(id="ada", email="ada@example.com"))
    return hosted


@pytest.fixture
def studio_env(tmp_path, fake, topic_short):
    """A hosted studio on SQLite with a creator, a real rendered short and a connected TikTok account."""
    hosted = _hosted(tmp_path / "home", f"sqlite:///{tmp_path / 'meta.db'}", fake)
    short_id = hosted.save_short("ada", None, topic_short)
    conn_id = connect_account(hosted, "ada", platform="tiktok", account_id=OPEN_ID, name=NICKNAME)
    yield hosted, short_id, conn_id
    hosted.db.dispose()


def _schedule(hosted, short_id: str, conn_id: str, options: dict, at: datetime | None = None) -> dict:
    from studio.publishing.posts import PostSpec

    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M")
    post, _ = hosted.posts.schedule("ada", PostSpec(short_id, conn_id, when, "UTC", options=options,
                                                    text={"title": "Habits", "caption": "Five habits #fyp",
                                                          "hashtags": []}))
    return post


def test_options_are_checked_against_what_tiktok_offers_now(studio_env, fake):
    hosted, short_id, conn_id = studio_env
    fake.privacy_options = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]  # a private account
    fake.comment_disabled = True
    with pytest.raises(InvalidRequest) as missing:
        _schedule(hosted, short_id, conn_id, {})
    assert "privacy_level" in missing.value.message and "FOLLOWER_OF_CREATOR" in missing.value.hint
    assert "PUBLIC_TO_EVERYONE" not in missing.value.hint  # the live list, not every level there is
    with pytest.raises(InvalidRequest, match="does not offer privacy level 'PUBLIC_TO_EVERYONE'") as public:
        _schedule(hosted, short_id, conn_id, {"privacy_level": "PUBLIC_TO_EVERYONE"})
    assert "SELF_ONLY" in public.value.hint
    with pytest.raises(InvalidRequest, match="Comments are turned off"):
        _schedule(hosted, short_id, conn_id, {"privacy_level": "SELF_ONLY", "allow_comment": True})
    with pytest.raises(InvalidRequest, match="branded content"):
        _schedule(hosted, short_id, conn_id, {"privacy_level": "SELF_ONLY", "brand_content": True})
    with pytest.raises(InvalidRequest, match="made_for_kids"):
        _schedule(hosted, short_id, conn_id, {"privacy_level": "SELF_ONLY", "made_for_kids": False})
    post = _schedule(hosted, short_id, conn_id, {"privacy_level": "MUTUAL_FOLLOW_FRIENDS", "allow_duet": True})
    assert post["options"] == {"privacy_level": "MUTUAL_FOLLOW_FRIENDS", "allow_comment": False, "allow_duet": True,
                               "allow_stitch": False, "brand_organic": False, "brand_content": False,
                               "synthetic_media": True}
    info = hosted.posts.posting_info("ada", conn_id)
    assert info["live"] and info["privacy_options"] == fake.privacy_options and info["nickname"] == NICKNAME
    assert info["comment_disabled"] is True and info["max_duration_s"] == 600
    assert any("Music Usage Confirmation" in n for n in info["notes"])
    notes = " ".join(platform("tiktok", settings_for(fake)).notes)
    assert "SELF_ONLY" in notes and "private" in notes and "watermark" in notes and "Music Usage" in notes


def test_a_privacy_level_gone_since_scheduling_fails_the_post_before_any_upload(studio_env, fake):
    from studio.publishing.dispatch import Dispatcher

    hosted, short_id, conn_id = studio_env
    _schedule(hosted, short_id, conn_id, {"privacy_level": "PUBLIC_TO_EVERYONE"})
    fake.privacy_options = ["SELF_ONLY"]  # the creator made the account private meanwhile
    d = Dispatcher(hosted, name="here")
    try:
        assert deliver_one(d) == "failed"
    finally:
        d.stop(wait=False)
    [post] = all_posts(hosted)
    assert "privacy_level_option_mismatch" in post.message and "Pick who can see it again" in post.message
    assert "TikTok no longer offers “Everyone”" in post.message  # TikTok's own words, not its enum names
    assert fake.inits == [] and fake.content_ranges == [] and fake.posts == {}


def test_refresh_tokens_rotate_and_the_newest_is_kept_sealed(tmp_path, fake):
    from studio.tables import Connection, now

    hosted = _hosted(tmp_path / "home", f"sqlite:///{tmp_path / 'meta.db'}", fake)
    try:
        started = hosted.connections.start("ada", "tiktok", REDIRECT)
        asked = parse_qs(urlsplit(started.authorize_url).query)
        assert asked["client_key"] == [CLIENT_KEY] and "client_id" not in asked
        assert asked["scope"] == ["user.info.basic,video.publish,video.list"]
        assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0] and asked["state"][0]
        back = parse_qs(urlsplit(fake.approve(started.authorize_url)).query)
        view = hosted.connections.finish(back["state"][0], back["code"][0], REDIRECT, owner="ada")
        assert (view["account_id"], view["name"], view["link"]) == (OPEN_ID, NICKNAME, f"https://www.tiktok.com/@{USERNAME}")
        assert view["scopes"] == ["user.info.basic", "video.publish", "video.list"]

        def stored() -> tuple[str, dict]:
            with hosted.db.session() as s:
                row = s.get(Connection, view["id"])
                return row.token, hosted.token_box.open(row.token)

        sealed, first = stored()
        assert first["refresh_token"] in fake.refresh_tokens and first["refresh_token"] not in sealed
        with hosted.db.session() as s:  # the 24 h access token is about to expire
            s.execute(update(Connection).where(Connection.id == view["id"]).values(expires_at=now() + timedelta(seconds=30)))
        token = hosted.connections.access_token(view["id"])
        sealed, second = stored()
        assert token == second["access_token"] != first["access_token"] and fake.refreshes == 1
        assert second["refresh_token"] != first["refresh_token"] and second["refresh_token"] not in sealed
        old = httpx.post(fake.base_url + "/v2/oauth/token/", data={
            "client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"]})
        assert old.status_code == 400 and old.json()["error"] == "invalid_grant" and fake.refused_refreshes == 1
        assert TikTok(settings_for(fake)).posting_info(token)["username"] == USERNAME  # the new token works
        done = hosted.connections.delete("ada", view["id"])  # disconnecting revokes with the live access token
        assert done.revoked and fake.revoked == [token], done.message
    finally:
        hosted.db.dispose()


def test_a_dispatcher_killed_after_the_last_chunk_leaves_exactly_one_post(tmp_path, fake, topic_short,
                                                                         database_url):  # noqa: F811
    """The fake has applied the last chunk (TikTok has the post) when the dispatcher is SIGKILLed, before it heard so.
    A dispatcher started afterwards finds the post through the saved publish_id: one post, posted, no second init."""
    hosted = _hosted(tmp_path / "home", database_url, fake)
    try:
        short_id = hosted.save_short("ada", None, topic_short)
        conn_id = connect_account(hosted, "ada", platform="tiktok", account_id=OPEN_ID, name=NICKNAME)
        _schedule(hosted, short_id, conn_id, {"privacy_level": "PUBLIC_TO_EVERYONE"})
        env = {"STUDIO_TIKTOK_CLIENT_KEY": CLIENT_KEY, "STUDIO_TIKTOK_CLIENT_SECRET": CLIENT_SECRET,
               "STUDIO_TIKTOK_API_URL": fake.base_url, "STUDIO_TIKTOK_AUTH_URL": fake.auth_url}
        post = killed_after_the_final_step(hosted, database_url, fake, env, tmp_path / "final-applied")
        assert post.status == "posted", post.message
        [post_id] = fake.posts
        assert post.result["remote_id"] == post_id and post.result["publish_id"] == post.handle["publish_id"]
        assert len(fake.inits) == 1  # found through its publish_id, not posted again
    finally:
        hosted.db.dispose()


def test_an_attempt_cut_off_before_its_last_chunk_landed_resumes_the_same_publish_id(fake, big_video):
    """final_sent was saved, then the attempt died before the last chunk went: TikTok's uploaded_bytes says that
    chunk never landed, so the next attempt sends only it, on the same publish_id (one init, one post)."""
    died = Recorder(fake, stop_at_save=2)  # the second save is final_sent: it commits, then the attempt dies
    with pytest.raises(ClaimLost):
        publisher(fake).publish(delivery(big_video), TOKEN, died)
    [upload] = fake.uploads.values()
    assert died.handle["final_sent"] and 0 < upload.received < upload.video_size and not fake.posts
    sent_before = len(fake.content_ranges)
    sink = Recorder(fake)
    posted = publisher(fake).publish(delivery(big_video, handle=died.handle), TOKEN, sink)
    assert len(fake.inits) == 1 and len(fake.posts) == 1 and posted.detail["publish_id"] == upload.publish_id
    last_first = upload.chunk_size * (upload.total_chunk_count - 1)
    assert fake.content_ranges[sent_before:] == [f"bytes {last_first}-{upload.video_size - 1}/{upload.video_size}"]
    assert sink.saves == []  # nothing new to save: the handle already said final_sent
