"""Key phrases, hashtags and the kind of a script, shared by the script writers and the post text.

Kept in ``models`` because the script engines make hashtags too and may not import ``pipelines``.
Stopwords come from the stopwords-iso collection (``stopwordsiso``, MIT), one list per ISO 639-1 code.
Everything here is deterministic: the same texts give the same phrases, in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

__all__ = ["KINDS", "hashtag", "is_tag_worthy", "key_phrases", "kind_of", "stopwords", "tag_words", "useful_tags"]

MIN_CHARS = 3  # "#go", "#ok", "#el": a tag needs at least three letters …
MIN_CHARS_UNSPACED = 2  # … except in scripts written without spaces, where most words are two characters (健康, 朝食)
MAX_UNSPACED = 6  # a longer run of Han/kana/Thai is a clause, not a word: no dictionary here to cut it up
MAX_TAG_CHARS = 30
MAX_PHRASE_WORDS = 3
KINDS = ("list", "howto", "question", "story", "general")

_WORD = re.compile(r"[^\W_]+")
_MARKER = re.compile(r"^\s*(?:[^\W\d_]+\s+)?\d{1,2}\s*[.:)]\s*")  # "Number 2. ", "Tip 3: ", "4) "
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_BREAK = re.compile(r"[.!?;:,—–()\[\]\"“”«»…。！？；：，、\n]+")
_CAMEL = re.compile(r"[A-ZÀ-ÖØ-Þ][^A-ZÀ-ÖØ-Þ]*|[^A-ZÀ-ÖØ-Þ]+")
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")

# The kind of a topic, told by its first words (lowercase). A list is also told by a leading number.
_KIND_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "list": ("tips", "ways", "habits", "things", "reasons", "mistakes", "ideas", "hacks", "steps", "rules",
                 "signs", "facts", "secrets", "lessons", "foods", "books", "places", "tricks"),
        "howto": ("how to", "how do", "how you", "guide", "tutorial", "step by step"),
        "question": ("why", "what", "which", "when", "where", "who", "is", "are", "do", "does", "can", "should",
                     "would", "will"),
        "story": ("i", "i'm", "i've", "my", "me", "we", "our"),
    },
    "es": {
        "list": ("consejos", "formas", "hábitos", "cosas", "razones", "errores", "ideas", "trucos", "pasos",
                 "reglas", "señales", "datos", "secretos", "lecciones", "libros", "lugares"),
        "howto": ("cómo", "como", "guía", "tutorial", "paso a paso"),
        "question": ("por qué", "qué", "cuál", "cuándo", "dónde", "quién", "es", "son", "puedes", "debes"),
        "story": ("yo", "mi", "mis", "me", "nosotros", "nuestro", "nuestra"),
    },
}


@lru_cache(maxsize=64)
def stopwords(language: str) -> frozenset[str]:
    """The standard stopword list of a language (``"en"``, ``"es"``, ``"pt-BR"`` …), lowercased; empty when the
    collection has none for it (then only numbers and very short words are refused)."""
    try:
        import stopwordsiso
    except ImportError as exc:  # pinned in requirements.txt; a bare install may lack it
        raise ImportError("Hashtags need the stopword lists: pip install stopwordsiso") from exc
    code = language.replace("_", "-").split("-")[0].lower()
    if not stopwordsiso.has_lang(code):
        return frozenset()
    return frozenset(w.casefold() for w in stopwordsiso.stopwords(code))


def _unspaced(word: str) -> bool:
    return any(unicodedata.name(c, "").startswith(_UNSPACED) for c in word)


def _script_runs(token: str) -> list[str]:
    """A token of a script written without spaces, cut where the script changes (kanji | katakana | hiragana): in
    Japanese that drops the hiragana particles and endings that join nouns into one long run. Chinese has no such
    cue, and there is no dictionary here to cut it with, so a Chinese run stays whole and only a short one (a word
    or a compact phrase) becomes a tag: fewer tags, never a clause."""
    runs: list[str] = []
    last = ""
    for c in token:
        kind = last if c == "ー" else unicodedata.name(c, "").split(" ")[0]  # the long-vowel mark joins its word
        if runs and kind == last:
            runs[-1] += c
        else:
            runs.append(c)
        last = kind
    return [r for r in runs if not unicodedata.name(r[0], "").startswith("HIRAGANA")]


def _cased(word: str) -> bool:
    """Written in a script with capitals, where CamelCase keeps a joined phrase readable."""
    return word.lower() != word.upper()


def is_tag_worthy(word: str, language: str) -> bool:
    """A word may stand as (part of) a hashtag: not a stopword, not a number, not a one- or two-letter word."""
    low = word.casefold()
    if any(c.isdigit() for c in low) or low in stopwords(language):
        return False
    if _unspaced(word):
        return MIN_CHARS_UNSPACED <= len(word) <= MAX_UNSPACED
    return len(word) >= MIN_CHARS and any(c.isalpha() for c in word)


def _tokens(clause: str, language: str) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(clause):
        out.extend(_script_runs(token) if _unspaced(token) else [token])
    return out


def hashtag(phrase: Sequence[str]) -> str:
    """``["morning", "routine"]`` → ``#MorningRoutine``; a single word stays lowercase (``#habits``)."""
    if len(phrase) == 1:
        return "#" + phrase[0].casefold().replace("'", "").replace("’", "")
    return "#" + "".join(w[:1].upper() + w[1:].casefold() for w in phrase).replace("'", "").replace("’", "")


def key_phrases(texts: Iterable[tuple[str, float]], language: str, limit: int = 8,
                min_score: float = 2.0) -> list[tuple[str, ...]]:
    """The script's key phrases, best first: ``texts`` are (text, weight) pairs, e.g. the title weighted above the
    scenes. Worthy words between stopwords and punctuation form runs (RAKE's idea); each window of two or three
    words of a run is a phrase, and each word stands alone too. Each scores the weights of the places it occurs
    in, a phrase a little more, so a phrase said as often as its words wins; ties go to the one said first. One
    said less than ``min_score`` (with weight 1 a place: once in passing) is not what the short is about.
    A list's markers ("Number 2.", "Tip 3:") are structure, not content, and are left out.
    Words of scripts without capitals (Hangul, Arabic …) or without spaces (Han, kana) stand alone only: joined
    they could not be read apart."""
    score: dict[tuple[str, ...], float] = {}
    first: dict[tuple[str, ...], int] = {}
    spelled: dict[tuple[str, ...], tuple[str, ...]] = {}

    def count(words: tuple[str, ...], weight: float) -> None:
        k = tuple(w.casefold() for w in words)
        score[k] = score.get(k, 0.0) + weight + (0.25 if len(k) > 1 else 0.0)
        first.setdefault(k, len(first))
        spelled.setdefault(k, words)

    for text, weight in texts:
        for clause in _BREAK.split(_MARKER.sub("", text)):
            run: list[str] = []
            for token in [*_tokens(clause, language), ""]:  # "" ends the last run
                worthy = bool(token) and is_tag_worthy(token, language)
                if worthy and _cased(token) and not _unspaced(token):
                    run.append(token)
                    continue
                for n in range(2, MAX_PHRASE_WORDS + 1):
                    for i in range(len(run) - n + 1):
                        count(tuple(run[i:i + n]), weight)
                for w in run:
                    count((w,), weight)
                if worthy:
                    count((token,), weight)
                run = []
    chosen: list[tuple[str, ...]] = []
    used: set[str] = set()
    for k in sorted(score, key=lambda k: (-score[k], first[k])):
        if len(chosen) >= limit or score[k] < min_score:
            break
        # one tag per idea: a word already in a chosen tag is not said again (#MorningRoutine, then not #morning)
        if used.intersection(k) or len(hashtag(spelled[k])) > MAX_TAG_CHARS + 1:
            continue
        chosen.append(spelled[k])
        used.update(k)
    return chosen


def tag_words(tag: str) -> list[str]:
    """The words of a hashtag: ``#MorningRoutine`` → ``["Morning", "Routine"]``, ``#hábitos`` → ``["hábitos"]``."""
    body = tag.lstrip("#")
    return [p for p in _CAMEL.findall(body) if p] or [body]


def useful_tags(tags: Iterable[str], language: str) -> list[str]:
    """The hashtags (e.g. a language model's suggestions) worth keeping: a stopword, a number, a very short word,
    or a run of stopwords written in CamelCase (``#TheBest``) is dropped; each tag once, whatever its case."""
    out: dict[str, str] = {}
    for tag in tags:
        body = tag.strip().lstrip("#")
        if not _WORD.fullmatch(body):  # "#self-care", "#a b": a platform would cut the tag short
            continue
        words = tag_words(body)
        if is_tag_worthy(body, language) and (len(words) == 1 or any(is_tag_worthy(w, language) for w in words)):
            out.setdefault(body.casefold(), "#" + body)
    return list(out.values())


def kind_of(title: str, language: str, scenes: Sequence[str] = ()) -> str:
    """What kind of short this is, for its call to action: a ``list`` (tips, "5 habits …"), a ``howto``, a
    ``question``, a first-person ``story``, or ``general``. Told from the title (or topic) and, for lists, from
    scenes that start "Number 2." / "2." as well."""
    words = _KIND_WORDS.get(language.split("-")[0].lower(), _KIND_WORDS["en"])
    text = " ".join(title.casefold().lstrip("¿¡ ").split())
    tokens = _TOKEN.findall(text)
    numbered = sum(1 for s in scenes if _MARKER.match(s))
    if re.match(r"\d{1,2}\b", text) or numbered >= 2 or any(t in words["list"] for t in tokens[:4]):
        return "list"
    if any(text.startswith(p + " ") for p in words["howto"]):
        return "howto"
    if title.rstrip().endswith("?") or title.lstrip().startswith("¿") or (tokens and any(
            text.startswith(p + " ") for p in words["question"])):
        return "question"
    if any(t in words["story"] for t in tokens):
        return "story"
    return "general"
