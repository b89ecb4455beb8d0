"""YouTube's real upload flow against a local fake of the Data API: a rendered short goes up in 256 KiB chunks,
and every way an attempt can end (interrupted, session expired, a 5xx, a revoked token, a crash right after the
last byte) leaves YouTube with exactly one video, or with none and an honest Unconfirmed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studio.publishing.base import AuthRevoked, ClaimLost, Delivery, PostFiles, PostText, Refused, Transient, Unconfirmed
from studio.publishing.platforms import platform
from studio.publishing.youtube import QUANTUM, SCOPES, YouTube
from studio.settings import PublishSettings
from tests.fake_youtube import CHANNEL_ID, FakeYouTube

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token"


class Recorder:
    """A sink that records its calls, with what the fake held at each save; it can stop the attempt as a crash
    would (``stop_after_chunks``: progress raises; ``stop_after_final_save``: the final_sent save commits, then
    the attempt dies)."""

    def __init__(self, fake: FakeYouTube, stop_after_chunks: int = 0, stop_after_final_save: bool = False) -> None:
        self.fake = fake
        self.saves: list[tuple[dict, int, int]] = []  # (handle, bytes the fake holds for it, videos on the fake)
        self.progress_calls: list[tuple[int, int]] = []
        self.stop_after_chunks = stop_after_chunks
        self.stop_after_final_save = stop_after_final_save

    def save_handle(self, handle: dict) -> None:
        upload_id = handle["upload_url"].rsplit("upload_id=", 1)[1]
        self.saves.append((dict(handle), self.fake.sessions[upload_id].received, len(self.fake.videos)))
        if self.stop_after_final_save and handle.get("final_sent"):
            raise ClaimLost()

    def progress(self, sent: int, total: int) -> None:
        self.progress_calls.append((sent, total))
        if self.stop_after_chunks and len(self.progress_calls) >= self.stop_after_chunks:
            raise ClaimLost()

    @property
    def handle(self) -> dict:
        return self.saves[-1][0]


@pytest.fixture
def fake():
    f = FakeYouTube(tokens=(TOKEN,))
    f.start()
    yield f
    f.stop()


def settings_for(fake: FakeYouTube) -> PublishSettings:
    # 0.25 MB = one 256 KiB unit, so a 12 s short goes up in a couple of dozen chunks
    return PublishSettings(youtube_client_id="cid", youtube_client_secret="secret", youtube_api_url=fake.base_url,
                           upload_chunk_mb=0.25)  # type: ignore[arg-type]


def delivery(short, publish_at: datetime | None = None, options: dict | None = None, handle: dict | None = None):
    text = json.loads(short.post.read_text())["platforms"]["shorts"]
    return Delivery(post_id="p1", platform="youtube", account_id=CHANNEL_ID,
                    files=PostFiles(video=short.video, thumbnail=short.thumbnail, captions=short.captions_srt),
                    text=PostText(title=text["title"], caption=text["caption"], hashtags=tuple(text["hashtags"])),
                    publish_at=publish_at or datetime.now(UTC), options=options or {}, handle=handle or {})


def publish(fake: FakeYouTube, d: Delivery, sink: Recorder, token: str = TOKEN):
    return YouTube(settings_for(fake)).publisher().publish(d, token, sink)


def one_video(fake: FakeYouTube, short) -> dict:
    assert len(fake.videos) == 1, f"{len(fake.videos)} videos on the fake"
    (video_id, resource), = fake.videos.items()
    assert fake.video_bytes[video_id] == short.video.read_bytes()
    return resource


def data_ranges(fake: FakeYouTube) -> list[tuple[int, int]]:
    spans = [r.removeprefix("bytes ").split("/")[0] for r in fake.chunk_ranges() if not r.startswith("bytes */")]
    return [(int(a), int(b)) for a, b in (s.split("-") for s in spans)]


def interrupted(fake: FakeYouTube, short, chunks: int = 5) -> dict:
    """An attempt that dies after ``chunks`` chunks (its claim lost); returns the handle it saved."""
    sink = Recorder(fake, stop_after_chunks=chunks)
    with pytest.raises(ClaimLost):
        publish(fake, delivery(short), sink)
    assert not fake.videos and sink.progress_calls[-1][0] == chunks * QUANTUM
    fake.requests.clear()
    return sink.handle


def test_full_upload_is_one_video_with_the_fields_sent_and_the_handle_saved_in_time(fake, topic_short):
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    sink = Recorder(fake)
    posted = publish(fake, delivery(topic_short, at, {"privacy": "public", "made_for_kids": False,
                                                      "synthetic_media": True, "category_id": "27"}), sink)
    resource, total = one_video(fake, topic_short), topic_short.video.stat().st_size
    assert posted.remote_id == resource["id"] and posted.url == f"https://youtu.be/{resource['id']}"
    assert posted.detail == {"privacy": "private", "publish_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    snippet, status = resource["snippet"], resource["status"]
    assert snippet["title"] == "5 habits that changed my mornings" and snippet["categoryId"] == "27"
    assert snippet["description"].count("#shorts") == 1  # the caption's own hashtags are not repeated
    assert status["privacyStatus"] == "private" and status["publishAt"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["containsSyntheticMedia"] is True and status["selfDeclaredMadeForKids"] is False
    # chunks of 256 KiB, in order, the last one short
    spans = data_ranges(fake)
    assert len(spans) == -(-total // QUANTUM) >= 10
    assert all(b - a + 1 == QUANTUM for a, b in spans[:-1]) and spans[-1][1] == total - 1
    assert [a for a, _ in spans] == [i * QUANTUM for i in range(len(spans))]
    # the session's address saved before any byte went, then marked final_sent while the last chunk was unsent
    (first, held0, videos0), (final, held1, videos1) = sink.saves
    assert first == {"upload_url": final["upload_url"], "total": total} and held0 == 0 and videos0 == 0
    assert final["final_sent"] is True and held1 == spans[-1][0] and videos1 == 0
    assert [s for s, _ in sink.progress_calls] == [b + 1 for _, b in spans[:-1]]
    assert "<redacted>" in {r.headers.get("authorization") for r in fake.requests}


def test_due_now_takes_the_chosen_privacy_and_no_publish_at(fake, topic_short):
    posted = publish(fake, delivery(topic_short, options={"privacy": "unlisted"}), Recorder(fake))
    status = one_video(fake, topic_short)["status"]
    assert status["privacyStatus"] == "unlisted" and "publishAt" not in status
    assert "selfDeclaredMadeForKids" not in status and "containsSyntheticMedia" not in status
    assert posted.detail == {"privacy": "unlisted", "publish_at": None}


def test_resume_after_an_interruption_continues_from_youtubes_range(fake, topic_short):
    handle = interrupted(fake, topic_short, chunks=5)
    publish(fake, delivery(topic_short, handle=handle), Recorder(fake))
    one_video(fake, topic_short)
    assert not fake.session_starts()  # the same session
    assert fake.chunk_ranges()[0].startswith("bytes */")  # asked first
    assert data_ranges(fake)[0][0] == 5 * QUANTUM


def test_308_without_range_starts_again_from_zero_on_the_same_session(fake, topic_short):
    handle = interrupted(fake, topic_short, chunks=5)
    fake.drop_range_once = True
    publish(fake, delivery(topic_short, handle=handle), Recorder(fake))
    one_video(fake, topic_short)
    assert not fake.session_starts()
    assert data_ranges(fake)[0][0] == 0


@pytest.mark.parametrize("status", [404, 410])
def test_expired_session_before_the_last_chunk_starts_a_new_one(fake, topic_short, status):
    handle = interrupted(fake, topic_short, chunks=3)
    fake.expire_sessions(status)
    sink = Recorder(fake)
    publish(fake, delivery(topic_short, handle=handle), sink)
    one_video(fake, topic_short)
    assert len(fake.session_starts()) == 1 and sink.saves[0][0]["upload_url"] != handle["upload_url"]
    assert data_ranges(fake)[0][0] == 0


def test_session_expiring_mid_upload_starts_a_new_one(fake, topic_short):
    fake.expire_at_chunk = (4, 410)
    sink = Recorder(fake)
    publish(fake, delivery(topic_short), sink)
    one_video(fake, topic_short)
    assert len(fake.session_starts()) == 2 and len({h["upload_url"] for h, _, _ in sink.saves}) == 2


@pytest.mark.parametrize("status", [404, 410])
def test_session_gone_after_final_sent_is_unconfirmed_and_nothing_is_sent_again(fake, topic_short, status):
    sink = Recorder(fake, stop_after_final_save=True)
    with pytest.raises(ClaimLost):
        publish(fake, delivery(topic_short), sink)
    assert sink.handle["final_sent"] is True
    fake.expire_sessions(status)
    fake.requests.clear()
    with pytest.raises(Unconfirmed) as caught:
        publish(fake, delivery(topic_short, handle=sink.handle), Recorder(fake))
    assert caught.value.link == f"https://studio.youtube.com/channel/{CHANNEL_ID}/videos"
    assert not fake.videos and not fake.session_starts()
    assert fake.chunk_ranges() == [f"bytes */{topic_short.video.stat().st_size}"]  # only the question


def test_a_5xx_mid_upload_is_retried_through_the_status_query(fake, topic_short):
    fake.fail_at_chunk = (4, 503)
    publish(fake, delivery(topic_short), Recorder(fake))
    one_video(fake, topic_short)
    statuses = [(r.status, r.content_range) for r in fake.uploads() if r.method == "PUT"]
    failed = next(i for i, (s, _) in enumerate(statuses) if s == 503)
    assert statuses[failed + 1][1].startswith("bytes */") and len(fake.session_starts()) == 1
    assert data_ranges(fake).count((3 * QUANTUM, 4 * QUANTUM - 1)) == 2  # the failed chunk sent again, once


def test_a_revoked_token_is_auth_revoked(fake, topic_short):
    with pytest.raises(AuthRevoked):
        publish(fake, delivery(topic_short), Recorder(fake), token="revoked")
    assert not fake.sessions and not fake.videos


@pytest.mark.parametrize(("status", "reason", "error"), [(403, "quotaExceeded", Transient),
                                                         (403, "uploadLimitExceeded", Refused),
                                                         (400, "invalidTitle", Refused)])
def test_refusals_at_the_session_start(fake, topic_short, status, reason, error):
    fake.insert_error = (status, reason)
    sink = Recorder(fake)
    with pytest.raises(error) as caught:
        publish(fake, delivery(topic_short), sink)
    assert not sink.saves and not fake.videos
    if reason == "quotaExceeded":
        assert "midnight Pacific" in caught.value.hint


def test_a_bad_post_fails_before_youtube_is_asked(fake, topic_short, tmp_path):
    with pytest.raises(Refused, match="privacy"):
        publish(fake, delivery(topic_short, options={"privacy": "friends"}), Recorder(fake))
    gone = Delivery(**{**delivery(topic_short).__dict__, "files": PostFiles(video=tmp_path / "gone.mp4")})
    with pytest.raises(Refused, match="missing"):
        publish(fake, gone, Recorder(fake))
    assert not fake.requests


def test_no_answer_to_the_status_query_is_transient(fake, topic_short):
    handle = interrupted(fake, topic_short, chunks=2)
    fake.stop()
    with pytest.raises(Transient):
        publish(fake, delivery(topic_short, handle=handle), Recorder(fake))


CRASHING_UPLOADER = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from studio.publishing.base import Delivery, PostFiles, PostText
from studio.publishing.youtube import YouTube
from studio.settings import PublishSettings

base, video, out = sys.argv[1:4]

class FileSink:
    def save_handle(self, handle):
        Path(out + ".tmp").write_text(json.dumps(handle))
        Path(out + ".tmp").replace(out)

    def progress(self, sent, total):
        pass

d = Delivery(post_id="p1", platform="youtube", account_id="UCfakeChannel0000000000",
             files=PostFiles(video=Path(video)), text=PostText(title="Crash test", caption="c"),
             publish_at=datetime.now(UTC))
posted = YouTube(PublishSettings(youtube_api_url=base, upload_chunk_mb=0.25)).publisher().publish(d, "test-token", FileSink())
Path(out + ".posted").write_text(posted.remote_id)
"""


def test_a_crash_after_the_last_byte_is_found_posted_by_the_next_attempt(fake, topic_short, tmp_path):
    release = threading.Event()
    fake.on_final = lambda: release.wait(60)  # the video exists; the uploader has not heard yet
    out = tmp_path / "handle.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_UPLOADER, fake.base_url, str(topic_short.video), str(out)],
                            cwd=ROOT, env=env)
    try:
        assert fake.final_applied.wait(120), "the uploader never sent its last byte"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert not Path(f"{out}.posted").exists()
    handle = json.loads(out.read_text())
    assert handle["final_sent"] is True and len(fake.videos) == 1
    fake.requests.clear()
    posted = publish(fake, delivery(topic_short, handle=handle), Recorder(fake))
    resource = one_video(fake, topic_short)
    assert posted.remote_id == resource["id"]
    assert fake.chunk_ranges() == [f"bytes */{topic_short.video.stat().st_size}"] and not fake.session_starts()


def test_account_and_oauth(fake):
    yt = platform("youtube", settings_for(fake))
    account = yt.account(TOKEN)
    assert account.account_id == CHANNEL_ID and account.name == "Fake Channel"
    assert account.info["url"] == f"https://www.youtube.com/channel/{CHANNEL_ID}"
    assert [r.path for r in fake.requests] == ["/youtube/v3/channels"] and fake.requests[0].query["mine"] == "true"
    with pytest.raises(AuthRevoked):
        yt.account("revoked")
    spec = yt.oauth()
    assert spec is not None and spec.pkce and spec.scopes == SCOPES
    assert "https://www.googleapis.com/auth/youtube" in spec.scopes  # videos.update needs it; .upload cannot
    assert spec.authorize_params == {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}
    assert YouTube(PublishSettings()).oauth() is None
    assert any("28 July 2020" in n for n in yt.notes) and any("Pacific" in n for n in yt.notes)
