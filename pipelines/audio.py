"""The soundtrack: voice segments on a timeline, a music bed ducked under them, loudness-normalised.

Mixing happens in numpy (the timeline says exactly when the voice speaks, so
the ducking is an envelope, not a guess); loudness is normalised by ffmpeg's
EBU R128 measurements (gain plus a limiter). The video encode later takes this file as is.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import RenderFailed
from models.wavio import write_pcm16
from pipelines import ffmpeg
from pipelines.types import Scene

RATE = 48000
TARGET_LUFS = -14.0
TARGET_TP = -1.5  # before encoding; the encoded AAC is measured again (_aac_under_ceiling)
DUCK_BELOW_VOICE_DB = 18.0  # music level under speech, relative to the voice
RAMP = 0.25  # seconds for the music to dip and recover
FADE_OUT = 1.5  # seconds the music takes to end
SHIPPED_TP = -1.2  # true-peak ceiling measured on the encoded AAC (platforms ask for -1 dBTP)


@dataclass(frozen=True)
class Mix:
    path: Path
    music_below_voice_db: float  # measured on the stems over the speech windows


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Float32 samples shaped (n, channels) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise RenderFailed(f"{Path(path).name}: only 16-bit WAV is supported here, not {8 * width}-bit.")
    return np.frombuffer(raw, dtype=np.int16).reshape(-1, channels).astype(np.float32) / 32768.0, rate


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(RATE, rate)
    return resample_poly(x, RATE // g, rate // g, axis=0).astype(np.float32)


def _db(x: np.ndarray) -> float:
    return 10 * np.log10(float(np.mean(np.square(x))) + 1e-12)


def mix(scenes: list[Scene], music: Path, duration: float, music_level_db: float, work: Path,
        aac_bitrate: str = "192k") -> Mix:
    n = int(round(duration * RATE))
    voice = np.zeros(n, np.float32)
    speaking = np.zeros(n, bool)
    for scene in scenes:
        if scene.voice is None:
            continue
        samples, rate = read_wav(scene.voice.path)
        mono = _resample(samples.mean(axis=1), rate)
        a = int(round((scene.start + scene.lead) * RATE))
        b = min(a + len(mono), n)
        voice[a:b] += mono[: b - a]
        if scene.words:
            s = int((scene.start + scene.words[0].start) * RATE)
            e = int((scene.start + scene.words[-1].end) * RATE)
            speaking[max(s, 0):min(e, n)] = True

    bed, rate = read_wav(music)
    bed = _resample(bed, rate)
    if bed.shape[1] == 1:
        bed = np.repeat(bed, 2, axis=1)
    bed = np.pad(bed, ((0, max(0, n - len(bed))), (0, 0)))[:n]
    # the bed may be longer than the short (it is composed in 5 s steps so edits reuse it): end it gently
    fade = min(int(FADE_OUT * RATE), n)
    bed[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]

    voice_db = _db(voice[speaking]) if speaking.any() else -20.0
    bed_db = _db(bed)
    gain_between = 10 ** ((voice_db + music_level_db - bed_db) / 20)
    gain_under = 10 ** ((voice_db - DUCK_BELOW_VOICE_DB - bed_db) / 20)
    envelope = np.where(speaking, gain_under, gain_between).astype(np.float32)
    ramp = int(RAMP * RATE)
    # start dipping a little before speech begins: a centred moving average of the gain
    kernel = np.ones(ramp, np.float32) / ramp
    envelope = np.minimum(envelope, np.convolve(envelope, kernel, mode="same"))
    bed = bed * envelope[:, None]

    mixed = bed + voice[:, None]
    below = (_db(voice[speaking]) - _db(bed[speaking])) if speaking.any() else float("inf")
    raw = work / "mix.wav"
    _write_float_wav(raw, mixed)
    return Mix(_aac_under_ceiling(raw, work / "soundtrack.wav", work / "soundtrack.m4a", aac_bitrate),
               round(float(below), 2))


def _aac_under_ceiling(raw: Path, wav: Path, out: Path, bitrate: str) -> Path:
    """Normalise, then encode the soundtrack as it will ship (AAC) and measure that: AAC adds overshoot of its own
    (1.7 dB was seen on a 3 s short). A peak over the ceiling after encoding lowers the limiter's ceiling and
    normalises again, so the loudness stays on target (turning the whole track down would miss -14 LUFS)."""
    ceiling = TARGET_TP
    for _ in range(3):
        _loudnorm(raw, wav, ceiling)
        ffmpeg.run(["-i", str(wav), "-c:a", "aac", "-b:a", bitrate, "-ar", str(RATE), "-ac", "2", str(out)],
                   what="encoding the soundtrack")
        _, peak = ffmpeg.ebur128(out, what="true peak of the encoded soundtrack")
        if peak <= SHIPPED_TP:
            break
        ceiling -= peak - SHIPPED_TP + 0.1
    return out


def _write_float_wav(path: Path, x: np.ndarray) -> None:
    peak = float(np.abs(x).max())
    if peak > 0.99:  # keep headroom before normalisation; loudnorm sets the final level
        x = x * (0.99 / peak)
    write_pcm16(path, x, RATE)


def _integrated(path: Path, pre: str = "") -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of ``path`` after the optional filter chain ``pre``."""
    return ffmpeg.ebur128(path, pre, what="loudness scan")


def _loudnorm(src: Path, dst: Path, ceiling: float = TARGET_TP) -> None:
    """Gain to -14 LUFS, then a look-ahead limiter that keeps the true peak under the target.

    loudnorm's linear mode gives up (and falls back to dynamic compression that lands
    a dB short) whenever the gain would push peaks over the ceiling, which speech over
    music does; a fixed gain plus a transparent limiter reaches the target instead.
    Two rounds: the limiter takes a little loudness, the second gain puts it back.
    """
    integrated, _ = _integrated(src)
    if integrated == float("-inf"):
        raise RenderFailed("The soundtrack is silent.")
    gain = TARGET_LUFS - integrated
    limit = 10 ** ((ceiling - 0.5) / 20)
    for _ in range(4):
        chain = f"volume={gain:.2f}dB,alimiter=limit={limit:.4f}:level=false:attack=1:release=60"
        measured, peak = _integrated(src, chain)
        if abs(measured - TARGET_LUFS) <= 0.3 and peak <= ceiling:
            break
        gain += TARGET_LUFS - measured
        if peak > ceiling:
            limit *= 10 ** ((ceiling - peak) / 20)
    ffmpeg.run(["-i", str(src), "-af", chain, "-ar", str(RATE), "-ac", "2", "-c:a", "pcm_s16le", str(dst)],
               what="loudness normalisation")
