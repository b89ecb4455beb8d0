"""A short is made in two steps: plan a Timeline (pipelines/plan.py), then render it (here).

``make_short`` = ``plan_short`` + ``render_timeline``. ``render_timeline`` also renders an
edited timeline: everything derived is cached by content, so only what changed is redone.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from models.errors import InvalidMedia, InvalidRequest, Remedy
from models.hub import sha256_file
from models.types import Word
from pipelines import audio, captions, derive, framing, media, render
from pipelines.cache import Cache, key
from pipelines.plan import MAX_PHOTOS, Planned, check_inputs, plan_short
from pipelines.post import post_document
from pipelines.quality import measure
from pipelines.render import EncodeOptions
from pipelines.report import Report, SceneReport
from pipelines.stages import Engines, Presets, Progress, ShortPlan, Stages, merge
from pipelines.timeline import Timeline, check_files, check_timeline, music_file
from pipelines.types import Platform, Scene, ShortResult, StageRecord

__all__ = ["Engines", "ShortPlan", "Presets", "MAX_PHOTOS", "check_inputs", "make_short", "render_timeline"]

PLAN_SHARE = 0.2  # of the progress bar
_VISUAL_ENGINE = {"photo": "creator-photos", "clip": "creator-clips"}


def make_short(plan: ShortPlan, engines: Engines, *, out_dir: Path, cache_dir: Path,
               encode_options: EncodeOptions = EncodeOptions(), on_progress: Progress | None = None,
               keep_work: bool = False) -> ShortResult:
    """Plan the short, then render it; on any failure (Ctrl-C included) a folder this call created is removed."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        planned = plan_short(plan, engines, Cache(cache_dir), out_dir / "media", on_progress, PLAN_SHARE)
        return render_timeline(planned.timeline, plan.presets, engines, base=out_dir, out_dir=out_dir,
                               cache_dir=cache_dir, encode_options=encode_options, on_progress=on_progress,
                               safety=plan.request.safety, planned=planned, keep_work=keep_work)
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def render_timeline(timeline: Timeline, presets: Presets, engines: Engines, *, base: Path | None, out_dir: Path,
                    cache_dir: Path, encode_options: EncodeOptions = EncodeOptions(),
                    on_progress: Progress | None = None, safety: str = "block", planned: Planned | None = None,
                    assets: dict[str, Path] | None = None, formats: tuple[Platform, ...] = (),
                    keep_work: bool = False) -> ShortResult:
    """Render a timeline into ``out_dir``. Photos are named relative to ``base`` (the timeline's folder), or by
    asset id through ``assets``. ``formats``: the platform preset in each feed format to export (default: its own
    9:16 frame), each as ``short{suffix}.mp4`` and ``thumbnail{suffix}.jpg``. Files already in ``out_dir`` are
    replaced only once everything succeeded. ``out_dir/.work`` holds scratch files only (the content cache keeps
    what a re-render reuses): it is removed afterwards, failed or not, unless ``keep_work`` (for debugging)."""
    staged: list[Path] = []  # this render's staging folder, once made
    try:
        return _render_into(timeline, presets, engines, base=base, out_dir=Path(out_dir), cache_dir=cache_dir,
                            encode_options=encode_options, on_progress=on_progress, safety=safety, planned=planned,
                            assets=assets, formats=formats, staged=staged)
    finally:
        if not keep_work:
            _drop_scratch(Path(out_dir) / ".work", staged)


def _drop_scratch(work: Path, staged: list[Path]) -> None:
    """Remove this render's staging folder, then ``.work`` itself unless another render into the same folder is
    still working in it (that one removes it when it ends)."""
    if not staged or work.is_symlink():
        return  # refused before it wrote anything (a .work that is a link is never followed)
    for path in staged:
        shutil.rmtree(path, ignore_errors=True)
    if not any(work.glob("next-*")):
        shutil.rmtree(work, ignore_errors=True)


def _render_into(timeline: Timeline, presets: Presets, engines: Engines, *, base: Path | None, out_dir: Path,
                 cache_dir: Path, encode_options: EncodeOptions, on_progress: Progress | None, safety: str,
                 planned: Planned | None, assets: dict[str, Path] | None, formats: tuple[Platform, ...],
                 staged: list[Path]) -> ShortResult:
    platform, template, lang = presets.platform, presets.template, presets.language
    start = PLAN_SHARE if planned else 0.0
    stages = Stages(engines.names, on_progress, start, 1.0 - start)
    cache = Cache(cache_dir)
    warnings = list(planned.warnings if planned else engines.warnings)

    # 1. Check the whole timeline before any work: its fields, its files, the names it uses.
    check_timeline(timeline)
    if timeline.platform != platform.name or timeline.template != template.name:
        raise InvalidRequest("The presets given do not match the timeline's platform and template.")
    photos = check_files(timeline, base, assets_only=assets is not None)
    track = music_file(timeline, base, assets_only=assets is not None)
    if assets is not None:
        photos = _resolve_assets(timeline, assets)
        if timeline.music.asset is not None:
            if timeline.music.asset not in assets:
                raise InvalidRequest(f"Timeline field music.asset: no asset {timeline.music.asset!r} of yours.")
            track = assets[timeline.music.asset]
    if track is not None:
        media.check_music(track)
    lengths_of_clips: dict[str, float] = {}
    for i, s in enumerate(timeline.scenes):
        if s.visual.kind == "photo":
            media.check_image(photos[s.id])
        elif s.visual.kind == "clip":
            seconds = lengths_of_clips[s.id] = media.check_video(photos[s.id])
            if s.visual.clip_in >= seconds:
                raise InvalidRequest(f"Timeline field scenes[{i}].visual.in: the clip is only {seconds:.1f} s long.")
    work = out_dir / ".work"
    if work.is_symlink() or (out_dir.is_symlink() and assets is not None):
        raise InvalidRequest(f"{work} is a symbolic link; the studio writes only inside the short's own folder.")
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("next-*"):  # left by a render that failed
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix="next-", dir=work))  # two renders into one folder never share it
    staged.append(staging)

    words_said = sum(len(sc.text.split()) for sc in timeline.scenes)
    if words_said / FASTEST_WPM * 60 > platform.max_seconds:  # too long at any speaking rate: say so before speaking
        raise _too_long(words_said / FASTEST_WPM * 60, platform, at_least=True)

    # 2. Voice: each scene's words spoken (cache hits unless the words or the voice changed).
    spoken = stages.run("voice", 0.05, "speaking", lambda c: [
        derive.speak(engines, cache, presets.voice, s.text, c) if s.text.strip() else (None, "")
        for s in timeline.scenes])

    for clip, _ in spoken:  # what the voice noticed (a symbol it has no sound for), once each
        for note in clip.notes if clip else ():
            if note not in warnings:
                warnings.append(note)

    # 3. Layout: each scene lasts a whole number of frames, so a scene that moves keeps its pixels (checked against
    # the platform's limits before any word is timed).
    lengths = _frames_per_scene(timeline, [clip.duration if clip else 0.0 for clip, _ in spoken], platform.fps)
    total = sum(lengths) / platform.fps
    if not platform.min_seconds <= total <= platform.max_seconds:
        raise _too_long(total, platform) if total > platform.max_seconds else InvalidRequest(
            f"The short would last {total:.1f} s; {platform.label} shorts last between {platform.min_seconds:g} and "
            f"{platform.max_seconds:g} s.", "Lengthen a scene's pause or duration, or add a scene.")

    # 4. Timing: the timeline's own word timings while they match the words, else timed again.
    words = stages.run("timing", 0.02, "timing words", lambda c: [
        derive.time_words(engines, cache, clip, vkey, s, lang.code, warnings, c) if clip else ()
        for s, (clip, vkey) in zip(timeline.scenes, spoken)])

    # 5. Visuals: the creator's photos prepared for the frame, or each scene's still generated from its seed (stock
    #    photos' authors and licences kept in ``credits``, by scene id).
    credits: dict[str, dict] = {}
    words_on = _card_words(timeline, lengths, platform.fps)
    visuals = stages.run("stills", 0.08, "preparing visuals", lambda c: [
        derive.prepared_photo(cache, platform, photos[s.id], c, s.visual.crop, engines) if s.visual.kind == "photo" else
        derive.clip_still(cache, platform, photos[s.id], s.visual.clip_in, c, engines) if s.visual.kind == "clip" else
        derive.generated_still(engines, cache, platform, template, s.visual.prompt, s.visual.seed, c, scene=s.id,
                               warnings=warnings, credits=credits, text=card, language=lang.code)
        for s, card in zip(timeline.scenes, words_on)],
        engine=" + ".join(sorted({_VISUAL_ENGINE.get(s.visual.kind) or engines.names["stills"] for s in timeline.scenes})))
    images = [path for path, _ in visuals]
    for n, s in enumerate(timeline.scenes):  # a photo enlarged past what the frame needs looks soft: say which
        if s.visual.kind == "photo" and planned is None:  # (a planned short said so, naming the creator's file)
            note = derive.photo_detail(photos[s.id], s.visual.crop, platform, f"the photo in scene {n + 1}")
            if note and note not in warnings:
                warnings.append(note)
    names = [photos[s.id].name if s.visual.is_file else f"generated: {s.visual.prompt}"[:120]
             for s in timeline.scenes]
    scoring = stages.run("scoring", 0.02, "scoring visuals", lambda _c: _score(
        engines, timeline, images, names, safety, warnings))
    best = max(range(len(images)), key=lambda i: scoring["thumbnail"][i])

    # 6. Motion: a generated clip per scene that asks for one, else the scene's camera path.
    scenes = stages.run("motion", 0.02, "planning motion", lambda c: _layout(
        engines, cache, timeline, spoken, words, visuals, lengths, platform.fps, warnings, c, photos, lengths_of_clips,
        platform))

    # 7. Music: the creator's own track fitted to the short, or a bed; then the mix: voice over ducked music,
    # normalised to -14 LUFS.
    if track is not None:
        music = stages.run("music", 0.03, "fitting your music", lambda c: derive.music_track(cache, track, total, c),
                           engine="creator-track")
        licence = timeline.music.licence or "the creator's own track (their licence)"
    else:
        music = stages.run("music", 0.03, "composing music", lambda c: derive.music_bed(
            engines, cache, template, total, timeline.music.seed, c))
        licence = getattr(engines.music, "licence", "") or "unknown"
    mix = stages.run("mix", 0.04, "mixing and normalising", lambda _c: audio.mix(
        scenes, music, total, timeline.music.level_db, work, encode_options.audio_bitrate), engine="ducking + loudness")

    # 8. Captions as files: cues a few words long per scene (the frame's own size decides where lines break).
    font = template.font or lang.font
    all_cues = [c for sc in scenes for c in captions.shifted(captions.build_cues(sc.words, platform, template, font),
                                                            sc.start)]
    captions.write_srt(staging / "captions.srt", all_cues)
    shrunk = list(dict.fromkeys(c.text.strip(".,;:!?…。，！？") for c in all_cues if c.scale < 1))
    if shrunk:
        warnings.append(f"captions: {len(shrunk)} word{'s were' if len(shrunk) > 1 else ' was'} too wide for the "
                        f"safe zone at the template's size and shrunk to fit: {', '.join(shrunk[:8])}"
                        f"{' …' if len(shrunk) > 8 else ''}.")
    captions.write_vtt(staging / "captions.vtt", all_cues)
    hook_end = _hook_end(scenes[0].duration)

    # 9. Each format: its visuals fitted to its frame, captions and hook laid out in its safe zone, its segments
    #    (cached ones reused, the rest encoded), one join, and a thumbnail from the best-scoring visual.
    shown = formats or (platform,)
    share = 0.62 / len(shown)
    outputs: dict[str, _FormatOut] = {}
    for f in shown:
        f_scenes = scenes
        if (f.width, f.height) != (platform.width, platform.height):
            f_visuals = stages.run("stills", 0.0, f"fitting visuals to {f.aspect}", partial(
                _fit_visuals, cache, f, timeline, photos, visuals, engines))
            f_scenes = [replace(sc, image=img, image_key=img_key, video_crop=derive.clip_crop(
                cache, f, sc.video, sc.video_in, {"calls": 0, "cached": 0}, engines) if sc.video is not None else None)
                for sc, (img, img_key) in zip(scenes, f_visuals)]
        outputs[f.aspect] = stages.run("render", share, f"rendering {f.aspect} video", partial(
            _render_format, f, template, font, timeline, f_scenes, hook_end, encode_options, cache, mix.path, total,
            staging, best, stages, share, engines))
    first = outputs[shown[0].aspect]
    render_records = [r for r in stages.records if r.stage == "render"]
    stats = render.RenderStats(
        segments=sum(o.stats.segments for o in outputs.values()), encoded=sum(o.stats.encoded for o in outputs.values()),
        reused=sum(o.stats.reused for o in outputs.values()),
        encoded_frames=sum(o.stats.encoded_frames for o in outputs.values()),
        encoded_scenes=tuple(dict.fromkeys(i for o in outputs.values() for i in o.stats.encoded_scenes)))
    stages.records = [r for r in stages.records if r.stage != "render"] + [StageRecord(
        "render", render_records[0].engine, round(sum(r.seconds for r in render_records), 3), stats.encoded,
        stats.reused)]

    # 10. Post text, the checks measured on each finished file, the report, and the timeline itself.
    checks = stages.run("checks", 0.12, "measuring the result", lambda _c: {
        aspect: measure(staging / o.video, o.platform, total) for aspect, o in outputs.items()},
                        engine="ffprobe + ebur128")
    main_checks = checks[shown[0].aspect]
    duration = main_checks["duration_s"]["value"]
    post = post_document(_script_of(timeline), platform, presets.post_platforms, language=lang.code,
                         seed=timeline.seed)
    post.update(platform=platform.name, duration=duration,
                music={"source": "creator-track" if track is not None else engines.names.get("music", ""),
                       "licence": licence},
                credits=list({c["url"]: c for c in credits.values()}.values()))  # each stock photo once
    (staging / "post.json").write_text(json.dumps(post, ensure_ascii=False, indent=2), encoding="utf-8")
    main_checks["music_below_voice_db"] = {"value": mix.music_below_voice_db, "min": 10.0,
                                           "ok": mix.music_below_voice_db >= 10.0}
    main_checks["captions"] = _caption_checks(all_cues, duration)
    for aspect in list(checks)[1:]:
        main_checks[f"format_{aspect}"] = {"value": outputs[aspect].video, "ok": all(
            c["ok"] for c in checks[aspect].values())}
    saved = _portable(timeline, words, photos, out_dir, base, assets is not None, track)
    saved.save(staging / "timeline.json")
    for w in warnings:
        stages.on_progress(1.0, "warning", w)
    records: list[StageRecord] = merge([*(planned.records if planned else ()), *stages.records])
    report = Report(
        platform=platform.name, duration=duration,
        hook={"text": timeline.hook, "shown_from_s": 0.0, "shown_until_s": first.hook_end},  # as laid out
        stages=tuple(records), checks=main_checks,
        scenes=tuple(SceneReport(sc.id, round(sc.start, 3), round(sc.duration, 3), name, scoring["thumbnail"][i],
                                 scoring["alignment"][i] if scoring["alignment"] else None,
                                 sc.id in stats.encoded_scenes, credits.get(sc.id))
                     for i, (sc, name) in enumerate(zip(scenes, names))),
        segments=stats, safety=scoring["safety"], thumbnail_scene=scenes[best].id, warnings=tuple(warnings),
        music=post["music"],
        request=_request_summary(planned) if planned else None,
        formats={aspect: {"video": o.video, "thumbnail": o.thumbnail, "size": f"{o.platform.width}x{o.platform.height}",
                          "checks": checks[aspect], "segments": asdict(o.stats)} for aspect, o in outputs.items()})
    report.write(staging / "report.json")

    # 11. Publish: every file moves into place only now, so a failed render leaves the last one intact; files of a
    # format this render did not make are removed, so the folder never mixes an old edit with a new one.
    # (A failure before this point kept with keep_work leaves a next-* folder in .work; a render an hour later
    # into this folder sweeps it.)
    made = [name for o in outputs.values() for name in (o.video, o.thumbnail)]
    names_out = [*made, "captions.srt", "captions.vtt", "post.json", "report.json", "timeline.json"]
    for name in names_out:
        os.replace(staging / name, out_dir / name)
    for old in [*out_dir.glob("short*.mp4"), *out_dir.glob("thumbnail*.jpg")]:
        if old.name not in made:
            old.unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    o = out_dir
    stages.on_progress(1.0, "done", f"wrote {o / first.video}")
    return ShortResult(o, o / first.video, o / "captions.srt", o / "captions.vtt", o / first.thumbnail,
                       o / "post.json", o / "report.json", o / "timeline.json", report, saved,
                       tuple(o / name for name in made if name not in (first.video, first.thumbnail)))


@dataclass(frozen=True)
class _FormatOut:
    platform: Platform
    video: str  # file names in the staging folder
    thumbnail: str
    stats: render.RenderStats
    hook_end: float = 0.0  # the hook stays until the captions it stands in for are spoken


def _fit_visuals(cache: Cache, f: Platform, timeline: Timeline, files: dict[str, Path],
                 visuals: list[tuple[Path, str]], engines: Engines, calls: dict) -> list[tuple[Path, str]]:
    """Each scene's visual fitted to another format's frame: photos and clips from their source (photos cropped
    around their subject), generated stills from the still itself (the same picture in every format)."""
    return [derive.prepared_photo(cache, f, files[sc.id], calls, engines=engines) if sc.visual.kind == "photo" else
            derive.clip_still(cache, f, files[sc.id], sc.visual.clip_in, calls, engines) if sc.visual.kind == "clip" else
            derive.refit(cache, f, path, still_key, calls)
            for sc, (path, still_key) in zip(timeline.scenes, visuals)]


def _render_format(f: Platform, template, font: str, timeline: Timeline, scenes: list[Scene], hook_end: float,
                   options: EncodeOptions, cache: Cache, soundtrack: Path, total: float, staging: Path, best: int,
                   stages: Stages, share: float, engines: Engines, calls: dict) -> _FormatOut:
    """One feed format's video and thumbnail: captions and the hook laid out inside ``f``'s safe zone, off faces,
    and the hook standing in for the captions that would repeat it."""
    template = captions.for_frame(template, f)
    scene_cues = [captions.build_cues(sc.words, f, template, font) for sc in scenes]
    header = captions.ass_header(f, template, font)
    shifted = [c for sc, cues in zip(scenes, scene_cues) for c in captions.shifted(cues, sc.start)]
    hook_end, hidden = captions.hook_cover(timeline.hook, shifted, hook_end)
    firsts = [0]
    for cues in scene_cues:
        firsts.append(firsts[-1] + len(cues))
    rows = captions.hook_lines(timeline.hook, f, template, font) if timeline.hook.strip() else 0
    beside = any(c.start < hook_end for k, c in enumerate(shifted) if k not in hidden)  # captions under the hook
    places = [captions.place_text(_faces_on_frame(engines, cache, sc, calls), f, template,
                                  rows if sc.start < hook_end else 0, beside) for sc in scenes]

    def events_for(scene: Scene, begin: int, end: int) -> list[str]:
        shift = begin / scene.fps  # the segment's own clock starts at its first frame
        seg_start, seg_end = scene.start + shift, scene.start + end / scene.fps
        cues = [c for k, c in enumerate(scene_cues[scene.index])
                if c.end > shift and c.start < end / scene.fps and firsts[scene.index] + k not in hidden]
        local = captions.cue_events(cues, template, timeline.caption_style, shift, places[scene.index])
        over_hook = seg_start < hook_end and seg_end > 0
        return (captions.hook_events(timeline.hook, -seg_start, hook_end - seg_start, f, template, font,
                                     places[scene.index]) if over_hook else []) + local

    work = staging.parent
    captions.write_ass(work / f"captions{f.suffix}.ass", header,  # the whole short's subtitles, for reference
                       captions.hook_events(timeline.hook, 0.0, hook_end, f, template, font, places[0])
                       + captions.cue_events([c for k, c in enumerate(shifted) if k not in hidden], template,
                                             timeline.caption_style))
    video = f"short{f.suffix}.mp4"
    segments = render.plan_segments(scenes, header, events_for, f, options)
    done = stages.done
    stats = _render_video(segments, scenes, f, header, options, cache, soundtrack, total, staging / video,
                          on_frame=lambda x: stages.on_progress(done + share * x, "render",
                                                                f"{f.aspect}: {x:.0%} of new frames"))
    thumb = f"thumbnail{f.suffix}.jpg"
    thumb_ass = captions.write_ass(work / f"thumbnail{f.suffix}.ass", header,
                                   captions.hook_events(timeline.hook, 0.0, 1.0, f, template, font, places[best]))
    render.thumbnail(scenes[best].image, thumb_ass, f, staging / thumb)
    return _FormatOut(f, video, thumb, stats, hook_end)


def _faces_on_frame(engines: Engines, cache: Cache, scene: Scene, calls: dict) -> tuple:
    """Where the scene's faces are on the frame over its camera move (none for a clip the camera does not move
    over: its first frame stands in)."""
    faces = derive.subject_of(engines, cache, scene.image, calls).faces
    return framing.faces_on_frame(faces, scene.camera).boxes if faces else ()


def _render_video(segments: list[render.Segment], scenes: list[Scene], platform: Platform, header: str,
                  options: EncodeOptions, cache: Cache, soundtrack: Path, total: float, video: Path,
                  on_frame) -> render.RenderStats:
    files, stats = render.render_segments(segments, scenes, platform, header, options, cache, on_frame)
    render.join(files, segments, platform.fps, soundtrack, total, video)
    return stats


def _hook_end(first_scene: float) -> float:
    """When the hook title leaves the screen (seconds): with the first scene, but at least 2 s and at most 4 s."""
    return min(max(first_scene, 2.0), 4.0)


def _card_words(timeline: Timeline, lengths: list[int], fps: int) -> list[str]:
    """The words each scene's generated still may set (the offline cards): none under the hook title, which
    already says them at the top of the frame."""
    starts = [sum(lengths[:i]) / fps for i in range(len(lengths))]
    hook_end = _hook_end(lengths[0] / fps) if timeline.hook.strip() and lengths else 0.0
    return ["" if start < hook_end else s.shown_text for s, start in zip(timeline.scenes, starts)]


def _frames_per_scene(t: Timeline, speech: list[float], fps: int) -> list[int]:
    out = []
    for i, (s, seconds) in enumerate(zip(t.scenes, speech)):
        needed = s.lead + seconds
        length = s.duration if s.duration is not None else needed + s.pause
        if s.duration is not None and s.duration + 1e-6 < needed:
            raise InvalidRequest(f"Timeline field scenes[{i}].duration: scene {s.id!r} is {s.duration:g} s long but "
                                 f"its words need {needed:.2f} s.", "Lengthen the scene or shorten its words.")
        frames_n = max(round(length * fps), math.ceil((needed - 1e-6) * fps))  # never cut the last word short
        if frames_n < 1:
            raise InvalidRequest(f"Timeline field scenes[{i}]: scene {s.id!r} lasts no time at all.",
                                 "Give it words or a duration.")
        out.append(frames_n)
    return out


def _layout(engines: Engines, cache: Cache, t: Timeline, spoken: list, words: list, visuals: list, lengths: list[int],
            fps: int, warnings: list[str], calls: dict, files: dict[str, Path], clip_seconds: dict[str, float],
            platform: Platform) -> list[Scene]:
    scenes, first = [], 0
    for i, s in enumerate(t.scenes):
        clip, _ = spoken[i]
        image, image_key = visuals[i]
        moving = s.motion.camera if s.motion.kind == "camera" else None
        clip_path = clip_key = None
        if s.visual.kind == "clip":  # the creator's footage is the motion: no camera move, no generated clip
            v = s.visual
            end = min(v.clip_out if v.clip_out is not None else clip_seconds[s.id], clip_seconds[s.id])
            played = max(1, min(round((end - v.clip_in) * fps), lengths[i]))
            scenes.append(Scene(s.id, i, first, lengths[i], fps, clip, s.lead, _local(words[i], s.lead), image,
                                image_key, None, None, key("clip", image_key, v.clip_out), s.transition,
                                files[s.id], v.clip_in, played,
                                derive.clip_crop(cache, platform, files[s.id], v.clip_in, calls, engines)))
            first += lengths[i]
            continue
        if s.motion.kind == "generated":
            if engines.motion.can_animate:
                clip_path, clip_key = derive.motion_clip(engines, cache, image, image_key, s.motion.seed, calls)
            else:
                note = (f"motion: the timeline asks for generated clips but the {engines.names.get('motion')} engine "
                        "cannot make them; those scenes use a camera move instead.")
                if note not in warnings:
                    warnings.append(note)
                moving = engines.motion.plan(s.motion.seed)
        scenes.append(Scene(s.id, i, first, lengths[i], fps, clip, s.lead, _local(words[i], s.lead), image, image_key,
                            moving, clip_path, clip_key, s.transition))
        first += lengths[i]
    return scenes


FASTEST_WPM = 220.0  # faster than any voice preset speaks


def _too_long(seconds: float, platform: Platform, at_least: bool = False) -> InvalidRequest:
    return InvalidRequest(f"The short would last {'at least ' if at_least else ''}{seconds:.1f} s; {platform.label} "
                          f"shorts last between {platform.min_seconds:g} and {platform.max_seconds:g} s.",
                          "Shorten the words or pauses, or remove a scene.")


def _local(words: tuple[Word, ...], lead: float) -> tuple[Word, ...]:
    """Word times from the start of the speech → from the start of the scene."""
    return tuple(Word(w.text, round(w.start + lead, 3), round(w.end + lead, 3)) for w in words)


def _resolve_assets(t: Timeline, assets: dict[str, Path]) -> dict[str, Path]:
    out = {}
    for i, s in enumerate(t.scenes):
        if s.visual.is_file:
            if s.visual.asset not in assets:
                raise InvalidRequest(f"Timeline field scenes[{i}].visual.asset: no asset {s.visual.asset!r} of yours.")
            out[s.id] = assets[s.visual.asset]
    return out


def _portable(t: Timeline, words: list, photos: dict[str, Path], out_dir: Path, base: Path | None,
              hosted: bool, track: Path | None = None) -> Timeline:
    """The timeline as rendered: word timings filled in, and every photo (and the music track) inside
    ``out_dir``'s media folder."""
    copy = not hosted and (base is None or base.resolve() != out_dir.resolve())

    def into_media(src: Path) -> str:
        dst = out_dir / "media" / f"{sha256_file(src)[:16]}{src.suffix.lower()}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copyfile(src, dst)
        return f"media/{dst.name}"

    scenes = []
    for s, w in zip(t.scenes, words):
        s = replace(s, words=tuple(w))
        if s.visual.is_file and copy:
            s = replace(s, visual=replace(s.visual, path=into_media(photos[s.id])))
        scenes.append(s)
    music = replace(t.music, path=into_media(track)) if copy and track is not None else t.music
    return replace(t, scenes=tuple(scenes), music=music)


def _script_of(t: Timeline):
    from models.types import Script, ScriptScene

    return Script(t.hook, tuple(ScriptScene(s.text, s.visual.prompt, 0.0) for s in t.scenes), t.call_to_action,
                  t.title, t.caption, t.hashtags)


def _score(engines: Engines, t: Timeline, images: list[Path], sources: list[str], safety: str,
           warnings: list[str]) -> dict:
    scorer = engines.scoring
    result: dict[str, Any] = {"thumbnail": [scorer.score(p) for p in images], "alignment": None,
                              "safety": "not checked"}
    if scorer.can_compare:
        sims = scorer.similarity(images, [s.visual.prompt or s.text for s in t.scenes])
        result["alignment"] = [round(sims[i][i], 4) for i in range(len(images))]
    if safety == "off":
        result["safety"] = "off"
    elif scorer.can_check_safety:
        probs = scorer.unsafe(images)
        flagged = [(src, p) for src, p in zip(sources, probs) if p >= scorer.unsafe_threshold]
        result["safety"] = {"checked": len(images), "flagged": [src for src, _ in flagged]}
        for src, p in flagged:
            message = f"The visual {src!r} looks unsafe (score {p:.2f})."
            if safety == "block":
                raise InvalidMedia(message, "Replace it, or let the short through with a warning if this is a false alarm.",
                                   Remedy("set_field", field="safety", value="warn"))
            warnings.append(f"safety: {message}")
    else:
        warnings.append("safety: images were not checked (the offline scorer has no safety model).")
    return result


def _caption_checks(cues: list[captions.Cue], duration: float) -> dict:
    starts = [c.start for c in cues]
    monotone = all(a.end <= b.start + 1e-6 for a, b in zip(cues, cues[1:])) and all(c.start < c.end for c in cues)
    inside = all(0 <= c.start and c.end <= duration + 1e-6 for c in cues)
    return {"value": {"cues": len(cues), "first": starts[0] if starts else None}, "ok": monotone and inside and
            bool(cues)}


def _request_summary(planned: Planned) -> dict:
    t = planned.timeline
    return {"platform": t.platform, "template": t.template, "voice": t.voice, "language": t.language,
            "profile": t.profile, "seed": t.seed, "from": "topic" if planned.topic else "script",
            "photos": sum(1 for s in t.scenes if s.visual.kind == "photo")}

