"""Turn an LLM's answer into a valid Script: repair what is safely repairable, refuse the rest.

Models wrap JSON in prose or code fences, leave trailing commas, give numbers as
strings, hashtags as one string, a scene as a bare string. Those are repaired.
An answer with no usable scenes raises ScriptFormatError, so the caller retries.
"""

from __future__ import annotations

import json
import re
from typing import Any

from models.types import Script, ScriptScene


class ScriptFormatError(ValueError):
    pass


def _json_object(raw: str) -> dict:
    start = raw.find("{")
    if start < 0:
        raise ScriptFormatError("the answer contains no JSON object")
    stack: list[str] = []  # closers still owed
    in_str = esc = False
    for i in range(start, len(raw)):
        ch = raw[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
            if not stack:
                return _loads(raw[start: i + 1])
    # cut off mid-answer: close the open string and every open bracket, innermost first
    return _loads(raw[start:] + ('"' if in_str else "") + "".join(reversed(stack)))


def _loads(blob: str) -> dict:
    for candidate in (blob, re.sub(r",\s*([}\]])", r"\1", blob)):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise ScriptFormatError("the JSON object does not parse")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return _text(value.get("text"))
    return " ".join(str(value).split())


def _seconds(value: Any) -> float:
    try:
        return max(float(re.sub(r"[^\d.]", "", str(value)) or 0), 0.0)
    except ValueError:
        return 0.0


def _hashtags(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"[\s,]+", _text(value))
    tags = []
    for item in items:
        word = re.sub(r"[^\w]", "", _text(item))
        if word:
            tags.append("#" + word)
    return tuple(dict.fromkeys(tags))


def parse_script(raw: str) -> Script:
    data = _json_object(raw)
    scenes = []
    for item in data.get("scenes") or []:
        if isinstance(item, dict):
            text = _text(item.get("text") or item.get("narration") or item.get("voiceover"))
            prompt = _text(item.get("visual_prompt") or item.get("visual") or item.get("image")) or text
            seconds = _seconds(item.get("seconds", 0))
        else:
            text, prompt, seconds = _text(item), _text(item), 0.0
        if text:
            scenes.append(ScriptScene(text, prompt, seconds))
    if not scenes:
        raise ScriptFormatError("the script has no scenes with spoken text")
    hook = _text(data.get("hook")) or scenes[0].text
    if scenes[0].text != hook:
        scenes.insert(0, ScriptScene(hook, scenes[0].visual_prompt, 0.0))
    cta = _text(data.get("call_to_action") or data.get("cta"))
    if cta and scenes[-1].text != cta:
        scenes.append(ScriptScene(cta, scenes[-1].visual_prompt, 0.0))
    return Script(hook=hook, scenes=tuple(scenes), call_to_action=cta, title=_text(data.get("title")) or hook,
                  caption=_text(data.get("caption")) or hook, hashtags=_hashtags(data.get("hashtags")))
