"""Small immutable value types that leave the adapters.

Backend objects (espeak handles, torch tensors, pipelines) never cross this line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Word:
    """One spoken word: its text and when it is heard, in seconds from the clip start."""

    text: str
    start: float
    end: float
    char_start: int = -1  # 0-based position of the word in the synthesised text, when the engine reports it


@dataclass(frozen=True)
class ScriptScene:
    text: str
    visual_prompt: str
    seconds: float


@dataclass(frozen=True)
class Script:
    hook: str
    scenes: tuple[ScriptScene, ...]
    call_to_action: str
    title: str
    caption: str
    hashtags: tuple[str, ...]


@dataclass(frozen=True)
class VoiceClip:
    """Mono speech audio on disk, with the engine's own word events when it has them."""

    path: Path
    sample_rate: int
    duration: float
    words: tuple[Word, ...] = ()
    notes: tuple[str, ...] = ()  # what the engine noticed (a symbol it has no sound for), for the report


@dataclass(frozen=True)
class CameraPath:
    """A Ken Burns move: zoom and centre (fractions of the image) eased from start to end."""

    zoom_start: float
    zoom_end: float
    center_start: tuple[float, float]
    center_end: tuple[float, float]


@dataclass(frozen=True)
class StillSpec:
    """What a stills engine is asked for."""

    prompt: str
    width: int
    height: int
    seed: int
    palette: tuple[str, ...] = field(default_factory=tuple)
    # For engines that set words (StillsEngine.draws_text, the offline typographic cards): the scene's words,
    # their language, and the part of the still (x0, y0, x1, y1, fractions) the words may cover: clear of the
    # captions and the platform's buttons wherever the camera moves. Other engines ignore these.
    text: str = ""
    language: str = ""
    text_area: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Credit:
    """Whose picture a still is and under which licence (stock libraries), for the report and the post text."""

    provider: str  # "pexels" | "pixabay"
    url: str  # the photo's page at the provider
    author: str
    author_url: str
    licence: str  # e.g. "Pexels License"
    licence_url: str
