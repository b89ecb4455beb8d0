"""Typographic cards, the offline still: a scene's key phrase set large over the template's palette.

The "faceless channel" look: each scene a bold phrase of its own words on a designed background, the layout chosen
by the scene's seed (stacked words on a gradient, left-aligned under a colour bar, on a colour block, over a split
background; a list item's number as a big badge). Everything the phrase brings (the words, a block or badge behind
them) stays inside the spec's ``text_area``; what does not depend on the words (gradient, shapes, grain) fills the
card, so the camera move has texture to show.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from models.script.keywords import is_tag_worthy, key_phrases
from models.stills import typeset
from models.types import StillSpec

__all__ = ["LAYOUTS", "Phrase", "card_phrase", "layout_for", "render_card"]

LAYOUTS = ("stack", "bar", "block", "split")  # chosen by seed; a list item's number gets "badge"
DEFAULT_AREA = (0.12, 0.3, 0.88, 0.62)  # fractions of the card, when the caller gives none
MAX_WORDS = 4
MAX_CHARS = 24  # a phrase of more characters than this is cut to its best few words
MAX_UNSPACED = 10  # characters of a phrase written without spaces (CJK) shown at most

_NUMBER = re.compile(r"^\s*(?:[^\W\d_]+\s+)?(\d{1,2})\s*[.:)]\s*")  # "Number 2. ", "Tip 3: ", "4) ", "Número 2."
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CLAUSE = re.compile(r"[.!?;:,—–()\[\]\"“”«»…。！？；：，、\n]+")
_DEFAULT_PALETTE = ("#203040", "#a0c0e0", "#402030", "#f0b040")


@dataclass(frozen=True)
class Phrase:
    """What a card says: a list item's number (or None) and its key words, as written."""

    number: str | None
    text: str


def card_phrase(text: str, language: str = "en") -> Phrase:
    """The scene's most meaningful few words (at most four), and the number of a list item ("Number 2. …").

    Within each clause, spans of one to four words that start and end on a content word (one not
    in the language's stopword list; models.script.keywords) compete: each content word counts, each filler word
    inside costs a little, and a span that opens its clause, is a whole clause or comes in the first clause gains,
    because short-form scripts say their point first ("Start small, and …"). Ties go to the earlier span."""
    marker = _NUMBER.match(text)
    number = marker.group(1) if marker else None
    body = text[marker.end():] if marker else text
    clauses = [c.strip() for c in _CLAUSE.split(body) if c.strip()]
    if not clauses:
        return Phrase(number, "")
    if typeset.unspaced(body):
        return Phrase(number, _unspaced_phrase(clauses, language))
    best, best_score = "", float("-inf")
    for k, clause in enumerate(clauses):
        tokens = _TOKEN.findall(clause)
        worthy = [is_tag_worthy(t, language) for t in tokens]
        for i in range(len(tokens)):
            for j in range(i + 1, min(i + MAX_WORDS, len(tokens)) + 1):
                span = tokens[i:j]
                chars = len(" ".join(span))
                if chars > MAX_CHARS or not any(worthy[i:j]):
                    continue
                if not (worthy[i] or i == 0) or not (worthy[j - 1] or j == len(tokens)):
                    continue
                score = (sum(worthy[i:j]) - 0.25 * (j - i - sum(worthy[i:j])) + 0.75 * (i == 0)
                         + 0.6 * (i == 0 and j == len(tokens)) + 0.25 * (k == 0))
                if score > best_score + 1e-9:
                    best, best_score = " ".join(span), score
    if not best:  # only filler words: the opening words of the first clause
        best = " ".join(_TOKEN.findall(clauses[0])[:MAX_WORDS])
    return Phrase(number, best)


def _unspaced_phrase(clauses: list[str], language: str) -> str:
    """A phrase of a script without spaces: the first clause when short, else its best key words."""
    first = "".join(_TOKEN.findall(clauses[0]))
    if len(first) <= MAX_UNSPACED:
        return first
    found = ["".join(p) for p in key_phrases([(clauses[0], 1.0)], language, limit=2, min_score=0.0)]
    spans = [(first.find(w), first.find(w) + len(w)) for w in found if w in first]
    if not spans:
        return first[:MAX_UNSPACED]
    both = (min(a for a, _ in spans), max(b for _, b in spans))  # the key words and what joins them (早起きの習慣)
    start, end = both if both[1] - both[0] <= MAX_UNSPACED else spans[0]
    return first[start:end][:MAX_UNSPACED]


def layout_for(seed: int, phrase: Phrase) -> str:
    return "badge" if phrase.number else LAYOUTS[seed % len(LAYOUTS)]


# --- colour helpers ---------------------------------------------------------------------------------------------

def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i: i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def _luma(c: np.ndarray) -> float:
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255


def _tuple(c: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in np.clip(c, 0, 255))
    return r, g, b


def _ink(bg: np.ndarray) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Text colour and outline colour that stand out on ``bg``: white on dark, near black on light."""
    return ((255, 255, 255), (12, 12, 20)) if _luma(bg) < 0.55 else ((16, 16, 24), (255, 255, 255))


@dataclass(frozen=True)
class _Colours:
    dark: np.ndarray  # the deep background
    mid: np.ndarray  # a second background colour, darkened
    accent: np.ndarray  # the brightest, most saturated colour: bars, blocks, badges
    accent2: np.ndarray


def _colours(palette: tuple[str, ...], rng: random.Random) -> _Colours:
    cols = [_rgb(c) for c in (palette or _DEFAULT_PALETTE)]
    rng.shuffle(cols)
    by_luma = sorted(cols, key=_luma)
    dark = by_luma[0] * (0.55 if _luma(by_luma[0]) > 0.2 else 1.0)
    sat = sorted(cols, key=lambda c: -(float(c.max() - c.min()) + 60 * _luma(c)))
    accent = sat[0]
    accent2 = sat[1 % len(sat)]
    mid = cols[1 % len(cols)] * 0.5
    return _Colours(dark, mid, accent, accent2)


# --- the card ----------------------------------------------------------------------------------------------------

def render_card(spec: StillSpec, layout: str | None = None) -> Image.Image:
    """The card for ``spec`` (its own layout, or ``layout`` to compare one layout with and without words)."""
    phrase = card_phrase(spec.text, spec.language or "en") if spec.text.strip() else Phrase(None, "")
    layout = layout or layout_for(spec.seed, phrase)
    w, h = spec.width, spec.height
    rng = random.Random(spec.seed)  # the background: never depends on the words
    colours = _colours(spec.palette, rng)
    img = _background(layout, colours, w, h, rng)
    ax0, ay0, ax1, ay1 = spec.text_area or DEFAULT_AREA
    area = (round(ax0 * w), round(ay0 * h), round(ax1 * w), round(ay1 * h))
    if phrase.text or phrase.number:
        draw = ImageDraw.Draw(img)
        _TEXT[layout](draw, img, phrase, area, colours, spec, random.Random(spec.seed + 1))
    out = np.asarray(img, dtype=np.float32)
    grain = np.random.default_rng(spec.seed).normal(0, 5, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(out + grain, 0, 255).astype(np.uint8))


def _gradient(a: np.ndarray, b: np.ndarray, w: int, h: int, angle: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.cos(angle) * xx / w + np.sin(angle) * yy / h
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return a * (1 - t[..., None]) + b * t[..., None]


def _background(layout: str, c: _Colours, w: int, h: int, rng: random.Random) -> Image.Image:
    angle = rng.uniform(0.3, 1.3)
    if layout == "block":  # a deep field for a bright block
        base = _gradient(c.mid, c.accent2 * 0.45, w, h, angle)
    elif layout == "split":  # two fields meeting on a diagonal
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cut = (yy / h) > 0.42 + rng.uniform(-0.08, 0.08) + (xx / w - 0.5) * rng.uniform(-0.35, 0.35)
        base = np.where(cut[..., None], c.mid * 0.9 + 10, c.dark)
    else:
        base = _gradient(c.dark, c.mid, w, h, angle)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    # soft shapes of the accent colours, faint: texture for the camera, never competing with the words
    shapes = Image.new("L", (w // 4, h // 4), 0)
    colour_layer = Image.new("RGB", (w // 4, h // 4), _tuple(c.accent))
    draw = ImageDraw.Draw(shapes)
    if layout == "bar":  # diagonal stripes
        step = rng.uniform(0.05, 0.09) * w / 4
        for k in range(-40, 40):
            x = k * step * 2
            draw.polygon([(x, 0), (x + step, 0), (x + step - h / 4, h / 4), (x - h / 4, h / 4)], fill=26)
    else:  # rings and discs
        for _ in range(rng.randint(2, 4)):
            r = rng.uniform(0.15, 0.4) * w / 4
            cx, cy = rng.uniform(0, w / 4), rng.choice([rng.uniform(0, h / 12), rng.uniform(h * 0.75 / 4, h / 4)])
            if rng.random() < 0.5:
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=70)
            else:
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=110, width=max(2, round(w / 300)))
        shapes = shapes.filter(ImageFilter.GaussianBlur(w / 400))
    shapes = shapes.resize((w, h), Image.Resampling.BICUBIC)
    img.paste(colour_layer.resize((w, h)), (0, 0), shapes)
    return img


def _font(phrase: Phrase, spec: StillSpec) -> tuple[str, int] | None:
    return typeset.font_for(phrase.text + (phrase.number or ""), spec.language)


def _cased(text: str) -> str:
    return text.upper() if text.lower() != text.upper() else text  # capitals where the script has them


def _draw_fitted(draw: ImageDraw.ImageDraw, fitted: typeset.Fitted, font_ref, x: int, y: int, fill, stroke_fill,
                 align: str, block_w: int) -> None:
    font = typeset.load(font_ref, fitted.size)
    for line, box, (ox, oy) in zip(fitted.lines, fitted.boxes, fitted.origins):
        lw = box[2] - box[0]
        dx = (block_w - lw) // 2 if align == "center" else 0
        draw.text((x + ox + dx, y + oy), line, font=font, fill=fill, anchor="la", stroke_width=fitted.stroke,
                  stroke_fill=stroke_fill)


def _stack(draw, img, phrase: Phrase, area, c: _Colours, spec: StillSpec, rng: random.Random) -> None:
    """Centred words, one a line, white on the gradient with a dark outline."""
    x0, y0, x1, y1 = area
    ref = _font(phrase, spec)
    text = _cased(phrase.text)
    fitted = typeset.fit(text, ref, x1 - x0, y1 - y0, max_size=round(spec.height * 0.15),
                         one_per_line=len(text.split()) <= 3, stroke_share=0.05)
    x = x0 + (x1 - x0 - fitted.width) // 2
    y = y0 + (y1 - y0 - fitted.height) // 2
    _draw_fitted(draw, fitted, ref, x, y, (255, 255, 255), (8, 8, 16), "center", fitted.width)


def _bar(draw, img, phrase: Phrase, area, c: _Colours, spec: StillSpec, rng: random.Random) -> None:
    """Left-aligned, under a short rule, beside a thick accent bar."""
    x0, y0, x1, y1 = area
    bar = max(6, round((x1 - x0) * 0.035))
    gap = bar * 2
    ref = _font(phrase, spec)
    rule = max(4, bar // 2)
    fitted = typeset.fit(phrase.text, ref, x1 - x0 - bar - gap, y1 - y0 - rule * 4, max_size=round(spec.height * 0.12),
                         max_lines=3, stroke_share=0.03)
    y = y0 + (y1 - y0 - fitted.height - rule * 4) // 2
    accent = _tuple(c.accent if _luma(c.accent) > 0.3 else np.array([255.0, 255.0, 255.0]))
    draw.rectangle([x0, y, x0 + bar - 1, y + fitted.height + rule * 4], fill=accent)
    draw.rectangle([x0 + bar + gap, y, x0 + bar + gap + round((x1 - x0) * 0.18), y + rule - 1], fill=accent)
    _draw_fitted(draw, fitted, ref, x0 + bar + gap, y + rule * 4, (255, 255, 255), (8, 8, 16), "left",
                 fitted.width)


def _block(draw, img, phrase: Phrase, area, c: _Colours, spec: StillSpec, rng: random.Random) -> None:
    """Dark words on a bright block (the accent colour, or near white when the accent is dark) on a deep field."""
    x0, y0, x1, y1 = area
    pad = round((x1 - x0) * 0.06)
    ref = _font(phrase, spec)
    fitted = typeset.fit(_cased(phrase.text), ref, x1 - x0 - 2 * pad, y1 - y0 - 2 * pad,
                         max_size=round(spec.height * 0.12), max_lines=3)
    bw, bh = fitted.width + 2 * pad, fitted.height + 2 * pad
    bx = x0 + (x1 - x0 - bw) // 2
    by = y0 + (y1 - y0 - bh) // 2
    block = c.accent if _luma(c.accent) > 0.45 else np.array([245.0, 243.0, 238.0])
    draw.rectangle([bx, by, bx + bw - 1, by + bh - 1], fill=_tuple(block))
    edge = max(4, pad // 4)
    draw.rectangle([bx, by + bh - edge, bx + bw - 1, by + bh - 1], fill=_tuple(c.dark))
    ink, _ = _ink(block)
    _draw_fitted(draw, fitted, ref, bx + pad, by + pad, ink, ink, "center", fitted.width)


def _split(draw, img, phrase: Phrase, area, c: _Colours, spec: StillSpec, rng: random.Random) -> None:
    """Big outlined words across the two fields, the last word in the accent colour."""
    x0, y0, x1, y1 = area
    ref = _font(phrase, spec)
    text = _cased(phrase.text)
    fitted = typeset.fit(text, ref, x1 - x0, y1 - y0, max_size=round(spec.height * 0.14), max_lines=3,
                         stroke_share=0.06)
    x = x0 + (x1 - x0 - fitted.width) // 2
    y = y0 + (y1 - y0 - fitted.height) // 2
    accent = c.accent if _luma(c.accent) > 0.45 else np.array([255.0, 214.0, 0.0])
    font = typeset.load(ref, fitted.size)
    for n, (line, box, (ox, oy)) in enumerate(zip(fitted.lines, fitted.boxes, fitted.origins)):
        dx = (fitted.width - (box[2] - box[0])) // 2
        fill = _tuple(accent) if n == len(fitted.lines) - 1 and len(fitted.lines) > 1 else (255, 255, 255)
        draw.text((x + ox + dx, y + oy), line, font=font, fill=fill, anchor="la", stroke_width=fitted.stroke,
                  stroke_fill=(8, 8, 16))


def _badge(draw, img, phrase: Phrase, area, c: _Colours, spec: StillSpec, rng: random.Random) -> None:
    """A list item: its number big in a disc of the accent colour, the phrase under it."""
    x0, y0, x1, y1 = area
    aw, ah = x1 - x0, y1 - y0
    d = min(round(ah * (0.45 if phrase.text else 0.9)), round(aw * 0.5))
    gap = round(ah * 0.05)
    ref = _font(phrase, spec)
    fitted = typeset.fit(_cased(phrase.text), ref, aw, ah - d - gap, max_size=round(spec.height * 0.11),
                         max_lines=2, stroke_share=0.05) if phrase.text else None
    total = d + (gap + fitted.height if fitted else 0)
    top = y0 + (ah - total) // 2
    cx = x0 + aw // 2
    disc = c.accent if _luma(c.accent) > 0.25 else np.array([255.0, 214.0, 0.0])
    draw.ellipse([cx - d // 2, top, cx - d // 2 + d - 1, top + d - 1], fill=_tuple(disc))
    ink, _ = _ink(disc)
    num = phrase.number or ""
    nf = typeset.fit(num, ref, round(d * 0.62), round(d * 0.62), max_size=d)
    nfont = typeset.load(ref, nf.size)
    (bx0, by0, bx1, by1), (ox, oy) = nf.boxes[0], nf.origins[0]
    draw.text((cx - (bx1 - bx0) // 2 + ox, top + (d - (by1 - by0)) // 2 + oy), num, font=nfont, fill=ink,
              anchor="la")
    if fitted:
        _draw_fitted(draw, fitted, ref, x0 + (aw - fitted.width) // 2, top + d + gap, (255, 255, 255),
                     (8, 8, 16), "center", fitted.width)


_TEXT = {"stack": _stack, "bar": _bar, "block": _block, "split": _split, "badge": _badge}
