"""faster-whisper word timestamps: caption timings measured on the actual voice track."""

from __future__ import annotations

from pathlib import Path

from models.base import TimingEngine
from models.errors import EngineFailed, EngineUnavailable
from models.hub import ModelRef, locate
from models.manager import ModelManager
from models.types import Word


class WhisperTiming(TimingEngine):
    uses_weights = True
    engine = "faster-whisper"

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu", compute_type: str = "int8",
                 cpu_threads: int = 0, local_files_only: bool = True, cache_dir: str | None = None,
                 manager: ModelManager | None = None, temperature: float | tuple[float, ...] = (0.0, 0.2, 0.4),
                 profile: str = "") -> None:
        self.ref = ModelRef(model, revision)
        self.device, self.compute_type, self.cpu_threads = device, compute_type, cpu_threads
        self.local_files_only, self.cache_dir = local_files_only, cache_dir
        self.manager = manager or ModelManager()
        self.temperature = temperature
        self.profile = profile

    @property
    def settings(self) -> dict:
        return {"model": self.ref.repo, "revision": self.ref.revision, "compute_type": self.compute_type}

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
        return tuple(out)
