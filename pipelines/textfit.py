"""Measure caption text conservatively so it can be laid out inside the safe zone.

libass picks a fallback font per glyph through fontconfig; PIL cannot, so each
character is measured in every candidate font that has it, and the widest
advance is used. Joined scripts (Arabic) are measured in isolated forms, which
are wider than joined ones, so the estimate errs on the safe side.
"""

from __future__ import annotations

import functools
import subprocess

from PIL import ImageFont

FALLBACK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari", "Symbola")


@functools.lru_cache(maxsize=32)
def font_file(family: str, bold: bool = True) -> str | None:
    pattern = f"{family}:bold" if bold else family
    try:
        proc = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None


@functools.lru_cache(maxsize=64)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, 100)


@functools.lru_cache(maxsize=64)
def _coverage(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


@functools.lru_cache(maxsize=64)
def em_per_size(path: str) -> float:
    """How large the font's em is for an ASS font size of 1. libass, like GDI, sets the size as the font's
    Windows ascent + descent (OS/2 usWinAscent + usWinDescent), not its em: Noto Sans's em is 1/1.362 of the
    size, so measuring at the size itself overstates widths by a third."""
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=0, lazy=True) as font:
        upm = font["head"].unitsPerEm
        os2 = font["OS/2"] if "OS/2" in font else None
        height = (os2.usWinAscent + os2.usWinDescent) if os2 is not None else 0
        if height <= 0:
            hhea = font["hhea"]
            height = hhea.ascent - hhea.descent
    return upm / height if height > 0 else 1.0


@functools.lru_cache(maxsize=8192)
def _advance(ch: str, families: tuple[str, ...]) -> float:
    """Width of ``ch`` at ASS size 100 as libass draws it: the widest among the candidate fonts that have it."""
    paths = [p for p in dict.fromkeys(font_file(f) for f in families) if p]
    having = [p for p in paths if ord(ch) in _coverage(p)]
    widths = [_font(p).getlength(ch) * em_per_size(p) for p in (having or paths)]
    return max(widths) if widths else 60.0


def text_width(text: str, size: float, family: str, outline: float = 0.0) -> float:
    families = (family, *FALLBACK_FAMILIES)
    return sum(_advance(ch, families) for ch in text) * size / 100.0 + 2 * outline
