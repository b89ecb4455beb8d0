"""A whole voice engine in one file, outside the package: each word is a short tone, reported as a word event.

It exists to prove that adding an engine touches neither studio/ nor pipelines/.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from models.base import EngineContext, VoiceEngine
from models.types import VoiceClip, Word
from models.wavio import write_pcm16


class SineVoice(VoiceEngine):
    reports_words = True

    def __init__(self, rate: int = 22050, word_seconds: float = 0.32, pitch_hz: float = 220.0) -> None:
        self.rate, self.word_seconds, self.pitch_hz = rate, word_seconds, pitch_hz

    @classmethod
    def create(cls, options: dict, context: EngineContext) -> SineVoice:
        return cls(**{"pitch_hz": 110.0 + 2.2 * context.voice_pitch, **options})

    @property
    def settings(self) -> dict:
        return {"rate": self.rate, "word_seconds": self.word_seconds, "pitch_hz": self.pitch_hz}

    def synthesize(self, text: str, *, voice: str, out_path: Path) -> VoiceClip:
        words, chunks, t = [], [], 0.0
        n = int(self.word_seconds * self.rate)
        tone = np.sin(2 * np.pi * self.pitch_hz * np.arange(n) / self.rate) * np.hanning(n)
        for m in re.finditer(r"\S+", text):
            words.append(Word(m.group(), round(t, 3), round(t + self.word_seconds * 0.8, 3), m.start()))
            chunks.append(0.4 * tone)
            t += self.word_seconds
        audio = np.concatenate(chunks or [np.zeros(n)]).astype(np.float32)
        write_pcm16(out_path, audio[:, None], self.rate)
        return VoiceClip(out_path, self.rate, len(audio) / self.rate, tuple(words))
