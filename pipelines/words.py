"""Display words: the creator's own tokens, timed by the engine's word events.

The speech engine reports where each spoken word starts (in characters of the
text it was given); captions must show the text as written, punctuation and
odd characters included, so the two are joined here.
"""

from __future__ import annotations

import re
import unicodedata

from models.types import Word

_TOKEN = re.compile(r"\S+")


def is_cjk(ch: str) -> bool:
    """True for characters written without spaces between words (Han, kana, Hangul)."""
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def display_words(text: str, spoken: tuple[Word, ...], speech_end: float) -> tuple[Word, ...]:
    """Time every whitespace token of ``text`` (CJK runs split per spoken unit)."""
    if not spoken:
        return ()
    timed = sorted((w for w in spoken if w.char_start >= 0), key=lambda w: w.char_start)
    pieces: list[tuple[str, int]] = []  # (token, char start)
    for m in _TOKEN.finditer(text):
        token, start = m.group(), m.start()
        cuts = [w.char_start for w in timed if start < w.char_start < m.end()] if any(map(is_cjk, token)) else []
        bounds = [start, *cuts, m.end()]
        pieces.extend((text[a:b], a) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip())
    out: list[list] = []
    for token, start in pieces:
        # the first spoken word that begins inside this token, else the last one before it
        inside = [w for w in timed if start <= w.char_start < start + len(token)]
        before = [w for w in timed if w.char_start < start]
        if inside:
            t = inside[0].start
        elif before:
            t = before[-1].start
        else:
            t = timed[0].start
        if out and t <= out[-1][1]:
            if not inside:  # punctuation or a symbol the engine did not speak: join the previous word
                out[-1][0] += " " + token
                continue
            t = out[-1][1] + 0.01
        out.append([token, t])
    words = []
    for i, (token, start) in enumerate(out):
        end = out[i + 1][1] if i + 1 < len(out) else max(speech_end, start + 0.05)
        words.append(Word(token, round(start, 3), round(end, 3)))
    return tuple(words)
