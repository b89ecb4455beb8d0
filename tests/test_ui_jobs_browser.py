"""The Create tab's progress bar, Cancel and Retry in a real browser on a phone (Debian's Chromium), with the studio
on Celery: the web process (app.py, STUDIO_JOBS=celery) only queues and follows; a `studio worker` in another
process makes the short. The worker starts only after the short is queued, so the waiting is real."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.celery_helpers import OwnRedis, WorkerProc, job_env
from tests.test_ui import launch_app

CHROMIUM = shutil.which("chromium")
REDIS = shutil.which("redis-server")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCRIPT = "Cats sleep most of the day. They dream of fish and sunny windows."
# long enough (about half a minute of voice) that a loaded machine is still making it when Cancel is pressed
OTHER_SCRIPT = ("Dogs dig holes for fun. They bury bones and forget them the next day. Some dig to cool down on hot "
                "afternoons. Others dig because they are bored and nobody is throwing a ball. A few dig simply because "
                "the soil smells of something they cannot see. Give them a sandpit and the garden stays whole.")
STAGE_WORDS = ("Writing the script", "Recording the voice", "Timing every word", "Choosing the pictures",
               "Scoring the pictures", "Planning the motion", "Adding the music", "Mixing the sound",
               "Rendering the video", "Checking the video", "Saving your short")

pytestmark = [
    pytest.mark.slow,  # a worker starting and a real short: about a minute on two cores
    pytest.mark.skipif((CHROMIUM is None or REDIS is None) and not os.environ.get("CI"),
                       reason="needs Debian's chromium and redis-server (scripts/setup.sh --dev)"),
]


class CeleryStudio:
    """app.py on Celery and, once asked for, one `studio worker` in another process, sharing STUDIO_HOME (the
    SQLite database and the media folder) and a redis-server of the test's own: on the shared one, another test
    process's workers would take this studio's messages (and find no such job)."""

    def __init__(self, folder: Path) -> None:
        self.home, self.folder = folder / "home", folder
        self.redis = OwnRedis(folder / "redis")
        self.redis.start()
        self.env = job_env(self.home, self.redis.url, lease_s=10)
        settings = {k: self.env[k] for k in ("STUDIO_JOBS", "STUDIO_REDIS_URL", "STUDIO_JOB_LEASE_SECONDS")}
        try:
            self.proc, self.url = launch_app(self.home, folder / "app.log", **settings)
        except Exception:
            self.redis.kill()
            raise
        self.worker: WorkerProc | None = None

    def start_worker(self) -> None:
        if self.worker is None:
            self.worker = WorkerProc(self.env, self.folder / "worker.log").start()

    def jobs(self, **request) -> list:
        """Every job, oldest first, as the jobs table has it; with ``request``, the newest one's request is then
        changed (what it asks for is found wrong only once it runs)."""
        from sqlalchemy import select, update

        from studio.db import Database
        from studio.tables import Job

        db = Database.for_home(self.home)
        try:
            with db.session() as s:
                rows = list(s.scalars(select(Job).order_by(Job.created_at)))
                if request:
                    s.execute(update(Job).where(Job.id == rows[-1].id).values(
                        request={**rows[-1].request, **request}))
                return rows
        finally:
            db.dispose()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.kill()
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.redis.kill()


@pytest.fixture(scope="module")
def celery_studio(tmp_path_factory):
    st = CeleryStudio(tmp_path_factory.mktemp("ui-celery"))
    yield st
    st.close()


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
        browser.close()


def _bar(page) -> str:
    """The progress bar's words as the page shows them now ('' when there is no bar)."""
    return page.evaluate("""() => [...document.querySelectorAll('#preview .progress-level')]
        .filter(e => e.offsetParent !== null).map(e => e.innerText).join(' ')""")


def _percent(words: str) -> float | None:
    found = re.search(r"([\d.]+)%\s*$", words)
    return float(found.group(1)) if found else None


def _fill(page, script: str) -> None:
    page.get_by_role("textbox", name="…or your own script").fill(script)
    page.get_by_text("Engines").first.click()
    page.get_by_label("Profile").click()
    page.get_by_role("option", name="offline", exact=True).dispatch_event("mousedown")
    assert page.get_by_label("Profile").input_value() == "offline"
    page.get_by_text("Engines").first.click()  # closed again: the result column follows the button on a phone


def _until_bar(page, predicate, timeout: float, what: str, seen: list[str]) -> str:
    """Watch the bar (every word it shows goes into ``seen``) until ``predicate(words)``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        words = _bar(page)
        if words and (not seen or seen[-1] != words):
            seen.append(words)
        if words and predicate(words):
            return words
        time.sleep(0.1)
    raise AssertionError(f"the bar never showed {what}; it showed: {seen[-12:]}")


def _fits(page, selector: str) -> None:
    """Nothing of ``selector`` is cut off or off screen on the phone."""
    box = page.eval_on_selector(selector, "e => {const r = e.getBoundingClientRect(); return {left: r.left, "
                                          "right: r.right, clipped: e.scrollWidth > e.clientWidth + 1}}")
    assert box["left"] >= 0 and box["right"] <= 390 and not box["clipped"], (selector, box)


def _whoami(page) -> int:
    """Shorts left today, as the page says."""
    said = page.locator("#whoami").inner_text()
    found = re.search(r"(\d+) of \d+ shorts left", said)
    assert found, said
    return int(found.group(1))


def test_the_bar_waits_in_the_queue_then_names_each_stage_and_the_video_appears(celery_studio, phone, tmp_path):
    """Queued with no worker: the bar says it is waiting; Cancel there gives the short back, Retry queues it again.
    A worker starts in another process; the job fails (what it asks for is found wrong only as it runs) and the page
    says why, with Retry. Retried once the cause is gone, the bar names the stages, never moving back, until the
    video plays."""
    st, page = celery_studio, phone
    page.goto(st.url)
    page.get_by_role("button", name="Create short").wait_for(state="visible", timeout=30_000)
    _fill(page, SCRIPT)
    page.wait_for_function("document.querySelector('#whoami').innerText.includes('left today')", timeout=30_000)
    left = _whoami(page)
    seen: list[str] = []

    # 1. No worker yet: the job waits in the queue, and the bar says so; Cancel shows beside Create
    page.get_by_role("button", name="Create short").click()
    _until_bar(page, lambda w: "Waiting for a free worker" in w, 60, "the job waiting", seen)
    assert [j.status for j in st.jobs()] == ["queued"]
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    assert cancel.is_visible() and page.locator("#create").is_disabled()
    page.locator("#preview").scroll_into_view_if_needed()
    _fits(page, "#preview .progress-level")
    page.screenshot(path=str(tmp_path / "1-queued.png"))

    # 2. Cancelled in the queue: nothing was made and the short is given back; Retry is offered
    cancel.click()
    page.wait_for_selector(".job-notice", timeout=30_000)
    assert "Cancelled before it started" in page.locator(".job-notice").inner_text()
    assert st.jobs()[-1].status == "cancelled"
    retry = page.get_by_role("button", name="Retry", exact=True)
    retry.wait_for(state="visible", timeout=15_000)
    assert not cancel.is_visible() and page.locator("#create").is_enabled()
    page.wait_for_function(f"document.querySelector('#whoami').innerText.includes('{left} of')", timeout=15_000)
    page.locator(".job-notice").scroll_into_view_if_needed()
    _fits(page, ".job-notice")
    page.screenshot(path=str(tmp_path / "2-cancelled-in-queue.png"))

    # 3. Retry: the same job, queued again (and counted again). The worker starts only now, in another process,
    # and finds the job asks for a template that is gone: the page says so in plain words, and offers Retry
    retry.click()
    _until_bar(page, lambda w: "Waiting for a free worker" in w, 60, "the retried job waiting", seen)
    assert page.locator(".job-notice").count() == 0  # the bar is not drawn over the last job's words
    assert [j.status for j in st.jobs(template="gone")] == ["queued"]  # the same job, not a second one
    st.start_worker()
    page.wait_for_selector(".job-notice", timeout=180_000)
    failed = page.locator(".job-notice").inner_text()
    assert "Making the short failed" in failed and "gone" in failed and "/" not in failed, failed
    assert st.jobs()[-1].status == "failed"
    retry.wait_for(state="visible", timeout=15_000)
    page.locator(".job-notice").scroll_into_view_if_needed()
    _fits(page, ".job-notice")
    page.screenshot(path=str(tmp_path / "3-failed.png"))

    # 4. The cause fixed, Retry: the bar names the pipeline's stages as the worker reaches them
    st.jobs(template="bold")
    retry.click()
    words = _until_bar(page, lambda w: any(s in w for s in STAGE_WORDS), 180, "a stage", seen)
    page.locator("#preview").scroll_into_view_if_needed()
    _fits(page, "#preview .progress-level")
    page.screenshot(path=str(tmp_path / "4-running.png"))
    assert st.jobs()[-1].status == "running" and st.jobs()[-1].worker, words

    # 5. The video appears; on the way the bar named the stages in order and never moved back
    deadline = time.time() + 180
    while page.locator(".short-result video").count() == 0:
        assert time.time() < deadline, f"no video; the bar showed {seen[-12:]}"
        words = _bar(page)
        if words and seen[-1] != words:
            seen.append(words)
        time.sleep(0.1)
    page.wait_for_function("document.querySelector('.short-result video').readyState >= 1", timeout=30_000)
    page.wait_for_function("!document.querySelector('#create').disabled", timeout=30_000)
    assert not page.get_by_role("button", name="Cancel", exact=True).is_visible()
    assert not page.get_by_role("button", name="Retry", exact=True).is_visible()
    job = st.jobs()[-1]
    assert job.status == "succeeded" and job.worker and ":job:" in job.worker  # a worker's, not the web's
    stages = [s for w in seen for s in STAGE_WORDS if s in w]
    # more than a jump from nothing to done: the page polls the bar, so stages of under a second (the script, the
    # voice of a 6 s short) may pass between two looks; three named stages in rising order is what a creator sees
    assert len(set(stages)) >= 3, seen
    percents = [p for w in seen if (p := _percent(w)) is not None and "Waiting" not in w]
    assert percents == sorted(percents), seen
    assert _whoami(page) == left - 1  # counted once: the cancel gave it back, a retry spent it again, once
    page.screenshot(path=str(tmp_path / "5-done.png"), full_page=True)
    (tmp_path / "bar.txt").write_text("\n".join(seen), encoding="utf-8")  # what the creator read, in order


def test_cancel_a_running_short_from_the_phone(celery_studio, phone, tmp_path):
    """A short being made in the worker is cancelled from the page: the bar says so, the result area says nothing
    was kept, the job row is ``cancelled`` with no short, and Retry is offered."""
    st, page = celery_studio, phone
    st.start_worker()
    page.goto(st.url)
    page.get_by_role("button", name="Create short").wait_for(state="visible", timeout=30_000)
    _fill(page, OTHER_SCRIPT)
    page.get_by_role("button", name="Create short").click()
    seen: list[str] = []
    _until_bar(page, lambda w: any(s in w for s in STAGE_WORDS[:9]), 180, "a stage before the end", seen)
    job = st.jobs()[-1]
    assert job.status == "running"
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.wait_for_selector(".job-notice", timeout=90_000)
    page.locator(".job-notice").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "6-cancelled-running.png"))
    assert "Cancelled while it was being made" in page.locator(".job-notice").inner_text()
    job = st.jobs()[-1]  # the page says so only once the row does
    assert (job.status, job.short_id) == ("cancelled", None)
    assert page.get_by_role("button", name="Retry", exact=True).is_visible()
    assert page.locator(".short-result video").count() == 0
    _fits(page, ".job-notice")
