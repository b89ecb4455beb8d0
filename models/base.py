"""One interface per model family, with the abilities an engine declares.

Callers ask an engine what it can do (``can_animate``, ``can_compare``, ``can_check_safety``,
``reports_words``, ``can_clone``) instead of probing it for methods. An engine subclasses its
family's base, overrides what it does, and sets the flags that say so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from models.subject import Box
from models.types import CameraPath, Credit, Script, StillSpec, VoiceClip, Word


@dataclass(frozen=True)
class EngineContext:
    """What the studio knows when it builds an engine; each engine takes what it needs from it."""

    device: str = "cpu"
    manager: Any = None  # models.manager.ModelManager: keeps loaded weights resident within a budget
    profile: str = ""  # the profile whose weights these are (a missing model's remedy names it)
    language: str = "en"
    seed: int = 0
    voice_rate_wpm: int = 165
    voice_pitch: int = 50
    voice_speaker: str | None = None  # a multi-speaker model's speaker
    speaker_wav: str | None = None  # a voice sample to clone (engines with can_clone)
    licences_accepted: tuple[str, ...] = ()  # engines whose weights' licence the user accepted (e.g. "musicgen")
    voice_name: str | None = None  # the preset's named voice for this language (a Piper voice such as en_US-joe-medium)


class Engine(ABC):
    """What every engine has: settings that key the cache, and a cheap check that its weights are there."""

    uses_weights: ClassVar[bool] = False  # takes model=REPO_OR_PATH, located through the Hub cache
    notes: tuple[Any, ...] = ()  # StudioErrors the engine noted when it was built (a stand-in model), for the report

    @classmethod
    def create(cls, options: dict[str, Any], context: EngineContext) -> Engine:
        """Build the engine from its profile options; weight-backed engines also get device, manager and profile."""
        if cls.uses_weights:
            options = dict(options, device=context.device, manager=context.manager, profile=context.profile)
        return cls(**options)

    @classmethod
    def weights_present(cls, stage: str, model: str, revision: str | None) -> bool:
        """Whether ``model`` is on this machine (never downloads)."""
        from models.errors import StudioError
        from models.hub import ModelRef, locate

        try:
            locate(ModelRef(model, revision), stage=stage)
            return True
        except StudioError:
            return False

    @classmethod
    def fetch_weights(cls, model: str, revision: str | None, *, on_bytes: Any = None, cancel: Any = None) -> str:
        """Download ``model``; returns a line saying what was fetched. ``on_bytes(done, total)`` reports progress;
        setting the ``cancel`` event stops it (what was fetched stays for the next pull)."""
        from models.hub import ModelRef, pull

        result = pull(ModelRef(model, revision), on_bytes=on_bytes, cancel=cancel)
        return f"{result.files} files, {result.bytes / 2**20:.1f} MiB at {result.commit[:12]}"

    requires_licence: ClassVar[str | None] = None  # a licence (settings.LICENCE_NOTICES) accepted before pull or use

    @property
    @abstractmethod
    def settings(self) -> dict:
        """Everything that changes the engine's output (cache keys hash it)."""

    def check(self) -> None:  # noqa: B027 - most engines have nothing to check
        """Raise EngineUnavailable when the engine cannot run here (weights absent); must not load them."""


class ScriptEngine(Engine):
    @abstractmethod
    def write(self, topic: str, *, language: str, target_words: int, seed: int = 0) -> Script: ...


class VoiceEngine(Engine):
    reports_words: bool = False  # synthesize() returns word events with character offsets
    can_clone: bool = False  # speaks in the voice of a sample given at construction
    needs_timing: bool = False  # reports no word events and is chosen only where a timing model can time its words

    @abstractmethod
    def synthesize(self, text: str, *, voice: str, out_path: Path) -> VoiceClip: ...


class StillsEngine(Engine):
    gives_credit: bool = False  # its pictures are someone else's work: generate_credited() says whose (stock photos)
    draws_text: bool = False  # sets the spec's text into its still (so the text is part of what keys it)

    @abstractmethod
    def generate(self, spec: StillSpec, out_path: Path) -> Path: ...

    def generate_credited(self, spec: StillSpec, out_path: Path) -> tuple[Path, Credit | None]:
        """The still and, for an engine that gives credit, its author and licence (None for made pictures)."""
        return self.generate(spec, out_path), None


class MotionEngine(Engine):
    can_animate: bool = False  # animate() makes a clip from a still; else the renderer moves a camera over it

    @abstractmethod
    def plan(self, seed: int, subject: Box | None = None, faces: tuple[Box, ...] = ()) -> CameraPath:
        """The camera path a scene records (the renderer ignores it while a generated clip plays); with a
        ``subject`` (fractions of the still), a path that moves towards it and keeps ``faces`` whole."""

    def animate(self, image: Path, *, seed: int, out_path: Path) -> Path:
        raise NotImplementedError(f"{type(self).__name__} cannot animate; ask can_animate first")


class MusicEngine(Engine):
    licence: ClassVar[str] = ""  # the terms of the music it makes (what a creator may do with it)

    @abstractmethod
    def compose(self, seconds: float, *, bpm: float, mood: str, seed: int, out_path: Path) -> Path: ...


class TimingEngine(Engine):
    uses_voice_events: bool = False  # no recogniser: the voice engine's own word events are used

    @abstractmethod
    def words(self, audio: Path, *, language: str | None, duration: float) -> tuple[Word, ...]: ...


class ScoringEngine(Engine):
    can_compare: bool = False  # similarity() between images and texts
    can_check_safety: bool = False  # unsafe() probabilities, flagged at unsafe_threshold
    unsafe_threshold: float = 1.0

    @abstractmethod
    def score(self, path: Path) -> float:
        """How good the image looks as a thumbnail (higher is better)."""

    def similarity(self, images: list[Path], texts: list[str]) -> list[list[float]]:
        raise NotImplementedError(f"{type(self).__name__} cannot compare images and text; ask can_compare first")

    def unsafe(self, paths: list[Path]) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} has no safety model; ask can_check_safety first")


FAMILIES: dict[str, Any] = {  # family → its interface (abstract classes, hence Any for mypy)
    "script": ScriptEngine, "voice": VoiceEngine, "stills": StillsEngine, "motion": MotionEngine,
    "music": MusicEngine, "timing": TimingEngine, "scoring": ScoringEngine,
}
