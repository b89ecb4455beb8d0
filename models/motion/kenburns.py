"""A Ken Burns camera path per scene; the renderer realises it with sub-pixel warps."""

from __future__ import annotations

import random

from models.base import MotionEngine
from models.types import CameraPath


class KenBurns(MotionEngine):
    engine = "kenburns"

    def __init__(self, zoom: float = 1.16, min_zoom: float = 1.05, drift: float = 0.04) -> None:
        if not 1.0 <= min_zoom < zoom:
            raise ValueError("need 1 <= min_zoom < zoom")
        self.zoom = zoom
        self.min_zoom = min_zoom
        # the window must stay inside the image at the widest framing: never drift past its slack
        self.drift = min(drift, 1 - 1 / min_zoom)

    @property
    def settings(self) -> dict:
        return {"zoom": self.zoom, "min_zoom": self.min_zoom, "drift": self.drift}

    def plan(self, seed: int) -> CameraPath:
        rng = random.Random(seed)
        zoom_in = seed % 2 == 0  # alternate in and out so consecutive scenes feel different
        z0, z1 = (self.min_zoom, self.zoom) if zoom_in else (self.zoom, self.min_zoom)
        dx, dy = rng.uniform(-self.drift, self.drift), rng.uniform(-self.drift, self.drift)
        return CameraPath(z0, z1, (0.5 - dx / 2, 0.5 - dy / 2), (0.5 + dx / 2, 0.5 + dy / 2))
