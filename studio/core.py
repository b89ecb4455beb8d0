"""The Python API: ``Studio(...).make(ShortRequest(...)) -> ShortResult``.

The CLI and the UI call exactly this; none of them re-implements a step.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from models.registry import ENGINES, load_builtin_engines
from pipelines.render import EncodeOptions
from pipelines.short import Engines, ShortPlan, make_short
from pipelines.types import ShortRequest, ShortResult
from studio.settings import Settings


class Studio:
    def __init__(self, settings: Settings | None = None, *, home: Path | str | None = None) -> None:
        self.settings = settings or Settings.from_env(Path(home) if home else None)
        load_builtin_engines()

    def engines(self, profile: str, voice_rate: int, voice_pitch: int) -> Engines:
        chosen = {stage: spec["engine"] for stage, spec in self.settings.profile(profile).items()}
        make = {stage: ENGINES[stage].create(chosen[stage]) for stage in ("script", "stills", "motion", "music",
                                                                          "scoring")}
        voice = ENGINES["voice"].create(chosen["voice"], rate_wpm=voice_rate, pitch=voice_pitch)
        return Engines(voice=voice, names=chosen, **make)

    def plan(self, request: ShortRequest) -> ShortPlan:
        s = self.settings
        return ShortPlan(request, s.platform(request.platform), s.template(request.template),
                         s.voice(request.voice, request.language), s.language(request.language))

    def make(self, request: ShortRequest, *, out_dir: Path | str | None = None,
             on_progress: Callable[[float, str, str], None] | None = None) -> ShortResult:
        plan = self.plan(request)
        engines = self.engines(request.profile, plan.voice.rate_wpm, plan.voice.pitch)
        out = Path(out_dir) if out_dir else self.settings.outputs_dir / _folder_name(request)
        return make_short(plan, engines, out_dir=out, cache_dir=self.settings.cache_dir,
                          encode_options=EncodeOptions(self.settings.x264_preset, self.settings.x264_crf),
                          on_progress=on_progress)


def _folder_name(request: ShortRequest) -> str:
    words = re.findall(r"\w+", (request.topic or request.script).lower())[:6]
    return time.strftime("%Y%m%d-%H%M%S-") + ("-".join(words)[:48] or "short")
