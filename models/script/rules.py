"""The offline script writer: sentence templates filled from the topic.

It is a floor, not a writer: it makes a well-formed script of the right length
so a fresh machine still produces a real short. Real scripts come from an LLM.
"""

from __future__ import annotations

import random
import re
from typing import Any

from models.base import ScriptEngine
from models.errors import InvalidRequest, Remedy
from models.types import Script, ScriptScene

_PHRASES: dict[str, dict[str, Any]] = {
    "en": {
        "hook": ["{Topic}. Here is what actually works.", "Stop scrolling: {topic}.", "Nobody tells you this about {topic}."],
        "item": "Number {n}.",
        "body": [
            "Start small, and do it every single day.",
            "Write it down, so you never have to remember it.",
            "Keep it simple enough that you cannot skip it.",
            "Do it before you check your phone.",
            "Give it ten minutes, not an hour.",
            "Pair it with something you already enjoy.",
            "Track it for one week and watch what changes.",
            "Tell one friend, and let them keep you honest.",
            "Prepare everything you need the night before.",
            "Notice how you feel afterwards, and keep that in mind.",
        ],
        "cta": "Follow for more, and save this for later.",
        "caption": "{Topic} — which one will you try first? Tell me in the comments.",
        "prompt": "{topic}, scene {n}, vertical, cinematic, vibrant",
        "stop": {"the", "a", "an", "and", "or", "that", "my", "your", "to", "of", "for", "in", "on", "with", "is", "are", "how", "what", "why"},
    },
    "es": {
        "hook": ["{Topic}. Esto es lo que de verdad funciona.", "Deja de deslizar: {topic}."],
        "item": "Número {n}.",
        "body": [
            "Empieza poco a poco, y hazlo cada día.",
            "Escríbelo, para no tener que recordarlo.",
            "Hazlo tan sencillo que no puedas saltártelo.",
            "Hazlo antes de mirar el móvil.",
            "Dale diez minutos, no una hora.",
            "Apúntalo durante una semana y mira qué cambia.",
        ],
        "cta": "Sígueme para más, y guárdalo para luego.",
        "caption": "{Topic}: ¿cuál vas a probar primero? Cuéntamelo en los comentarios.",
        "prompt": "{topic}, escena {n}, vertical, cinematográfico",
        "stop": {"el", "la", "los", "las", "un", "una", "y", "o", "que", "mi", "de", "para", "en", "con", "es", "son"},
    },
}


class RuleScriptWriter(ScriptEngine):
    engine = "rules"

    @property
    def settings(self) -> dict:
        return {"version": 1, "languages": sorted(_PHRASES)}

    def write(self, topic: str, *, language: str, target_words: int, seed: int = 0) -> Script:
        phrases = _PHRASES.get(language)
        if phrases is None:
            raise InvalidRequest(
                f"The offline script writer only writes {', '.join(sorted(_PHRASES))}, not {language!r}.",
                "Write the words yourself (any language), or use an LLM profile.", Remedy("set_field", field="script"),
            )
        rng = random.Random(f"{seed}:{topic}")
        topic_clean = " ".join(topic.split()).rstrip(".!?")
        fill = {"topic": topic_clean, "Topic": topic_clean[:1].upper() + topic_clean[1:]}
        hook = rng.choice(phrases["hook"]).format(**fill)
        cta = phrases["cta"]
        if _count(hook) + _count(cta) > target_words:  # a very short short: the topic is the hook, no sign-off
            hook, cta = fill["Topic"] + ".", ""
        budget = max(target_words - _count(hook) - _count(cta), 0)
        listed = re.match(r"\s*(\d{1,2})\b", topic_clean)
        bodies = rng.sample(phrases["body"], len(phrases["body"]))
        scenes = [ScriptScene(hook, phrases["prompt"].format(n=0, **fill), 0.0)]
        n = 0
        while n < len(bodies) and (not listed or n < int(listed.group(1))):
            text = (phrases["item"].format(n=n + 1) + " " if listed else "") + bodies[n]
            if _count(text) > budget:
                break
            budget -= _count(text)
            n += 1
            scenes.append(ScriptScene(text, phrases["prompt"].format(n=n, **fill), 0.0))
        if cta:
            scenes.append(ScriptScene(cta, phrases["prompt"].format(n=n + 1, **fill), 0.0))
        words = [w for w in re.findall(r"\w+", topic_clean.lower()) if w not in phrases["stop"] and not w.isdigit()]
        hashtags = tuple(dict.fromkeys("#" + w for w in words[:5]))
        return Script(
            hook=hook,
            scenes=tuple(scenes),
            call_to_action=cta,
            title=fill["Topic"],
            caption=phrases["caption"].format(**fill),
            hashtags=hashtags,
        )


def _count(text: str) -> int:
    return len(text.split())
