"""The short as data: a ``Timeline`` of scenes, saved as ``timeline.json``.

Making a short plans a timeline (pipelines/plan.py) and renders it (pipelines/short.py);
editing a short edits this document and renders it again. Its JSON form follows
``timeline.schema.json`` (version 1), which is the contract for notebooks, the API
and the editor; ``Timeline.load`` refuses any document that breaks it, naming the field.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from models.errors import InvalidRequest
from models.types import CameraPath, Word

VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("timeline.schema.json")
TRANSITIONS = ("fade", "cut")
CAPTION_STYLES = ("karaoke", "pop", "plain", "none")
MAX_FILE_BYTES = 2_000_000  # a 60-scene timeline with every word timed is ~100 KB
MAX_SECONDS = 600  # the longest any platform allows; a scene, lead or pause beyond it is absurd
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Visual:
    """What a scene shows: a generated still (prompt and seed), or a creator's photo or video clip (path or asset
    id; a clip plays from ``clip_in`` to ``clip_out`` seconds into its file, then holds its last frame)."""

    kind: str  # generated | photo | clip
    prompt: str = ""
    seed: int = 0
    path: str | None = None  # photo or clip: relative to the timeline's folder
    asset: str | None = None  # in the hosted studio: an asset id, resolved to a file before rendering
    clip_in: float = 0.0
    clip_out: float | None = None
    crop: tuple[float, float, float, float] | None = None  # photo: the part shown (x, y, w, h, fractions); None:
    # the widest crop around the photo's subject

    @property
    def is_file(self) -> bool:
        return self.kind in ("photo", "clip")


@dataclass(frozen=True)
class Motion:
    """How the visual moves: a camera path over it, no move, or a clip generated from it."""

    kind: str  # camera | still | generated
    camera: CameraPath | None = None
    seed: int = 0


@dataclass(frozen=True)
class TimelineScene:
    id: str
    text: str
    visual: Visual
    motion: Motion
    caption: str | None = None  # shown instead of the spoken words when set
    lead: float = 0.15  # silence before the words
    pause: float = 0.15  # silence after the words
    duration: float | None = None  # None: lead + speech + pause
    transition: str = "fade"  # how this scene comes in
    words: tuple[Word, ...] = ()  # seconds from the start of the scene's speech

    @property
    def shown_text(self) -> str:
        return self.text if self.caption is None else self.caption


@dataclass(frozen=True)
class MusicSpec:
    level_db: float
    seed: int
    engine: str = ""
    mood: str = ""
    bpm: float | None = None
    path: str | None = None  # the creator's own track, relative to the timeline's folder
    asset: str | None = None  # ... or by asset id in the hosted studio
    licence: str = ""  # recorded in report.json and post.json

    @property
    def is_track(self) -> bool:
        return self.path is not None or self.asset is not None


@dataclass(frozen=True)
class Timeline:
    platform: str
    template: str
    language: str
    voice: str  # preset name
    music: MusicSpec
    seed: int
    scenes: tuple[TimelineScene, ...]
    caption_style: str = "karaoke"
    profile: str = "auto"
    voice_engine: str = ""
    hook: str = ""
    title: str = ""
    caption: str = ""
    call_to_action: str = ""
    hashtags: tuple[str, ...] = field(default_factory=tuple)
    version: int = VERSION

    # -- editing helpers for notebooks: a timeline is immutable, each returns a new one

    def scene(self, scene_id: str) -> TimelineScene:
        for s in self.scenes:
            if s.id == scene_id:
                return s
        raise KeyError(scene_id)

    def with_scene(self, scene_id: str, **changes: Any) -> Timeline:
        """The same timeline with one scene changed, e.g. ``t.with_scene(id, text="New words.")``.
        Changing the text drops the old word timings, which belonged to the old words."""
        if "text" in changes and "words" not in changes:
            changes["words"] = ()
        self.scene(scene_id)
        return replace(self, scenes=tuple(replace(s, **changes) if s.id == scene_id else s for s in self.scenes))

    def with_scene_inserted(self, index: int, scene: TimelineScene) -> Timeline:
        scenes = list(self.scenes)
        scenes.insert(index, scene)
        return replace(self, scenes=tuple(scenes))

    def without_scene(self, scene_id: str) -> Timeline:
        self.scene(scene_id)
        if len(self.scenes) == 1:
            raise InvalidRequest("A short needs at least one scene; this is the last one.")
        return replace(self, scenes=tuple(s for s in self.scenes if s.id != scene_id))

    def with_scene_moved(self, scene_id: str, by: int) -> Timeline:
        """The scene ``by`` places later (negative: earlier), stopping at either end."""
        scenes = list(self.scenes)
        i = scenes.index(self.scene(scene_id))
        j = min(max(i + by, 0), len(scenes) - 1)
        scenes.insert(j, scenes.pop(i))
        return replace(self, scenes=tuple(scenes))

    def with_scene_split(self, scene_id: str) -> Timeline:
        """The scene cut in two at the sentence end nearest its middle (else its middle word); both halves show
        the same visual, and the second gets a new id."""
        s = self.scene(scene_id)
        words = s.text.split()
        if len(words) < 2:
            raise InvalidRequest("A scene needs at least two words to be split.")
        ends = [i + 1 for i, w in enumerate(words[:-1]) if w[-1:] in ".!?;:。！？"]
        cut = min(ends, key=lambda i: abs(i - len(words) / 2)) if ends else len(words) // 2
        first = replace(s, text=" ".join(words[:cut]), caption=None, words=(), duration=None)
        second = replace(s, id=new_scene_id(), text=" ".join(words[cut:]), caption=None, words=(), duration=None,
                         lead=0.1)
        i = self.scenes.index(s)
        return replace(self, scenes=(*self.scenes[:i], first, second, *self.scenes[i + 1:]))

    # -- the file

    def to_dict(self) -> dict:
        return {
            "version": self.version, "platform": self.platform, "template": self.template,
            "caption_style": self.caption_style, "language": self.language, "profile": self.profile,
            "voice": {"preset": self.voice, **({"engine": self.voice_engine} if self.voice_engine else {})},
            "music": {k: v for k, v in asdict(self.music).items() if v not in ("", None)},
            "seed": self.seed, "hook": self.hook, "title": self.title, "caption": self.caption,
            "call_to_action": self.call_to_action, "hashtags": list(self.hashtags),
            "scenes": [_scene_dict(s) for s in self.scenes],
        }

    def save(self, path: Path | str) -> Path:
        """Write ``timeline.json`` atomically (a crash never leaves half a file)."""
        path = Path(path)
        data = self.to_dict()
        check_document(data)  # never write a file that load() would refuse
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data: Any) -> Timeline:
        try:
            # finite numbers and text that is really text (no lone surrogates), before the schema looks at it
            json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")
            check_document(data)
        except RecursionError:
            raise InvalidRequest("The timeline is nested too deeply to be a timeline.") from None
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise InvalidRequest(f"The timeline holds a value JSON cannot carry ({type(exc).__name__}: numbers must be "
                                 "finite, text must be UTF-8).") from None
        scenes = tuple(_scene(s) for s in data["scenes"])
        timeline = cls(
            platform=data["platform"], template=data["template"], language=data["language"],
            voice=data["voice"]["preset"], voice_engine=data["voice"].get("engine", ""),
            music=MusicSpec(**{**data["music"], "seed": int(data["music"]["seed"])}), seed=int(data["seed"]),
            scenes=scenes,
            caption_style=data.get("caption_style", "karaoke"), profile=data.get("profile", "auto"),
            hook=data.get("hook", ""), title=data.get("title", ""), caption=data.get("caption", ""),
            call_to_action=data.get("call_to_action", ""), hashtags=tuple(data.get("hashtags", ())))
        check_timeline(timeline)
        return timeline

    @classmethod
    def load(cls, path: Path | str) -> Timeline:
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InvalidRequest(f"{path.name} is {size:,} bytes; a timeline is at most {MAX_FILE_BYTES:,}.")
            data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
        except OSError as exc:
            raise InvalidRequest(f"Cannot read the timeline {str(path)!r}: {exc.strerror}.") from None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise InvalidRequest(f"{path.name} is not a JSON timeline ({type(exc).__name__}).",
                                 "Give the timeline.json a short was saved with, or one that follows its schema.") from None
        return cls.from_dict(data)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a timeline can hold")


CAMERA_MOVES = {  # the editor's named camera moves (zoom, then centre as fractions of the still)
    "zoom in": CameraPath(1.0, 1.15, (0.5, 0.5), (0.5, 0.5)),
    "zoom out": CameraPath(1.15, 1.0, (0.5, 0.5), (0.5, 0.5)),
    "pan left": CameraPath(1.12, 1.12, (0.56, 0.5), (0.44, 0.5)),
    "pan right": CameraPath(1.12, 1.12, (0.44, 0.5), (0.56, 0.5)),
}


def motion_name(m: Motion) -> str:
    """The editor's name for a scene's motion: none, one of CAMERA_MOVES, "camera path" or "generated clip"."""
    if m.kind == "still":
        return "none"
    if m.kind == "generated":
        return "generated clip"
    return next((name for name, path in CAMERA_MOVES.items() if path == m.camera), "camera path")


def named_motion(name: str, current: Motion, seed: int) -> Motion:
    if name == "none":
        return Motion("still")
    if name == "generated clip":
        return current if current.kind == "generated" else Motion("generated", seed=seed)
    if name in CAMERA_MOVES:
        return Motion("camera", CAMERA_MOVES[name])
    if name == "camera path" and current.kind == "camera":
        return current
    raise InvalidRequest(f"Unknown motion {name!r}.", f"Choose one of: none, {', '.join(CAMERA_MOVES)}, generated clip.")


def new_scene_id() -> str:
    """A fresh id for a scene a creator adds (planned scenes get ids from the short's seed)."""
    return "s" + uuid.uuid4().hex[:10]


def _scene_dict(s: TimelineScene) -> dict:
    visual: dict[str, Any] = {"kind": s.visual.kind}
    if s.visual.kind == "generated":
        visual.update(prompt=s.visual.prompt, seed=s.visual.seed)
    else:
        visual.update({"path": s.visual.path} if s.visual.path is not None else {"asset": s.visual.asset})
        if s.visual.kind == "clip":
            visual.update({"in": s.visual.clip_in, "out": s.visual.clip_out})
        if s.visual.kind == "photo" and s.visual.crop is not None:
            visual["crop"] = [round(v, 4) for v in s.visual.crop]
        if s.visual.prompt:
            visual["prompt"] = s.visual.prompt
    motion: dict[str, Any] = {"kind": s.motion.kind}
    if s.motion.kind == "camera" and s.motion.camera is not None:
        c = s.motion.camera
        motion.update(zoom_start=c.zoom_start, zoom_end=c.zoom_end, center_start=list(c.center_start),
                      center_end=list(c.center_end))
    elif s.motion.kind == "generated":
        motion["seed"] = s.motion.seed
    return {"id": s.id, "text": s.text, "caption": s.caption, "visual": visual, "motion": motion, "lead": s.lead,
            "pause": s.pause, "duration": s.duration, "transition": s.transition,
            "words": [{"text": w.text, "start": w.start, "end": w.end} for w in s.words]}


def _scene(d: dict) -> TimelineScene:
    v, m = d["visual"], d["motion"]
    # the schema's "integer" admits 1.0: seeds are made ints here, once
    visual = Visual(v["kind"], v.get("prompt", ""), int(v.get("seed", 0)), v.get("path"), v.get("asset"),
                    v.get("in", 0.0), v.get("out"), tuple(v["crop"]) if v.get("crop") else None)
    camera = None
    if m["kind"] == "camera":
        camera = CameraPath(m["zoom_start"], m["zoom_end"], tuple(m["center_start"]), tuple(m["center_end"]))
    return TimelineScene(
        id=d["id"], text=d["text"], visual=visual, motion=Motion(m["kind"], camera, int(m.get("seed", 0))),
        caption=d.get("caption"), lead=d.get("lead", 0.15), pause=d.get("pause", 0.15), duration=d.get("duration"),
        transition=d.get("transition", "fade"),
        words=tuple(Word(w["text"], w["start"], w["end"]) for w in d.get("words", ())))


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def check_document(data: Any) -> None:
    """Refuse a JSON document that breaks the schema, naming the first field at fault."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = min(errors, key=lambda e: -len(e.absolute_path))  # the most specific place
        path = list(err.absolute_path)
        if err.validator == "required":  # name the missing field itself, not the object it is missing from
            missing = next((p for p in err.validator_value if isinstance(err.instance, dict) and p not in err.instance),
                           None)
            path += [missing] if missing else []
        where = _field(path) or "the timeline"
        detail = err.message if len(err.message) < 200 else err.message[:200] + "…"
        if err.validator == "required":
            detail = "it is missing"
        if err.validator in ("oneOf", "anyOf") and err.context:
            near = {c.message for c in err.context if len(c.absolute_path) <= len(err.absolute_path) + 1}
            detail = "; ".join(sorted(near))[:300]
        raise InvalidRequest(f"Timeline field {where}: {detail}.",
                             "Fix that field (the schema is pipelines/timeline.schema.json).")


def _field(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_timeline(t: Timeline) -> None:
    """What a schema cannot say: unique ids, words inside their scene, a duration that leaves room for the words."""
    if t.version != VERSION:
        raise InvalidRequest(f"Timeline field version: {t.version} is not supported; this studio reads version {VERSION}.")
    if not t.scenes:
        raise InvalidRequest("Timeline field scenes: a short needs at least one scene.")
    seen: set[str] = set()
    for i, s in enumerate(t.scenes):
        where = f"scenes[{i}]"
        if not _ID.fullmatch(s.id):  # the schema's pattern lets a trailing newline through ($ in Python's re)
            raise InvalidRequest(f"Timeline field {where}.id: {s.id!r} is not an id (letters, digits, - and _).")
        if s.id in seen:
            raise InvalidRequest(f"Timeline field {where}.id: {s.id!r} is used by another scene; ids must be unique.",
                                 "Give the new scene its own id (pipelines.timeline.new_scene_id()).")
        seen.add(s.id)
        if s.transition not in TRANSITIONS:
            raise InvalidRequest(f"Timeline field {where}.transition: unknown transition {s.transition!r}.",
                                 f"Use one of: {', '.join(TRANSITIONS)}.")
        if not 0 <= s.lead <= MAX_SECONDS or not 0 <= s.pause <= MAX_SECONDS:
            raise InvalidRequest(f"Timeline field {where}: lead and pause must be between 0 and {MAX_SECONDS} seconds.")
        if s.duration is not None and not 0 < s.duration <= MAX_SECONDS:
            raise InvalidRequest(f"Timeline field {where}.duration: {s.duration!r} is not a length a scene can have "
                                 f"(more than 0, at most {MAX_SECONDS} seconds).")
        if not s.text.strip() and s.duration is None and s.lead + s.pause <= 0:
            raise InvalidRequest(f"Timeline field {where}: a scene without words needs a duration.")
        if s.visual.kind == "clip" and s.visual.clip_out is not None and s.visual.clip_out <= s.visual.clip_in:
            raise InvalidRequest(f"Timeline field {where}.visual.out: the clip must end after it starts "
                                 f"({s.visual.clip_in:g} s).")
        crop = s.visual.crop
        if crop is not None and (min(crop) < 0 or crop[2] <= 0.01 or crop[3] <= 0.01 or crop[0] + crop[2] > 1.0001
                                 or crop[1] + crop[3] > 1.0001):
            raise InvalidRequest(f"Timeline field {where}.visual.crop: {list(crop)} is not a part of the photo.",
                                 "Give [x, y, w, h] as fractions, with x + w and y + h at most 1.")
        for k, w in enumerate(s.words):
            if not 0 <= w.start <= w.end:
                raise InvalidRequest(f"Timeline field {where}.words[{k}]: start must be ≥ 0 and not after end.")
    if t.caption_style not in CAPTION_STYLES:
        raise InvalidRequest(f"Timeline field caption_style: unknown style {t.caption_style!r}.",
                             f"Use one of: {', '.join(CAPTION_STYLES)}.")


def check_files(t: Timeline, base: Path | None, *, assets_only: bool = False) -> dict[str, Path]:
    """Every photo and clip the timeline names, resolved to a file: {scene id: path}.

    Local timelines name files relative to their own folder and may not leave it (``../``,
    absolute paths and symlinks out are refused); a timeline sent to the hosted studio names
    assets by id only (the studio resolves them), so any path at all is refused there.
    """
    out: dict[str, Path] = {}
    for i, s in enumerate(t.scenes):
        if s.visual.is_file:
            full = _inside(f"scenes[{i}].visual", s.visual.path, base, assets_only, "photo")
            if full is not None:
                out[s.id] = full
    return out


def music_file(t: Timeline, base: Path | None, *, assets_only: bool = False) -> Path | None:
    """The creator's music track the timeline names, under the same rules as photos (None: no track, or an
    asset the studio resolves)."""
    if not t.music.is_track:
        return None
    return _inside("music", t.music.path, base, assets_only, "music track")


def _inside(where: str, path: str | None, base: Path | None, assets_only: bool, what: str) -> Path | None:
    root = base.resolve() if base is not None else None
    if path is None:
        if assets_only:
            return None  # the studio resolves asset ids
        raise InvalidRequest(f"Timeline field {where}.asset: asset ids are only known to the hosted studio.",
                             f"Name the {what} by a path inside the timeline's folder.")
    if assets_only:
        raise InvalidRequest(f"Timeline field {where}.path: the hosted studio takes files by asset id only.",
                             f"Upload the {what} (POST /api/assets) and give its id as {where}.asset.")
    p = Path(path)
    if root is None or p.is_absolute() or path.startswith(("/", "\\")) or ".." in p.parts or ":" in path \
            or "\0" in path:
        raise InvalidRequest(f"Timeline field {where}.path: {path!r} is outside the timeline's folder.",
                             "Copy the file into the folder that holds timeline.json and name it relative to it.")
    try:
        full = (root / p).resolve()
        inside = full.is_relative_to(root)
        usable = inside and full.is_file() and os.access(full, os.R_OK)
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable folder
        raise InvalidRequest(f"Timeline field {where}.path: {path!r} cannot be opened.") from None
    if not inside:
        raise InvalidRequest(f"Timeline field {where}.path: {path!r} leads outside the timeline's folder.")
    if not usable:
        raise InvalidRequest(f"Timeline field {where}.path: there is no readable file {path!r} beside the timeline.")
    return full
