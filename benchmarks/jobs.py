"""Celery job figures, measured in one run with real `studio worker` processes on the local Redis.

1. Throughput: offline 15 s shorts, all queued at once, on 1 worker and then on 2 workers (each concurrency 1);
   jobs per minute, and the machine's CPU use (from /proc/stat) while they ran, which says what limits scaling.
2. Memory: the worker's pool process after its 1st job (a cpu short: its models are loaded) and after its 20th.
3. Enqueue-to-start latency (job created → claimed by a worker), p50 and p95, for jobs sent one at a time to an
   idle worker, and model loads per worker process over 10 cpu-profile shorts (target: exactly 1 per model).
The order: one worker runs 1 cpu short, then 10 more, then the throughput batch and the rest of the 20 jobs;
then a second worker joins for the 2-worker throughput.

Usage: python benchmarks/jobs.py [--throughput-jobs 8] [--memory-jobs 20] [--latency-jobs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from tests.celery_helpers import WorkerProc, fresh_redis_url, job_env, wait_for  # noqa: E402

SCRIPT = ("Here are three habits that change your mornings. Drink a glass of water before any coffee. "
          "Step outside for five minutes of daylight. Write down the one task that matters today.")


def cpu_busy() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def busy_since(before: tuple[int, int]) -> float:
    now = cpu_busy()
    return (now[0] - before[0]) / max(1, now[1] - before[1])


class Bench:
    def __init__(self, folder: Path) -> None:
        from studio.auth.base import Principal
        from studio.hosted import Hosted
        from tests.api_helpers import make_settings

        self.folder = folder
        self.home = folder / "home"
        self.redis_url = fresh_redis_url()
        self.h = Hosted(make_settings(self.home, None, jobs="celery", redis_url=self.redis_url, job_lease_s=30,
                                      user_max_running=4, daily_shorts=10_000))
        self.h.start()
        self.h.ensure_user(Principal(user_id="bench", email="bench@example.com"))
        self.workers: list[WorkerProc] = []

    def worker(self) -> WorkerProc:
        env = job_env(self.home, self.redis_url, lease_s=30, STUDIO_USER_MAX_RUNNING="4")
        w = WorkerProc(env, self.folder / f"worker-{len(self.workers)}.log").start()
        w.wait_ready()
        self.workers.append(w)
        return w

    def submit(self, n: int, **spec) -> list[str]:
        base = {"script": SCRIPT, "profile": "offline", "duration": 15}
        return [self.h.start_short("bench", {**base, **spec, "seed": int(time.time() * 1000) % 2**31 + i}, None)
                for i in range(n)]

    def jobs(self, ids: list[str]):
        from studio.tables import Job

        with self.h.db.session() as s:
            return s.scalars(select(Job).where(Job.id.in_(ids))).all()

    def wait(self, ids: list[str], timeout: float = 3600) -> None:
        wait_for(lambda: all(j.status in ("succeeded", "failed", "cancelled") for j in self.jobs(ids)), timeout,
                 every=0.25, what="the jobs")
        bad = [(j.id, j.status, j.error) for j in self.jobs(ids) if j.status != "succeeded"]
        if bad:
            raise SystemExit(f"jobs failed: {bad}")

    def child_rows(self):
        from studio.tables import Worker

        with self.h.db.session() as s:
            return {w.info.get("parent"): w for w in s.scalars(select(Worker).where(Worker.role == "child"))}

    def throughput(self, n: int) -> tuple[float, float]:
        t, cpu = time.monotonic(), cpu_busy()
        ids = self.submit(n)
        self.wait(ids)
        took = time.monotonic() - t
        return n / took * 60, busy_since(cpu)

    def close(self) -> None:
        self.h.stop()
        for w in self.workers:
            w.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--throughput-jobs", type=int, default=8)
    ap.add_argument("--memory-jobs", type=int, default=20)
    ap.add_argument("--latency-jobs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        b = Bench(Path(tmp))
        try:
            first = b.worker()
            b.wait(b.submit(1, profile="cpu", duration=None))  # the first job builds the studio and loads its models
            rss1 = b.child_rows()[first.pid].rss_bytes
            lat, loads_before = [], dict(b.child_rows()[first.pid].loads)
            for _ in range(args.latency_jobs):  # one at a time to an idle worker, cpu profile (real models)
                (job_id,) = b.submit(1, profile="cpu", duration=None)
                b.wait([job_id])
                (job,) = b.jobs([job_id])
                lat.append((job.started_at - job.created_at).total_seconds())
            loads = b.child_rows()[first.pid].loads
            one, cpu1 = b.throughput(args.throughput_jobs)
            done = 1 + args.latency_jobs + args.throughput_jobs
            if args.memory_jobs > done:
                b.wait(b.submit(args.memory_jobs - done))
            rssn = b.child_rows()[first.pid].rss_bytes
            done = max(done, args.memory_jobs)
            b.worker()
            b.wait(b.submit(2))  # both pool processes warm
            two, cpu2 = b.throughput(args.throughput_jobs)
        finally:
            b.close()
    lat.sort()
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(f"throughput, offline 15 s shorts, {args.throughput_jobs} queued at once (2 cores):")
    print(f"  1 worker : {one:.2f} jobs/min, CPU busy {cpu1 * 100:.0f} %")
    print(f"  2 workers: {two:.2f} jobs/min, CPU busy {cpu2 * 100:.0f} %")
    print(f"  2 workers / 1 worker = {two / one:.2f}")
    print(f"worker pool process memory: after 1 job {rss1 / 2**20:.0f} MiB, after {done} jobs "
          f"{rssn / 2**20:.0f} MiB (ratio {rssn / max(1, rss1):.2f})")
    print(f"enqueue-to-start latency, idle worker, {len(lat)} jobs: p50 {statistics.median(lat) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")
    new = {k: v - loads_before.get(k, 0) for k, v in loads.items() if v - loads_before.get(k, 0)}
    print(f"model loads in the worker process over {args.latency_jobs} cpu shorts: "
          + (", ".join(f"{k.rsplit('/', 1)[-1]} ×{v}" for k, v in sorted(loads.items())) or "none"))
    print(f"  of which during these {args.latency_jobs} jobs: {new or 'none'} "
          f"({'target met: 1 per model' if set(loads.values()) <= {1} else 'TARGET MISSED'})")


if __name__ == "__main__":
    main()
