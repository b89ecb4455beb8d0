"""A Ken Burns camera path per scene; the renderer realises it with sub-pixel warps."""

from __future__ import annotations

import math
import random

from models.base import MotionEngine
from models.subject import Box
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

    def plan(self, seed: int, subject: Box | None = None, faces: tuple[Box, ...] = ()) -> CameraPath:
        zoom_in = seed % 2 == 0  # alternate in and out so consecutive scenes feel different
        if subject is not None:
            return camera_towards(subject, faces, self.zoom, self.min_zoom, self.drift, zoom_in)
        rng = random.Random(seed)
        z0, z1 = (self.min_zoom, self.zoom) if zoom_in else (self.zoom, self.min_zoom)
        dx, dy = rng.uniform(-self.drift, self.drift), rng.uniform(-self.drift, self.drift)
        return CameraPath(z0, z1, (0.5 - dx / 2, 0.5 - dy / 2), (0.5 + dx / 2, 0.5 + dy / 2))


def camera_towards(subject: Box, faces: tuple[Box, ...], zoom: float, min_zoom: float, drift: float,
                   zoom_in: bool) -> CameraPath:
    """A Ken Burns path over a prepared still that ends on the subject and comes from the side away from it
    (it moves towards the subject, never away); the tightest view still holds every face whole."""
    if faces:
        fx0 = min(f[0] for f in faces)
        fy0 = min(f[1] for f in faces)
        fx1 = max(f[0] + f[2] for f in faces)
        fy1 = max(f[1] + f[3] for f in faces)
        room = 1 / max(fx1 - fx0, fy1 - fy0, 1e-3) / 1.15  # the view must be 15 % larger than the faces
        zoom = max(min(zoom, room), 1.0)
        min_zoom = min(min_zoom, zoom)
    cx, cy = subject[0] + subject[2] / 2, subject[1] + subject[3] / 2
    end = _clamped((cx, cy), zoom)
    if _clamped((cx, cy), min_zoom) != end:  # pulling back would slide the view off a subject near the edge
        zoom_in = True
    dx, dy = 0.5 - end[0], 0.5 - end[1]
    norm = math.hypot(dx, dy)
    step = (dx / norm * drift, dy / norm * drift) if norm > 1e-3 else (0.0, drift)  # centred subject: a slow tilt
    far = (end[0] + step[0], end[1] + step[1])
    if zoom_in:  # wide, off the subject → close, on it
        return CameraPath(min_zoom, zoom, _clamped(far, min_zoom), end)
    # close on the subject → wide: stay on it (pulling back never pans off the face)
    return CameraPath(zoom, min_zoom, end, _clamped(end, min_zoom))


def _clamped(c: tuple[float, float], zoom: float) -> tuple[float, float]:
    half = 0.5 / zoom
    return round(min(max(c[0], half), 1 - half), 4), round(min(max(c[1], half), 1 - half), 4)
