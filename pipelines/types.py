"""Requests, presets and results that cross the studio → pipelines boundary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.types import CameraPath, VoiceClip, Word

if TYPE_CHECKING:  # both import this module
    from pipelines.report import Report
    from pipelines.timeline import Timeline


@dataclass(frozen=True)
class SafeZone:
    """Fractions of the frame covered by the platform's own UI."""

    top: float
    bottom: float
    left: float
    right: float


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    width: int
    height: int
    fps: int
    min_seconds: float
    max_seconds: float
    safe_zone: SafeZone
    caption_max_chars: int
    hashtags_max: int
    title_max_chars: int
    aspect: str = "9:16"  # the feed format this preset is laid out for

    @property
    def suffix(self) -> str:
        """File-name suffix of this format's files: "" for the platform's own 9:16, else e.g. "-1x1"."""
        return "" if self.aspect == "9:16" else "-" + self.aspect.replace(":", "x")


@dataclass(frozen=True)
class Template:
    name: str
    label: str
    palette: tuple[str, ...]
    caption_color: str
    highlight_color: str
    outline_color: str
    font_size: int
    hook_font_size: int
    words_per_cue: int
    music_bpm: float
    music_mood: str
    music_level_db: float
    font: str | None = None  # None: the language's font
    version: int = 1
    caption_position: str = "bottom"  # bottom | middle of the platform's safe zone (pipelines.captions)
    caption_animation: str = "karaoke"  # karaoke | pop | none (static)
    uppercase: bool = False  # captions and hook in capitals (Latin, Greek, Cyrillic; other scripts unchanged)

    @property
    def caption_style(self) -> str:
        """The timeline's caption_style a short planned with this template starts with."""
        return "plain" if self.caption_animation == "none" else self.caption_animation


@dataclass(frozen=True)
class Voice:
    """A voice preset resolved for one language."""

    name: str
    engine_voice: str  # e.g. espeak-ng "en-us+m3"
    pitch: int
    rate_wpm: int
    coqui_speaker: str | None = None  # for multi-speaker Coqui models
    piper_voice: str | None = None  # the preset's Piper voice for this language (None: Piper has none for it)


@dataclass(frozen=True)
class Language:
    code: str
    font: str


@dataclass(frozen=True)
class ShortRequest:
    """What a creator asks for. Names (platform, voice, template) are resolved by the studio."""

    topic: str = ""
    script: str = ""
    media: tuple[Path, ...] = ()
    platform: str = "reels"
    duration: float | None = None  # topic: defaults to 30 s; script: the voiceover's length unless longer is asked
    voice: str = "narrator"
    template: str = "bold"
    language: str = "en"
    profile: str = "auto"  # gpu on CUDA, else cpu; stages without weights fall back to offline, loudly
    seed: int = 0
    models: tuple[str, ...] = ()  # "STAGE=REPO_OR_PATH" overrides
    strict: bool = False  # a missing or failing real engine is an error, not a fallback
    safety: str = "block"  # block | warn | off: the zero-shot image safety check
    voice_sample: Path | None = None  # 6–30 s of a real person's voice to clone (XTTS-v2)
    voice_consent: bool = False  # the creator confirms that person agreed to having their voice cloned
    music: Path | None = None  # the creator's own music track (a licence they hold): fitted and ducked


@dataclass(frozen=True)
class Scene:
    """A timeline scene resolved for rendering: where it sits in frames, its speech, words and pixels."""

    id: str
    index: int
    first_frame: int
    frames: int
    fps: int
    voice: VoiceClip | None  # None: a silent scene
    lead: float  # seconds into the scene where speech starts
    words: tuple[Word, ...]  # shown words, seconds from the scene's start
    image: Path
    image_key: str  # the prepared still's cache key (content, not position)
    camera: CameraPath | None  # None: the still does not move
    clip: Path | None = None  # generated motion (frames .npz) that replaces the camera move
    clip_key: str | None = None
    transition: str = "fade"
    video: Path | None = None  # a creator's clip, played from video_in for video_frames frames
    video_in: float = 0.0
    video_frames: int = 0
    video_crop: tuple[float, float, float, float] | None = None  # the part of the clip shown (around its subject)

    @property
    def start(self) -> float:
        return self.first_frame / self.fps

    @property
    def duration(self) -> float:
        return self.frames / self.fps


@dataclass(frozen=True)
class StageRecord:
    stage: str
    engine: str
    seconds: float
    calls: int = 0  # engine calls actually made (cache misses)
    cached: int = 0  # results served from the cache


@dataclass(frozen=True)
class ShortResult:
    out_dir: Path
    video: Path
    captions_srt: Path
    captions_vtt: Path
    thumbnail: Path
    post: Path
    report_path: Path
    timeline_path: Path
    run: Report  # this render's report (report.json is its to_dict())
    timeline: Timeline
    other_formats: tuple[Path, ...] = ()  # short-1x1.mp4, thumbnail-1x1.jpg, … when more formats were asked for

    @property
    def report(self) -> dict:
        return self.run.to_dict()

    @property
    def stages(self) -> tuple[StageRecord, ...]:
        return self.run.stages

    @property
    def warnings(self) -> list[str]:
        return list(self.run.warnings)

    @property
    def files(self) -> list[Path]:
        return [self.video, self.captions_srt, self.captions_vtt, self.thumbnail, self.post, self.report_path,
                self.timeline_path, *self.other_formats]
