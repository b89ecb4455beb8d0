"""Word starts moved to where the sound starts after each pause.

A recogniser's word times are coarse at pauses: Whisper tiny.en put the first word of a phrase up to 0.65 s early
(into the silence before it) or 0.2 s late, while inside a phrase it was within about 0.1 s. A caption that
appears before its word is heard reads as out of sync, so every pause in the audio is found from its energy, and
the first word after it starts where the speech resumes (and the word before it ends where the pause began).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.types import Word

FRAME_S = 0.01
MIN_PAUSE_S = 0.15  # shorter dips are stops inside words (the closure before a "t"), not pauses
FLOOR_DB = 35.0  # a frame this far under the loudest part of the clip is silence
MAX_SHIFT_S = 0.7  # a word is moved to a pause's end only when the recogniser put it this close


def pauses(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) of every silence of at least MIN_PAUSE_S, including one at the very start."""
    mono = samples if samples.ndim == 1 else samples.mean(axis=1)
    hop = max(int(rate * FRAME_S), 1)
    frame = hop / rate  # 220 samples at 22,050 Hz are 9.977 ms, not 10: times in real seconds
    n = len(mono) // hop
    if n == 0:
        return []
    energy = 10 * np.log10(np.mean(mono[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    quiet = energy < energy.max() - FLOOR_DB
    out = []
    i = 0
    while i < n:
        if quiet[i]:
            j = i
            while j < n and quiet[j]:
                j += 1
            if (j - i) * frame >= MIN_PAUSE_S and j < n:  # a silence at the very end starts no word
                out.append((i * frame, j * frame))
            i = j
        else:
            i += 1
    return out


def snap_to_onsets(words: tuple[Word, ...], samples: np.ndarray, rate: int) -> tuple[Word, ...]:
    """``words`` with the first word after each pause starting where the sound resumes."""
    out = list(words)
    for begin, end in pauses(samples, rate):
        k = next((i for i, w in enumerate(out) if w.end > end + 0.05), None)
        if k is None or abs(out[k].start - end) > MAX_SHIFT_S:
            continue
        if out[k].start < begin - 0.05:  # a word the recogniser stretched over the pause: which word resumes is unclear
            continue
        out[k] = replace(out[k], start=round(min(end, out[k].end - 0.01), 3))
        if k > 0 and out[k - 1].end > begin:
            prev = out[k - 1]
            out[k - 1] = replace(prev, end=round(max(begin + 0.05, prev.start + 0.01), 3))
    return tuple(out)
