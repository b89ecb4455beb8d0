"""The one place that reads configuration files and environment variables.

Everything below the studio receives plain values from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from models.errors import InvalidRequest
from pipelines.types import Language, Platform, SafeZone, Template, Voice

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def default_home() -> Path:
    """``$STUDIO_HOME``, else the per-user data folder (``$XDG_DATA_HOME/viral-ai-studio``)."""
    if os.environ.get("STUDIO_HOME"):
        return Path(os.environ["STUDIO_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "viral-ai-studio"


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _choose(kind: str, name: str, table: dict) -> dict:
    if name not in table:
        raise InvalidRequest(f"Unknown {kind} {name!r}.", f"Choose one of: {', '.join(table)}.")
    return table[name]


@dataclass
class Settings:
    home: Path
    configs: Path = CONFIGS
    x264_preset: str = "veryfast"
    x264_crf: int = 21
    model_budget_gb: float | None = None  # resident model weights; None = no limit

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        return cls(
            home=Path(home) if home else default_home(),
            configs=Path(os.environ["STUDIO_CONFIGS"]) if os.environ.get("STUDIO_CONFIGS") else CONFIGS,
            x264_preset=os.environ.get("STUDIO_X264_PRESET", "veryfast"),
            x264_crf=int(os.environ.get("STUDIO_X264_CRF", "21")),
            model_budget_gb=float(os.environ["STUDIO_MODEL_BUDGET_GB"]) if os.environ.get("STUDIO_MODEL_BUDGET_GB")
            else None,
        )

    @property
    def model_budget_bytes(self) -> int | None:
        return None if self.model_budget_gb is None else int(self.model_budget_gb * 2**30)

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @cached_property
    def platforms(self) -> dict:
        return _load(self.configs / "platforms.yaml")

    @cached_property
    def templates(self) -> dict:
        return _load(self.configs / "templates.yaml")

    @cached_property
    def voices(self) -> dict:
        return _load(self.configs / "voices.yaml")

    @cached_property
    def languages(self) -> dict:
        return _load(self.configs / "languages.yaml")

    def profile_names(self) -> list[str]:
        return sorted(p.stem for p in (self.configs / "profiles").glob("*.yaml"))

    def profile(self, name: str) -> dict:
        path = self.configs / "profiles" / f"{name}.yaml"
        if name == "auto":
            raise InvalidRequest("Resolve 'auto' to gpu or cpu before reading the profile.")
        if not path.is_file() or "/" in name:
            names = ["auto", *self.profile_names()]
            raise InvalidRequest(f"Unknown profile {name!r}.", f"Choose one of: {', '.join(names)}.")
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)

    def platform(self, name: str) -> Platform:
        p = _choose("platform", name, self.platforms)
        return Platform(name=name, label=p["label"], width=p["width"], height=p["height"], fps=p["fps"],
                        min_seconds=p["min_seconds"], max_seconds=p["max_seconds"], safe_zone=SafeZone(**p["safe_zone"]),
                        caption_max_chars=p["caption_max_chars"], hashtags_max=p["hashtags_max"],
                        title_max_chars=p["title_max_chars"])

    def template(self, name: str) -> Template:
        t = _choose("template", name, self.templates)
        return Template(name=name, label=t["label"], palette=tuple(t["palette"]), caption_color=t["caption_color"],
                        highlight_color=t["highlight_color"], outline_color=t["outline_color"],
                        font_size=t["font_size"], hook_font_size=t["hook_font_size"],
                        words_per_cue=t["words_per_cue"], music_bpm=t["music"]["bpm"], music_mood=t["music"]["mood"],
                        music_level_db=t["music"]["level_db"])

    def language(self, code: str) -> Language:
        return Language(code=code, font=_choose("language", code, self.languages)["font"])

    def voice(self, name: str, language: str) -> Voice:
        v = _choose("voice", name, self.voices)
        lang = _choose("language", language, self.languages)
        return Voice(name=name, engine_voice=f"{lang['espeak']}+{v['espeak_variant']}", pitch=v["pitch"],
                     rate_wpm=v["rate_wpm"], coqui_speaker=v.get("coqui_speaker"))
