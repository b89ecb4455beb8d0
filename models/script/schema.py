"""The JSON Schema of a script answer: one definition for every LLM engine.

The ``transformers`` engine decodes against it (a grammar masks every token that would leave it), and the
OpenAI-compatible client sends it as ``response_format``, so an answer is valid by construction wherever the
backend honours it. Every string and list is bounded so a constrained decode always reaches the closing brace
within the token budget, even from a model that rambles.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SCENES = 8  # the prompt asks for 2–8 scenes
MAX_HASHTAGS = 8


def _text(max_chars: int, min_chars: int = 1) -> dict[str, Any]:
    return {"type": "string", "minLength": min_chars, "maxLength": max_chars}


SCRIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hook": _text(150),
        "scenes": {
            "type": "array", "minItems": 1, "maxItems": MAX_SCENES,
            "items": {
                "type": "object",
                "properties": {
                    "text": _text(400),  # spoken words: ~70 words, a long scene of a long short
                    "visual_prompt": _text(200),
                    "seconds": {"type": "number", "minimum": 1, "maximum": 30},
                },
                "required": ["text", "visual_prompt", "seconds"],
                "additionalProperties": False,
            },
        },
        "call_to_action": _text(150, min_chars=0),
        "title": _text(100),
        "caption": _text(300, min_chars=0),
        "hashtags": {
            "type": "array", "minItems": 1, "maxItems": MAX_HASHTAGS,
            # '#' and 1–30 letters, digits or '_' of any script (not only ASCII \w): no space, no ASCII punctuation
            "items": {"type": "string", "pattern": "^#[^\\s!-/:-@\\[-^`{-~]{1,30}$"},
        },
    },
    "required": ["hook", "scenes", "call_to_action", "title", "caption", "hashtags"],
    "additionalProperties": False,
}

SCRIPT_SCHEMA_JSON = json.dumps(SCRIPT_SCHEMA)
