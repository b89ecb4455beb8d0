"""Choosing an engine per stage from a profile, with loud fallbacks to the offline engines.

A stage whose weights are missing runs its offline engine and says so (CLI, UI,
report.json), naming the command that fetches the weights; ``strict`` turns that
into an error instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.errors import EngineUnavailable
from models.manager import ModelManager
from models.registry import ENGINES, load_builtin_engines
from pipelines.short import Engines
from pipelines.types import Voice
from studio.settings import Settings

OFFLINE = "offline"
# the real engine a --model override means when the profile runs the offline engine for that stage
MODEL_ENGINES = {"script": "transformers", "voice": "coqui", "stills": "diffusers", "motion": "svd",
                 "timing": "faster-whisper", "scoring": "open_clip"}
MODEL_STAGES = tuple(MODEL_ENGINES)


def resolve_profile(name: str) -> str:
    """``auto`` is gpu on CUDA, else cpu."""
    if name != "auto":
        return name
    try:
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["timing=/models/whisper", "script=Qwen/Qwen2.5-1.5B-Instruct"]`` → {stage: repo or path}."""
    out = {}
    for item in items:
        stage, sep, value = item.partition("=")
        if not sep or not value or stage not in MODEL_STAGES:
            raise EngineUnavailable(f"--model {item!r} is not STAGE=REPO_OR_PATH.",
                                    f"STAGE is one of: {', '.join(MODEL_STAGES)}.")
        out[stage] = value
    return out


@dataclass
class EngineChoice:
    engines: Engines
    profile: str
    warnings: list[str] = field(default_factory=list)


def choose_engines(settings: Settings, manager: ModelManager, profile: str, voice: Voice, language: str,
                   overrides: dict[str, str] | None = None, strict: bool = False, voice_sample=None,
                   seed: int = 0) -> EngineChoice:
    load_builtin_engines()
    name = resolve_profile(profile)
    spec = settings.profile(name)
    offline = settings.profile(OFFLINE)
    device = spec.get("device", "cpu")
    overrides = overrides or {}
    warnings: list[str] = []
    objects: dict[str, Any] = {}
    names: dict[str, str] = {}
    for stage in ("script", "voice", "stills", "motion", "music", "timing", "scoring"):
        stage_spec = dict(spec[stage])
        if stage in overrides:
            stage_spec.update(model=overrides[stage], revision=None)
            if stage_spec["engine"] == offline[stage]["engine"]:
                stage_spec["engine"] = MODEL_ENGINES[stage]
        engine_name = stage_spec.pop("engine")
        try:
            if stage == "voice" and engine_name == "coqui":
                stage_spec.update(seed=seed, speaker_wav=str(voice_sample) if voice_sample else None)
            objects[stage] = _create(stage, engine_name, stage_spec, device, manager, voice, language, name)
            names[stage] = engine_name
        except EngineUnavailable as exc:
            if strict:
                raise
            fallback = offline[stage]["engine"]
            warnings.append(f"{stage}: {exc.message} Using the offline engine ({fallback}) instead. {exc.hint}".strip())
            objects[stage] = _create(stage, fallback, {}, "cpu", manager, voice, language, OFFLINE)
            names[stage] = fallback
    if voice_sample and names["voice"] != "coqui":
        message = "voice: cloning needs a Coqui voice model (XTTS-v2 in the gpu profile); the sample was not used."
        if strict:
            raise EngineUnavailable(message, "Fetch it with: studio models pull gpu")
        warnings.append(message)
    names["render"] = spec.get("render", {}).get("engine", "ffmpeg")
    timing = objects.pop("timing")
    engines = Engines(timing=timing if names["timing"] != "voice-events" else None, names=names,
                      warnings=tuple(warnings), **objects)
    return EngineChoice(engines, name, warnings)


def _create(stage: str, engine: str, options: dict, device: str, manager: ModelManager, voice: Voice,
            language: str, profile: str) -> Any:
    if stage == "timing" and engine == "voice-events":
        return None
    if engine == "espeak-ng":
        return ENGINES["voice"].create(engine, rate_wpm=voice.rate_wpm, pitch=voice.pitch)
    if engine in MODEL_ENGINES.values():
        options = dict(options, device=device, manager=manager,
                       fetch_hint=f"Fetch the weights with: studio models pull {profile}")
        if engine == "coqui":
            options.setdefault("language", language)
            options.setdefault("speaker", voice.coqui_speaker)
    if engine == "openai-compatible":
        options = {k: v for k, v in options.items() if k in ("base_url", "model", "api_key", "timeout", "max_tokens")}
    obj = ENGINES[stage].create(engine, **options)
    if hasattr(obj, "check"):
        obj.check()
    return obj
