"""Plan: a request → a Timeline. The script is written and spoken until its voiceover fits the length;
each scene gets a stable id, its visual (a photo of the creator's, or a prompt and seed), its motion,
its pauses and its word timings. Nothing is rendered here."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from models.errors import EngineFailed, InvalidRequest, Remedy
from models.hub import sha256_file
from models.subject import INSTALL_HINT, Subject
from models.types import Script, VoiceClip
from pipelines import derive, frames, framing, media
from pipelines.cache import Cache, key
from pipelines.scripting import MAX_SCRIPT_CHARS, MAX_TOPIC_CHARS, clean_text, script_from_creator
from pipelines.stages import Engines, Progress, ShortPlan, Stages
from pipelines.timeline import Motion, MusicSpec, Timeline, TimelineScene, Visual, check_document
from pipelines.types import Platform, ShortRequest, StageRecord

MAX_PHOTOS = 30
DEFAULT_SECONDS = 30.0  # a topic short's length when none is asked
LEAD_IN = 0.25  # silence before the first word
GAP = 0.3  # breath between scenes
TAIL = 0.6  # room after the last word
MAX_PROMPT = 1000  # the schema's limit on a visual's prompt
_HASHTAG = re.compile(r"#[^\s#]{1,100}")


@dataclass(frozen=True)
class Planned:
    timeline: Timeline
    script: Script
    records: tuple[StageRecord, ...]
    warnings: tuple[str, ...]
    topic: str  # "" when the creator gave the script


def check_inputs(request: ShortRequest, platform: Platform) -> tuple[str, str, float | None]:
    """Fail early and precisely; returns the cleaned (topic, script) and the asked length (None: the voiceover's)."""
    if bool(request.topic.strip()) == bool(request.script.strip()):
        raise InvalidRequest("Give either a topic or a script, not both and not neither.",
                             "Use a topic to have the script written, or give your own words as the script.",
                             Remedy("set_field", field="script"))
    topic = clean_text(request.topic, "topic", MAX_TOPIC_CHARS) if request.topic.strip() else ""
    script = clean_text(request.script, "script", MAX_SCRIPT_CHARS, keep_lines=True) if request.script.strip() else ""
    d = request.duration if request.duration is not None or not topic else DEFAULT_SECONDS
    if d is not None:
        if not (platform.min_seconds <= d <= platform.max_seconds):
            raise InvalidRequest(
                f"{platform.label} shorts must last between {platform.min_seconds:g} and {platform.max_seconds:g} "
                f"seconds; {d!r} was asked.", "Pick a duration in that range.",
                Remedy("set_field", field="duration", value=min(max(30.0, platform.min_seconds), platform.max_seconds)))
    if len(request.media) > MAX_PHOTOS:
        raise InvalidRequest(f"{len(request.media)} photos were given; the limit is {MAX_PHOTOS}.")
    for photo in request.media:
        media.check_image(photo)
    if request.music is not None:
        media.check_music(request.music)
    return topic, script, d


def plan_short(plan: ShortPlan, engines: Engines, cache: Cache, media_dir: Path,
               on_progress: Progress | None = None, span: float = 0.25) -> Planned:
    """The timeline for a request. The creator's photos are copied into ``media_dir`` (named by content),
    which is where the timeline names them from."""
    req, platform = plan.request, plan.platform
    stages = Stages(engines.names, on_progress, 0.0, span)
    warnings = list(engines.warnings)

    # 1. Check everything before any work starts.
    topic, creator_text, target = check_inputs(req, platform)

    # 2-3. Script and voice, fitted to the length: a topic's script shrinks until its voiceover fits.
    wps = plan.voice.rate_wpm / 60.0
    budget = int((target or 0) * wps * 0.85) if topic else 0
    used: dict = {"engine": engines.names["script"] if topic else "creator", "failed": False}
    for _attempt in range(6):
        script = stages.run("script", 0.1, "writing the script", partial(
            _write_script, engines, topic, creator_text, plan, budget, warnings, used), engine=used["engine"])
        if stages.records[-1].engine != used["engine"]:  # the model failed and the offline writer stepped in
            stages.records[-1] = replace(stages.records[-1], engine=used["engine"])
        clips = stages.run("voice", 0.5, f"speaking {len(script.scenes)} scenes",
                           partial(_speak_all, engines, cache, plan, script))
        spoken = LEAD_IN + sum(c.duration for c, _ in clips) + GAP * (len(clips) - 1) + TAIL
        if target is None or spoken <= target or budget <= 4:
            break
        budget = int(budget * target / spoken) - 1
    total = target if target is not None else max(spoken, platform.min_seconds)  # a very short script is held
    if spoken > total + 0.5:
        raise InvalidRequest(f"The voiceover needs {spoken:.1f} s but {total:g} s was asked.", "Ask for a longer short.")
    if total > platform.max_seconds:
        raise InvalidRequest(f"The voiceover lasts {total:.0f} s; {platform.label} allows {platform.max_seconds:g} s.",
                             "Shorten the script or split it into several shorts.")

    # 4. Scenes: stable ids, seeds from the id, pauses that fill the asked length in whole frames.
    ids = [_scene_id(req.seed, topic or creator_text, i) for i in range(len(script.scenes))]
    leads, pauses = _pauses([c.duration for c, _ in clips], total, platform.fps)

    # 5. Timing: when each word is heard, stored in the timeline so a render does not time it again.
    drafts = [TimelineScene(sid, s.text, Visual("generated"), Motion("still"), lead=lead, pause=pause)
              for sid, s, lead, pause in zip(ids, script.scenes, leads, pauses)]
    timed = stages.run("timing", 0.25, "timing every word", lambda c: [derive.time_words(
        engines, cache, clip, vkey, d, plan.language.code, warnings, c) for d, (clip, vkey) in zip(drafts, clips)])

    # 6. Visuals: the creator's photos matched to scenes, or a prompt and a seed per scene; a camera move each.
    visuals = stages.run("stills", 0.15, "choosing visuals", lambda c: _visuals(
        engines, cache, plan, script, ids, media_dir, c, warnings),
        engine="creator-photos" if req.media else engines.names["stills"])
    scenes = []
    for i, (draft, words, (visual, subject)) in enumerate(zip(drafts, timed, visuals)):
        seed = derive.scene_seed(req.seed, draft.id)
        seed += (i - seed) % 2  # alternate zooming in and out down the planned short
        motion = Motion("generated", seed=seed) if engines.motion.can_animate else Motion(
            "camera", engines.motion.plan(seed, subject.box, subject.faces) if subject else engines.motion.plan(seed))
        scenes.append(TimelineScene(draft.id, draft.text, visual, motion, lead=draft.lead, pause=draft.pause,
                                    transition="cut" if i == 0 else "fade", words=words))

    t = plan.template
    timeline = Timeline(
        platform=platform.name, template=t.name, language=plan.language.code, voice=req.voice,
        voice_engine=engines.names.get("voice", ""), profile=req.profile, seed=req.seed, scenes=tuple(scenes),
        caption_style=t.caption_style,  # the template's animation; the timeline editor may change it
        music=MusicSpec(level_db=t.music_level_db, seed=req.seed,
                        engine="creator-track" if req.music else engines.names.get("music", ""),
                        mood=t.music_mood, bpm=t.music_bpm, path=_copy_track(req.music, media_dir)),
        hook=script.hook, title=script.title, caption=script.caption, call_to_action=script.call_to_action,
        hashtags=tuple(h for h in script.hashtags if _HASHTAG.fullmatch(h)))
    check_document(timeline.to_dict())  # a plan the renderer would refuse fails now, not after the render
    return Planned(timeline, script, tuple(stages.records), tuple(warnings), topic)


def _scene_id(seed: int, source: str, index: int) -> str:
    return "s" + key("scene-id", seed, source, index)[:8]


def _pauses(speech: list[float], total: float, fps: int) -> tuple[list[float], list[float]]:
    """Lead-in and pause per scene, so each scene lasts a whole number of frames and together they fill ``total``."""
    n = len(speech)
    leads = [LEAD_IN] + [GAP / 2] * (n - 1)
    base = [GAP / 2] * (n - 1) + [TAIL]
    slack = max(total - sum(leads) - sum(speech) - sum(base), 0.0) / n
    frames = [int((lead + s + p + slack) * fps) for lead, s, p in zip(leads, speech, base)]
    frames[-1] += max(round(total * fps) - sum(frames), 0)
    pauses = [round(f / fps - lead - s, 4) for f, lead, s in zip(frames, leads, speech)]
    return leads, pauses


def _write_script(engines: Engines, topic: str, creator_text: str, plan: ShortPlan, budget: int,
                  warnings: list[str], used: dict, _calls: dict) -> Script:
    if creator_text:
        return script_from_creator(creator_text, plan.platform.title_max_chars, plan.language.code)
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


def _speak_all(engines: Engines, cache: Cache, plan: ShortPlan, script: Script,
               calls: dict) -> list[tuple[VoiceClip, str]]:
    return [derive.speak(engines, cache, plan.voice, s.text, calls) for s in script.scenes]


def _visuals(engines: Engines, cache: Cache, plan: ShortPlan, script: Script, ids: list[str], media_dir: Path,
             calls: dict, warnings: list[str]) -> list[tuple[Visual, Subject | None]]:
    """A visual per scene and, for a photo, its subject inside the crop shown (the camera moves towards it)."""
    photos = [Path(p) for p in plan.request.media]
    if not photos:
        return [(Visual("generated", s.visual_prompt[:MAX_PROMPT], derive.scene_seed(plan.request.seed, sid)), None)
                for s, sid in zip(script.scenes, ids)]
    platform = plan.platform
    prepared = [derive.prepared_photo(cache, platform, p, calls, engines=engines)[0] for p in photos]
    order = spread(match_photos(engines, prepared, [s.visual_prompt for s in script.scenes]))
    media_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for src in photos:  # the timeline names its photos inside its own folder, by content
        kind = media.check_image(src)
        dst = media_dir / f"{sha256_file(src)[:16]}.{kind}"
        if not dst.exists():
            shutil.copyfile(src, dst)
        names.append(f"{media_dir.name}/{dst.name}")
    # each use of a photo is a different shot of its subject (consecutive uses overlap by IoU ≤ 0.6)
    subjects = [derive.subject_of(engines, cache, p, calls) for p in photos]
    shots = {k: iter(framing.crops(subjects[k].box, subjects[k].faces, *frames.image_size(photos[k]),
                                   platform.width, platform.height, order.count(k))) for k in set(order)}
    out, noted = [], set()
    for s, k in zip(script.scenes, order):
        crop = next(shots[k])
        note = derive.photo_detail(photos[k], crop, platform, f"the photo {photos[k].name!r}")
        if note and k not in noted:  # once per photo: its widest use is said
            noted.add(k)
            warnings.append(note)
        subject = subjects[k]
        out.append((Visual("photo", s.visual_prompt[:MAX_PROMPT], path=names[k], crop=crop),
                    _subject_in(subject, crop) if crop is not None else None))
    warnings.extend(n for n in framing_notes(engines, photos, subjects, platform) if n not in warnings)
    return out


def _subject_in(subject: Subject, crop: tuple[float, float, float, float]) -> Subject:
    """The subject as fractions of the crop shown (faces the crop cuts are left out)."""
    faces = tuple(framing.inside(crop, f) for f in subject.faces if framing.contains(crop, f, 0.01))
    return Subject(framing.inside(crop, subject.box), faces, subject.engine)


def framing_notes(engines: Engines, photos: list[Path], subjects: list[Subject], platform: Platform) -> list[str]:
    """Said once when photos were framed without the face detector (it is missing, not failing)."""
    if derive.finder(engines).faces is not None or not photos:
        return []
    return ["framing: the face detector is not installed, so photos were framed around their most eye-catching "
            f"region instead of their faces. To install it, {INSTALL_HINT}."]


def spread(order: list[int]) -> list[int]:
    """The same photos, rearranged so none shows in two scenes in a row while another could go there."""
    out = list(order)

    def clash(i: int) -> bool:
        return (i > 0 and out[i] == out[i - 1]) or (i + 1 < len(out) and out[i] == out[i + 1])

    for j in range(1, len(out)):
        if out[j] != out[j - 1]:
            continue
        for m in range(j + 1, len(out)):
            if out[m] == out[j]:
                continue
            out[j], out[m] = out[m], out[j]
            if not clash(j) and not clash(m):
                break
            out[j], out[m] = out[m], out[j]
    return out


def _copy_track(src: Path | None, media_dir: Path) -> str | None:
    """The creator's music track copied beside the photos (named by content), as the timeline names it."""
    if src is None:
        return None
    media_dir.mkdir(parents=True, exist_ok=True)
    dst = media_dir / f"{sha256_file(src)[:16]}{Path(src).suffix.lower() or '.audio'}"
    if not dst.exists():
        shutil.copyfile(src, dst)
    return f"{media_dir.name}/{dst.name}"


def match_photos(engines: Engines, photos: list[Path], prompts: list[str]) -> list[int]:
    """Photo index per scene: by CLIP similarity when the scorer can (each photo used once while any is left),
    else in the order given."""
    if not engines.scoring.can_compare or len(photos) == 1:
        return [i % len(photos) for i in range(len(prompts))]
    sims = engines.scoring.similarity(photos, prompts)  # photos × scenes
    order, used = [], set()
    for j in range(len(prompts)):
        free = [i for i in range(len(photos)) if i not in used] or list(range(len(photos)))
        best = max(free, key=lambda i: sims[i][j])
        used.add(best)
        order.append(best)
    return order
