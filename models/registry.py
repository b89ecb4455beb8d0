"""One registry per model family. Built-in engines are listed by name, as ``module:Class``, and
imported only when chosen; an extension registers the same way (a class, or its ``module:Class``).

Adding an engine is one file (a subclass of its family's interface in models/base.py) plus one
line here, or one ``ENGINES[family].register(name, ...)`` call from outside the package.
"""

from __future__ import annotations

import importlib
from typing import Any

from models.base import FAMILIES, Engine, EngineContext
from models.errors import EngineUnavailable

STAGES = ("script", "voice", "stills", "motion", "music", "timing", "scoring", "render")

BUILTIN: dict[str, dict[str, str]] = {
    "script": {"rules": "models.script.rules:RuleScriptWriter",
               "transformers": "models.script.llm:TransformersWriter",
               "openai-compatible": "models.script.llm:OpenAICompatibleWriter"},
    "voice": {"espeak-ng": "models.voice.espeak:EspeakVoice", "coqui": "models.voice.coqui:CoquiVoice",
              "piper": "models.voice.piper:PiperVoice"},
    "stills": {"procedural": "models.stills.procedural:ProceduralStills",
               "diffusers": "models.stills.diffusion:DiffusionStills", "stock": "models.stills.stock:StockStills"},
    "motion": {"kenburns": "models.motion.kenburns:KenBurns", "svd": "models.motion.svd:SVDMotion"},
    "music": {"procedural": "models.music.procedural:ProceduralMusic",
              "musicgen": "models.music.musicgen:MusicGenMusic"},
    "timing": {"voice-events": "models.timing.voice_events:VoiceEventsTiming",
               "faster-whisper": "models.timing.whisper:WhisperTiming"},
    "scoring": {"image-stats": "models.scoring.image_stats:ImageStats", "open_clip": "models.scoring.clip:ClipScoring"},
}
# the engine a ``--model STAGE=REPO`` override runs when the profile's own engine for that stage takes no weights
MODEL_ENGINE = {"script": "transformers", "voice": "coqui", "stills": "diffusers", "motion": "svd",
                "music": "musicgen", "timing": "faster-whisper", "scoring": "open_clip"}


class Registry:
    def __init__(self, family: str, builtins: dict[str, str] | None = None) -> None:
        self.family = family
        self._entries: dict[str, str | type[Engine]] = dict(builtins or {})

    def register(self, name: str, engine: str | type[Engine]) -> None:
        """Add an engine: its class, or ``"package.module:Class"`` to import when it is first chosen."""
        self._entries[name] = engine

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> type[Engine]:
        try:
            entry = self._entries[name]
        except KeyError:
            raise EngineUnavailable(f"Unknown {self.family} engine {name!r}.",
                                    f"Choose one of: {', '.join(self.names())}.") from None
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
        base = FAMILIES[self.family]
        if not (isinstance(entry, type) and issubclass(entry, base)):
            raise EngineUnavailable(f"The {self.family} engine {name!r} does not implement {base.__name__}.")
        return entry

    def create(self, name: str, options: dict[str, Any] | None = None, context: EngineContext | None = None) -> Any:
        return self.get(name).create(dict(options or {}), context or EngineContext())


ENGINES: dict[str, Registry] = {family: Registry(family, BUILTIN.get(family)) for family in FAMILIES}
