"""Framing: where in a photo each scene's crop sits, how the camera moves over it, and where faces land on the
frame (so text can keep off them).

All boxes are (x, y, w, h) as fractions of the picture they are in. A crop always has the frame's aspect; the
first use of a photo is the widest crop that keeps the subject, placed so the subject sits a little above the
middle (captions live low); each later use is a different, tighter or shifted shot whose overlap with the last
use of that photo is at most REUSE_IOU.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.subject import Box, iou
from models.types import CameraPath

WHOLE: Box = (0.0, 0.0, 1.0, 1.0)
SOFT_BELOW = 0.5  # a photo whose shown part is narrower than this share of the frame looks soft
REUSE_IOU = 0.6  # consecutive uses of one photo overlap at most this much (IoU; crops aim 0.02 under it, so
# rounding them to 4 decimals in timeline.json cannot tip them over)
SUBJECT_AT = (0.5, 0.5)  # where the subject's centre goes in the crop, when the photo has room
FACES_AT = (0.5, 0.42)  # faces a little higher: headroom above, the captions' room below
_SCALES = (1.0, 0.72, 0.86, 0.6, 0.5, 0.42)  # crop sizes tried for reuses, as a share of the widest crop's side
_SHIFTS = ((0.0, 0.0), (-0.25, 0.0), (0.25, 0.0), (0.0, -0.2), (0.0, 0.2))  # offsets of the subject, of the crop


def widest(src_w: int, src_h: int, aspect: float) -> tuple[float, float]:
    """The largest crop of ``aspect`` (w/h) that fits the picture, as fractions of its width and height."""
    if src_w / src_h > aspect:
        return aspect * src_h / src_w, 1.0
    return 1.0, src_w / aspect / src_h


def place(size: tuple[float, float], at: tuple[float, float], target: tuple[float, float] = SUBJECT_AT) -> Box:
    """A crop of ``size`` with the point ``at`` as near ``target`` inside it as the picture allows."""
    w, h = size
    x = min(max(at[0] - target[0] * w, 0.0), 1.0 - w)
    y = min(max(at[1] - target[1] * h, 0.0), 1.0 - h)
    return x, y, w, h


def contains(outer: Box, inner: Box, slack: float = 0.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[0] + inner[2] <= outer[0] + outer[2] + slack
            and inner[1] + inner[3] <= outer[1] + outer[3] + slack)


def crops(subject: Box, faces: tuple[Box, ...], src_w: int, src_h: int, frame_w: int, frame_h: int,
          uses: int) -> list[Box | None]:
    """A crop for each use of one photo (None: the photo whole over a blurred fill of itself). The first use is the
    widest crop around the subject, or the whole photo when a crop would keep too little of it (a landscape photo
    in 9:16) unless it holds every face whole and sharp enough (SOFT_BELOW). Each next use is a different shot that
    overlaps the one before by IoU ≤ REUSE_IOU, keeps every face whole when it can, and repeats no earlier shot
    while others are left."""
    from pipelines.frames import needs_fill

    base = widest(src_w, src_h, frame_w / frame_h)
    centre = (subject[0] + subject[2] / 2, subject[1] + subject[3] / 2)
    must = faces or ()
    at = FACES_AT if must else SUBJECT_AT
    # a crop that keeps little of the photo is taken only around faces it holds whole, sharp enough; a salient
    # region is a guess, so such a photo is shown whole over a blurred fill of itself
    fits = bool(must) and subject[2] <= base[0] and subject[3] <= base[1] and base[0] * src_w >= SOFT_BELOW * frame_w
    whole = needs_fill(src_w, src_h, frame_w, frame_h) and not fits
    out: list[Box | None] = [None if whole else place(base, centre, at)]
    candidates: list[Box | None] = [
        place((base[0] * s, base[1] * s), (centre[0] - dx * base[0] * s, centre[1] - dy * base[1] * s), at)
        for s in _SCALES for dx, dy in _SHIFTS]
    if whole:
        candidates.append(None)
    while len(out) < uses:
        last = _box(out[-1])

        def rank(c: Box | None, last: Box = last) -> tuple:
            b = _box(c)
            keeps_faces = all(contains(b, f, 0.002) for f in must)
            keeps = iou(b, subject) if not must else 1.0
            seen = any(_same(b, _box(o)) for o in out)
            return (iou(b, last) <= REUSE_IOU - 0.02, keeps_faces, not seen, round(keeps, 1), b[2],
                    -max(iou(b, _box(o)) for o in out))

        out.append(max(candidates, key=rank))
    return out


def _box(c: Box | None) -> Box:
    return WHOLE if c is None else c


def _same(a: Box, b: Box) -> bool:
    return all(abs(p - q) < 1e-3 for p, q in zip(a, b))


def inside(crop: Box, box: Box) -> Box:
    """``box`` (fractions of the picture) as fractions of ``crop``."""
    return ((box[0] - crop[0]) / crop[2], (box[1] - crop[1]) / crop[3], box[2] / crop[2], box[3] / crop[3])


@dataclass(frozen=True)
class Keepout:
    """Where a scene's faces are on the frame at some point of its camera move (fractions of the frame)."""

    boxes: tuple[Box, ...]


def faces_on_frame(faces: tuple[Box, ...], camera: CameraPath | None) -> Keepout:
    """Every place a face in the prepared still appears on the frame while the camera moves (start, middle, end)."""
    from pipelines.frames import STILL, camera_at

    path = camera or STILL
    out = []
    for face in faces:
        xs0, ys0, xs1, ys1 = [], [], [], []
        for u in (0.0, 0.5, 1.0):
            z, cx, cy = camera_at(path, u)
            xs0.append((face[0] - cx) * z + 0.5)
            ys0.append((face[1] - cy) * z + 0.5)
            xs1.append((face[0] + face[2] - cx) * z + 0.5)
            ys1.append((face[1] + face[3] - cy) * z + 0.5)
        x0, y0, x1, y1 = max(min(xs0), 0.0), max(min(ys0), 0.0), min(max(xs1), 1.0), min(max(ys1), 1.0)
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1 - x0, y1 - y0))
    return Keepout(tuple(out))
