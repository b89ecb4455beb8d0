"""The Python API: ``Studio(...).make(ShortRequest(...)) -> ShortResult`` and
``Studio(...).render(Timeline.load("timeline.json"))`` for an edited short.

The CLI and the UI call exactly this; none of them re-implements a step. A Studio
keeps one model manager, so weights loaded for one short are reused by the next.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from models.errors import InvalidRequest
from models.manager import ModelManager
from pipelines.media import check_voice_sample
from pipelines.render import EncodeOptions
from pipelines.short import Presets, ShortPlan, check_inputs, make_short, render_timeline
from pipelines.timeline import Timeline
from pipelines.types import Platform, ShortRequest, ShortResult
from studio.analytics.record import LocalRuns, device_of
from studio.engines import EngineChoice, choose_engines, parse_overrides
from studio.requests import no_consent
from studio.settings import Settings

SAFETY_MODES = ("block", "warn", "off")


class Studio:
    def __init__(self, settings: Settings | None = None, *, home: Path | str | None = None) -> None:
        self.settings = settings or Settings.from_env(Path(home) if home else None)
        self.models = ModelManager(self.settings.model_budget_bytes)
        # analytics: each run is recorded into this machine's metadata database as made by ``front`` (the CLI sets
        # "cli"); a hosted studio records its jobs' runs itself, with their creator, and sets ``runs`` to None
        self.front = "python"
        self.runs: LocalRuns | None = LocalRuns(self.settings)

    def for_account(self, templates: dict[str, dict]) -> Studio:
        """This studio (the same loaded models) seeing a hosted account's own templates beside the built-in ones."""
        if not templates:
            return self
        view = object.__new__(Studio)
        view.settings, view.models = self.settings.with_account_templates(templates), self.models
        view.front, view.runs = self.front, self.runs
        return view

    def plan(self, request: ShortRequest) -> ShortPlan:
        s = self.settings
        if request.profile != "auto":
            s.profile(request.profile)  # an unknown profile is refused here, before any quota is spent
        if request.safety not in SAFETY_MODES:
            raise InvalidRequest(f"Unknown safety mode {request.safety!r}.", f"Choose one of: {', '.join(SAFETY_MODES)}.")
        if request.voice_sample is not None:
            if not request.voice_consent:
                raise no_consent()
            check_voice_sample(request.voice_sample)
        platform = s.platform(request.platform)
        check_inputs(request, platform)  # the same checks make_short runs, early: a refused request costs nothing
        return ShortPlan(request, platform, s.template(request.template),
                         s.voice(request.voice, request.language), s.language(request.language),
                         self.post_platforms())

    def engines(self, request: ShortRequest, plan: ShortPlan | None = None) -> EngineChoice:
        plan = plan or self.plan(request)
        return choose_engines(self.settings, self.models, request.profile, plan.voice, request.language,
                              parse_overrides(request.models), strict=request.strict,
                              voice_sample=request.voice_sample, seed=request.seed, unused=unused_stages(request))

    def outline(self, request: ShortRequest) -> tuple[str, ...] | None:
        """For a topic whose script would come from the offline rule writer (no language model on this machine):
        the scenes it would write, one line each, for the creator to edit into a script. None when a model writes
        the script (or the request has a script already)."""
        if request.script.strip() or not request.topic.strip():
            return None
        plan = self.plan(request)
        choice = self.engines(request, plan)
        if choice.engines.names["script"] != "rules":
            return None
        words = int((plan.request.duration or 30) * plan.voice.rate_wpm / 60 * 0.85)
        script = choice.engines.script.write(request.topic.strip(), language=request.language, target_words=words,
                                             seed=request.seed)
        return tuple(s.text for s in script.scenes)

    def make(self, request: ShortRequest, *, out_dir: Path | str | None = None, keep_work: bool = False,
             on_progress: Callable[[float, str, str], None] | None = None) -> ShortResult:
        """``keep_work``: keep the output folder's ``.work/`` scratch files (mix, subtitles) for debugging."""
        plan = self.plan(request)
        out = Path(out_dir) if out_dir else self.settings.outputs_dir / _folder_name(request)
        check_out_dir(out)
        choice = self.engines(request, plan)
        result = make_short(plan, choice.engines, out_dir=out, cache_dir=self.settings.cache_dir,
                            encode_options=EncodeOptions(self.settings.x264_preset, self.settings.x264_crf),
                            on_progress=on_progress, keep_work=keep_work)
        self._recorded(result, choice.profile, {f.name: getattr(request, f.name) for f in fields(request)})
        return result


    def presets(self, timeline: Timeline) -> Presets:
        """The platform, template, voice and language a timeline names, resolved from the settings."""
        s = self.settings
        return Presets(s.platform(timeline.platform), s.template(timeline.template),
                       s.voice(timeline.voice, timeline.language), s.language(timeline.language),
                       self.post_platforms())

    def post_platforms(self) -> tuple[Platform, ...]:
        """Every platform preset, for the post text written for each (post.json's ``platforms``)."""
        return tuple(self.settings.platform(name) for name in self.settings.platforms)

    def render(self, timeline: Timeline | Path | str, *, out_dir: Path | str | None = None, profile: str | None = None,
               models: tuple[str, ...] = (), strict: bool = False, safety: str = "block",
               formats: tuple[str, ...] = ("9:16",), assets: dict[str, Path] | None = None,
               on_progress: Callable[[float, str, str], None] | None = None, keep_work: bool = False) -> ShortResult:
        """Render a timeline (a ``Timeline`` or the path of a ``timeline.json``). Photos are named relative to
        the timeline's folder (or by asset id through ``assets``); the files go to ``out_dir`` (default: that
        folder, replacing the last render only once the new one has succeeded). Only what changed since any
        earlier render is made again. ``formats``: feed formats to export ("9:16", "1:1", "4:5", "16:9").
        ``keep_work``: keep the ``.work/`` scratch files, as ``make``."""
        base: Path | None = None
        if not isinstance(timeline, Timeline):
            base = Path(timeline).resolve().parent
            timeline = Timeline.load(timeline)
        if out_dir is None and base is None:
            raise InvalidRequest("Say where the short goes: out_dir (a Timeline object has no folder of its own).")
        out = Path(out_dir) if out_dir is not None else base
        assert out is not None  # noqa: S101 - checked just above
        check_out_dir(out)
        if safety not in SAFETY_MODES:
            raise InvalidRequest(f"Unknown safety mode {safety!r}.", f"Choose one of: {', '.join(SAFETY_MODES)}.")
        formats = self.settings.parse_formats(formats)
        presets = self.presets(timeline)
        variants = tuple(self.settings.platform(timeline.platform, f) for f in formats)
        choice = choose_engines(self.settings, self.models, profile or timeline.profile, presets.voice,
                                timeline.language, parse_overrides(models), strict=strict, seed=timeline.seed,
                                unused=unused_stages(timeline=timeline))
        out.mkdir(parents=True, exist_ok=True)
        result = render_timeline(timeline, presets, choice.engines, base=base or out, out_dir=out,
                                 cache_dir=self.settings.cache_dir,
                                 encode_options=EncodeOptions(self.settings.x264_preset, self.settings.x264_crf),
                                 on_progress=on_progress, safety=safety, formats=variants, assets=assets,
                                 keep_work=keep_work)
        self._recorded(result, choice.profile, {"platform": timeline.platform, "render": True})
        return result

    def _recorded(self, result: ShortResult, profile: str, request: dict) -> None:
        if self.runs is not None:
            self.runs.record(result, front=self.front, device=device_of(profile), request=request)


    def voice_preview(self, preset: str, language: str = "en", profile: str = "auto") -> VoicePreview:
        """A short sample of a voice preset as this studio would speak it, with the voice's licence. Made once per
        preset and language and kept for PREVIEW_TTL_S (a voice pulled meanwhile is heard after that, or at once
        after ``forget_voice_previews``); one caller makes it while the others wait."""
        key = (preset, language, profile)
        with _PREVIEW_LOCK:
            lock = self.__dict__.setdefault("_preview_locks", {}).setdefault(key, threading.Lock())
        with lock:
            held = self.__dict__.setdefault("_previews", {}).get(key)
            if held is not None and time.monotonic() - held[0] < PREVIEW_TTL_S and held[1].path.exists():
                return held[1]
            preview = _preview_voice(self, preset, language, profile)
            self._previews[key] = (time.monotonic(), preview)
            return preview

    def forget_voice_previews(self) -> None:
        """After voices were pulled: the next preview is made again."""
        self.__dict__.get("_previews", {}).clear()

    def timeline_engines(self, timeline: Timeline, profile: str | None = None):
        """The engines a timeline renders with (its own profile unless ``profile`` names another)."""
        presets = self.presets(timeline)
        return choose_engines(self.settings, self.models, profile or timeline.profile, presets.voice,
                              timeline.language, None, seed=timeline.seed).engines

    def preview(self, timeline: Timeline, index: int, out: Path, *, file: Path | None = None) -> Path:
        """Scene ``index`` as a still with its first caption (``file``: its photo or clip, when it shows one)."""
        from pipelines.cache import Cache
        from pipelines.preview import preview_scene

        if not 0 <= index < len(timeline.scenes):
            raise InvalidRequest(f"There is no scene {index + 1}; the short has {len(timeline.scenes)}.")
        return preview_scene(timeline, index, self.presets(timeline), self.timeline_engines(timeline),
                             Cache(self.settings.cache_dir), file, Path(out))

    def scene_stills(self, timeline: Timeline, files: dict[str, Path]) -> list[Path]:
        """Every scene's still (``files``: scene id → its photo or clip), for the editor's scene list."""
        from pipelines.cache import Cache
        from pipelines.preview import scene_still

        presets, engines = self.presets(timeline), self.timeline_engines(timeline)
        cache = Cache(self.settings.cache_dir)
        return [scene_still(sc, presets, engines, cache, files.get(sc.id)) for sc in timeline.scenes]


PREVIEW_TTL_S = 300.0
_PREVIEW_LOCK = threading.Lock()
SAMPLE_TEXT = {"en": "Here is how I sound. Five habits that changed my mornings, in thirty seconds.",
               "es": "Así sueno yo. Cinco hábitos que cambiaron mis mañanas.",
               "fr": "Voici ma voix. Cinq habitudes qui ont changé mes matins.",
               "de": "So klinge ich. Fünf Gewohnheiten, die meine Morgen verändert haben.",
               "pt": "É assim que eu soo. Cinco hábitos que mudaram as minhas manhãs.",
               "it": "Ecco la mia voce. Cinque abitudini che hanno cambiato le mie mattine."}


@dataclass(frozen=True)
class VoicePreview:
    path: Path  # a WAV, cached by voice and text
    engine: str  # the engine that spoke it (piper, espeak-ng, coqui)
    voice: str  # the voice's own name (a Piper voice, an espeak-ng voice)
    licence: str
    notes: tuple[str, ...]  # a stand-in voice, a fallback engine


def voice_licence(settings: Settings, engine: str, voice_name: str) -> str:
    if engine == "piper":
        return settings.piper_voices.get(voice_name, {}).get("licence") or "see the voice's MODEL_CARD"
    if engine == "espeak-ng":
        return "espeak-ng, made on this machine (the program is GPL-3.0; the speech it makes is yours to use)"
    return "see the model's own licence (Coqui XTTS-v2: Coqui Public Model License, non-commercial)"


def _preview_voice(studio: Studio, preset: str, language: str, profile: str = "auto") -> VoicePreview:
    from pipelines.cache import Cache
    from pipelines.derive import speak

    voice = studio.settings.voice(preset, language)
    choice = choose_engines(studio.settings, studio.models, profile, voice, language)
    engine = choice.engines.voice
    name = choice.engines.names["voice"]
    text = SAMPLE_TEXT.get(language, SAMPLE_TEXT["en"])
    clip, _ = speak(choice.engines, Cache(studio.settings.cache_dir), voice, text, {"calls": 0, "cached": 0})
    spoken = getattr(engine, "name", voice.engine_voice) if name == "piper" else voice.engine_voice
    notes = tuple(w for w in choice.warnings if w.startswith("voice:"))
    return VoicePreview(clip.path, name, spoken, voice_licence(studio.settings, name, spoken), notes)


def on_zero_gpu(fn: Callable, seconds: int = 300) -> Callable:
    """On a Hugging Face ZeroGPU Space (the ``spaces`` package is present) run ``fn`` under ``spaces.GPU``,
    which attaches a GPU for the call; anywhere else return ``fn`` unchanged."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=seconds)(fn)


def unused_stages(request: ShortRequest | None = None, timeline: Timeline | None = None) -> frozenset[str]:
    """Stages a short does not run: the script when the creator wrote it (a render never writes one), the stills
    when every scene shows the creator's own photo or clip."""
    unused = set()
    if request is not None:
        if request.script.strip():
            unused.add("script")
        if request.media:  # every scene is one of the creator's photos (reused when there are fewer)
            unused.add("stills")
    if timeline is not None:
        unused.add("script")
        if timeline.scenes and all(s.visual.kind in ("photo", "clip") for s in timeline.scenes):
            unused.add("stills")
    return frozenset(unused)


def check_out_dir(path: Path | str) -> None:
    """Refuse an output folder the short cannot be written to, before any work (nothing is created here): the
    nearest part of the path that exists must be a folder this process may write into."""
    path = Path(path)
    found = path
    while not found.exists() and found.parent != found:
        found = found.parent
    if not found.is_dir():
        where = "it is a file" if found == path else f"{found} is a file"
        raise InvalidRequest(f"{path} cannot be the short's folder: {where}.", "Choose a folder.")
    if not os.access(found, os.W_OK | os.X_OK):
        where = "it is" if found == path else f"{found} is"
        raise InvalidRequest(f"{path} cannot be the short's folder: {where} not writable here.",
                             "Choose a folder you can write to.")


def _folder_name(request: ShortRequest) -> str:
    words = re.findall(r"\w+", (request.topic or request.script).lower())[:6]
    return time.strftime("%Y%m%d-%H%M%S-") + ("-".join(words)[:48] or "short")
