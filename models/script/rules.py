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
from models.script.keywords import hashtag, key_phrases, kind_of
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
        "cta": {  # spoken last, chosen by the kind of topic (models.script.keywords.kind_of)
            "list": ["Pick one, and start tomorrow.", "Save this list, and try one this week.",
                     "Which one will you try first?"],
            "howto": ["Save this for the next time you need it.", "Try it once, and you will remember it."],
            "question": ["Now you know. Tell someone who wondered too.", "So now you know. Did that surprise you?"],
            "story": ["Has this happened to you?", "That is what I learned. What would you have done?"],
            "general": ["Follow for more, and save this for later.", "Share this with someone who needs it."],
        },
        "caption": "{Topic}",
        "prompt": "{topic}, scene {n}, vertical, cinematic, vibrant",
    },
    "es": {
        "hook": ["{Topic}. Esto es lo que de verdad funciona.", "Deja de deslizar: {topic}."],
        "item": "Número {n}.",
        "body": [
            "Empieza poco a poco, y hazlo cada día.",
            "Escríbelo, para no tener que recordarlo.",
            "Que sea tan sencillo que no puedas saltártelo.",
            "Antes de mirar el móvil, ponte con ello.",
            "Dale diez minutos, no una hora.",
            "Apúntalo durante una semana y mira qué cambia.",
        ],
        "cta": {
            "list": ["Elige uno, y empieza mañana.", "Guarda esta lista, y prueba uno esta semana.",
                     "¿Cuál vas a probar primero?"],
            "howto": ["Guárdalo para la próxima vez que lo necesites.", "Pruébalo una vez, y no lo olvidarás."],
            "question": ["Ahora ya lo sabes. Cuéntaselo a quien se lo preguntaba.", "Ahora lo sabes. ¿Te sorprendió?"],
            "story": ["¿Te ha pasado a ti?", "Eso fue lo que aprendí. ¿Qué habrías hecho tú?"],
            "general": ["Sígueme para más, y guárdalo para luego.", "Compártelo con quien lo necesite."],
        },
        "caption": "{Topic}",
        "prompt": "{topic}, escena {n}, vertical, cinematográfico",
    },
}


class RuleScriptWriter(ScriptEngine):
    engine = "rules"

    @property
    def settings(self) -> dict:
        return {"version": 2, "languages": sorted(_PHRASES)}

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
        # its own generator: the scenes drawn below stay what they were for a seed before the sign-off varied
        cta = random.Random(f"{seed}:{topic}:cta").choice(phrases["cta"][kind_of(topic_clean, language)])
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
        spoken = [(fill["Topic"], 3.0), (hook, 1.5), *((s.text, 1.0) for s in scenes[1:] if s.text != cta)]
        hashtags = tuple(hashtag(p) for p in key_phrases(spoken, language, limit=5))
        return Script(
            hook=hook,
            scenes=tuple(scenes),
            call_to_action=cta,
            title=fill["Topic"],
            caption=phrases["caption"].format(**fill) + ("?" if topic.rstrip().endswith("?") else "."),
            hashtags=hashtags,
        )


def _count(text: str) -> int:
    return len(text.split())
