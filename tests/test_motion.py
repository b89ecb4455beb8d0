"""Ken Burns smoothness and moving backgrounds, measured on the rendered video."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from pipelines.types import ShortRequest


def _gray_frames(video, start, seconds, box):
    y0, y1, x0, x1 = box
    w, h = 1080, 1920
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(start), "-t", str(seconds), "-i", str(video),
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w)
    return [f[y0:y1, x0:x1].astype(np.float32) for f in frames]


@pytest.fixture(scope="module")
def photo_short(studio, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("photo")
    rng = np.random.default_rng(7)
    # a photo-like texture: soft detail a few pixels across (no per-pixel noise for the encoder to smear)
    base = rng.random((400, 267, 3))
    img = Image.fromarray((base * 255).astype(np.uint8)).resize((1600, 2400), Image.BICUBIC)
    img.save(tmp / "photo.jpg", quality=95)
    text = ("This is one long sentence about a quiet morning walk through the park "
            "while the sun comes up slowly over the trees and the city wakes.")
    return studio.make(ShortRequest(script=text, duration=None, media=(tmp / "photo.jpg",)), out_dir=tmp / "out")


def test_ken_burns_moves_smoothly_without_pixel_snapping(photo_short):
    import cv2

    assert len(photo_short.report["scenes"]) == 1
    frames = _gray_frames(photo_short.video, 4.5, 3.0, (620, 1140, 60, 1020))
    window = cv2.createHanningWindow(frames[0].shape[::-1], cv2.CV_32F)
    shifts = np.array([cv2.phaseCorrelate(a, b, window)[0] for a, b in zip(frames, frames[1:])])
    speed = np.hypot(*shifts.T)
    assert speed.mean() > 0.1, "the camera should be moving"
    jumps = np.abs(np.diff(shifts, axis=0))
    assert jumps.max() <= 0.25, jumps.max()
    for axis in (0, 1):  # no reversal: the dominant direction never flips
        moving = shifts[:, axis][np.abs(shifts[:, axis]) > 0.1]
        assert len(moving) == 0 or (moving > 0).all() or (moving < 0).all()


def test_procedural_backgrounds_move_and_differ_between_scenes(topic_short, tmp_path):
    scenes = len(topic_short.report["scenes"])
    assert scenes >= 3
    a = _gray_frames(topic_short.video, 5.0, 0.5, (650, 1050, 100, 980))
    assert np.abs(a[0] - a[-1]).mean() > 0.5, "the background should move within a scene"
    first = _gray_frames(topic_short.video, 0.1, 0.04, (650, 1050, 100, 980))[0]
    last = _gray_frames(topic_short.video, 11.0, 0.04, (650, 1050, 100, 980))[0]
    assert np.abs(first - last).mean() > 10, "different scenes should look different"
