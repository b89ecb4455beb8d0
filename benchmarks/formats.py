"""Editor figures, measured in one run on this machine.

(f) rendering one timeline in all four feed formats (9:16, 1:1, 4:5, 16:9) ÷ rendering it in 9:16 alone, each from
    a cold cache, next to the ratio of pixels encoded; the stage times show where the rest goes
(g) the Edit tab's scene preview (a still with its captions): every scene of a rendered short (warm: its stills are
    cached), and a scene whose picture was just given a new seed (cold: the still is made first). Target < 2 s.

Usage: python benchmarks/formats.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

FORMATS = ("9:16", "1:1", "4:5", "16:9")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    from pipelines.timeline import Timeline
    from pipelines.types import ShortRequest
    from studio.core import Studio
    from studio.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        maker = Studio(Settings(home=root / "plan-home"))
        made = maker.make(ShortRequest(topic="5 habits that changed my mornings", duration=args.seconds,
                                       profile="offline"), out_dir=root / "made")
        timeline = Timeline.load(made.timeline_path)
        runs = {}
        for label, formats in (("one", ("9:16",)), ("all", FORMATS)):
            studio = Studio(Settings(home=root / f"home-{label}"))  # a cold cache: everything is made again
            t0 = time.perf_counter()
            result = studio.render(timeline, out_dir=root / f"out-{label}", formats=formats)
            runs[label] = (time.perf_counter() - t0, result)
        settings = Settings(home=root)
        pixels = {f: settings.platform("reels", f) for f in FORMATS}
        share = sum(p.width * p.height for p in pixels.values()) / (1080 * 1920)
        one, all_ = runs["one"][0], runs["all"][0]
        print(f"short: {args.seconds:.0f} s offline, {len(timeline.scenes)} scenes, {os.cpu_count()} cores")
        print(f"(f) 9:16 alone {one:6.2f} s; all four formats {all_:6.2f} s; ratio {all_ / one:.2f} "
              f"for {share:.2f}× the pixels ({all_ / one / share:.2f} of the time per pixel)")
        for label, (_, result) in runs.items():
            stages = ", ".join(f"{s.stage} {s.seconds:.1f}" for s in result.stages)
            print(f"    {label}: {stages}")

        # (g) previews, through the same call the Edit tab makes
        studio = Studio(Settings(home=root / "home-all"))
        warm = []
        for i in range(len(timeline.scenes)):
            t0 = time.perf_counter()
            studio.preview(timeline, i, root / "preview" / f"{i}.jpg")
            warm.append(time.perf_counter() - t0)
        scene = timeline.scenes[1]
        reseeded = timeline.with_scene(scene.id, visual=replace(scene.visual, seed=scene.visual.seed + 1))
        t0 = time.perf_counter()
        studio.preview(reseeded, 1, root / "preview" / "new-seed.jpg")
        cold = time.perf_counter() - t0
        print(f"(g) scene preview: warm median {statistics.median(warm):.2f} s, max {max(warm):.2f} s "
              f"over {len(warm)} scenes; after a new seed {cold:.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
