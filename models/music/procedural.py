"""Procedural music: a four-chord pad progression with a soft pulse, seeded and tempo-aware."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.base import MusicEngine
from models.wavio import write_pcm16

_PROGRESSION = ([0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12])  # I V vi IV in semitones


class ProceduralMusic(MusicEngine):
    engine = "procedural"
    licence = "CC0 (made on this machine)"

    def __init__(self, sample_rate: int = 48000) -> None:
        self.sample_rate = sample_rate

    @property
    def settings(self) -> dict:
        return {"version": 1, "sample_rate": self.sample_rate}

    def compose(self, seconds: float, *, bpm: float, mood: str, seed: int, out_path: Path) -> Path:
        sr = self.sample_rate
        rng = np.random.default_rng(seed)
        root = 220.0 * 2 ** (int(rng.integers(-3, 4)) / 12)
        n = int(seconds * sr)
        t = np.arange(n) / sr
        beat = 60.0 / bpm
        bar = 4 * beat
        left = np.zeros(n, np.float32)
        right = np.zeros(n, np.float32)
        for i, start in enumerate(np.arange(0, seconds, bar)):
            a, b = int(start * sr), min(int((start + bar) * sr), n)
            seg = t[a:b] - start
            env = np.minimum(1, seg / 0.3) * np.minimum(1, (bar - seg) / 0.3)
            for k, semis in enumerate(_PROGRESSION[i % 4]):
                f = root * 2 ** (semis / 12)
                detune = 1 + 0.003 * (k - 1)
                tone = np.sin(2 * np.pi * f * seg) + 0.3 * np.sin(2 * np.pi * 2 * f * detune * seg)
                left[a:b] += (0.18 * env * tone).astype(np.float32)
                right[a:b] += (0.18 * env * np.roll(tone, 40 * k)).astype(np.float32)
        pulse_len = int(0.12 * sr)
        pulse_t = np.arange(pulse_len) / sr
        strength = 0.5 if mood == "upbeat" else 0.2
        kick = strength * np.sin(2 * np.pi * 60 * pulse_t) * np.exp(-pulse_t * 30)
        for start in np.arange(0, seconds, beat):
            a = int(start * sr)
            m = min(pulse_len, n - a)
            left[a: a + m] += kick[:m]
            right[a: a + m] += kick[:m]
        stereo = np.stack([left, right], axis=1)
        fade = int(min(1.0, seconds / 4) * sr)
        ramp = np.linspace(0, 1, fade, dtype=np.float32)[:, None]
        stereo[:fade] *= ramp
        stereo[n - fade:] *= ramp[::-1]
        stereo /= max(float(np.abs(stereo).max()), 1e-6) / 0.5
        return write_pcm16(Path(out_path), stereo, sr)
