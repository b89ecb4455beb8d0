"""Publishing figures, measured in one run on this machine against the local fake of the YouTube Data API
(tests/fake_youtube.py, run in its own process as a real server would be).

(u) upload throughput: our publisher's resumable upload of a ~50 MB file (the default chunk size from
    PublishSettings) ÷ one plain HTTP PUT of the same file to the fake's /sink. Target ≥ 0.9.

Usage: python benchmarks/publish.py [--mb 50] [--runs 5]
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


@contextmanager
def fake_youtube() -> Iterator[str]:
    """The fake in a process of its own (so it does not share this one's GIL); yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_youtube", "--port", "0", "--token", TOKEN,
                             "--discard"],  # like /sink: the figure is the transport's, not the fake's memory
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


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

    with tempfile.TemporaryDirectory() as tmp, fake_youtube() as base_url:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    u = upload_ratio(args.mb, args.runs)
    print(f"(u) upload of {u['mb']:.0f} MB to the local fake (best of {args.runs}):")
    print(f"    plain PUT streamed from disk {u['streamed_s'] * 1000:6.1f} ms ({u['streamed_mb_s']:5.0f} MB/s)")
    print(f"    plain PUT from memory        {u['in_memory_s'] * 1000:6.1f} ms ({u['in_memory_mb_s']:5.0f} MB/s)")
    print(f"    publisher, {u['chunk_mb']} MB chunks     {u['ours_s'] * 1000:6.1f} ms ({u['ours_mb_s']:5.0f} MB/s)")
    print(f"    ratio {u['ratio']:.2f} against the streamed PUT (target ≥ 0.9), {u['ratio_in_memory']:.2f} against the "
          "in-memory one")

if __name__ == "__main__":
    main()
