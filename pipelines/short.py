"""Topic or script → a post-ready vertical short. One recipe, numbered steps."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from models.errors import EngineFailed, InvalidMedia, InvalidRequest
from models.hub import sha256_file
from models.types import Script, StillSpec, VoiceClip, Word
from pipelines import audio, captions, media, render
from pipelines.cache import Cache, key
from pipelines.quality import measure
from pipelines.scripting import MAX_SCRIPT_CHARS, MAX_TOPIC_CHARS, clean_text, post_text, script_from_creator
from pipelines.types import Language, Platform, Scene, ShortRequest, ShortResult, StageRecord, Template, Voice
from pipelines.words import align_heard, display_words

Progress = Callable[[float, str, str], None]
MAX_PHOTOS = 30
DEFAULT_SECONDS = 30.0  # a topic short's length when none is asked
LEAD_IN = 0.25  # silence before the first word
GAP = 0.3  # breath between scenes
TAIL = 0.6  # room after the last word
PLATFORM_TAGS = {"reels": "#reels", "shorts": "#shorts", "tiktok": "#fyp"}


@dataclass(frozen=True)
class Engines:
    """The engine object chosen for each stage, and its registry name."""

    script: Any
    voice: Any
    stills: Any
    motion: Any
    music: Any
    scoring: Any
    names: dict[str, str] = field(default_factory=dict)
    timing: Any = None  # None: use the voice engine's own word events
    warnings: tuple[str, ...] = ()  # fallbacks decided when the engines were chosen


@dataclass(frozen=True)
class ShortPlan:
    """A request with its names resolved into presets by the studio."""

    request: ShortRequest
    platform: Platform
    template: Template
    voice: Voice
    language: Language


class _Stages:
    """Times each stage and counts engine calls vs cache hits for report.json."""

    def __init__(self, engines: Engines, on_progress: Progress | None) -> None:
        self.records: list[StageRecord] = []
        self.engines = engines
        self.on_progress = on_progress or (lambda *_: None)
        self.done = 0.0

    def run(self, stage: str, weight: float, message: str, fn: Callable[[dict], Any], engine: str | None = None):
        self.on_progress(self.done, stage, message)
        t0 = time.perf_counter()
        calls = {"calls": 0, "cached": 0}
        value = fn(calls)
        self.records.append(StageRecord(stage, engine or self.engines.names.get(stage, stage),
                                        round(time.perf_counter() - t0, 3), calls["calls"], calls["cached"]))
        self.done += weight
        self.on_progress(min(self.done, 1.0), stage, "done")
        return value


def check_inputs(request: ShortRequest, platform: Platform) -> tuple[str, str, float | None]:
    """Fail early and precisely; returns the cleaned (topic, script) and the asked length (None: the voiceover's)."""
    if bool(request.topic.strip()) == bool(request.script.strip()):
        raise InvalidRequest("Give either a topic or a script, not both and not neither.",
                             "Use a topic to have the script written, or --script FILE for your own words.")
    topic = clean_text(request.topic, "topic", MAX_TOPIC_CHARS) if request.topic.strip() else ""
    script = clean_text(request.script, "script", MAX_SCRIPT_CHARS, keep_lines=True) if request.script.strip() else ""
    d = request.duration if request.duration is not None or not topic else DEFAULT_SECONDS
    if d is not None:
        if not (platform.min_seconds <= d <= platform.max_seconds):
            raise InvalidRequest(
                f"{platform.label} shorts must last between {platform.min_seconds:g} and {platform.max_seconds:g} "
                f"seconds; {d!r} was asked.", "Pick a duration in that range, e.g. --duration 30.")
    if len(request.media) > MAX_PHOTOS:
        raise InvalidRequest(f"{len(request.media)} photos were given; the limit is {MAX_PHOTOS}.")
    for photo in request.media:
        media.check_image(photo)
    return topic, script, d


def make_short(plan: ShortPlan, engines: Engines, *, out_dir: Path, cache_dir: Path,
               encode_options: render.EncodeOptions = render.EncodeOptions(),
               on_progress: Progress | None = None) -> ShortResult:
    """Make the short; on any failure a folder this call created is removed, so nothing half-made is left."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        return _make_short(plan, engines, out_dir, cache_dir, encode_options, on_progress)
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _make_short(plan: ShortPlan, engines: Engines, out_dir: Path, cache_dir: Path,
                encode_options: render.EncodeOptions, on_progress: Progress | None) -> ShortResult:
    req, platform, template = plan.request, plan.platform, plan.template
    stages = _Stages(engines, on_progress)
    cache = Cache(cache_dir)
    work = out_dir / ".work"

    warnings = list(engines.warnings)

    # 1. Check everything before any work starts.
    topic, creator_text, target = check_inputs(req, platform)
    work.mkdir(parents=True, exist_ok=True)

    # 2-3. Script and voice, fitted to the length: a topic's script shrinks until its voiceover fits.
    wps = plan.voice.rate_wpm / 60.0
    words_budget = int((target or 0) * wps * 0.85) if topic else 0
    used: dict = {"engine": engines.names["script"] if topic else "creator", "failed": False}
    for _attempt in range(6):
        script = stages.run("script", 0.02, "writing the script", partial(
            _write_script_stage, engines, topic, creator_text, plan, words_budget, warnings, used), engine=used["engine"])
        if stages.records[-1].engine != used["engine"]:  # the model failed and the offline writer stepped in
            stages.records[-1] = replace(stages.records[-1], engine=used["engine"])
        clips = stages.run("voice", 0.15, f"speaking {len(script.scenes)} scenes",
                           partial(_speak, engines, cache, plan, script))
        spoken = LEAD_IN + sum(c.duration for c in clips) + GAP * (len(clips) - 1) + TAIL
        if target is None or spoken <= target or words_budget <= 4:
            break
        words_budget = int(words_budget * target / spoken) - 1
    total = target if target is not None else spoken
    if spoken > total + 0.5:
        raise InvalidRequest(f"The voiceover needs {spoken:.1f} s but {total:g} s was asked.", "Ask for a longer short.")
    if total > platform.max_seconds:
        raise InvalidRequest(f"The voiceover lasts {total:.0f} s; {platform.label} allows {platform.max_seconds:g} s.",
                             "Shorten the script or split it into several shorts.")

    # 4. Timing: when each word is heard (a recogniser on the real voice track, or the engine's word events).
    timed = stages.run("timing", 0.02, "timing every word", lambda _c: _time_words(
        engines, script, clips, plan.language.code, warnings))

    # 5. Stills (the creator's photos matched to scenes, or generated) and their scores and safety.
    images, sources = stages.run("stills", 0.06, "preparing visuals", lambda c: _stills(
        engines, cache, plan, script, c), engine=engines.names["stills"] if not req.media else "creator-photos")
    scoring = stages.run("scoring", 0.02, "scoring visuals", lambda _c: _score(
        engines, script, images, sources, req.safety, warnings))
    scores = scoring["thumbnail"]

    # 6. Motion: a generated clip per still, or a camera path; lay the scenes out on the timeline.
    scenes = stages.run("motion", 0.01, "planning motion", lambda c: _timeline(
        engines, cache, req.seed, script, clips, timed, images, total, c))

    # 7. Music bed, then the mix: voice over ducked music, normalised to -14 LUFS.
    music_path = stages.run("music", 0.03, "composing music", lambda c: _music(engines, cache, plan, total, c))
    mix = stages.run("mix", 0.04, "mixing and normalising", lambda _c: audio.mix(
        scenes, music_path, total, template.music_level_db, work), engine="ducking + loudness")

    # 8. Captions: cues a few words long, karaoke-highlighted, inside the safe zone.
    all_words = tuple(w for s in scenes for w in s.words)
    cues = captions.build_cues(all_words, platform, template, plan.language.font)
    hook_end = min(max(scenes[0].start + scenes[0].duration, 2.0), 4.0)
    ass = captions.write_ass(work / "captions.ass", cues, script.hook, hook_end, platform, template,
                             plan.language.font)
    srt_path = captions.write_srt(out_dir / "captions.srt", cues)
    vtt_path = captions.write_vtt(out_dir / "captions.vtt", cues)

    # 9. Render: frames → one ffmpeg → one encode.
    video = out_dir / "short.mp4"
    stages.run("render", 0.58, "rendering video", lambda _c: render.encode(
        scenes, platform, total, mix.path, ass, video, encode_options,
        on_frame=lambda f: stages.on_progress(stages.done + 0.58 * f, "render", f"{f:.0%} of frames")))

    # 10. Thumbnail from the best-scoring visual, with the hook on it.
    best = max(range(len(images)), key=lambda i: scores[i])
    thumb_ass = captions.write_ass(work / "thumbnail.ass", [], script.hook, 1.0, platform, template,
                                   plan.language.font)
    thumb = render.thumbnail(images[best], thumb_ass, platform, out_dir / "thumbnail.jpg")

    # 11. Post text and the report, its checks measured on the finished file.
    checks = stages.run("checks", 0.05, "measuring the result", lambda _c: measure(video, platform, total),
                        engine="ffprobe + ebur128")
    duration = checks["duration_s"]["value"]
    post = post_text(script, PLATFORM_TAGS.get(platform.name, ""), platform.caption_max_chars,
                     platform.hashtags_max, platform.title_max_chars)
    post.update(platform=platform.name, duration=duration)
    post_path = out_dir / "post.json"
    post_path.write_text(json.dumps(post, ensure_ascii=False, indent=2), encoding="utf-8")
    checks["music_below_voice_db"] = {"value": mix.music_below_voice_db, "min": 10.0,
                                      "ok": mix.music_below_voice_db >= 10.0}
    checks["captions"] = _caption_checks(cues, duration)
    for w in warnings:
        stages.on_progress(1.0, "warning", w)
    report = {
        "platform": platform.name,
        "duration": duration,
        "scenes": len(scenes),
        "hook": {"text": script.hook, "shown_from_s": 0.0, "shown_until_s": hook_end},  # as laid out, not measured
        "stages": [asdict(r) for r in _merge(stages.records)],
        "engines": {r.stage: r.engine for r in stages.records},
        "checks": checks,
        "ok": all(c["ok"] for c in checks.values()),
        "scene_scores": scores,
        "scene_alignment": scoring["alignment"],
        "safety": scoring["safety"],
        "thumbnail_scene": best,
        "warnings": warnings,
        "request": {"platform": req.platform, "template": req.template, "voice": req.voice,
                    "language": req.language, "profile": req.profile, "seed": req.seed, "models": list(req.models),
                    "photos": len(req.media), "from": "topic" if topic else "script"},
    }
    report_path = out_dir / "report.json"
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    stages.on_progress(1.0, "done", f"wrote {video}")
    return ShortResult(out_dir, video, srt_path, vtt_path, thumb, post_path, report_path, report,
                       tuple(_merge(stages.records)))


def _write_script_stage(engines: Engines, topic: str, creator_text: str, plan: ShortPlan, budget: int,
                        warnings: list[str], used: dict, _calls: dict) -> Script:
    return _write_script(engines, topic, creator_text, plan, budget, warnings, used)


def _prepare_into(src: Path, platform: Platform, tmp: Path) -> Path:
    return render.prepare_still(src, platform, tmp)


def _animate_into(motion, image: Path, seed: int, tmp: Path):
    return motion.animate(image, seed=seed, out_path=tmp)


def _write_script(engines: Engines, topic: str, creator_text: str, plan: ShortPlan, budget: int,
                  warnings: list[str], used: dict) -> Script:
    if creator_text:
        return script_from_creator(creator_text, plan.platform.title_max_chars)
    try:
        if used["failed"]:  # the model already failed for this short: do not try it again on a refit
            raise EngineFailed("the script model failed earlier for this short")
        return engines.script.write(topic, language=plan.language.code, target_words=budget, seed=plan.request.seed)
    except EngineFailed as exc:
        if plan.request.strict or engines.names["script"] == "rules":
            raise
        from models.script.rules import RuleScriptWriter

        if not used["failed"]:
            warnings.append(f"script: {exc.message} Used the offline rule-based writer instead.")
        used["failed"] = True
        used["engine"] = f"rules (fallback from {engines.names['script']})"
        return RuleScriptWriter().write(topic, language=plan.language.code, target_words=budget,
                                        seed=plan.request.seed)


def _speak(engines: Engines, cache: Cache, plan: ShortPlan, script: Script, calls: dict) -> list[VoiceClip]:
    clips = []
    engine = engines.voice
    for scene in script.scenes:
        digest = key(engines.names["voice"], engine.settings, plan.voice.engine_voice, scene.text)

        def make(tmp: Path, text: str = scene.text) -> dict:
            clip = engine.synthesize(text, voice=plan.voice.engine_voice, out_path=tmp)
            return {"rate": clip.sample_rate, "duration": clip.duration, "words": [asdict(w) for w in clip.words]}

        wav, data, hit = cache.file("voice", digest, ".wav", make)
        calls["cached" if hit else "calls"] += 1
        clips.append(VoiceClip(wav, data["rate"], data["duration"], tuple(Word(**w) for w in data["words"])))
    return clips


def _time_words(engines: Engines, script: Script, clips: list[VoiceClip], language: str,
                warnings: list[str]) -> list[tuple[Word, ...]]:
    timed = []
    for scene, clip in zip(script.scenes, clips):
        if engines.timing is not None:
            heard = engines.timing.words(clip.path, language=language, duration=clip.duration)
            timed.append(align_heard(scene.text, heard, clip.duration))
        elif clip.words:
            timed.append(display_words(scene.text, clip.words, clip.duration))
        else:
            note = ("timing: the voice engine reports no word timings and no recogniser is loaded; words were spread "
                    "over the speech by length (captions may drift).")
            if note not in warnings:
                warnings.append(note)
            timed.append(align_heard(scene.text, (), clip.duration))
    return timed


def _stills(engines: Engines, cache: Cache, plan: ShortPlan, script: Script,
            calls: dict) -> tuple[list[Path], list[str]]:
    """One prepared still per scene and a name for each (used in safety messages)."""
    platform, photos = plan.platform, plan.request.media
    if photos:
        prepared = []
        for src in map(Path, photos):
            digest = key("prepare", render.SOURCE_SCALE, platform.width, platform.height, sha256_file(src))
            path, _, hit = cache.file("stills", digest, ".jpg", partial(_prepare_into, src, platform))
            calls["cached" if hit else "calls"] += 1
            prepared.append(path)
        order = _match_photos(engines, prepared, [s.visual_prompt for s in script.scenes])
        return [prepared[k] for k in order], [f"photo {Path(photos[k]).name!r}" for k in order]
    out = []
    for i, scene in enumerate(script.scenes):
        w, h = render.source_size(platform)
        spec = StillSpec(scene.visual_prompt, w, h, seed=plan.request.seed * 1000 + i, palette=plan.template.palette)
        digest = key(engines.names["stills"], engines.stills.settings, asdict(spec), render.SOURCE_SCALE)

        def make(tmp: Path, spec: StillSpec = spec) -> None:
            raw = tmp.with_name(tmp.stem + ".raw.jpg")
            try:
                engines.stills.generate(spec, raw)
                render.prepare_still(raw, platform, tmp)  # any model size → the frame's aspect, cover-cropped
            finally:
                raw.unlink(missing_ok=True)

        path, _, hit = cache.file("stills", digest, ".jpg", make)
        calls["cached" if hit else "calls"] += 1
        out.append(path)
    return out, [f"generated still for scene {i + 1}" for i in range(len(out))]


def _match_photos(engines: Engines, photos: list[Path], prompts: list[str]) -> list[int]:
    """Photo index per scene: by CLIP similarity when the scorer can (each photo used once while any is left),
    else in the order given."""
    if not hasattr(engines.scoring, "similarity") or len(photos) == 1:
        return [i % len(photos) for i in range(len(prompts))]
    sims = engines.scoring.similarity(photos, prompts)  # photos × scenes
    order, used = [], set()
    for j in range(len(prompts)):
        free = [i for i in range(len(photos)) if i not in used] or list(range(len(photos)))
        best = max(free, key=lambda i: sims[i][j])
        used.add(best)
        order.append(best)
    return order


def _score(engines: Engines, script: Script, images: list[Path], sources: list[str], safety: str,
           warnings: list[str]) -> dict:
    scorer = engines.scoring
    result: dict[str, Any] = {"thumbnail": [scorer.score(p) for p in images], "alignment": None,
                              "safety": "not checked"}
    if hasattr(scorer, "similarity"):
        sims = scorer.similarity(images, [s.visual_prompt for s in script.scenes])
        result["alignment"] = [round(sims[i][i], 4) for i in range(len(images))]
    if safety == "off":
        result["safety"] = "off"
    elif hasattr(scorer, "unsafe"):
        probs = scorer.unsafe(images)
        flagged = [(src, p) for src, p in zip(sources, probs) if p >= scorer.unsafe_threshold]
        result["safety"] = {"checked": len(images), "flagged": [src for src, _ in flagged]}
        for src, p in flagged:
            message = f"The {src} looks unsafe (score {p:.2f})."
            if safety == "block":
                raise InvalidMedia(message, "Replace it, or run with --safety warn if this is a false alarm.")
            warnings.append(f"safety: {message}")
    else:
        warnings.append("safety: images were not checked (the offline scorer has no safety model).")
    return result


def _timeline(engines: Engines, cache: Cache, seed: int, script: Script, clips: list[VoiceClip],
              timed: list[tuple[Word, ...]], images: list[Path], total: float, calls: dict) -> list[Scene]:
    n = len(clips)
    spoken = LEAD_IN + sum(c.duration for c in clips) + GAP * (n - 1) + TAIL
    slack = max(total - spoken, 0.0) / n
    scenes, start = [], 0.0
    for i, (ss, clip, words) in enumerate(zip(script.scenes, clips, timed)):
        offset = LEAD_IN if i == 0 else GAP / 2
        length = offset + clip.duration + (TAIL if i == n - 1 else GAP / 2) + slack
        if i == n - 1:
            length = total - start
        shift = start + offset
        absolute = tuple(Word(w.text, round(w.start + shift, 3), round(w.end + shift, 3)) for w in words)
        motion = None
        if hasattr(engines.motion, "animate"):
            digest = key(engines.names["motion"], engines.motion.settings, sha256_file(images[i]), seed * 1000 + i)
            motion, _, hit = cache.file("motion", digest, ".npz", partial(_animate_into, engines.motion, images[i],
                                                                        seed * 1000 + i))
            calls["cached" if hit else "calls"] += 1
        scenes.append(Scene(i, ss.text, ss.visual_prompt, start, length, clip, offset, absolute, images[i],
                            engines.motion.plan(seed * 1000 + i), motion))
        start += length
    return scenes


def _music(engines: Engines, cache: Cache, plan: ShortPlan, total: float, calls: dict) -> Path:
    t = plan.template
    digest = key(engines.names["music"], engines.music.settings, round(total, 3), t.music_bpm, t.music_mood,
                 plan.request.seed)
    path, _, hit = cache.file("music", digest, ".wav", lambda tmp: engines.music.compose(
        total, bpm=t.music_bpm, mood=t.music_mood, seed=plan.request.seed, out_path=tmp))
    calls["cached" if hit else "calls"] += 1
    return path


def _caption_checks(cues: list[captions.Cue], duration: float) -> dict:
    starts = [c.start for c in cues]
    monotone = all(a.end <= b.start + 1e-6 for a, b in zip(cues, cues[1:])) and all(c.start < c.end for c in cues)
    inside = all(0 <= c.start and c.end <= duration + 1e-6 for c in cues)
    return {"value": {"cues": len(cues), "first": starts[0] if starts else None}, "ok": monotone and inside and
            bool(cues)}


def _merge(records: list[StageRecord]) -> list[StageRecord]:
    """One record per stage (a refit loop may run script and voice more than once)."""
    merged: dict[str, StageRecord] = {}
    for r in records:
        m = merged.get(r.stage)
        merged[r.stage] = r if m is None else StageRecord(
            r.stage, m.engine if m.engine == r.engine else f"{m.engine} + {r.engine}",
            round(m.seconds + r.seconds, 3), m.calls + r.calls, m.cached + r.cached)
    return list(merged.values())
