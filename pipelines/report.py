"""report.json as a typed object: one per render, with a run id and a timestamp (analytics reads it)."""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.render import RenderStats
from pipelines.types import StageRecord


@dataclass(frozen=True)
class SceneReport:
    id: str
    start: float
    duration: float
    visual: str  # what was shown: "generated: PROMPT" or the photo's file name
    thumbnail_score: float
    alignment: float | None  # CLIP similarity of the visual to its prompt, when the scorer can compare
    encoded: bool  # at least one of its segments was encoded by this render (else all came from the cache)
    credit: dict | None = None  # a stock photo's provider, page, author and licence (models.types.Credit)


@dataclass(frozen=True)
class Report:
    platform: str
    duration: float
    hook: dict
    stages: tuple[StageRecord, ...]
    checks: dict
    scenes: tuple[SceneReport, ...]
    segments: RenderStats
    safety: Any
    thumbnail_scene: str  # the id of the scene the thumbnail shows
    warnings: tuple[str, ...]
    request: dict | None = None  # what was asked, when the short was made from a request
    formats: dict = field(default_factory=dict)  # aspect → {video, thumbnail, size, checks, segments}
    music: dict = field(default_factory=dict)  # {source, licence}
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks.values())

    @property
    def engines(self) -> dict[str, str]:
        return {r.stage: r.engine for r in self.stages}

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id, "created_at": self.created_at, "platform": self.platform,
            "duration": self.duration, "ok": self.ok, "hook": self.hook,
            "stages": [asdict(r) for r in self.stages], "engines": self.engines, "checks": self.checks,
            "scenes": [asdict(s) for s in self.scenes], "segments": asdict(self.segments),
            "scene_alignment": ([s.alignment for s in self.scenes]
                                if all(s.alignment is not None for s in self.scenes) else None),
            "safety": self.safety, "thumbnail_scene": self.thumbnail_scene, "warnings": list(self.warnings),
            "request": self.request, "formats": self.formats, "music": self.music,
        }

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        return path
