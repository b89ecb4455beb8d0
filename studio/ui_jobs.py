"""A job as the Create tab shows it: its progress bar's words, and which job each browser tab follows (so that
tab's Cancel and Retry buttons act on that job and no other). No Gradio here: the UI passes these words on."""

from __future__ import annotations

import threading
from dataclasses import dataclass

# the pipelines' stage names, as a creator reads them on the bar
STAGE_WORDS = {"script": "Writing the script", "voice": "Recording the voice", "timing": "Timing every word",
               "stills": "Choosing the pictures", "scoring": "Scoring the pictures", "motion": "Planning the motion",
               "music": "Adding the music", "mix": "Mixing the sound", "render": "Rendering the video",
               "checks": "Checking the video", "warning": "Saving your short", "done": "Saving your short"}


@dataclass(frozen=True)
class JobView:
    """One look at a job's row, with what the bar needs besides it."""

    status: str  # queued | running | succeeded | failed | cancelled
    progress: float
    stage: str
    message: str
    attempts: int  # claims in this run: above 1, another worker took it over
    cancel_requested: bool
    unstarted: bool  # it has not started (cancelled now, its quota is given back: Hosted.cancel_job)
    ahead: int = 0  # queued jobs created before it (while it is queued)
    held_back: bool = False  # its creator already has as many shorts being made as one may have at once
    short_id: str | None = None
    error: dict | None = None
    kind: str = "short"  # short | render


class ProgressWords:
    """The bar for one job, look after look. It never moves back: a job taken over by another worker (its first
    one stopped) runs its stages again from the start, and the bar stays where it was and says so."""

    def __init__(self) -> None:
        self.fraction = 0.0

    def __call__(self, job: JobView) -> tuple[float, str]:
        if job.status == "queued":
            if job.held_back:
                return self.fraction, "Waiting: your other shorts are being made first…"
            place = f" ({job.ahead} short{'s' if job.ahead != 1 else ''} ahead of yours)" if job.ahead else ""
            return self.fraction, f"Waiting for a free worker…{place}"
        self.fraction = max(self.fraction, float(job.progress or 0.0))
        if job.cancel_requested:
            return self.fraction, "Cancelling…"
        words = STAGE_WORDS.get(job.stage, job.stage.capitalize()) + "…" if job.stage else "Starting…"
        return self.fraction, words + (" (started again: its worker stopped)" if job.attempts > 1 else "")


def cancelled_words(job: JobView) -> str:
    counted = "today's re-renders" if job.kind == "render" else "today's shorts"
    if job.unstarted:
        return f"Cancelled before it started: nothing was made, and it does not count toward {counted}."
    return f"Cancelled while it was being made: nothing was kept. It still counts toward {counted}."


@dataclass
class _Tab:
    job: str | None = None  # the job its Create or Retry follows now (or followed last)
    cancel: bool = False  # Cancel was pressed before that job was queued


class TabJobs:
    """Per browser tab (Gradio's session hash): the job its Create or Retry is following. Cancel shows from the
    click on, before the job exists; a Cancel pressed then cancels the job as soon as it is queued."""

    def __init__(self, most: int = 10_000) -> None:
        self._tabs: dict[str, _Tab] = {}
        self._lock = threading.Lock()
        self._most = most

    def begin(self, tab: str) -> None:
        """A Create or Retry was pressed: no job yet."""
        with self._lock:
            if len(self._tabs) >= self._most:  # tabs that never came back
                self._tabs.pop(next(iter(self._tabs)))
            self._tabs[tab] = _Tab()

    def started(self, tab: str, job_id: str) -> bool:
        """The tab now follows ``job_id``. False when its Cancel was pressed before: cancel the job now."""
        with self._lock:
            t = self._tabs.setdefault(tab, _Tab())
            t.job = job_id
            return not t.cancel

    def to_cancel(self, tab: str) -> str | None:
        """The job the tab's Cancel stops; None while it is not queued yet (it is cancelled once it is)."""
        with self._lock:
            t = self._tabs.setdefault(tab, _Tab())
            t.cancel = True
            return t.job

    def job(self, tab: str) -> str | None:
        with self._lock:
            t = self._tabs.get(tab)
            return t.job if t else None
