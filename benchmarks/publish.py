"""Publishing figures, measured in one run on this machine against the local fake of the YouTube Data API
(tests/fake_youtube.py, run in its own process as a real server would be).

(u) upload throughput: our publisher's resumable upload of a ~50 MB file (the default chunk size from
    PublishSettings) ÷ one plain HTTP PUT of the same file to the fake's /sink. Target ≥ 0.9.

(p) the same figure per platform, each against its own local fake (tests/fake_meta.py for Instagram and Facebook,
    tests/fake_tiktok.py for TikTok, each in a process of its own): our publisher posting a ~50 MB MP4 (the whole
    flow: container or session, the bytes, status, publish) against one plain PUT of the same file to that fake's
    /sink. Throughput is marginal: (big − small file) ÷ (time big − time small), for ours and for the plain PUT, so
    the fixed API calls (and TikTok's ffprobe of the video's length), which weigh a lot on loopback, are apart;
    the whole post against one plain PUT is printed too.

(d) dispatcher latency: 1,000 posts scheduled to fall due over two minutes, one `Dispatcher` (the loop `studio
    serve` runs) posting them to the fake; per post, the seconds from its due time to its claim: p50, p95, max. Once
    at the default pace (STUDIO_DISPATCH_EVERY=5) and once at 1 s.

Usage: python benchmarks/publish.py [--mb 50] [--runs 5] [--posts 1000] [--spread 120] [--database-url URL]
                                   [--only upload|platforms|dispatch]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "test-token"


class NullSink:
    def save_handle(self, handle: dict) -> None:
        pass

    def progress(self, sent: int, total: int) -> None:
        pass


def plain_put(base_url: str, path: Path, from_memory: bool = False) -> float:
    """Seconds for one PUT of the whole file: streamed from disk (http.client copies it 8 KiB at a time), or read
    into memory first and written at once (the fastest one request can be)."""
    import httplib2

    size = path.stat().st_size
    with path.open("rb") as fh:
        t0 = time.perf_counter()
        body = fh.read() if from_memory else fh
        resp, _ = httplib2.Http(timeout=60).request(f"{base_url}/sink", "PUT", body=body,
                                                    headers={"Content-Length": str(size)})
        seconds = time.perf_counter() - t0
    assert resp.status == 200, resp.status
    return seconds


def publisher_upload(base_url: str, path: Path) -> float:
    """Seconds for our publisher to post the file: session start, chunks, the video resource back."""
    from studio.publishing.base import Delivery, PostFiles, PostText
    from studio.publishing.youtube import YouTube
    from studio.settings import PublishSettings

    delivery = Delivery(post_id="bench", platform="youtube", account_id="UCbench", files=PostFiles(video=path),
                        text=PostText(title="Benchmark", caption="upload throughput"), publish_at=datetime.now(UTC))
    publisher = YouTube(PublishSettings(youtube_api_url=base_url)).publisher()
    t0 = time.perf_counter()
    publisher.publish(delivery, TOKEN, NullSink())
    return time.perf_counter() - t0


def upload_ratio(mb: int = 50, runs: int = 5) -> dict:
    """(u): the best of ``runs`` interleaved runs of each, so a busy moment on the machine hits all alike."""
    from studio.settings import PublishSettings

    with tempfile.TemporaryDirectory() as tmp, fake_process("fake_youtube", "--token", TOKEN, "--discard") as base_url:
        path = Path(tmp) / "upload.mp4"
        path.write_bytes(os.urandom(mb * 1024 * 1024))
        publisher_upload(base_url, path)  # imports and first connections are not the figure
        streamed, in_memory, ours = [], [], []
        for _ in range(runs):
            streamed.append(plain_put(base_url, path))
            in_memory.append(plain_put(base_url, path, from_memory=True))
            ours.append(publisher_upload(base_url, path))
    size_mb = mb * 1024 * 1024 / 1e6
    best = {"streamed": min(streamed), "in_memory": min(in_memory), "ours": min(ours)}
    return {"mb": size_mb, "chunk_mb": PublishSettings().upload_chunk_mb, **{f"{k}_s": v for k, v in best.items()},
            **{f"{k}_mb_s": size_mb / v for k, v in best.items()},
            "ratio": best["streamed"] / best["ours"], "ratio_in_memory": best["in_memory"] / best["ours"]}


@contextmanager
def fake_process(module: str, *args: str) -> Iterator[str]:
    """A fake (tests/<module>.py) in a process of its own, so it does not share this one's GIL; yields the first
    line it prints (its base URL, or a JSON line with it)."""
    proc = subprocess.Popen([sys.executable, "-m", f"tests.{module}", "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


def _noise_mp4(path: Path, mb: int) -> Path:
    """A real MP4 of about ``mb`` MB (incompressible noise, near-lossless): the platforms' publishers probe it."""
    frames = max(2, round(mb / 1.6))  # ~1.6 MB a frame at 720x1280, mpeg4 -q:v 1
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "720x1280", "-r",
                    "30", "-i", "/dev/urandom", "-frames:v", str(frames), "-c:v", "mpeg4", "-q:v", "1", str(path)],
                   check=True)
    return path


def _platform_publish(name: str, fake: dict):
    """A callable posting ``path`` through the platform's publisher to its fake, as the dispatcher would."""
    from studio.publishing.base import Delivery, PostFiles, PostText
    from studio.publishing.platforms import platform
    from studio.settings import PublishSettings

    settings = PublishSettings(**{k: v for k, v in fake.items() if k in PublishSettings.__dataclass_fields__})
    account, token, options = {"instagram": (fake.get("ig_user"), fake.get("ig_token"), {"share_to_feed": True}),
                               "facebook": (fake.get("page"), fake.get("page_token"), {}),
                               "tiktok": ("bench-open-id", TOKEN, {"privacy_level": "SELF_ONLY"})}[name]
    publisher = platform(name, settings).publisher()

    def run(path: Path) -> float:
        delivery = Delivery(post_id="bench", platform=name, account_id=str(account), files=PostFiles(video=path),
                            text=PostText(title="Benchmark", caption="upload throughput #bench", hashtags=("bench",)),
                            publish_at=datetime.now(UTC), options={"synthetic_media": True, **options})
        t0 = time.perf_counter()
        publisher.publish(delivery, str(token), NullSink())
        return time.perf_counter() - t0

    return run


def platform_ratios(mb: int = 50, runs: int = 5) -> list[dict]:
    """(p): per platform, the best of ``runs`` interleaved runs of our publisher and of a plain PUT to its fake, each
    with the big file and with a small one. The small one's time is the fixed part (API calls; TikTok's ffprobe);
    the difference over the difference in size is the upload's own throughput."""
    import json

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        big, small = _noise_mp4(Path(tmp) / "big.mp4", mb), _noise_mp4(Path(tmp) / "small.mp4", 1)
        size_mb, extra_mb = big.stat().st_size / 1e6, (big.stat().st_size - small.stat().st_size) / 1e6
        for name, module in (("instagram", "fake_meta"), ("facebook", "fake_meta"), ("tiktok", "fake_tiktok")):
            with fake_process(module) as line:
                fake = json.loads(line) if line.startswith("{") else {"base_url": line, "tiktok_client_key": "k",
                                                                         "tiktok_client_secret": "s",
                                                                         "tiktok_api_url": line}
                ours = _platform_publish(name, fake)
                ours(small)  # imports and first connections are not the figure
                t: dict[str, list[float]] = {"put_big": [], "put_small": [], "ours_big": [], "ours_small": []}
                for _ in range(runs):
                    t["put_big"].append(plain_put(fake["base_url"], big))
                    t["put_small"].append(plain_put(fake["base_url"], small))
                    t["ours_big"].append(ours(big))
                    t["ours_small"].append(ours(small))
            best = {k: min(v) for k, v in t.items()}
            plain_mb_s = extra_mb / (best["put_big"] - best["put_small"])
            ours_mb_s = extra_mb / (best["ours_big"] - best["ours_small"])
            out.append({"platform": name, "mb": size_mb, **best, "plain_mb_s": plain_mb_s, "ours_mb_s": ours_mb_s,
                        "ratio": ours_mb_s / plain_mb_s, "ratio_whole": best["put_big"] / best["ours_big"]})
    return out


def _tiny_video(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=108x192:rate=30:duration=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


@contextmanager
def _own_schema(database_url: str | None) -> Iterator[str | None]:
    """A PostgreSQL URL gets a schema of its own for the run, dropped after (the database may be shared)."""
    if not database_url:
        yield None
        return
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def dispatch_latency(posts: int = 1000, spread_s: float = 120.0, every_s: float = 5.0,
                     database_url: str | None = None) -> dict:
    """(d): seconds from each post's due time to its claim, with ``posts`` falling due evenly over ``spread_s``."""
    with _own_schema(database_url) as url:
        return _dispatch_latency(posts, spread_s, every_s, url)


def _dispatch_latency(posts: int, spread_s: float, every_s: float, database_url: str | None) -> dict:
    from datetime import timedelta

    from sqlalchemy import select

    from studio.hosted import Hosted
    from studio.publishing.dispatch import Dispatcher
    from studio.settings import PublishSettings, ServerSettings, Settings
    from studio.tables import Post, Short, User
    from tests.publish_helpers import connect_account

    with tempfile.TemporaryDirectory() as tmp, fake_process("fake_youtube", "--token", TOKEN, "--discard") as base_url:
        publish = PublishSettings(youtube_client_id="bench", youtube_client_secret="bench", youtube_api_url=base_url,
                                  youtube_upload_ahead_h=0.0, youtube_daily_uploads=10 * posts, dispatch=False,
                                  dispatch_every_s=every_s)
        hosted = Hosted(Settings(home=Path(tmp) / "home", server=ServerSettings(
            auth_mode="local", database_url=database_url, jwt_secret="bench-" + "x" * 32, publish=publish)))
        with hosted.db.session() as s:
            s.add(User(id="bench", email="bench@example.com"))
        files = hosted.store_files("bench", [_tiny_video(Path(tmp) / "short.mp4")])
        with hosted.db.session() as s:
            short = Short(owner_id="bench", title="bench", files=files)
            s.add(short)
            s.flush()
            short_id = short.id
        conn_id = connect_account(hosted, "bench", access_token=TOKEN)
        start = datetime.now(UTC) + timedelta(seconds=5)
        with hosted.db.session() as s:
            for i in range(posts):
                at = start + timedelta(seconds=spread_s * i / posts)
                s.add(Post(owner_id="bench", short_id=short_id, connection_id=conn_id, platform="youtube",
                           publish_at=at, local_time=at.strftime("%Y-%m-%dT%H:%M"), timezone="UTC",
                           text={"title": f"Post {i}", "caption": "", "hashtags": []},
                           options={"privacy": "public", "made_for_kids": False, "synthetic_media": True}))
        dispatcher = Dispatcher(hosted, name="bench")
        dispatcher.start()
        deadline = time.monotonic() + spread_s + 600
        try:
            while time.monotonic() < deadline:
                with hosted.db.session() as s:
                    left = s.scalar(select(Post.id).where(Post.status.in_(("scheduled", "claimed", "publishing")))
                                    .limit(1))
                if left is None:
                    break
                time.sleep(1)
        finally:
            dispatcher.stop()
        with hosted.db.session() as s:
            rows = s.execute(select(Post.publish_at, Post.claimed_at, Post.status)).all()
        hosted.db.dispose()
    lag = sorted(((c if c.tzinfo else c.replace(tzinfo=UTC)) - (p if p.tzinfo else p.replace(tzinfo=UTC)))
                 .total_seconds() for p, c, _ in rows if c is not None)
    posted = sum(1 for *_, st in rows if st == "posted")

    def pct(q: float) -> float:
        return lag[min(len(lag) - 1, int(q * len(lag)))]

    return {"posts": posts, "posted": posted, "every_s": every_s, "p50": pct(0.5), "p95": pct(0.95), "max": lag[-1],
            "db": "PostgreSQL" if database_url else "SQLite"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=120.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", choices=("upload", "platforms", "dispatch"), default=None)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    if args.only in (None, "platforms"):
        for p in platform_ratios(args.mb, args.runs):
            print(f"(p) {p['platform']:9s} {p['mb']:.0f} MB: upload throughput {p['ours_mb_s']:5.0f} MB/s ÷ plain PUT "
                  f"{p['plain_mb_s']:5.0f} MB/s = {p['ratio']:.2f}; the whole post {p['ours_big'] * 1000:5.0f} ms (of "
                  f"which fixed {p['ours_small'] * 1000:4.0f} ms) ÷ one plain PUT {p['put_big'] * 1000:4.0f} ms: "
                  f"{p['ratio_whole']:.2f}")
    if args.only == "platforms":
        return
    if args.only != "upload":
        for every in (5.0, 1.0):
            d = dispatch_latency(args.posts, args.spread, every, args.database_url)
            print(f"(d) {d['posts']} posts due over {args.spread:.0f} s on {d['db']}, dispatcher every {every:.0f} s: "
                  f"{d['posted']} posted; due → claimed p50 {d['p50']:.2f} s, p95 {d['p95']:.2f} s, max {d['max']:.2f} s")
    if args.only == "dispatch":
        return
    u = upload_ratio(args.mb, args.runs)
    print(f"(u) upload of {u['mb']:.0f} MB to the local fake (best of {args.runs}):")
    print(f"    plain PUT streamed from disk {u['streamed_s'] * 1000:6.1f} ms ({u['streamed_mb_s']:5.0f} MB/s)")
    print(f"    plain PUT from memory        {u['in_memory_s'] * 1000:6.1f} ms ({u['in_memory_mb_s']:5.0f} MB/s)")
    print(f"    publisher, {u['chunk_mb']} MB chunks     {u['ours_s'] * 1000:6.1f} ms ({u['ours_mb_s']:5.0f} MB/s)")
    print(f"    ratio {u['ratio']:.2f} against the streamed PUT (target ≥ 0.9), {u['ratio_in_memory']:.2f} against the "
          "in-memory one")


if __name__ == "__main__":
    main()
