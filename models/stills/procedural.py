"""Designed procedural backgrounds: a gradient, soft light blobs and fine grain.

Each scene gets its own seed, so scenes differ; the grain gives the camera move
texture to show (a flat gradient would hide motion).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from models.base import StillsEngine
from models.types import StillSpec


def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i: i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


class ProceduralStills(StillsEngine):
    engine = "procedural"

    @property
    def settings(self) -> dict:
        return {"version": 1}

    def generate(self, spec: StillSpec, out_path: Path) -> Path:
        rng = random.Random(spec.seed)
        palette = list(spec.palette) or ["#203040", "#a0c0e0", "#402030"]
        rng.shuffle(palette)
        w, h = spec.width, spec.height
        top, bottom = _rgb(palette[0]), _rgb(palette[1 % len(palette)])
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = top * (1 - t[..., None]) + bottom * t[..., None]

        blobs = Image.new("RGB", (w // 4, h // 4), (0, 0, 0))
        draw = ImageDraw.Draw(blobs)
        for _ in range(rng.randint(5, 9)):
            r = rng.uniform(0.08, 0.25) * w / 4
            cx, cy = rng.uniform(0, w / 4), rng.uniform(0, h / 4)
            colour = tuple(int(c) for c in _rgb(rng.choice(palette)))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        blobs = blobs.filter(ImageFilter.GaussianBlur(w / 40)).resize((w, h), Image.Resampling.BICUBIC)
        img = img * 0.6 + np.asarray(blobs, dtype=np.float32) * 0.55

        grain = np.random.default_rng(spec.seed).normal(0, 6, (h, w, 1)).astype(np.float32)
        img = np.clip(img + grain, 0, 255).astype(np.uint8)
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(out_path, quality=92)
        return out_path
