"""What planning and rendering share: the engines chosen per stage, the resolved presets, and the
stage runner that times each stage and counts engine calls against cache hits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.types import Language, Platform, ShortRequest, StageRecord, Template, Voice

Progress = Callable[[float, str, str], None]


@dataclass(frozen=True)
class Engines:
    """The engine object chosen for each stage, and its registry name."""

    script: Any
    voice: Any
    stills: Any
    motion: Any
    music: Any
    scoring: Any
    names: dict[str, str] = field(default_factory=dict)
    timing: Any = None  # None: use the voice engine's own word events
    warnings: tuple[str, ...] = ()  # fallbacks decided when the engines were chosen
    subject: Any = None  # models.subject.SubjectFinder (faces, else saliency); None: the process's default
    # stage → (name, engine) run for one item the chosen engine failed on (a stock search that found nothing), with a
    # warning; none under --strict
    fallbacks: dict[str, tuple[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Presets:
    """The names a timeline uses (platform, template, voice, language), resolved by the studio."""

    platform: Platform
    template: Template
    voice: Voice
    language: Language
    post_platforms: tuple[Platform, ...] = ()  # every platform post.json writes a text for (besides this one's)


@dataclass(frozen=True)
class ShortPlan:
    """A request with its names resolved into presets by the studio."""

    request: ShortRequest
    platform: Platform
    template: Template
    voice: Voice
    language: Language
    post_platforms: tuple[Platform, ...] = ()  # every platform post.json writes a text for (besides this one's)

    @property
    def presets(self) -> Presets:
        return Presets(self.platform, self.template, self.voice, self.language, self.post_platforms)


class Stages:
    """Runs named stages in order: progress out, timings and call/cache counts into StageRecords."""

    def __init__(self, names: dict[str, str], on_progress: Progress | None, start: float = 0.0,
                 span: float = 1.0) -> None:
        self.records: list[StageRecord] = []
        self.names = names
        self._progress = on_progress or (lambda *_: None)
        self.start, self.span = start, span  # this runner's share of the whole call's progress bar
        self.done = 0.0

    def on_progress(self, fraction: float, stage: str, message: str) -> None:
        self._progress(self.start + self.span * min(fraction, 1.0), stage, message)

    def run(self, stage: str, weight: float, message: str, fn: Callable[[dict], Any], engine: str | None = None):
        self.on_progress(self.done, stage, message)
        t0 = time.perf_counter()
        calls = {"calls": 0, "cached": 0}
        value = fn(calls)
        self.records.append(StageRecord(stage, engine or self.names.get(stage, stage),
                                        round(time.perf_counter() - t0, 3), calls["calls"], calls["cached"]))
        self.done += weight
        self.on_progress(self.done, stage, "done")
        return value


def merge(records: list[StageRecord]) -> list[StageRecord]:
    """One record per stage (a refit loop, or planning then rendering, may run a stage more than once)."""
    merged: dict[str, StageRecord] = {}
    for r in records:
        m = merged.get(r.stage)
        merged[r.stage] = r if m is None else StageRecord(
            r.stage, m.engine if m.engine == r.engine else f"{m.engine} + {r.engine}",
            round(m.seconds + r.seconds, 3), m.calls + r.calls, m.cached + r.cached)
    return list(merged.values())
