"""The floor for timing: no recogniser; the voice engine's own word events say when each word is heard."""

from __future__ import annotations

from pathlib import Path

from models.base import TimingEngine
from models.types import Word


class VoiceEventsTiming(TimingEngine):
    uses_voice_events = True

    @property
    def settings(self) -> dict:
        return {}

    def words(self, audio: Path, *, language: str | None, duration: float) -> tuple[Word, ...]:
        raise NotImplementedError("voice-events timing hears nothing; the voice engine's word events are used")
