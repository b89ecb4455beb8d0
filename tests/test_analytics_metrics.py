"""Post metrics pulled on a schedule (studio/analytics/metrics.py) from local fakes of YouTube (Data API and
Analytics), Instagram insights and TikTok's video/query, all telling one audience model (tests/fake_metrics.py) on a
virtual clock: a month of snapshots for three real posted posts takes seconds. The saved numbers are checked against
the model's own values (milliseconds as seconds, nulls for empty insights, Analytics only after its 48 h lag, the
retention curve), the schedule's marks are counted, and one account revoked or one platform down leaves the others
alone. Also the wiring: the Celery task on the io queue and the thread `studio serve` runs."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from studio.analytics.metrics import MARKS_H, MetricsPuller, PullStats, due_at, next_mark
from studio.analytics.metrics_youtube import _failure, iso_seconds
from studio.analytics.store import EventStore
from studio.settings import PublishSettings
from tests.api_helpers import database_url, make_settings  # noqa: F401
from tests.fake_meta import IG_USER_ID, FakeMeta
from tests.fake_metrics import AudienceModel
from tests.fake_tiktok import OPEN_ID, FakeTikTok
from tests.fake_youtube import CHANNEL_ID, FakeYouTube
from tests.publish_helpers import connect_account

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday, on the hour: every mark lands on an hourly look
DURATION = 30
YT_VIDEO, IG_MEDIA, TT_VIDEO = "ytVideo0001", "17900000000000001", "7400000000000000001"


# ---- the world: three fakes, one audience, a hosted studio with three accounts ---------------------------------------
class World:
    def __init__(self, tmp_path, url: str) -> None:
        from studio.hosted import Hosted
        from studio.tables import Short, User

        self.model = AudienceModel(now=T0)
        self.yt, self.meta, self.tt = FakeYouTube(tokens=("yt-token", "yt-token-2")), FakeMeta(), \
            FakeTikTok(tokens=("tt-token",))
        for fake in (self.yt, self.meta, self.tt):
            fake.start()
            fake.audience = self.model
        self.settings = PublishSettings(dispatch=False, youtube_api_url=self.yt.base_url,
                                        youtube_analytics_url=self.yt.base_url, tiktok_api_url=self.tt.base_url,
                                        **self.meta.settings())
        self.hosted = Hosted(make_settings(tmp_path / "home", url, publish=self.settings))
        with self.hosted.db.session() as s:
            s.add(User(id="ada", email="ada@example.com"))
        report = tmp_path / "report.json"
        report.write_text(json.dumps({"duration": float(DURATION)}))  # what the render wrote: the short's length
        files = self.hosted.store_files("ada", [report])
        with self.hosted.db.session() as s:
            short = Short(owner_id="ada", title="Why cats sleep", files=files)
            s.add(short)
            s.flush()
            self.short_id = short.id
        self.ig_token = self.meta.issue("ig_long", IG_USER_ID)
        self.conns = {
            "youtube": connect_account(self.hosted, "ada", platform="youtube", account_id=CHANNEL_ID,
                                       access_token="yt-token"),
            "instagram": connect_account(self.hosted, "ada", platform="instagram", account_id=IG_USER_ID,
                                         access_token=self.ig_token, refresh_token="", expires_in=60 * 86400),
            "tiktok": connect_account(self.hosted, "ada", platform="tiktok", account_id=OPEN_ID,
                                      access_token="tt-token"),
        }

    def puller(self, **kw) -> MetricsPuller:
        return MetricsPuller(self.hosted.db, self.settings, self.hosted.connections,
                             EventStore(self.hosted.db).snapshots, storage=self.hosted.storage, **kw)

    def post(self, platform: str, remote_id: str, posted_at: datetime, *, connection: str | None = None,
             result: dict | None = None, **audience) -> str:
        """A post as the dispatcher leaves one it posted (status, result, posted_at), and its audience."""
        from studio.tables import Post

        with self.hosted.db.session() as s:
            row = Post(owner_id="ada", short_id=self.short_id, connection_id=connection or self.conns[platform],
                       platform=platform, status="posted", publish_at=posted_at,
                       local_time=posted_at.strftime("%Y-%m-%dT%H:%M"), timezone="UTC",
                       text={"title": f"Why cats sleep ({platform})", "caption": "", "hashtags": []},
                       result=result or {"remote_id": remote_id, "url": f"https://example.com/{remote_id}"},
                       posted_at=posted_at, attempts=1)
            s.add(row)
            s.flush()
            post_id = row.id
        self.model.add(remote_id, posted_at, duration_s=DURATION, **audience)
        return post_id

    def snapshots(self) -> list:
        from studio.tables import MetricSnapshotRow

        with self.hosted.db.session() as s:
            return list(s.scalars(select(MetricSnapshotRow).order_by(MetricSnapshotRow.taken_at,
                                                                     MetricSnapshotRow.source)))

    def close(self) -> None:
        for fake in (self.yt, self.meta, self.tt):
            fake.stop()
        self.hosted.db.dispose()


@pytest.fixture
def world(tmp_path, database_url):  # noqa: F811
    w = World(tmp_path, database_url)
    yield w
    w.close()


def aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite gives naive UTC datetimes


def hours_of(row) -> float:
    return round((aware(row.taken_at) - aware(row.posted_at)).total_seconds() / 3600, 6)


# ---- the schedule -------------------------------------------------------------------------------------------------
def test_the_schedule_reads_early_and_often_then_daily_then_weekly():
    assert MARKS_H[:8] == (1, 2, 3, 6, 12, 24, 36, 48)
    assert [m for m in MARKS_H if 48 < m <= 720] == list(range(72, 721, 24))  # daily to day 30
    assert [m for m in MARKS_H if m > 720] == [888, 1056, 1224, 1392, 1560, 1728, 1896, 2064, 2160]  # weekly to 90
    assert next_mark(None) == 1 and next_mark(1.0) == 2 and next_mark(5.5) == 6 and next_mark(2160) is None
    # a puller down for days takes one snapshot when it is back, then the next mark after it
    assert due_at(T0, None) == T0 + timedelta(hours=1)
    assert due_at(T0, T0 + timedelta(hours=100)) == T0 + timedelta(hours=120)
    assert due_at(T0, T0 + timedelta(days=90)) is None


def test_youtube_shapes_read_as_documented():
    assert iso_seconds("PT32S") == 32 and iso_seconds("PT1M5S") == 65 and iso_seconds("P1DT2H") == 93600
    assert iso_seconds("") is None and iso_seconds("P") is None and iso_seconds(None) is None
    now = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles
    body = json.dumps({"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}})
    quota = _failure(403, body, now, None)
    assert quota.platform_wide and quota.until.astimezone(ZoneInfo("America/Los_Angeles")).hour == 0
    assert quota.until - now == timedelta(hours=12)  # Google's quota day ends at midnight Pacific
    slow = _failure(429, "{}", now, "120")
    assert not slow.platform_wide and slow.until == now + timedelta(seconds=120)


# ---- a month of virtual time ----------------------------------------------------------------------------------------
def test_a_month_of_snapshots_matches_the_audience_model(world):
    yt_post = world.post("youtube", YT_VIDEO, T0, ceiling=52_000, tau_h=14.0)
    ig_post = world.post("instagram", IG_MEDIA, T0 + timedelta(hours=1), ceiling=31_000, tau_h=26.0)
    tt_post = world.post("tiktok", TT_VIDEO, T0 + timedelta(hours=2), ceiling=75_000, tau_h=9.0)
    world.model.posts[YT_VIDEO].cut_hook(0.31)  # the planted flop: the hook lost them
    puller = world.puller()
    end = T0 + timedelta(hours=2 + 720)
    now, looks = T0, 0
    while now <= end:  # the puller looks every hour of a virtual month
        world.model.now = now
        stats = puller.pull(now)
        assert not stats.failed and not stats.skipped, stats
        now += timedelta(hours=1)
        looks += 1
    rows = world.snapshots()
    by_post = {p: [r for r in rows if r.post_id == p] for p in (yt_post, ig_post, tt_post)}
    marks = [m for m in MARKS_H if m <= 720]
    assert len(marks) == 36
    # the schedule: one look per mark per post, whatever sources it carried
    for post_id, got in by_post.items():
        assert sorted({hours_of(r) for r in got}) == marks, post_id

    # YouTube: the Data API from the first hour, Analytics only from 48 h on, with the retention curve
    a = world.model.posts[YT_VIDEO]
    data = [r for r in by_post[yt_post] if r.source == "youtube_data"]
    analytics = [r for r in by_post[yt_post] if r.source == "youtube_analytics"]
    assert [hours_of(r) for r in data] == marks
    assert [hours_of(r) for r in analytics] == [m for m in marks if m >= 48]
    for r in data:
        h = hours_of(r)
        assert (r.views, r.likes, r.comments) == (a.views(h), a.likes(h), a.comments(h))
        assert r.duration == DURATION and r.shares is None and r.retention is None and r.avg_view_ratio is None
    curve = [[round(i / 100, 2), 0.0] for i in range(1, 101)]
    for i, (x, _) in enumerate(curve):  # the curve computed here: 1 → 0.31 over 3 s, then to the end
        t = x * DURATION
        curve[i][1] = round(1 - 0.69 * t / 3 if t <= 3 else 0.31 - (0.31 - min(0.38, 0.31 * 0.6)) * (t - 3) / 27, 4)
    mean = round(sum(r for _, r in curve) / 100, 4)
    for r in analytics:
        h = hours_of(r)
        assert (r.views, r.engaged_views, r.likes, r.shares, r.comments, r.subscribers) == (
            a.views(h), round(a.views(h) * 0.71), a.likes(h), a.shares(h), a.comments(h), round(a.views(h) * 0.002))
        assert r.avg_view_ratio == pytest.approx(round(mean * 100, 2) / 100)
        assert r.avg_view_seconds == round(mean * DURATION)  # Analytics gives whole seconds
        assert r.watch_seconds == round(a.views(h) * round(mean * DURATION, 3) / 60) * 60  # whole minutes
        assert r.retention == curve and r.duration == DURATION
    assert curve[int(3 / DURATION * 100) - 1][1] == pytest.approx(0.31)  # 31% still there at 3 s

    # Instagram: nulls while the insights are empty (under 3 h), then milliseconds stored as seconds
    b = world.model.posts[IG_MEDIA]
    ig = by_post[ig_post]
    assert {r.source for r in ig} == {"instagram"}
    for r in ig:
        h = hours_of(r)
        numbers = (r.views, r.reach, r.likes, r.comments, r.shares, r.saves, r.avg_view_seconds, r.watch_seconds,
                   r.avg_view_ratio)
        if h < 3:
            assert numbers == (None,) * 9, h  # an empty set, never zeros
            continue
        assert (r.views, r.reach, r.likes, r.comments, r.shares, r.saves) == (
            b.views(h), b.reach(h), b.likes(h), b.comments(h), b.shares(h), b.saves(h))
        assert r.avg_view_seconds == pytest.approx(b.avg_view_seconds(), abs=1e-3)  # ms → s
        assert r.watch_seconds == pytest.approx(b.watch_seconds(h), abs=1e-3)
        assert r.avg_view_ratio == pytest.approx(b.avg_view_seconds() / DURATION, abs=1e-4)  # over report.json's length
        assert r.retention is None and r.engaged_views is None
    assert sum(1 for r in ig if r.views is None) == 2  # the 1 h and 2 h looks

    # TikTok: lifetime counters, nothing it does not report
    c = world.model.posts[TT_VIDEO]
    for r in by_post[tt_post]:
        h = hours_of(r)
        assert (r.views, r.likes, r.comments, r.shares) == (c.views(h), c.likes(h), c.comments(h), c.shares(h))
        assert (r.saves, r.reach, r.avg_view_seconds, r.duration) == (None, None, None, DURATION)
    # every row names its post, short and owner, and the title the post was given
    assert {(r.owner_id, r.short_id) for r in rows} == {("ada", world.short_id)}
    assert {r.title for r in by_post[tt_post]} == {"Why cats sleep (tiktok)"}
    # posting times: a YouTube video the platform held until its time counts from then (here: posted at its time)
    assert {aware(r.posted_at) for r in by_post[yt_post]} == {T0}
    assert looks == 723


def test_a_second_look_at_the_same_moment_stores_nothing_twice(world):
    world.post("youtube", YT_VIDEO, T0)
    world.post("instagram", IG_MEDIA, T0)
    world.post("tiktok", TT_VIDEO, T0)
    now = world.model.now = T0 + timedelta(hours=49)
    first = world.puller().pull(now)
    assert (first.due, first.read, first.saved) == (3, 3, 4)  # YouTube: Data API and Analytics
    again = world.puller().pull(now)
    assert (again.due, again.saved) == (0, 0)  # nothing is due: the schedule read the snapshots just stored
    # even a puller that believes nothing was stored saves nothing twice: the snapshot ids are the same
    blind = world.puller(last_taken=lambda ids: {}).pull(now)
    assert (blind.due, blind.read, blind.saved) == (3, 3, 0)
    assert len(world.snapshots()) == 4


def test_a_revoked_account_and_a_platform_down_leave_the_others_alone(world, caplog):
    from studio.tables import Connection

    other = connect_account(world.hosted, "ada", platform="youtube", account_id="UCsecondchannel000000000",
                            access_token="yt-token-2", name="Second channel")
    revoked = world.post("youtube", YT_VIDEO, T0)
    kept = world.post("youtube", "ytVideo0002", T0, connection=other)
    ig = world.post("instagram", IG_MEDIA, T0)
    tt = world.post("tiktok", TT_VIDEO, T0)
    world.yt.tokens.discard("yt-token")  # the creator removed the studio's access to the first channel
    world.tt.api_errors["/v2/video/query/"] = (503, "internal_error")  # TikTok is down, once
    now = world.model.now = T0 + timedelta(hours=1)
    puller = world.puller()
    stats = puller.pull(now)
    failed = dict(stats.failed)
    assert set(failed) == {revoked, tt}, stats
    assert "no longer accepts" in failed[revoked] and "TikTok failed" in failed[tt]
    assert {r.post_id for r in world.snapshots()} == {kept, ig}
    with world.hosted.db.session() as s:
        assert s.get(Connection, world.conns["youtube"]).status == "needs_reconnect"
        assert s.get(Connection, other).status == "active"
    assert "not read" in caplog.text  # said plainly in the log
    # the next look: TikTok is back and is read; the revoked channel's post is no longer due
    later = world.model.now = now + timedelta(minutes=5)
    again = puller.pull(later)
    assert (again.due, again.read, again.failed) == (1, 1, ())
    assert {r.post_id for r in world.snapshots()} == {kept, ig, tt}


def test_a_rate_limit_holds_that_account_and_a_spent_quota_holds_the_platform(world):
    from tests.fake_youtube import Seen

    def calls() -> int:
        return sum(1 for r in world.yt.requests if isinstance(r, Seen) and r.method == "GET")

    first_post = world.post("youtube", YT_VIDEO, T0)
    now = world.model.now = T0 + timedelta(hours=48)
    world.yt.report_error = (429, "rateLimitExceeded")
    puller = world.puller()
    first = puller.pull(now)
    # the Data API's snapshot is kept; Analytics waits (no Retry-After: 15 minutes)
    assert first.saved == 1 and [r.source for r in world.snapshots()] == ["youtube_data"]
    assert "slow down" in dict(first.failed)[first_post]
    # the next mark (72 h) comes after the hold: it is read in full then
    world.model.now = now + timedelta(hours=24)
    second = puller.pull(world.model.now)
    assert (second.read, second.saved, second.failed) == (1, 2, ())
    # Google's project quota spent: every channel waits until midnight Pacific, without a call
    second_channel = connect_account(world.hosted, "ada", platform="youtube", account_id="UCsecondchannel000000000",
                                     access_token="yt-token-2", name="Second channel")
    late = world.post("youtube", "ytVideo0002", T0 + timedelta(hours=95), connection=second_channel)
    world.yt.report_error = (403, "quotaExceeded")
    world.model.now = T0 + timedelta(hours=96)  # 01:00 in Los Angeles
    before = calls()
    third = puller.pull(world.model.now)
    assert calls() - before == 2  # the first channel's videos.list and report; nothing for the second
    assert dict(third.failed)[late].startswith("YouTube asked the studio to slow down")
    world.model.now += timedelta(hours=1)
    held = puller.pull(world.model.now)
    assert held.due == 1 and held.saved == 0 and calls() - before == 2
    assert "2025-03-08 08:00 UTC" in dict(held.failed)[late]  # midnight Pacific (PST) in UTC


def test_a_tiktok_post_known_only_by_its_publish_id_is_skipped_saying_why(world):
    publish_id = "v_pub_file~v2-1.000000000000000001"
    private = world.post("tiktok", publish_id, T0, result={"remote_id": publish_id, "url": "https://www.tiktok.com/",
                                                            "publish_id": publish_id, "privacy_level": "SELF_ONLY"})
    public = world.post("tiktok", TT_VIDEO, T0)
    now = world.model.now = T0 + timedelta(hours=1)
    stats = world.puller().pull(now)
    assert stats.read == 1 and [p for p, _ in stats.skipped] == [private]
    assert "no public video id" in stats.skipped[0][1]
    assert {r.post_id for r in world.snapshots()} == {public}


# ---- the wiring -----------------------------------------------------------------------------------------------------
def test_the_metrics_task_runs_on_the_io_queue_and_pulls(tmp_path, monkeypatch):
    import redis

    from studio import celery_jobs
    from studio.celery_jobs import METRICS_TASK, WorkerProcess, make_app, send_metrics_task
    from studio.settings import ServerSettings
    from tests.celery_helpers import fresh_redis_url, need_redis

    need_redis()
    url = fresh_redis_url()
    app = make_app(ServerSettings(jobs="celery", redis_url=url))
    assert METRICS_TASK in app.tasks
    assert app.amqp.router.route({}, METRICS_TASK)["queue"].name == "io"  # Celery's own routing
    # what the beat sends lands on the io queue, expiring before the next one
    send_metrics_task(app, 300)
    [raw] = redis.Redis.from_url(url).lrange("io", 0, -1)
    headers = json.loads(raw)["headers"]
    assert headers["task"] == METRICS_TASK and headers["expires"]
    # the task itself: one look of the puller in the worker process that runs it
    for k, v in {"STUDIO_HOME": str(tmp_path / "home"), "STUDIO_JOBS": "celery", "STUDIO_REDIS_URL": url,
                 "STUDIO_JWT_SECRET": "test-secret-" + "x" * 32}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(WorkerProcess, "_here", None)
    looks: list[datetime | None] = []

    def pull(self, now=None):
        looks.append(now)
        return PullStats(due=0, read=0, saved=0)

    monkeypatch.setattr(MetricsPuller, "pull", pull)
    assert app.tasks[METRICS_TASK].apply().get() == "0 snapshots of 0 due posts"
    assert len(looks) == 1
    # a look still running elsewhere: this one stands aside
    lock = redis.Redis.from_url(url).lock("studio:metrics", timeout=30)
    assert lock.acquire(blocking=False)
    try:
        assert app.tasks[METRICS_TASK].apply().get() == "busy" and len(looks) == 1
    finally:
        lock.release()
    assert celery_jobs.celery_config(ServerSettings(redis_url=url))["task_routes"][METRICS_TASK]["queue"] == "io"


def test_studio_serve_starts_and_stops_the_puller_next_to_the_dispatcher(tmp_path, monkeypatch):
    from studio.hosted import Hosted

    looked = threading.Event()
    original = MetricsPuller.pull

    def pull(self, now=None):
        looked.set()
        return original(self, now)

    monkeypatch.setattr(MetricsPuller, "pull", pull)
    hosted = Hosted(make_settings(tmp_path / "home", None, publish=PublishSettings(metrics_every_s=0.05)))
    hosted.start()
    try:
        assert hosted.dispatcher is not None and hosted.metrics_puller is not None
        assert hosted.metrics_puller.running
        assert "studio-metrics" in {t.name for t in threading.enumerate()}
        assert looked.wait(10)  # it looks at once, then every STUDIO_METRICS_EVERY seconds
    finally:
        hosted.stop()
    # its own thread has ended (other tests' studios in this process may still run theirs)
    assert not hosted.metrics_puller.running and hosted.metrics_puller._thread not in threading.enumerate()
    hosted.db.dispose()


def test_studio_worker_beat_pulls_metrics_through_the_io_queue(tmp_path):
    """End to end under Celery: `studio worker --queues io --beat` sends the task, runs it, and the snapshot lands."""
    import time

    from tests.celery_helpers import WorkerProc, fresh_redis_url, job_env, need_redis, wait_for

    need_redis()
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    w = World(tmp_path, url)
    try:
        posted = datetime.now(UTC) - timedelta(minutes=90)  # real time now: its first mark (1 h) has passed
        post_id = w.post("youtube", YT_VIDEO, posted)
        w.model.now = posted + timedelta(minutes=90)
        env = job_env(w.hosted.settings.home, fresh_redis_url(), database_url=url, STUDIO_JWT_SECRET=w.hosted.secret,
                      STUDIO_YOUTUBE_API_URL=w.yt.base_url, STUDIO_YOUTUBE_ANALYTICS_URL=w.yt.base_url,
                      STUDIO_METRICS_EVERY="0.5")
        beat = WorkerProc(env, tmp_path / "beat.log", queues="io", beat=True).start()
        try:
            beat.wait_ready()
            [row] = wait_for(lambda: w.snapshots(), timeout=60, what="the first snapshot")
            time.sleep(2)  # more looks: nothing more is due until the 2 h mark
        finally:
            beat.stop()
        rows = w.snapshots()
        assert [(r.post_id, r.source) for r in rows] == [(post_id, "youtube_data")]
        assert rows[0].views == w.model.posts[YT_VIDEO].views(1.5)
        assert "studio.pull_metrics" in (tmp_path / "beat.log").read_text()
    finally:
        w.close()
