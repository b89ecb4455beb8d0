"""Offline scoring from image statistics: sharpness (Laplacian variance) and contrast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.base import ScoringEngine


class ImageStats(ScoringEngine):
    engine = "image-stats"

    @property
    def settings(self) -> dict:
        return {"version": 1}

    def score(self, path: Path) -> float:
        """A 0..1 quality score; higher is sharper and more contrasty."""
        with Image.open(path) as im:
            g = np.asarray(im.convert("L").resize((270, 480)), dtype=np.float32)
        lap = g[1:-1, 1:-1] * 4 - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
        sharp = float(np.tanh(lap.var() / 400.0))
        contrast = float(np.tanh(g.std() / 60.0))
        return round(0.6 * sharp + 0.4 * contrast, 4)
