"""Where a typographic card's words may go: the platform's safe zone without the caption band, mapped from the frame
onto the still the camera moves over.

A still is prepared ``frames.SOURCE_SCALE`` larger than the frame and the Ken Burns camera shows a window of it
(zoom up to that scale, centre drifting a little). A point ``s`` of the still (a fraction) appears in the frame at
``0.5 + (s - cx) * zoom``; the area returned keeps every point inside the frame's free area for every zoom up to
the largest and every centre within the drift.
"""

from __future__ import annotations

from pipelines import captions, frames
from pipelines.types import Platform, Template

__all__ = ["text_area"]

CAMERA_DRIFT = 0.02  # how far the camera's centre moves from the still's centre (KenBurns' drift / 2)
PAD = 0.02  # of the frame's height, between the words and the captions or the safe zone's edge
CAPTION_BAND = 1.6  # caption line heights kept clear (a popping word grows; libass's box is the size tall)


def _frame_area(platform: Platform, template: Template) -> tuple[float, float, float, float]:
    """The free part of the frame (pixels): the safe zone less the caption band and a pad around each."""
    template = captions.for_frame(template, platform)
    left, top, right, bottom = captions.safe_box(platform)
    h, fs = platform.height, template.font_size
    pad, side = PAD * h, 0.03 * platform.width
    line_bottom = h - captions.caption_margin_v(platform, template)
    band = (line_bottom - CAPTION_BAND * fs, line_bottom + 0.3 * fs)
    above = (top + pad, band[0] - pad)
    below = (band[1] + pad, bottom - pad)
    y0, y1 = max(above, below, key=lambda r: r[1] - r[0])  # bottom captions: above; middle: the larger side
    return left + side, y0, right - side, y1


def text_area(platform: Platform, template: Template) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1), fractions of the still, that stay inside the frame's free area however the camera moves."""
    x0, y0, x1, y1 = _frame_area(platform, template)
    w, h, z = platform.width, platform.height, frames.SOURCE_SCALE

    def lo(f: float) -> float:
        return round(0.5 + CAMERA_DRIFT + (f - 0.5) / z, 4)

    def hi(f: float) -> float:
        return round(0.5 - CAMERA_DRIFT + (f - 0.5) / z, 4)

    return lo(x0 / w), lo(y0 / h), hi(x1 / w), hi(y1 / h)
