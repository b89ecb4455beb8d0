"""Templates as versioned data: one YAML file each (``configs/templates/NAME.yaml``, plus the user's own in
``STUDIO_HOME/templates``), each with a ``version``; a template may ``extends:`` another and change only what
differs. An older configs folder with one ``templates.yaml`` still loads (each entry is version 1)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from models.errors import InvalidRequest
from pipelines.captions import CAPTION_ANIMATIONS, CAPTION_POSITIONS
from pipelines.types import Template

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
REQUIRED = ("label", "palette", "caption_color", "highlight_color", "outline_color", "font_size", "hook_font_size",
            "words_per_cue", "music")
CHOICES = {"caption_position": CAPTION_POSITIONS, "caption_animation": CAPTION_ANIMATIONS}
DEFAULTS = {f.name: f.default for f in fields(Template) if f.name in CHOICES}  # optional in a file
KNOWN = {*REQUIRED, *CHOICES, "version", "extends", "font", "uppercase"}
# Sizes are pixels on a 1920-pixel-tall frame (shorter frames scale them). The built-in templates set captions
# for phones (letters at least 5 % of the frame tall, 1 to 3 words a cue: tests/test_caption_size.py); a
# creator's own template may choose otherwise.
RANGES = {"font_size": (24, 240), "hook_font_size": (24, 240), "words_per_cue": (1, 8)}
MUSIC = {"bpm": (40, 220), "level_db": (-40, 0)}


def load(configs: Path, user: Path | None = None, account: dict[str, dict] | None = None) -> dict[str, dict]:
    """Every template by name, ``extends`` resolved and checked; the user's templates may add or replace.
    ``account``: a hosted account's own templates (name → fields as saved), resolved beside the built-in ones."""
    raw = _raw(configs, user)
    for name, fields_ in (account or {}).items():
        raw[name] = (fields_, f"account template {name}")
    resolved = {name: resolve(name, raw) for name in raw}
    return {name: {**t, "source": raw[name][1]} for name, t in resolved.items()}


def _raw(configs: Path, user: Path | None) -> dict[str, tuple[dict, str]]:
    raw: dict[str, tuple[dict, str]] = {}
    folder = configs / "templates"
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            raw[path.stem] = (_read(path), str(path))
    elif (configs / "templates.yaml").is_file():  # the older single-file layout
        for name, entry in (_read(configs / "templates.yaml") or {}).items():
            raw[str(name)] = ({"version": 1, **entry}, str(configs / "templates.yaml"))
    if user is not None and user.is_dir():
        for path in sorted(user.glob("*.yaml")):
            raw[path.stem] = (_read(path), str(path))
    return raw


def check_account_template(name: str, fields_: Any, configs: Path, user: Path | None,
                           account: dict[str, dict]) -> dict:
    """A hosted account's template as sent: a mapping of fields whose ``extends`` may name a built-in template or
    one of the account's own; refused naming the field. Built-in names cannot be taken. Answers it resolved."""
    if not NAME.fullmatch(name):
        raise InvalidRequest(f"Template name {name!r} must be lower-case letters, digits, - or _ (at most 32).")
    if name in _raw(configs, user):
        raise InvalidRequest(f"Template name {name!r} is a built-in template's.", "Choose another name.")
    if not isinstance(fields_, dict):
        raise InvalidRequest(f"Template {name!r} is not a mapping of fields.")
    return load(configs, user, {**account, name: fields_})[name]


def resolve(name: str, raw: dict[str, tuple[dict, str]], seen: tuple[str, ...] = ()) -> dict:
    if name in seen:
        raise InvalidRequest(f"Template {seen[0]!r}: field extends makes a cycle ({' → '.join([*seen, name])}).")
    if name not in raw:
        raise InvalidRequest(f"Template {seen[-1]!r}: field extends names {name!r}, which does not exist.")
    own = raw[name][0]
    if not isinstance(own, dict):
        raise InvalidRequest(f"Template {name!r} is not a mapping of fields.")
    if not isinstance(own.get("music", {}), dict):
        raise InvalidRequest(f"Template {name!r}: field music must be a mapping (bpm, mood, level_db).")
    parent = own.get("extends")
    base = resolve(str(parent), raw, (*seen, name)) if parent else {}
    merged = {**base, **own, "music": {**base.get("music", {}), **own.get("music", {})}}
    merged.pop("extends", None)
    if not seen:  # check the finished template, not the pieces it is made of
        for field, default in DEFAULTS.items():
            merged.setdefault(field, default)
        check(name, merged)
    return merged


def check(name: str, t: dict[str, Any]) -> None:
    """Refuse a template that cannot be drawn, naming the field."""
    def bad(field: str, why: str) -> InvalidRequest:
        return InvalidRequest(f"Template {name!r}: field {field} {why}.")

    if not NAME.fullmatch(name):
        raise bad("name", "must be lower-case letters, digits, - or _")
    unknown = sorted(set(t) - KNOWN)
    if unknown:
        raise bad(unknown[0], "is not a template field")
    for field in REQUIRED:
        if field not in t or t[field] in (None, ""):
            raise bad(field, "is missing")
    if not isinstance(t.get("version"), int) or t["version"] < 1:
        raise bad("version", "must be a whole number from 1")
    if not isinstance(t["label"], str) or not 0 < len(t["label"]) <= 40:
        raise bad("label", "must be text of at most 40 characters")
    for field in ("caption_color", "highlight_color", "outline_color"):
        if not (isinstance(t[field], str) and COLOUR.fullmatch(t[field])):
            raise bad(field, f"must be a colour as #RRGGBB, not {t[field]!r}")
    palette = t["palette"]
    if not (isinstance(palette, list) and 2 <= len(palette) <= 8
            and all(isinstance(c, str) and COLOUR.fullmatch(c) for c in palette)):
        raise bad("palette", "must be 2 to 8 colours as #RRGGBB")
    for field, allowed in CHOICES.items():
        if t[field] not in allowed:
            raise bad(field, f"must be one of {', '.join(allowed)}, not {t[field]!r}")
    for field, (lo, hi) in RANGES.items():
        if not (isinstance(t[field], int) and lo <= t[field] <= hi):
            raise bad(field, f"must be a whole number from {lo} to {hi}")
    music = t["music"]
    for field, (lo, hi) in MUSIC.items():
        if not (isinstance(music.get(field), int | float) and lo <= music[field] <= hi):
            raise bad(f"music.{field}", f"must be a number from {lo} to {hi}")
    if not isinstance(music.get("mood"), str) or not music["mood"]:
        raise bad("music.mood", "is missing")
    if not isinstance(t.get("uppercase", False), bool):
        raise bad("uppercase", "must be true or false")
    if t.get("font") is not None and not font_exists(str(t["font"])):
        raise bad("font", f"names {t['font']!r}, which is not installed on this machine")


@cache
def font_exists(family: str) -> bool:
    """fontconfig always answers with some font; the family is known only when it answers with that family."""
    try:
        out = subprocess.run(["fc-match", "-f", "%{family}", family], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return family.casefold() in (f.strip().casefold() for f in out.stdout.split(","))


def export(t: dict) -> str:
    """The resolved template as a file another studio can import (its own ``source`` left out)."""
    fields = {k: v for k, v in t.items() if k != "source"}
    return yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, default_flow_style=None)


def import_file(path: Path, name: str, user: Path, configs: Path) -> Path:
    """Check a template file (its ``extends`` may name any template already here) and keep it in ``user``."""
    data = _read(path)
    if not NAME.fullmatch(name):
        raise InvalidRequest(f"Template name {name!r} must be lower-case letters, digits, - or _.")
    current = load(configs, user)
    raw = {n: ({k: v for k, v in t.items() if k != "source"}, t["source"]) for n, t in current.items()}
    raw[name] = (data, str(path))
    resolve(name, raw)
    user.mkdir(parents=True, exist_ok=True)
    out = user / f"{name}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None), encoding="utf-8")
    return out


def _read(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise InvalidRequest(f"Cannot read the template {str(path)!r}: {exc.strerror}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{Path(path).name} is not a YAML template ({type(exc).__name__}).") from None
