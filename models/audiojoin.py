"""Joining and fitting audio without clicks: pure numpy, for float32 samples shaped (n,) or (n, channels).

A model that writes music in windows (MusicGen: 30 s) leaves seams where one window ends and the next begins; a
track shorter than the short has to loop. Cutting one piece straight onto the next jumps between two unrelated
sample values, which the ear hears as a click. Here every seam is an equal-power crossfade (the outgoing piece
under a cosine, the incoming one under a sine, so cos² + sin² = 1 keeps the loudness of unrelated material
steady), and every cut end fades out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["crossfade_join", "fit_length"]

TAIL_S = 1.5  # the fade-out at a cut end, at most; shorter for short tracks (a third of their length)


def crossfade_join(pieces: Sequence[np.ndarray], rate: int, fade_s: float = 0.5) -> np.ndarray:
    """The pieces end to start, each seam overlapped by ``fade_s`` seconds with an equal-power crossfade.

    A seam is shortened to half the shorter of its two pieces, so a short piece is never faded from both ends at
    once. The result has ``sum(len(p)) - sum(seams)`` samples; empty pieces are skipped. ``fade_s=0`` concatenates.
    """
    arrays = [np.asarray(p, dtype=np.float32) for p in pieces]
    if not arrays:
        raise ValueError("crossfade_join needs at least one piece.")
    shape = arrays[0].shape[1:]
    if len(shape) > 1 or any(a.shape[1:] != shape for a in arrays):
        raise ValueError(f"Pieces must all be shaped (n,) or all (n, channels) alike; got "
                         f"{[a.shape for a in arrays]}.")
    if rate <= 0 or not math.isfinite(fade_s) or fade_s < 0:
        raise ValueError(f"Need a positive rate and a fade of 0 s or more (got rate={rate}, fade_s={fade_s}).")
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return np.zeros((0, *shape), np.float32)
    fade = round(fade_s * rate)
    seams = [min(fade, len(a) // 2, len(b) // 2) for a, b in zip(arrays, arrays[1:])]
    out = np.zeros((sum(map(len, arrays)) - sum(seams), *shape), np.float32)
    pos = 0
    for i, piece in enumerate(arrays):
        gain = np.ones(len(piece), np.float32)
        head = seams[i - 1] if i else 0
        tail = seams[i] if i < len(seams) else 0
        if head:
            gain[:head] = np.sin(_angles(head))
        if tail:
            gain[len(piece) - tail:] = np.cos(_angles(tail))
        out[pos: pos + len(piece)] += piece * gain.reshape(-1, *(1,) * len(shape))
        pos += len(piece) - tail
    return out


def fit_length(x: np.ndarray, n: int, rate: int, fade_s: float = 1.0, *, tail_s: float = TAIL_S) -> np.ndarray:
    """Exactly ``n`` samples of ``x``: a longer track is cut and faded out over its last ``tail_s`` seconds (a
    third of ``n`` at most); a shorter one loops, each loop crossfaded over ``fade_s``, then is cut the same way.
    A track already ``n`` long is returned unchanged (as a copy)."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        raise ValueError("fit_length needs audio; got an empty track.")
    if n < 0 or rate <= 0:
        raise ValueError(f"Need n ≥ 0 samples and a positive rate (got n={n}, rate={rate}).")
    if len(x) < n:
        seam = min(round(fade_s * rate), len(x) // 2)
        # m copies joined give m·len − (m−1)·seam samples; len − seam ≥ 1, so enough copies always exist
        copies = math.ceil((n - seam) / (len(x) - seam))
        x = crossfade_join([x] * copies, rate, fade_s)
    if len(x) == n:
        return x.copy()
    out = x[:n].copy()
    fade = min(round(tail_s * rate), n // 3)
    if fade:
        # a half cosine from 1 down to exactly 0 on the last sample: no step at the cut, no kink where it starts
        ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32))
        out[n - fade:] *= ramp.reshape(-1, *(1,) * (out.ndim - 1))
    return out


def _angles(k: int) -> np.ndarray:
    """k angles across (0, π/2), sampled mid-step so the fade-out (cos) and fade-in (sin) mirror each other."""
    return ((np.arange(k, dtype=np.float32) + 0.5) * (np.pi / 2 / k)).astype(np.float32)
