"""Framing photos around their subject, measured in one run on this machine.

(a) end-to-end time of a 30 s short from a script and 4 photos (offline profile, cold cache) with this checkout,
    ÷ the same short made by an earlier commit (default: the last commit before issue 13), in a git worktree run
    by the same Python
(b) the share of (a) spent finding subjects (faces or saliency) and enlarging photos (target ≤ 15 %)
(c) the face detector's hit rate: on the test photos (tests/data: one face, two without) and, when the
    scikit-image wheel can be fetched from PyPI, on its LFW subset (100 faces, 100 non-faces, 25×25 pixels,
    enlarged to 96×96 and set in a 192×192 grey picture)

Usage: python benchmarks/framing.py [--before COMMIT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRIPT = """Four photos, one story, thirty seconds long.
The astronaut trained for years before her first flight.
Every morning started with a cup of strong coffee.
At home the cat waited by the window all day.
Launch day came, and the whole crew was ready.
The engines roared and the shuttle climbed into the sky.
Back on Earth, she told the story to her students.
They listened, and some of them decided to fly too.
Save this for the next time you need a push."""


def _make_in(checkout: Path, photos: list[Path], out: Path, timed: bool) -> tuple[float, dict]:
    """Make the short with the code in ``checkout``; returns (seconds, time spent per instrumented step)."""
    code = f"""
import json, sys, time
sys.path.insert(0, {str(checkout)!r})
from pathlib import Path
spent = {{"subject": 0.0, "enlarge": 0.0}}
if {timed!r}:
    from pipelines import derive, frames
    def timed(name, fn):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
        return run
    derive.subject_of = timed("subject", derive.subject_of)
    frames.resized = timed("enlarge", frames.resized)
from pipelines.types import ShortRequest
from studio.core import Studio
from studio.settings import Settings
studio = Studio(Settings(home=Path({str(out / 'home')!r})))
t = time.perf_counter()
studio.make(ShortRequest(script={SCRIPT!r}, media=tuple(Path(p) for p in {[str(p) for p in photos]!r}),
                         duration=30, profile="offline", seed=4), out_dir=Path({str(out / 'short')!r}))
print(json.dumps({{"seconds": time.perf_counter() - t, "spent": spent}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=checkout)
    if proc.returncode != 0:
        raise SystemExit(f"the make in {checkout} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["spent"]


def _hit_rate(tmp: Path) -> list[str]:
    import numpy as np
    from PIL import Image

    from models.subject import FaceDetector, iou
    from tests.test_framing import ASTRONAUT_FACE, DATA

    detector = FaceDetector()
    lines = []
    found = detector.detect(np.asarray(Image.open(DATA / "astronaut.png").convert("RGB")))
    hit = any(iou(box, ASTRONAUT_FACE) >= 0.5 for box, _ in found)
    false = sum(len(detector.detect(np.asarray(Image.open(DATA / n).convert("RGB")))) for n in
                ("chelsea.png", "coffee.png"))
    lines.append(f"test photos: {int(hit)}/1 faces found (IoU ≥ 0.5), {false} false detections on 2 photos "
                 "without faces")
    fetched = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tmp),
                              "scikit-image==0.26.0"], capture_output=True, text=True)
    wheels = list(tmp.glob("scikit_image-*.whl"))
    if fetched.returncode != 0 or not wheels:
        lines.append("LFW subset: not measured (the scikit-image wheel could not be fetched)")
        return lines
    with zipfile.ZipFile(wheels[0]) as wheel, wheel.open("skimage/data/lfw_subset.npy") as fh:
        lfw = np.load(fh)  # 200 grey 25×25 images: the first 100 faces, the rest not
    def detects(img: np.ndarray) -> bool:
        # a tight 25×25 crop, enlarged to 96 and set in a 192×192 grey picture: a face with room around it,
        # as in a photo (the model looks for whole heads, not crops of skin)
        grey = (img * 255).astype(np.uint8) if img.max() <= 1 else img.astype(np.uint8)
        canvas = Image.new("L", (192, 192), 128)
        canvas.paste(Image.fromarray(grey).resize((96, 96), Image.Resampling.BICUBIC), (48, 48))
        return bool(detector.detect(np.asarray(canvas.convert("RGB"))))
    faces = sum(detects(img) for img in lfw[:100])
    others = sum(detects(img) for img in lfw[100:])
    lines.append(f"LFW subset: {faces}/100 faces found, {others}/100 non-faces taken for faces")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="1afc874", help="the commit to compare with")
    args = parser.parse_args()
    from tests.test_framing import DATA

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        photos = [DATA / "astronaut.png", DATA / "chelsea.png", DATA / "coffee.png"]
        from PIL import Image

        Image.open(DATA / "astronaut.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((1200, 1200)).save(
            tmp / "astronaut-large.jpg", quality=92)  # a fourth photo, larger than the frame needs
        photos.append(tmp / "astronaut-large.jpg")
        old = tmp / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), args.before], cwd=ROOT, check=True)
        try:
            before, _ = _make_in(old, photos, tmp / "run-before", timed=False)
            after, spent = _make_in(ROOT, photos, tmp / "run-after", timed=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
        framing = spent["subject"] + spent["enlarge"]
        print(f"(a) 30 s short, 4 photos, offline, cold cache: {after:.1f} s now ÷ {before:.1f} s at "
              f"{args.before} = {after / before:.2f}")
        print(f"(b) subjects {spent['subject']:.2f} s + enlarging {spent['enlarge']:.2f} s = {framing:.2f} s, "
              f"{100 * framing / after:.1f} % of the make (target ≤ 15 %)")
        for line in _hit_rate(tmp):
            print(f"(c) {line}")


if __name__ == "__main__":
    main()
