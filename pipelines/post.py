"""The text a short is posted with: a title, a caption and hashtags for each platform, within its limits.

``post_document`` is what ``post.json`` holds: the short's own platform at the top level (as it always was) and
every platform under ``platforms``. Hashtags come from the script's key phrases (models.script.keywords), never a
stopword, a number or a one- or two-letter word; the caption's call to action fits the kind of script, or is left
out. Everything is deterministic from the script, the language and the seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from models.script.keywords import hashtag, key_phrases, kind_of, useful_tags
from models.types import Script
from pipelines.types import Platform

__all__ = ["PLATFORM_TAGS", "PostText", "call_to_action", "content_tags", "post_document", "post_for"]

PLATFORM_TAGS = {"reels": ("#reels",), "shorts": ("#shorts",), "tiktok": ("#fyp",)}
# A platform's hashtags_max is a ceiling, not a goal: past a handful, tags read as spam, and YouTube shows only the
# first three above a title. Instagram's ceiling (5) is lower than this, so it is the one that binds there.
MOST_TAGS = 8
WEIGHTS = {"title": 3.0, "hook": 1.5, "scene": 1.0}  # where a phrase is said: the title names the topic

# Tags for the kind of short (a niche tag people browse), by language; none where nothing fits.
KIND_TAGS: dict[str, dict[str, str]] = {
    "en": {"list": "#tips", "howto": "#howto", "story": "#storytime"},
    "es": {"list": "#consejos", "howto": "#tutorial", "story": "#historias"},
}
# The caption's call to action, by kind of script. A list asks which item; a question or a story asks for their
# own experience; a how-to asks to be saved. Languages without sentences here get none (better than English).
CTAS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "list": ("Which one will you try first?", "Which one would you add to the list?",
                 "Which of these do you already do?"),
        "howto": ("Save this for later.", "Save this so it's there when you need it.",
                  "Try it, and tell me how it went."),
        "question": ("What do you think? Tell me in the comments.", "Did you know this already?",
                     "Have you noticed this too?"),
        "story": ("Has this ever happened to you?", "What would you have done?", "Tell me yours in the comments."),
        "general": ("Send this to someone who needs it.", "What's your take?", ""),
    },
    "es": {
        "list": ("¿Cuál vas a probar primero?", "¿Cuál añadirías a la lista?", "¿Cuáles de estos ya haces?"),
        "howto": ("Guárdalo para luego.", "Guárdalo para tenerlo cuando lo necesites.",
                  "Pruébalo y cuéntame qué tal te fue."),
        "question": ("¿Tú qué opinas? Cuéntamelo en los comentarios.", "¿Ya lo sabías?", "¿Lo habías notado?"),
        "story": ("¿Te ha pasado alguna vez?", "¿Qué habrías hecho tú?", "Cuéntame la tuya en los comentarios."),
        "general": ("Compártelo con quien lo necesite.", "¿Tú qué opinas?", ""),
    },
}


@dataclass(frozen=True)
class PostText:
    """What one platform's post says. ``caption`` already ends with the hashtags, as the platforms expect."""

    platform: str
    title: str
    caption: str
    hashtags: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"title": self.title, "caption": self.caption, "hashtags": list(self.hashtags)}


def _lang(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def content_tags(script: Script, language: str, limit: int = MOST_TAGS) -> list[str]:
    """The script's own hashtags that survive the filter (a language model's suggestions), then tags from the key
    phrases of its title, hook and spoken scenes; each idea once."""
    texts = [(script.title, WEIGHTS["title"]), (script.hook, WEIGHTS["hook"]),
             *((s.text, WEIGHTS["scene"]) for s in script.scenes if s.text not in (script.hook, script.call_to_action))]
    tags: dict[str, str] = {}
    for tag in useful_tags(script.hashtags, language) + [hashtag(p) for p in key_phrases(texts, language, limit)]:
        tags.setdefault(tag.casefold(), tag)
    return list(tags.values())[:limit]


def call_to_action(script: Script, language: str, seed: int = 0) -> str:
    """A call to action that fits the kind of script (or "" for none): deterministic from the script and seed, and
    never the very sentence the voice already said at the end."""
    choices = CTAS.get(_lang(language))
    if not choices:
        return ""
    kind = kind_of(script.title or script.hook, _lang(language), [s.text for s in script.scenes])
    said = script.call_to_action.strip().casefold()
    options = [c for c in choices[kind] if c.casefold() != said] or [""]
    return random.Random(f"{seed}:{kind}:{script.title}:{script.hook}").choice(options)


def _fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:max(limit, 0)]
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:—-") + "…"


def post_for(script: Script, platform: Platform, *, language: str = "en", seed: int = 0,
             tags: Sequence[str] | None = None, cta: str | None = None) -> PostText:
    """One platform's post: its tags (content, then the kind's tag, then the platform's own, within hashtags_max),
    the caption with a fitting call to action, each within the platform's limits."""
    lang = _lang(language)
    own = list(PLATFORM_TAGS.get(platform.name, ()))
    kind_tag = KIND_TAGS.get(lang, {}).get(kind_of(script.title or script.hook, lang, [s.text for s in script.scenes]))
    extra = [t for t in [kind_tag, *own] if t]
    content = list(tags) if tags is not None else content_tags(script, language)
    room = min(platform.hashtags_max, MOST_TAGS)
    extra = extra[-(room - 1):] if room > 1 else []  # at least one content tag; the platform's own goes last
    content = [t for t in content if t.casefold() not in {e.casefold() for e in extra}][:room - len(extra)]
    picked = (*content, *extra)
    while picked and len(" ".join(picked)) > platform.caption_max_chars // 2:  # a tiny limit: words before tags
        picked = picked[:-1]

    cta = call_to_action(script, language, seed) if cta is None else cta
    body = (script.caption or script.hook).strip()
    asks = body.endswith("?") and body.rstrip("?").strip() not in (script.title.rstrip("?"), script.hook.rstrip("?"))
    if cta and not asks and cta.casefold() not in body.casefold():  # a caption that already asks keeps its own
        body = f"{body} {cta}"
    tag_line = " ".join(picked)
    room_chars = platform.caption_max_chars - (len(tag_line) + 2 if tag_line else 0)
    caption = "\n\n".join(p for p in (_fit(body, room_chars), tag_line) if p)
    title = _fit((script.title or script.hook).strip(), platform.title_max_chars)
    return PostText(platform.name, title, caption, picked)


def post_document(script: Script, platform: Platform, platforms: Sequence[Platform] = (), *, language: str = "en",
                  seed: int = 0) -> dict:
    """What ``post.json`` holds: ``title``, ``caption``, ``hashtags`` for ``platform`` (the short's own) at the top
    level, and ``platforms``: the same three for each platform in ``platforms`` (the short's own always included)."""
    tags = content_tags(script, language)
    cta = call_to_action(script, language, seed)
    every = {p.name: p for p in [platform, *platforms]}
    posts = {name: post_for(script, p, language=language, seed=seed, tags=tags, cta=cta) for name, p in every.items()}
    return {**posts[platform.name].to_dict(), "platforms": {n: p.to_dict() for n, p in posts.items()}}

