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


def _norm(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def _split_cjk(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if not any(map(is_cjk, token)):
            out.append(token)
            continue
        for ch in token:
            if out and not _norm(ch) and out[-1] and any(map(is_cjk, out[-1])):
                out[-1] += ch  # punctuation stays with the character before it
            else:
                out.append(ch)
    return out


def align_heard(text: str, heard: tuple[Word, ...], speech_end: float) -> tuple[Word, ...]:
    """Time the script's own tokens from what a recogniser heard (words may differ or be missing).

    Matching tokens take the heard times, and so do misheard ones heard one for one in their place; the rest
    are spread between their matched neighbours in proportion to their length. The result is monotone and inside [0, speech_end].
    """
    tokens = _split_cjk(_TOKEN.findall(text))
    pieces: list[Word] = []
    for w in heard:  # recognisers return CJK as multi-character words: split them the same way
        chars = _split_cjk([w.text])
        span = (w.end - w.start) / max(len(chars), 1)
        pieces.extend(Word(c, w.start + k * span, w.start + (k + 1) * span) for k, c in enumerate(chars))
    starts: list[float | None] = [None] * len(tokens)
    if pieces:
        import difflib

        matcher = difflib.SequenceMatcher(None, [_norm(t) for t in tokens], [_norm(p.text) for p in pieces],
                                          autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            # equal runs take the heard times; so does a run of misheard words ("Write" heard as "right")
            # when as many words were heard in its place
            if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
                for k in range(a1 - a0):
                    starts[a0 + k] = pieces[b0 + k].start
    begin = pieces[0].start if pieces else 0.0
    anchors = [(-1, begin)] + [(i, s) for i, s in enumerate(starts) if s is not None] + [(len(tokens), speech_end)]
    for (i0, t0), (i1, t1) in zip(anchors, anchors[1:]):
        gap = tokens[max(i0, 0):i1] if i0 >= 0 else tokens[:i1]
        weights = [max(len(t), 1) for t in gap]
        total = sum(weights) or 1
        t = t0
        first = i0 + 1 if i0 >= 0 else 0
        if i0 >= 0:  # the anchor token itself keeps its time; spread the ones after it
            t += (t1 - t0) * weights[0] / total
            gap, weights = gap[1:], weights[1:]
        for k, weight in enumerate(weights):
            idx = first + k
            if starts[idx] is None:
                starts[idx] = t
            t += (t1 - t0) * weight / total
    words: list[Word] = []
    last = -1.0
    for i, token in enumerate(tokens):
        start = min(max(starts[i] or 0.0, last + 0.01, 0.0), speech_end)
        words.append(Word(token, round(start, 3), 0.0))
        last = start
    return tuple(Word(w.text, w.start, round(max(words[i + 1].start if i + 1 < len(words) else speech_end,
                                                 w.start + 0.01), 3)) for i, w in enumerate(words))
