"""16-bit PCM WAV writing shared by the audio engines (the standard library's ``wave``, no extra dependency)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_pcm16(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write int16 samples shaped (n,) or (n, channels); float input in [-1, 1] is scaled."""
    if samples.dtype != np.int16:
        samples = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path
