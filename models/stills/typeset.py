"""Fonts and fitted text for the typographic cards: a bold face that has every character of the phrase (fontconfig
finds it, fontTools checks its coverage), and the largest size at which the phrase, broken into lines, fits a box.

``pipelines.textfit`` does the same for captions, but ``models`` may not import ``pipelines``; this is the small
part the cards need. PIL shapes Arabic and orders right-to-left text through libraqm when it is installed.
"""

from __future__ import annotations

import functools
import subprocess
import unicodedata
from dataclasses import dataclass

from PIL import ImageFont

__all__ = ["Fitted", "covers", "fit", "font_for", "unspaced"]

# Tried in order after the language's own family; the first that has every character of the phrase sets it.
FAMILIES = ("Noto Sans", "Noto Sans CJK SC", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari",
            "Noto Sans Thai", "DejaVu Sans")
_LANGUAGE_FAMILY = {"ja": "Noto Sans CJK JP", "zh": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR",
                    "ar": "Noto Sans Arabic", "fa": "Noto Sans Arabic", "he": "Noto Sans Hebrew",
                    "hi": "Noto Sans Devanagari", "th": "Noto Sans Thai"}
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "HANGUL SYLLABLE")


@functools.lru_cache(maxsize=32)
def _match(family: str) -> tuple[str, int] | None:
    """The file and face index fontconfig gives for the bold ``family`` (None without fontconfig)."""
    try:
        proc = subprocess.run(["fc-match", "-f", "%{file}|%{index}", f"{family}:bold"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path, _, index = proc.stdout.strip().partition("|")
    return (path, int(index or 0)) if path else None


@functools.lru_cache(maxsize=32)
def _coverage(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


def covers(path: str, index: int, text: str) -> bool:
    """The font has a glyph for every visible character of ``text`` (no tofu boxes)."""
    have = _coverage(path, index)
    return all(ord(c) in have for c in text if not c.isspace() and unicodedata.category(c)[0] != "C")


def font_for(text: str, language: str = "") -> tuple[str, int] | None:
    """A bold font (file, face index) that has every character of ``text``: the language's own family first
    (Japanese kanji drawn as Japanese), then the usual Noto families; None when fontconfig finds none."""
    own = _LANGUAGE_FAMILY.get(language.split("-")[0].lower())
    fallback = None
    for family in dict.fromkeys([*([own] if own else []), *FAMILIES]):
        found = _match(family)
        if found is None:
            continue
        fallback = fallback or found
        if covers(*found, text):
            return found
    return fallback


@functools.lru_cache(maxsize=256)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def load(font: tuple[str, int] | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return _font(font[0], font[1], size) if font else ImageFont.load_default(size)


def unspaced(text: str) -> bool:
    """Written without spaces between words (Han, kana, Thai …): lines may break between any two characters."""
    return any(unicodedata.name(c, "").startswith(_UNSPACED) for c in text)


@dataclass(frozen=True)
class Fitted:
    """A phrase broken into lines at the size that fits: each line's ink box (left, top, right, bottom) relative to
    the block's top-left corner, drawn with anchor ``"la"`` at (left offset, top offset) of that box."""

    lines: tuple[str, ...]
    size: int
    stroke: int
    boxes: tuple[tuple[int, int, int, int], ...]
    origins: tuple[tuple[int, int], ...]  # where to draw each line (anchor "la"), relative to the block
    width: int
    height: int


def _breaks(units: list[str], n: int, joiner: str) -> list[list[str]]:
    """Ways to cut ``units`` into ``n`` lines, most even first (a few candidates, not all of them)."""
    if n == 1:
        return [[joiner.join(units)]]
    if n >= len(units):
        return [list(units)]
    total = sum(len(u) for u in units)
    out: list[list[str]] = []
    for bias in (0.0, -0.15, 0.15):
        lines: list[str] = []
        cur: list[str] = []
        acc = 0
        for i, u in enumerate(units):
            cur.append(u)
            acc += len(u)
            left = len(units) - i - 1
            want = (len(lines) + 1) * total / n * (1 + bias)
            if len(lines) < n - 1 and left >= n - 1 - len(lines) and (acc >= want or left == n - 1 - len(lines)):
                lines.append(joiner.join(cur))
                cur = []
        if cur:
            lines.append(joiner.join(cur))
        if len(lines) == n and lines not in out:
            out.append(lines)
    return out


def _measure(lines: list[str], font, stroke: int, leading: float) -> tuple[list, list, int, int]:
    boxes, origins, y = [], [], 0
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (font.size, 0)
    step = round((ascent + descent) * leading)
    for line in lines:
        x0, y0, x1, y1 = font.getbbox(line, anchor="la", stroke_width=stroke)
        boxes.append((x0, y + y0, x1, y + y1))
        origins.append((0, y))
        y += step
    top = min(b[1] for b in boxes)
    left = min(b[0] for b in boxes)
    boxes = [(b[0] - left, b[1] - top, b[2] - left, b[3] - top) for b in boxes]
    origins = [(o[0] - left, o[1] - top) for o in origins]
    return boxes, origins, max(b[2] for b in boxes), max(b[3] for b in boxes)


def fit(text: str, font: tuple[str, int] | None, width: int, height: int, max_size: int, *,
        max_lines: int = 4, one_per_line: bool = False, leading: float = 0.88, stroke_share: float = 0.0) -> Fitted:
    """The largest size (≤ ``max_size``) at which ``text``, broken into at most ``max_lines`` lines, fits
    ``width`` × ``height`` pixels (ink and outline included). ``one_per_line``: each word on its own line."""
    spaced = not unspaced(text)
    units = text.split() if spaced else [c for c in text if not c.isspace()]
    joiner = " " if spaced else ""
    counts = [len(units)] if one_per_line and spaced else range(1, min(max_lines, len(units)) + 1)
    best: Fitted | None = None
    for n in counts:
        for lines in _breaks(units, n, joiner):
            lo, hi = 8, max_size
            probe = load(font, 100)
            stroke = round(100 * stroke_share)
            boxes, _, w, h = _measure(lines, probe, stroke, leading)
            # sizes scale almost linearly: start from the estimate, then step down until it really fits
            size = min(hi, int(100 * min(width / max(w, 1), height / max(h, 1))))
            while size >= lo:
                f = load(font, size)
                stroke = round(size * stroke_share)
                boxes, origins, w, h = _measure(lines, f, stroke, leading)
                if w <= width and h <= height:
                    break
                size = int(size * 0.96)
            if size < lo or (best is not None and size <= best.size):
                continue
            best = Fitted(tuple(lines), size, stroke, tuple(boxes), tuple(origins), w, h)
    if best is None:  # nothing fits even at the smallest size: the smallest, one line (the caller clips to its box)
        f = load(font, 8)
        boxes, origins, w, h = _measure([joiner.join(units)], f, 0, leading)
        best = Fitted((joiner.join(units),), 8, 0, tuple(boxes), tuple(origins), w, h)
    return best
