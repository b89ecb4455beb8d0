"""Turning the creator's words, or a topic, into scenes that fit the requested length."""

from __future__ import annotations

import re
import unicodedata

from models.errors import InvalidRequest
from models.script.keywords import hashtag, key_phrases
from models.types import Script, ScriptScene

MAX_TOPIC_CHARS = 300
MAX_SCRIPT_CHARS = 6000
MAX_SCENE_WORDS = 28
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")


def clean_text(text: str, what: str, limit: int, keep_lines: bool = False) -> str:
    """Drop control characters, refuse empty or oversized text. Line breaks survive only with ``keep_lines``."""
    lines = text.splitlines() if keep_lines else [text]
    lines = ["".join(" " if unicodedata.category(c)[0] == "C" and c not in "\u200d\u200c" else c for c in line)
             for line in lines]
    text = "\n".join(" ".join(line.split()) for line in lines if line.strip())
    if not text:
        raise InvalidRequest(f"The {what} is empty.", f"Type a {what}.")
    if len(text) > limit:
        raise InvalidRequest(f"The {what} is {len(text):,} characters; the limit is {limit:,}.",
                             f"Shorten the {what}." + (" For long pieces, split them into several shorts." if what ==
                                                       "script" else ""))
    return text


def script_from_creator(text: str, title_max: int, language: str = "en") -> Script:
    """The creator's own words, split into scenes of a sentence or two; nothing is rewritten.

    A line break always ends a scene (creators often write one line per scene). Hashtags are the key phrases of
    the words (stopwords of ``language`` left out); the post text adds its own per platform (pipelines.post).
    """
    sentences: list[str] = []
    scenes: list[str] = []
    for line in text.splitlines():
        fresh_line = True
        for sentence in (s.strip() for s in _SENTENCE.findall(line)):
            if not sentence:
                continue
            sentences.append(sentence)
            if scenes and not fresh_line and len(scenes[-1].split()) + len(sentence.split()) <= MAX_SCENE_WORDS // 2:
                scenes[-1] += " " + sentence
            else:
                scenes.append(sentence)
            fresh_line = False
    if not scenes:
        raise InvalidRequest("The script has no words to speak.", "Write at least one sentence.")
    hook = sentences[0]
    hashtags = tuple(hashtag(p) for p in key_phrases([(hook, 1.5), *((s, 1.0) for s in scenes)], language, limit=5))
    return Script(
        hook=hook,
        scenes=tuple(ScriptScene(s, s, 0.0) for s in scenes),
        call_to_action="",
        title=hook[:title_max],
        caption=" ".join(sentences[:2]),
        hashtags=hashtags,
    )

