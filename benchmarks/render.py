"""Render figures, measured in one run on this machine.

(a) our render stage ÷ ffmpeg re-encoding our own short.mp4 at the same preset and CRF
(b) end-to-end time of a 30 s offline short ÷ that same re-encode
(c) peak memory of this process plus all its child processes (sampled every 50 ms)
(d) re-render after editing one scene's words ÷ the cold make of the same short (end to end, and render stage)
(e) the same after replacing one scene's visual with a photo

Usage: python benchmarks/render.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path


def _tree_rss_mb(root: int) -> float:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(p for p, parent in parents.items() if parent == pid)
    return total / 2**20


class PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STUDIO_HOME"] = str(Path(tmp) / "home")  # a cold cache: nothing derived is reused
        from pipelines.types import ShortRequest
        from studio.core import Studio

        studio = Studio()
        monitor = PeakMemory()
        monitor.start()
        t0 = time.perf_counter()
        result = studio.make(ShortRequest(topic="5 habits that changed my mornings", duration=args.seconds),
                             out_dir=Path(tmp) / "out")
        end_to_end = time.perf_counter() - t0
        monitor.running = False
        monitor.join()
        render_s = next(s.seconds for s in result.stages if s.stage == "render")
        edits = _edits(studio, result, Path(tmp))
        s = studio.settings
        t0 = time.perf_counter()
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(result.video), "-c:v", "libx264", "-profile:v", "high",
                        "-preset", s.x264_preset, "-crf", str(s.x264_crf), "-pix_fmt", "yuv420p", "-c:a", "copy",
                        "-movflags", "+faststart", str(Path(tmp) / "reencode.mp4")], check=True)
        reencode = time.perf_counter() - t0
    print(f"short: {args.seconds:.0f} s offline, x264 preset={s.x264_preset} crf={s.x264_crf}, {os.cpu_count()} cores")
    print(f"bare re-encode of short.mp4:      {reencode:6.2f} s")
    print(f"our render stage:                 {render_s:6.2f} s   (a) ratio {render_s / reencode:.2f}  (target <= 1.5)")
    print(f"end to end (cold cache):          {end_to_end:6.2f} s   (b) ratio {end_to_end / reencode:.2f}  (target <= 2.5)")
    print(f"peak memory incl. children:       {monitor.peak:6.0f} MB  (c) target <= 1536 MB")
    for st in result.stages:
        print(f"  {st.stage:<8} {st.engine:<34} {st.seconds:6.2f} s")
    scenes = len(result.timeline.scenes)
    for label, (seconds, stage, edited) in edits.items():
        seg = edited.run.segments
        print(f"{label + ' (' + str(scenes) + ' scenes):':<34}{seconds:6.2f} s   end to end ÷ cold make "
              f"{seconds / end_to_end:.2f} (target <= 0.35); render stage ÷ cold render stage {stage / render_s:.2f} "
              f"(target <= 0.25); segments encoded {seg.encoded}/{seg.segments}")


def _edits(studio, result, tmp: Path) -> dict:
    """Edit the cold short two ways and time each re-render (same cache, same output folder)."""
    from PIL import Image, ImageDraw

    from pipelines.timeline import Timeline, Visual

    out = {}
    t = Timeline.load(result.timeline_path)
    middle = t.scenes[len(t.scenes) // 2]
    words = t.with_scene(middle.id, text="Drink a tall glass of water before your coffee.")
    photo = result.out_dir / "media" / "bench-photo.jpg"
    photo.parent.mkdir(exist_ok=True)
    im = Image.new("RGB", (1200, 2000), (40, 90, 160))
    ImageDraw.Draw(im).ellipse((300, 500, 900, 1300), fill=(240, 200, 60))
    im.save(photo, quality=92)
    swapped = t.with_scene(middle.id, visual=Visual("photo", middle.visual.prompt, path="media/bench-photo.jpg"))
    for label, edited in (("(d) one scene's words edited", words), ("(e) one scene's photo replaced", swapped)):
        t0 = time.perf_counter()
        again = studio.render(edited, out_dir=result.out_dir)
        seconds = time.perf_counter() - t0
        out[label] = (seconds, next(s.seconds for s in again.stages if s.stage == "render"), again)
    return out


if __name__ == "__main__":
    main()
