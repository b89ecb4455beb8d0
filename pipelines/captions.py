"""Captions: group timed words into short cues; write ASS (burned in through libass), SRT and VTT.

Every piece of creator text passes through ``ass_escape`` before it reaches an
ASS file, so braces and backslashes are shown, never interpreted.
"""

from __future__ import annotations

import datetime
import html
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from models.types import Word
from pipelines.textfit import text_width
from pipelines.types import Platform, Template
from pipelines.words import is_cjk

WORD_JOINER = "\u2060"  # invisible; keeps a literal backslash from starting an ASS escape
OUTLINE = 5
CAPTION_POSITIONS = ("bottom", "middle")  # a template's caption_position
CAPTION_ANIMATIONS = ("karaoke", "pop", "none")  # a template's caption_animation (none: static, the "plain" style)
POP_FROM, POP_MS = 70, 120  # a popping cue starts at 70 % of its size and reaches 100 % after 120 ms
DESIGN_HEIGHT = 1920  # templates give sizes in pixels of a frame this tall; shorter frames scale them down
MIN_CAPTION_SIZE = 184  # libass sizes Noto Sans by ascent + descent: capitals are 0.524 of it, 5 % of 1920 from 184
PLATE = "&H50000000"  # a backing plate: black at about 70 % opacity
HOOK_REPEAT = 0.6  # a cue whose words are this much the hook's is not shown while the hook is
HOOK_SCALES = (1.0, 0.85, 0.72)  # the hook may be set this much smaller to keep off a face
HOOK_LONGEST = 6.0  # the hook stays up at most this long, even to cover its own words


@dataclass(frozen=True)
class Cue:
    words: tuple[Word, ...]
    start: float
    end: float
    scale: float = 1.0  # font scale that makes the longest line fit

    @property
    def text(self) -> str:
        return _join(w.text for w in self.words)


def for_frame(template: Template, platform: Platform) -> Template:
    """The template's sizes for this frame: sizes are given for a 1920-pixel-tall frame and scale with the
    height, so a caption is the same share of the frame in every format."""
    k = min(1.0, platform.height / DESIGN_HEIGHT)
    if k == 1.0:
        return template
    return replace(template, font_size=round(template.font_size * k), hook_font_size=round(template.hook_font_size * k))


def shown(text: str, template: Template) -> str:
    """The text as the template draws it (in capitals when it says so)."""
    return text.upper() if template.uppercase else text


def _join(tokens) -> str:
    out = ""
    for t in tokens:
        out += t if out and (is_cjk(out[-1]) and is_cjk(t[0])) else (" " + t if out else t)
    return out


def ass_escape(text: str) -> str:
    """Creator text → ASS dialogue text that libass draws literally."""
    text = " ".join(text.split())  # newlines and tabs become plain spaces
    text = text.replace("\\", "\\" + WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_colour(hex_colour: str, alpha: int = 0) -> str:
    h = hex_colour.lstrip("#")
    return f"&H{alpha:02X}{h[4:6]}{h[2:4]}{h[0:2]}".upper()


def safe_box(platform: Platform) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixel bounds of the safe zone."""
    z, w, h = platform.safe_zone, platform.width, platform.height
    return round(z.left * w), round(z.top * h), round(w * (1 - z.right)), round(h * (1 - z.bottom))


def build_cues(words: tuple[Word, ...], platform: Platform, template: Template, font: str) -> list[Cue]:
    """A few words at a time; a cue never crosses a sentence end and always fits the safe width."""
    left, _, right, _ = safe_box(platform)
    max_w = (right - left) * 0.94
    cues: list[Cue] = []
    group: list[Word] = []

    def flush():
        if group:
            width = text_width(shown(_join(w.text for w in group), template), template.font_size, font, OUTLINE)
            scale = 1.0 if width <= max_w else max_w / width
            cues.append(Cue(tuple(group), group[0].start, group[-1].end, scale))
            group.clear()

    for word in words:
        limit = template.words_per_cue * (3 if is_cjk(word.text[0]) else 1)
        candidate = shown(_join([*(w.text for w in group), word.text]), template)
        if group and (len(group) >= limit or text_width(candidate, template.font_size, font, OUTLINE) > max_w):
            flush()
        group.append(word)
        if word.text[-1:] in ".!?。！？":
            flush()
    flush()
    return cues


def _wrap(text: str, size: float, font: str, max_w: float) -> tuple[list[str], float]:
    """Greedy line wrap for the hook title; returns the lines and a font scale that fits them."""
    lines: list[str] = []
    for token in text.split():
        if lines and text_width(lines[-1] + " " + token, size, font) <= max_w:
            lines[-1] += " " + token
        else:
            lines.append(token)
    widest = max((text_width(line, size, font, OUTLINE) for line in lines), default=1.0)
    return lines, min(1.0, max_w / widest)


def caption_margin_v(platform: Platform, template: Template) -> int:
    """The Caption style's MarginV (bottom-aligned): just above the safe zone's bottom edge, or, for ``middle``,
    the line's centre on the safe zone's centre. libass ignores MarginV for middle alignment (5) and centres on
    the frame instead, which on Reels is 200 px below the safe zone's centre; so both positions align the
    bottom and differ in the margin. A libass line box is the font size tall."""
    _, top, _, bottom = safe_box(platform)
    if template.caption_position == "middle":
        return platform.height - round((top + bottom + template.font_size) / 2)
    return platform.height - bottom + round(0.015 * platform.height)


@dataclass(frozen=True)
class Placement:
    """Where a scene's text goes when its default place would cover a face: the caption line's bottom and the
    hook's top (pixels; None: the style's own place), and whether either needs a backing plate."""

    caption_bottom: int | None = None
    caption_plate: bool = False
    hook_top: int | None = None
    hook_plate: bool = False
    x: int = 0
    hook_scale: float = 1.0  # the hook set smaller to fit between faces and the caption  # the safe zone's centre, where a moved line is centred

    def caption_tags(self) -> tuple[str, str]:
        """(style, override tags) for a caption line."""
        pos = f"{{\\an2\\pos({self.x},{self.caption_bottom})}}" if self.caption_bottom is not None else ""
        return ("CaptionPlate" if self.caption_plate else "Caption"), pos

    def hook_tags(self) -> tuple[str, str]:
        pos = f"{{\\an8\\pos({self.x},{self.hook_top})}}" if self.hook_top is not None else ""
        return ("HookPlate" if self.hook_plate else "Hook"), pos


def hook_lines(hook: str, platform: Platform, template: Template, font: str) -> int:
    left, _, right, _ = safe_box(platform)
    return len(_wrap(shown(" ".join(hook.split()), template), template.hook_font_size, font, (right - left) * 0.94)[0])


def place_text(faces: tuple[tuple[float, float, float, float], ...], platform: Platform, template: Template,
               hook_rows: int = 0, together: bool = True) -> Placement:
    """Caption and hook places that cover no face (boxes as fractions of the frame): the template's own places
    when they are free, else another free part of the safe zone (caption: bottom, middle, or under the hook;
    hook: top, under a face, or the middle, set up to a quarter smaller), else the own place on a backing plate.
    ``together``: captions show while the hook does, so neither may cover the other."""
    left, top, right, bottom = safe_box(platform)
    x = (left + right) // 2
    if not faces and not (hook_rows and together):
        return Placement(x=x)
    h = platform.height
    pad = round(0.015 * h)
    keep = [(f[1] * h - pad, (f[1] + f[3]) * h + pad) for f in faces]  # rows each face covers, with room
    line = round(template.font_size * 1.1)  # a libass line is the size tall (ascent + descent)
    full_block = round(hook_rows * template.hook_font_size * 1.05)
    own_bottom = h - caption_margin_v(platform, template)
    middle_bottom = round((top + bottom + template.font_size) / 2)
    low_bottom = bottom - round(0.015 * h)
    below_faces = [math.ceil(k1) for _, k1 in keep]
    above_faces = [math.floor(k0) for k0, _ in keep]

    def free(a: float, b: float) -> bool:
        return all(b <= k0 or a >= k1 for k0, k1 in keep)

    tries = [(hook_top, scale) for scale in HOOK_SCALES
             for hook_top in dict.fromkeys([top + pad, *below_faces,
                                            round((top + bottom - full_block * scale) / 2)])] if hook_rows else [(None, 1.0)]
    for hook_top, scale in tries:
        block = round(full_block * scale)
        if hook_top is not None and (hook_top + block > bottom or not free(hook_top, hook_top + block)):
            continue
        under_hook = (hook_top if hook_top is not None else top + pad) + block + pad + line
        caption_places = dict.fromkeys([own_bottom, low_bottom, middle_bottom, *above_faces,
                                        *(b + line for b in below_faces), under_hook])
        for cap in caption_places:
            if cap - line < top or cap > bottom + 1 or not free(cap - line, cap):
                continue
            if together and hook_top is not None and not (hook_top + block <= cap - line or hook_top >= cap):
                continue
            return Placement(None if cap == own_bottom else cap, False,
                             None if hook_top in (None, top + pad) else hook_top, False, x, scale)
    return Placement(None, not free(own_bottom - line, own_bottom), None,
                     bool(hook_rows) and not free(top + pad, top + pad + full_block), x)


def ass_header(platform: Platform, template: Template, font: str) -> str:
    left, top, right, _ = safe_box(platform)
    w, h = platform.width, platform.height
    pad = round(0.015 * h)
    base, hi = _ass_colour(template.caption_color), _ass_colour(template.highlight_color)
    outline = _ass_colour(template.outline_color)
    return f"""[Script Info]
ScriptType: v4.00+
PlayResX: {w}
PlayResY: {h}
WrapStyle: 2
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Caption,{font},{template.font_size},{base},{hi},{outline},&H80000000,-1,0,0,0,100,100,0,0,1,{OUTLINE},2,2,{left},{w - right},{caption_margin_v(platform, template)},1
Style: Hook,{font},{template.hook_font_size},{base},{hi},{outline},&H80000000,-1,0,0,0,100,100,0,0,1,{OUTLINE},3,8,{left},{w - right},{top + pad},1
Style: CaptionPlate,{font},{template.font_size},{base},{hi},{PLATE},&H00000000,-1,0,0,0,100,100,0,0,3,{round(template.font_size * 0.12)},0,2,{left},{w - right},{caption_margin_v(platform, template)},1
Style: HookPlate,{font},{template.hook_font_size},{base},{hi},{PLATE},&H00000000,-1,0,0,0,100,100,0,0,3,{round(template.hook_font_size * 0.12)},0,8,{left},{w - right},{top + pad},1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def hook_events(hook: str, start: float, end: float, platform: Platform, template: Template, font: str,
                placement: Placement | None = None) -> list[str]:
    """The hook title at the top of the safe zone (or where ``placement`` moves it) from ``start`` to ``end``
    (seconds; may start before 0)."""
    if not hook.strip():
        return []
    left, _, right, _ = safe_box(platform)
    lines, scale = _wrap(shown(" ".join(hook.split()), template), template.hook_font_size, font, (right - left) * 0.94)
    scale *= (placement or Placement()).hook_scale
    size = f"{{\\fs{template.hook_font_size * scale:.1f}}}" if scale < 1 else ""
    text = size + "\\N".join(ass_escape(line) for line in lines)
    style, pos = (placement or Placement()).hook_tags()
    return [f"Dialogue: 1,{_ts(start)},{_ts(end)},{style},,0,0,0,,{pos}{{\\fad(0,200)}}{text}"]


def cue_events(cues: list[Cue], template: Template, style: str = "karaoke", shift: float = 0.0,
               placement: Placement | None = None) -> list[str]:
    """Caption events, ``shift`` seconds earlier. karaoke highlights the word being spoken; pop shows each cue
    whole in the caption colour, growing in over POP_MS (no highlight: one event per cue, so the cue pops once,
    not once per word); plain shows the cue as is; none shows nothing."""
    if style == "none":
        return []
    base, hi = _ass_colour(template.caption_color), _ass_colour(template.highlight_color)
    name, pos = (placement or Placement()).caption_tags()
    events = []
    for cue in cues:
        size = f"{{\\fs{template.font_size * cue.scale:.1f}}}" if cue.scale < 1 else ""
        if style in ("plain", "pop"):
            text = _join(ass_escape(shown(w.text, template)) for w in cue.words)
            pop = _pop(shift - cue.start) if style == "pop" else ""
            events.append(f"Dialogue: 0,{_ts(cue.start - shift)},{_ts(cue.end - shift)},{name},,0,0,0,,"
                          f"{pos}{pop}{size}{text}")
            continue
        for i, active in enumerate(cue.words):
            end = cue.words[i + 1].start if i + 1 < len(cue.words) else cue.end
            parts = []
            for word in cue.words:
                piece = ass_escape(shown(word.text, template))
                parts.append(f"{{\\c{hi}}}{piece}{{\\c{base}}}" if word is active else piece)
            events.append(f"Dialogue: 0,{_ts(active.start - shift)},{_ts(end - shift)},{name},,0,0,0,,"
                          f"{pos}{size}{_join(parts)}")
    return events


def _pop(late: float) -> str:
    """Scale tags that grow a cue to full size; ``late`` seconds of the pop already passed (a cue carried into a
    later segment) are skipped, so a segment boundary never replays it."""
    done = max(0, round(late * 1000))
    if done >= POP_MS:
        return ""
    start = POP_FROM + (100 - POP_FROM) * done / POP_MS
    return f"{{\\fscx{start:g}\\fscy{start:g}\\t(0,{POP_MS - done},\\fscx100\\fscy100)}}"


def _tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"\w+", text.casefold()) for t in ([*t] if is_cjk(t[0]) else [t])]


def hook_cover(hook: str, cues: list[Cue], hook_end: float) -> tuple[float, frozenset[int]]:
    """While the hook is up, the captions must not say the same words twice: the cues (indices into ``cues``, in
    short time) that mostly repeat the hook are hidden, and the hook stays until they are spoken (at most
    HOOK_LONGEST seconds). Cues with other words show beside it. Returns (hook end, hidden cues)."""
    said = set(_tokens(hook))
    hidden: set[int] = set()
    end = hook_end
    for i, cue in enumerate(cues):
        if cue.start >= end:
            break
        toks = _tokens(cue.text)
        if toks and sum(t in said for t in toks) / len(toks) >= HOOK_REPEAT and cue.end <= HOOK_LONGEST:
            hidden.add(i)
            end = max(end, cue.end)
    return end, frozenset(hidden)


def write_ass(path: Path, header: str, events: list[str]) -> Path:
    path.write_text(header + "\n".join(events) + "\n", encoding="utf-8")
    return path


def shifted(cues: list[Cue], by: float) -> list[Cue]:
    """The same cues ``by`` seconds later (scene time → time in the short)."""
    return [Cue(tuple(Word(w.text, round(w.start + by, 3), round(w.end + by, 3)) for w in c.words),
                round(c.start + by, 3), round(c.end + by, 3), c.scale) for c in cues]


def _ts(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def write_srt(path: Path, cues: list[Cue]) -> Path:
    import srt

    subs = [
        srt.Subtitle(i + 1, datetime.timedelta(seconds=c.start), datetime.timedelta(seconds=c.end), c.text)
        for i, c in enumerate(cues)
    ]
    path.write_text(srt.compose(subs, reindex=False), encoding="utf-8")
    return path


def write_vtt(path: Path, cues: list[Cue]) -> Path:
    from webvtt import Caption, WebVTT

    vtt = WebVTT()
    for c in cues:
        vtt.captions.append(Caption(_vtt_ts(c.start), _vtt_ts(c.end), html.escape(c.text, quote=False)))
    path.write_text(vtt.content, encoding="utf-8")
    return path


def _vtt_ts(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
