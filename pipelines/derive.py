"""Everything derived from a scene, cached by content: its voice, word timings, still and motion clip.

Keys hash the engine, its settings and the scene's own content (text, prompt, seed,
the photo's bytes), never the scene's position, so inserting, deleting or moving a
scene re-does nothing for the others, and editing one scene's words re-speaks that scene alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import EngineFailed
from models.hub import sha256_file
from models.subject import SUBJECT_VERSION, Box, Subject, SubjectFinder
from models.types import StillSpec, VoiceClip, Word
from pipelines import cards, frames, framing
from pipelines.cache import Cache, key
from pipelines.stages import Engines
from pipelines.timeline import TimelineScene
from pipelines.types import Platform, Template, Voice
from pipelines.words import align_heard, display_words

TIMING_VERSION = 3  # bump when how words are timed changes, so cached timings are not reused


def scene_seed(short_seed: int, scene_id: str) -> int:
    """A scene's seed comes from its id, not its position: moving a scene keeps its look."""
    return int(key("scene-seed", short_seed, scene_id)[:8], 16)


_FINDER: list[SubjectFinder] = []


def default_finder() -> SubjectFinder:
    """One subject finder per process (the face detector's interpreter loads once)."""
    if not _FINDER:
        _FINDER.append(SubjectFinder.default())
    return _FINDER[0]


def speak(engines: Engines, cache: Cache, voice: Voice, text: str, calls: dict) -> tuple[VoiceClip, str]:
    """The scene's speech (a cache hit when this voice already said these words) and its cache key."""
    engine = engines.voice
    digest = key(engines.names["voice"], engine.settings, voice.engine_voice, text)

    def make(tmp: Path) -> dict:
        clip = engine.synthesize(text, voice=voice.engine_voice, out_path=tmp)
        return {"rate": clip.sample_rate, "duration": clip.duration, "words": [asdict(w) for w in clip.words],
                "notes": list(clip.notes)}

    wav, data, hit = cache.file("voice", digest, ".wav", make)
    calls["cached" if hit else "calls"] += 1
    return VoiceClip(wav, data["rate"], data["duration"], tuple(Word(**w) for w in data["words"]),
                     tuple(data.get("notes") or ())), digest


def words_match(text: str, words: tuple[Word, ...]) -> bool:
    """True when stored word timings still belong to this text (an edit to the text makes them stale)."""
    return bool(words) and "".join(w.text for w in words).replace(" ", "") == "".join(text.split())


def time_words(engines: Engines, cache: Cache, clip: VoiceClip, voice_key: str, scene: TimelineScene,
               language: str, warnings: list[str], calls: dict) -> tuple[Word, ...]:
    """When each shown word is heard, from the start of the speech: the timeline's own timings while they
    still match the text, else a recogniser on the real voice track, else the voice engine's word events."""
    shown = scene.shown_text
    if not shown.strip():
        return ()
    if words_match(shown, scene.words):
        calls["cached"] += 1
        return scene.words
    if engines.timing is None and not clip.words:
        note = ("timing: the voice engine reports no word timings and no recogniser is loaded; words were spread "
                "over the speech by length (captions may drift).")
        if note not in warnings:
            warnings.append(note)
    timing_name = engines.names.get("timing", "voice-events") if engines.timing is not None else "voice-events"
    settings = engines.timing.settings if engines.timing is not None else None
    digest = key("timing", TIMING_VERSION, timing_name, settings, voice_key, scene.text, shown, language)

    def make(tmp: Path) -> None:
        if engines.timing is not None:
            heard = engines.timing.words(clip.path, language=language, duration=clip.duration)
            timed = align_heard(shown, heard, clip.duration)
        elif clip.words and shown == scene.text:
            timed = display_words(shown, clip.words, clip.duration)
        else:  # a caption that differs from the words: spread it over the spoken words' span
            timed = align_heard(shown, clip.words, clip.duration)
        tmp.write_text(json.dumps([[w.text, w.start, w.end] for w in timed], ensure_ascii=False), encoding="utf-8")

    path, _, hit = cache.file("timing", digest, ".json", make)
    calls["cached" if hit else "calls"] += 1
    return tuple(Word(t, s, e) for t, s, e in json.loads(path.read_text(encoding="utf-8")))


def _prepare_into(src: Path, platform: Platform, tmp: Path, crop: Box | None = None) -> Path:
    return frames.prepare_still(src, platform, tmp, crop)


def finder(engines: Engines) -> SubjectFinder:
    return engines.subject if engines.subject is not None else default_finder()


def subject_of(engines: Engines, cache: Cache, src: Path, calls: dict) -> Subject:
    """Where a picture's subject is (its faces, else its salient region), cached by the picture's bytes."""
    found = finder(engines)
    digest = key("subject", SUBJECT_VERSION, found.engine, sha256_file(src))

    def make(tmp: Path) -> None:
        from PIL import Image, ImageOps

        with Image.open(src) as opened:
            im = ImageOps.exif_transpose(opened).convert("RGB")
            im.thumbnail((640, 640))  # faces and saliency need no more; keeps detection in milliseconds
            subject = found.find(np.asarray(im))
        tmp.write_text(json.dumps(subject.to_dict()), encoding="utf-8")

    path, _, hit = cache.file("subject", digest, ".json", make)
    calls["cached" if hit else "calls"] += 1
    return Subject.from_dict(json.loads(path.read_text(encoding="utf-8")))


def prepared_photo(cache: Cache, platform: Platform, src: Path, calls: dict, crop: Box | None = None,
                   engines: Engines | None = None) -> tuple[Path, str]:
    """A creator's photo cropped to the frame at the camera's margin (cached by the photo's bytes and the crop):
    the timeline's ``crop``, or else the widest crop placed on the photo's subject."""
    if crop is None and engines is not None:
        subject = subject_of(engines, cache, src, calls)
        with_size = frames.image_size(src)
        crop = framing.crops(subject.box, subject.faces, *with_size, platform.width, platform.height, 1)[0]
    box = None if crop is None else tuple(round(v, 4) for v in crop)
    digest = key("prepare", frames.PREPARE_VERSION, frames.SOURCE_SCALE, platform.width, platform.height,
                 sha256_file(src), box)
    path, _, hit = cache.file("stills", digest, ".jpg", partial(_prepare_into, src, platform, crop=crop))
    calls["cached" if hit else "calls"] += 1
    return path, digest


def photo_detail(src: Path, crop: Box | None, platform: Platform, name: str) -> str | None:
    """A warning naming the photo when the part of it shown is much smaller than the frame (it is enlarged)."""
    w, h = frames.image_size(src)
    if crop is None and frames.needs_fill(w, h, platform.width, platform.height):
        return None  # shown whole over a blurred fill: as sharp as the photo can be
    cw = (crop[2] if crop else framing.widest(w, h, platform.width / platform.height)[0]) * w
    if cw >= framing.SOFT_BELOW * platform.width:
        return None
    ch = cw * platform.height / platform.width
    return (f"stills: {name} is small for this frame: the part shown is {cw:.0f}×{ch:.0f} pixels, "
            f"enlarged {platform.width / cw:.1f}× to fill {platform.width}×{platform.height}, so it will look soft. "
            f"Use a larger photo (at least {round(framing.SOFT_BELOW * platform.width)} pixels wide once cropped to "
            f"{platform.aspect}).")


def generated_still(engines: Engines, cache: Cache, platform: Platform, template: Template, prompt: str, seed: int,
                    calls: dict, *, scene: str = "", warnings: list[str] | None = None,
                    credits: dict[str, dict] | None = None, text: str = "", language: str = "") -> tuple[Path, str]:
    """The scene's still from the stills engine. Where that engine fails on this scene (a stock search that found
    nothing) and a fallback was chosen, the fallback makes it and ``warnings`` says so, naming the scene. The
    author and licence of a picture that is someone else's work go into ``credits[scene]``. An engine that sets
    words (the offline cards) gets the scene's ``text`` and where on the still it stays clear of the captions."""
    w, h = frames.source_size(platform)
    spec = StillSpec(prompt, w, h, seed=seed, palette=template.palette, text=text, language=language,
                     text_area=cards.text_area(platform, template) if text.strip() else None)
    try:
        path, digest, meta = _still(engines.names["stills"], engines.stills, cache, platform, spec, calls)
    except EngineFailed as exc:
        if "stills" not in engines.fallbacks:
            raise
        name, engine = engines.fallbacks["stills"]
        note = f"stills: scene {scene or prompt[:40]!r}: {exc.message} The {name} engine made its still instead."
        if warnings is not None and note not in warnings:
            warnings.append(note)
        path, digest, meta = _still(name, engine, cache, platform, spec, calls)
    if credits is not None and isinstance(meta, dict) and meta.get("credit"):
        credits[scene] = meta["credit"]
    return path, digest


def _still(name: str, engine, cache: Cache, platform: Platform, spec: StillSpec, calls: dict) -> tuple[Path, str, Any]:
    fields = asdict(spec)
    if not engine.draws_text:  # the words do not change its picture: editing them reuses it (and keys stay as before)
        for k in ("text", "language", "text_area"):
            fields.pop(k)
    digest = key(name, engine.settings, fields, frames.SOURCE_SCALE)

    def make(tmp: Path) -> dict | None:
        raw = tmp.with_name(tmp.stem + ".raw.jpg")
        try:
            _, credit = engine.generate_credited(spec, raw)
            frames.prepare_still(raw, platform, tmp)  # any model size → the frame's aspect, cover-cropped
        finally:
            raw.unlink(missing_ok=True)
        return {"credit": asdict(credit)} if credit is not None else None

    path, meta, hit = cache.file("stills", digest, ".jpg", make)
    calls["cached" if hit else "calls"] += 1
    return path, digest, meta


def refit(cache: Cache, platform: Platform, still: Path, still_key: str, calls: dict) -> tuple[Path, str]:
    """A generated still made for another frame, fitted to this one: the same picture in every feed format
    (cover-cropped, or whole over a blurred fill of itself), cached by the still's own key."""
    digest = key("refit", frames.PREPARE_VERSION, frames.SOURCE_SCALE, platform.width, platform.height, still_key)
    path, _, hit = cache.file("stills", digest, ".jpg", partial(_prepare_into, still, platform))
    calls["cached" if hit else "calls"] += 1
    return path, digest


def _animate_into(motion, image: Path, seed: int, tmp: Path):
    return motion.animate(image, seed=seed, out_path=tmp)


def motion_clip(engines: Engines, cache: Cache, image: Path, image_key: str, seed: int, calls: dict) -> tuple[Path, str]:
    """A clip generated from the scene's still (frames in an .npz), cached by the still and the seed."""
    digest = key(engines.names["motion"], engines.motion.settings, image_key, seed)
    path, _, hit = cache.file("motion", digest, ".npz", partial(_animate_into, engines.motion, image, seed))
    calls["cached" if hit else "calls"] += 1
    return path, digest


def music_bed(engines: Engines, cache: Cache, template: Template, seconds: float, seed: int, calls: dict) -> Path:
    """A bed at least ``seconds`` long. Lengths are rounded up to 5 s, so an edit that moves the end by a
    few seconds reuses the bed (the mix trims it and fades it out) instead of composing again."""
    length = 5.0 * -(-seconds // 5.0)
    digest = key(engines.names["music"], engines.music.settings, length, template.music_bpm, template.music_mood, seed)
    path, _, hit = cache.file("music", digest, ".wav", lambda tmp: engines.music.compose(
        length, bpm=template.music_bpm, mood=template.music_mood, seed=seed, out_path=tmp))
    calls["cached" if hit else "calls"] += 1
    return path


TRACK_VERSION = 1


def music_track(cache: Cache, src: Path, seconds: float, calls: dict) -> Path:
    """The creator's own track fitted to the short: decoded to 48 kHz stereo, looped with crossfades when it is
    shorter, trimmed with a fade-out when it is longer (the mix then ducks it under the voice like any bed)."""
    from models.audiojoin import fit_length
    from models.wavio import write_pcm16
    from pipelines import ffmpeg, media
    from pipelines.audio import RATE, read_wav

    digest = key("track", TRACK_VERSION, sha256_file(src), round(seconds, 3))

    def make(tmp: Path) -> None:
        raw = tmp.with_name(tmp.stem + ".decoded.wav")
        try:
            ffmpeg.run(["-loglevel", "error", *media.audio_demuxer(src), "-i", str(src), "-t", f"{seconds + 0.5:.3f}",
                        "-vn", "-ac", "2", "-ar", str(RATE), "-c:a", "pcm_s16le", str(raw)],
                       what="reading the music track")  # never more than the short needs, whatever the file claims
            samples, _ = read_wav(raw)
        finally:
            raw.unlink(missing_ok=True)
        write_pcm16(tmp, fit_length(samples, int(round(seconds * RATE)), RATE), RATE)

    path, _, hit = cache.file("music", digest, ".wav", make)
    calls["cached" if hit else "calls"] += 1
    return path


def clip_still(cache: Cache, platform: Platform, src: Path, at: float, calls: dict,
               engines: Engines | None = None) -> tuple[Path, str]:
    """A frame of a creator's clip (where it starts playing), prepared like a photo (cropped around its subject):
    for scoring, the thumbnail and the faces text keeps off. Its key also stands for the clip in segment keys."""
    path, digest, _ = _clip_still(cache, platform, src, at, calls, engines)
    return path, digest


def clip_crop(cache: Cache, platform: Platform, src: Path, at: float, calls: dict,
              engines: Engines | None = None) -> Box | None:
    """The part of the clip its scene shows (around the subject of the frame where it starts); None: the whole
    clip over a blurred fill of itself."""
    return _clip_still(cache, platform, src, at, calls, engines)[2]


def _clip_still(cache: Cache, platform: Platform, src: Path, at: float, calls: dict,
                engines: Engines | None) -> tuple[Path, str, Box | None]:
    found = finder(engines) if engines is not None else default_finder()
    digest = key("clip-still", frames.PREPARE_VERSION, frames.SOURCE_SCALE, platform.width, platform.height,
                 sha256_file(src), round(at, 3), SUBJECT_VERSION, found.engine)

    def make(tmp: Path) -> dict:
        from PIL import Image

        from pipelines import ffmpeg

        raw = tmp.with_name(tmp.stem + ".raw.png")
        try:
            ffmpeg.run(["-loglevel", "error", "-ss", f"{at:.3f}", "-i", str(src), "-frames:v", "1", str(raw)],
                       what="reading a frame of the clip")
            with Image.open(raw) as opened:
                im = opened.convert("RGB")
                size = im.size
                im.thumbnail((640, 640))
                subject = found.find(np.asarray(im))
            crop = framing.crops(subject.box, subject.faces, *size, platform.width, platform.height, 1)[0]
            frames.prepare_still(raw, platform, tmp, crop)
        finally:
            raw.unlink(missing_ok=True)
        return {"crop": list(crop) if crop is not None else None}

    path, meta, hit = cache.file("stills", digest, ".jpg", make)
    calls["cached" if hit else "calls"] += 1
    crop = (meta or {}).get("crop")
    return path, digest, (tuple(crop) if crop else None)  # type: ignore[return-value]
