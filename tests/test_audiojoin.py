"""Seams and loops without clicks (models/audiojoin.py), judged by a click detector that is shown to fire."""

from __future__ import annotations

import numpy as np
import pytest

from models.audiojoin import crossfade_join, fit_length

RATE = 48000


def tone(freq: float, seconds: float, phase: float = 0.0, channels: int | None = None) -> np.ndarray:
    """A sine starting at ``phase`` radians; (n,) or (n, channels) with each channel a little shifted."""
    t = np.arange(round(seconds * RATE)) / RATE
    if channels is None:
        return (0.8 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)
    return np.stack([0.8 * np.sin(2 * np.pi * freq * t + phase + 0.7 * c) for c in range(channels)],
                    axis=1).astype(np.float32)


def curvature(x: np.ndarray) -> np.ndarray:
    """|x[t+1] − 2x[t] + x[t−1]| per sample (largest over channels): small on smooth audio, large at a jump."""
    x = x.reshape(len(x), -1)
    return np.abs(x[2:] - 2 * x[1:-1] + x[:-2]).max(axis=1)


def clicks(x: np.ndarray, pieces: list[np.ndarray], factor: float = 3.0) -> np.ndarray:
    """Sample indices where the curvature exceeds ``factor`` × the worst found inside any of the pieces."""
    inside = max(float(curvature(p).max()) for p in pieces)
    return np.flatnonzero(curvature(x) > factor * inside) + 1


# 440 Hz cut mid-cycle and restarted at another phase; 440 Hz straight into 660 Hz at a mismatched phase
MISMATCHED = {
    "same tone, arbitrary cut phases": [tone(440, 0.7731, 0.3), tone(440, 0.6113, 2.9), tone(440, 0.9, 5.1)],
    "440 Hz then 660 Hz": [tone(440, 0.8007, 0.0), tone(660, 0.75, 4.0)],
    "stereo, arbitrary cut phases": [tone(440, 0.7731, 0.3, 2), tone(440, 0.6113, 2.9, 2)],
}


@pytest.mark.parametrize("name", MISMATCHED)
def test_the_detector_hears_the_click_of_a_plain_concatenation_at_every_seam(name):
    pieces = MISMATCHED[name]
    naive = np.concatenate(pieces)
    found = clicks(naive, pieces)
    seams = np.cumsum([len(p) for p in pieces])[:-1]
    assert len(found) > 0
    for seam in seams:  # each seam clicks, and nothing else does
        assert np.any(np.abs(found - seam) <= 1), (name, seam, found)
    assert all(np.min(np.abs(seams - f)) <= 1 for f in found)


@pytest.mark.parametrize("name", MISMATCHED)
def test_crossfaded_seams_do_not_click(name):
    pieces = MISMATCHED[name]
    joined = crossfade_join(pieces, RATE, fade_s=0.5)
    assert joined.dtype == np.float32 and joined.shape[1:] == pieces[0].shape[1:]
    assert clicks(joined, pieces).size == 0
    assert float(curvature(joined).max()) < 1.5 * max(float(curvature(p).max()) for p in pieces)


def test_seams_are_short_where_a_piece_is_shorter_than_the_fade_and_still_do_not_click():
    pieces = [tone(440, 0.5, 1.0), tone(440, 0.02, 3.0), tone(660, 0.5, 5.5)]  # 960 samples in the middle
    joined = crossfade_join(pieces, RATE, fade_s=0.5)
    seams = [min(24000, 960 // 2)] * 2
    assert len(joined) == sum(len(p) for p in pieces) - sum(seams)
    assert clicks(joined, pieces).size == 0


def test_the_join_keeps_each_piece_untouched_outside_its_seams_and_its_length_is_exact():
    a, b = tone(440, 1.0, 0.3, 2), tone(550, 1.2, 2.0, 2)
    joined = crossfade_join([a, b], RATE, fade_s=0.25)
    seam = round(0.25 * RATE)
    assert len(joined) == len(a) + len(b) - seam
    assert np.array_equal(joined[: len(a) - seam], a[: len(a) - seam])
    assert np.array_equal(joined[len(a):], b[seam:])
    assert np.array_equal(crossfade_join([a, np.zeros((0, 2), np.float32), b], RATE, 0.25), joined)
    assert np.array_equal(crossfade_join([a], RATE), a)
    assert np.array_equal(crossfade_join([a, b], RATE, fade_s=0.0), np.concatenate([a, b]))


def test_the_crossfade_keeps_the_loudness_of_unrelated_material_steady():
    """Equal power: white noise through the seam keeps its RMS (a linear crossfade sags to ≈ 0.82 of it)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((RATE, 1)).astype(np.float32) for _ in range(2))
    joined = crossfade_join([a, b], RATE, fade_s=0.5)
    seam = joined[RATE - RATE // 2: RATE]
    middle = seam[len(seam) // 4: 3 * len(seam) // 4]  # where a linear fade would sag most
    assert abs(float(np.sqrt(np.mean(middle ** 2))) - 1.0) < 0.03


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        crossfade_join([], RATE)
    with pytest.raises(ValueError):
        crossfade_join([tone(440, 0.1, channels=1), tone(440, 0.1, channels=2)], RATE)
    with pytest.raises(ValueError):
        crossfade_join([tone(440, 0.1)], RATE, fade_s=-1)
    with pytest.raises(ValueError, match="empty"):
        fit_length(np.zeros((0, 2), np.float32), 100, RATE)
    with pytest.raises(ValueError):
        fit_length(tone(440, 0.1), -1, RATE)


@pytest.mark.parametrize("channels", [None, 1, 2])
@pytest.mark.parametrize("seconds", [1.0, 2.3, 7.9])
def test_a_short_track_loops_to_exactly_n_samples_without_clicks(channels, seconds):
    x = tone(440, 0.6131, 1.1, channels)  # ends mid-cycle: a plain loop clicks at each repeat
    n = round(seconds * RATE)
    out = fit_length(x, n, RATE, fade_s=0.2)
    assert out.shape == (n, *x.shape[1:]) and out.dtype == np.float32
    assert clicks(np.concatenate([x] * (n // len(x) + 1))[:n], [x]).size > 0  # the same loop, no crossfades
    assert clicks(out, [x]).size == 0
    kept = min(len(x) - round(0.2 * RATE), n - min(round(1.5 * RATE), n // 3))
    assert np.array_equal(out[:kept], x[:kept])  # the track itself, up to its first seam or the final fade
    assert float(np.abs(out[-1]).max()) < 1e-3  # faded out at the cut


@pytest.mark.parametrize("channels", [None, 1, 2])
def test_a_long_track_is_cut_to_exactly_n_samples_with_a_fade_out(channels):
    x = tone(330, 4.0, 0.5, channels)
    for seconds in (3.0, 0.9, 0.01):
        n = round(seconds * RATE)
        out = fit_length(x, n, RATE)
        fade = min(round(1.5 * RATE), n // 3)
        assert out.shape == (n, *x.shape[1:])
        assert np.array_equal(out[: n - fade], x[: n - fade])  # untouched before the fade
        assert float(np.abs(out[-1]).max()) < 1e-3
        assert float(np.abs(out[n - fade:]).max()) <= float(np.abs(x[n - fade: n]).max()) + 1e-6
        assert clicks(out, [x]).size == 0
    assert np.array_equal(fit_length(x, len(x), RATE), x)
    assert fit_length(x, 0, RATE).shape == (0, *x.shape[1:])
