"""A worker keeps its models: real cpu-profile shorts (Piper voice, Whisper tiny.en timing) on one `studio worker`
load each model once, in the pool process, never in the main one; and ``auto`` goes to the gpu queue only while a
live worker consumes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.celery_helpers import fresh_redis_url, need_redis, wait_for
from tests.test_celery_faults import Web

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _redis():
    need_redis()


def _rows(web):
    from studio.tables import Worker

    with web.h.db.session() as s:
        return {w.role: w for w in s.scalars(select(Worker))} | {"all": list(s.scalars(select(Worker)))}


def test_models_load_once_per_worker_process_and_never_in_its_main_process(tmp_path):
    web = Web(tmp_path / "home", fresh_redis_url())
    w = web.worker(tmp_path, "w")
    try:
        w.wait_ready()
        ids = [web.submit(profile="cpu", seed=i, script=f"Tip {i}: drink water before coffee.") for i in range(3)]
        for job_id in ids:
            job = wait_for(lambda j=job_id: (x := web.job(j)).status in ("succeeded", "failed") and x, 240,
                           what="a cpu short")
            assert job.status == "succeeded", job.error
            assert job.profile == "cpu" and job.queue == "cpu"
        child = wait_for(lambda: (r := _rows(web).get("child")) and r.jobs_done == 3 and r, 20,
                         what="the pool process to report")
        assert child.loads, "the cpu profile loaded no model through the manager"
        assert any("joe" in k for k in child.loads), child.loads  # the Piper voice ...
        assert set(child.loads.values()) == {1}, child.loads  # ... and every other model: once, for three jobs
        main = _rows(web)["main"]
        assert main.info.get("torch_loaded") is False and not main.loads  # the parent loads nothing
        assert child.pid in w.children() and main.pid == w.pid
    finally:
        web.close()
        w.kill()


def test_auto_goes_to_the_gpu_queue_only_while_a_live_worker_consumes_it(tmp_path):
    web = Web(tmp_path / "home", fresh_redis_url())
    gpu = web.worker(tmp_path, "gpu", queues="gpu")
    try:
        first = web.submit(profile="auto", seed=1)  # no gpu worker has reported yet
        assert web.job(first).queue == "cpu"
        gpu.wait_ready()
        wait_for(lambda: web.h.runner.live_queues().get("gpu"), 20, what="the gpu worker's heartbeat")
        second = web.submit(profile="auto", seed=2)
        assert web.job(second).queue == "gpu"
        job = wait_for(lambda: (j := web.job(second)).status in ("succeeded", "failed") and j, 120,
                       what="the gpu queue's job")
        assert job.status == "succeeded", job.error
        assert job.profile == "cpu"  # the worker records what auto meant on its machine (no CUDA here)
        assert web.job(first).status == "queued"  # nobody consumes cpu in this test
        offline = web.submit(profile="offline", seed=3)
        assert web.job(offline).queue == "cpu"
    finally:
        web.close()
        gpu.kill()
