"""Choosing an engine per stage from a profile, with loud fallbacks to the offline engines.

A stage whose weights are missing runs its offline engine and says so (CLI, UI,
report.json), naming the command that fetches the weights; ``strict`` turns that
into an error instead.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field, replace
from typing import Any

from models.base import EngineContext
from models.errors import EngineUnavailable
from models.manager import ModelManager
from models.registry import ENGINES, MODEL_ENGINE
from pipelines.short import Engines
from pipelines.types import Voice
from studio.remedies import for_cli
from studio.settings import Settings

OFFLINE = "offline"
STAGE_ORDER = ("script", "voice", "stills", "motion", "music", "timing", "scoring")
MODEL_STAGES = tuple(MODEL_ENGINE)  # the stages a --model STAGE=REPO_OR_PATH override can name


def resolve_profile(name: str) -> str:
    """``auto`` is gpu on CUDA, else cpu."""
    if name != "auto":
        return name
    if not glob.glob("/dev/nvidia[0-9]*") and not os.environ.get("SPACES_ZERO_GPU"):
        return "cpu"  # no NVIDIA device (nor a ZeroGPU Space, which attaches one per call): skip importing torch
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
                   seed: int = 0, unused: frozenset[str] = frozenset()) -> EngineChoice:
    """``unused``: stages this short does not run (the creator's own script, a photo for every scene); their
    engines are still made, but a fallback in them is not worth a warning."""
    name = resolve_profile(profile)
    spec = settings.profile(name)
    offline = settings.profile(OFFLINE)
    overrides = overrides or {}
    context = EngineContext(device=spec.get("device", "cpu"), manager=manager,
                            profile=name, language=language,
                            seed=seed, voice_rate_wpm=voice.rate_wpm, voice_pitch=voice.pitch,
                            voice_speaker=voice.coqui_speaker, speaker_wav=str(voice_sample) if voice_sample else None,
                            voice_name=voice.piper_voice, licences_accepted=settings.accepted_licences)
    floor = replace(context, device="cpu", profile=OFFLINE)
    warnings: list[str] = []
    objects: dict[str, Any] = {}
    names: dict[str, str] = {}
    unpulled: dict[str, str] = {}  # stage → the floor that ran, for the profile's weights that are not downloaded
    fallbacks: dict[str, tuple[str, Any]] = {}
    for stage in STAGE_ORDER:
        stage_spec = dict(spec[stage])
        stock_first = bool(stage_spec.pop("stock_first", False)) and stage not in overrides
        if stage in overrides:
            stage_spec.update(model=overrides[stage], revision=None)
            stage_spec.pop("bundled", None)  # the model named is the one wanted: no stand-in for it
            if not ENGINES[stage].get(stage_spec["engine"]).uses_weights:
                stage_spec["engine"] = MODEL_ENGINE[stage]
        engine_name = stage_spec.pop("engine")
        try:
            objects[stage] = _create(stage, engine_name, stage_spec, context, settings)
            names[stage] = engine_name
        except EngineUnavailable as exc:
            if strict:
                raise
            fallback = offline[stage]["engine"]
            remedy = exc.remedy
            if stage in unused:  # nothing to say about a stage this short does not run
                pass
            elif remedy is not None and remedy.action == "pull_weights" and remedy.profile == name:
                unpulled[stage] = fallback  # said once for all such stages, below
            else:
                warnings.append(f"{stage}: {exc.message} Using the offline engine ({fallback}) instead. "
                                f"{for_cli(exc)}".strip())
            objects[stage] = _create(stage, fallback, {}, floor)
            names[stage] = fallback
        if stage == "stills" and (stock_first or names[stage] == "stock"):
            _stock_in_front(settings, context, floor, offline, strict, objects, names, fallbacks, unpulled)
    notes: list[str] = []
    for stage, obj in objects.items():
        for note in getattr(obj, "notes", ()):  # a stand-in the engine chose (a bundled model, another voice)
            remedy = note.remedy
            if strict:
                raise note
            if stage in unused:
                continue
            if remedy is not None and remedy.action == "pull_weights" and remedy.profile == name:
                unpulled[stage] = note.message.split("; ", 1)[-1].removesuffix(" stood in.")
            else:
                notes.append(f"{stage}: {note.message} {for_cli(note)}".strip())
    if unpulled:
        order = sorted(unpulled, key=STAGE_ORDER.index)
        ran = ", ".join(f"{stage} ({unpulled[stage]})" for stage in order)
        # a language with no Piper voice in the presets has no use for the profile's voices (English ones): name the
        # stages, so a Spanish short is not sent to fetch them
        only = "" if voice.piper_voice or spec["voice"]["engine"] != "piper" else "".join(
            f" --stage {stage}" for stage in order)
        warnings.insert(0, f"The {name} profile's weights for {', '.join(order)} are not downloaded, so these ran "
                           f"instead: {ran}. Fetch them with: studio models pull {name}{only}")
    if getattr(objects["voice"], "needs_timing", False) and objects["timing"].uses_voice_events:
        message = (f"voice: {names['voice']} reports no word timings and no timing model for {language!r} is "
                   f"installed, so espeak-ng spoke (it times its own words, so the captions stay in sync).")
        if strict:
            raise EngineUnavailable(message, f"Fetch a timing model with: studio models pull {name} --stage timing")
        warnings.append(message)
        objects["voice"] = _create("voice", offline["voice"]["engine"], {}, floor)
        names["voice"] = offline["voice"]["engine"]
        notes = [n for n in notes if not n.startswith("voice:")]  # what the replaced voice said no longer holds
    warnings.extend(notes)
    if voice_sample and not objects["voice"].can_clone:
        message = "voice: cloning needs a voice engine that can clone (XTTS-v2 in the gpu profile); the sample was not used."
        if strict:
            raise EngineUnavailable(message, "Fetch it with: studio models pull gpu")
        warnings.append(message)
    names["render"] = spec.get("render", {}).get("engine", "ffmpeg")
    timing = objects.pop("timing")
    engines = Engines(timing=None if timing.uses_voice_events else timing, names=names, warnings=tuple(warnings),
                      fallbacks=fallbacks, **objects)
    return EngineChoice(engines, name, warnings)


def _create(stage: str, engine: str, options: dict, context: EngineContext, settings: Settings | None = None) -> Any:
    if engine == "stock" and settings is not None:
        options = {**options, **stock_options(settings)}
    obj = ENGINES[stage].create(engine, options, context)
    obj.check()
    return obj


STOCK_KEYS_HINT = ("Set STUDIO_PEXELS_KEY (free at https://www.pexels.com/api/) or STUDIO_PIXABAY_KEY (free at "
                   "https://pixabay.com/api/docs/), or both.")


def stock_options(settings: Settings) -> dict:
    """The stock engine's keys and cache folder; no key is refused here, naming the variables that set one."""
    if not (settings.pexels_key or settings.pixabay_key):
        raise EngineUnavailable("Stock photos need a Pexels or Pixabay API key, and none is set.", STOCK_KEYS_HINT)
    return {"pexels_key": settings.pexels_key, "pixabay_key": settings.pixabay_key,
            "cache_dir": str(settings.cache_dir / "stock")}


def _stock_in_front(settings: Settings, context: EngineContext, floor: EngineContext, offline: dict, strict: bool,
                    objects: dict, names: dict, fallbacks: dict, unpulled: dict) -> None:
    """Stills from stock photo libraries, with an engine behind them for any scene they give no photo for (said
    per scene). A profile's ``stock_first: true`` puts stock in front of its own stills engine when a key is set
    (no key: its own engine, silently); ``engine: stock`` has the offline floor behind it."""
    if names["stills"] == "stock":
        behind = offline["stills"]["engine"]
        fallbacks["stills"] = (behind, _create("stills", behind, {}, floor))
    elif settings.pexels_key or settings.pixabay_key:
        fallbacks["stills"] = (names["stills"], objects["stills"])
        objects["stills"] = _create("stills", "stock", {}, context, settings)
        names["stills"] = "stock"
        unpulled.pop("stills", None)  # the profile's stills model stands behind the photos only: not worth a warning
    if strict:
        fallbacks.pop("stills", None)  # a scene stock gives no photo for is an error
