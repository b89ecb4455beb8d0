"""Quick looks at a timeline for the editor: each scene's still, and one scene previewed as a frame with its
captions (and the hook, on the first scene), without speaking or encoding anything.

Stills come from the same cache a render uses, so a preview after a render costs one libass draw.
"""

from __future__ import annotations

from pathlib import Path

from models.types import Word
from pipelines import captions, derive, render
from pipelines.cache import Cache
from pipelines.stages import Engines, Presets
from pipelines.timeline import Timeline, TimelineScene

SECONDS_PER_WORD = 0.3  # words not yet timed by a render are spread like this for the preview


def scene_still(scene: TimelineScene, presets: Presets, engines: Engines, cache: Cache, file: Path | None,
                text: str | None = None) -> Path:
    """The scene's visual prepared for the frame: a creator's photo or clip frame (``file``) or its generated still
    (setting ``text``, by default the scene's words, where the engine sets words: the offline cards)."""
    text = scene.shown_text if text is None else text
    calls = {"calls": 0, "cached": 0}
    platform, template = presets.platform, presets.template
    if scene.visual.kind == "photo" and file is not None:
        return derive.prepared_photo(cache, platform, file, calls)[0]
    if scene.visual.kind == "clip" and file is not None:
        return derive.clip_still(cache, platform, file, scene.visual.clip_in, calls)[0]
    return derive.generated_still(engines, cache, platform, template, scene.visual.prompt, scene.visual.seed, calls,
                                  text=text, language=presets.language.code)[0]


def preview_scene(timeline: Timeline, index: int, presets: Presets, engines: Engines, cache: Cache,
                  file: Path | None, out: Path) -> Path:
    """Scene ``index`` as a JPEG at frame size: its still, its first caption as the template draws it (the first
    word highlighted in karaoke), and the hook over the first scene."""
    scene = timeline.scenes[index]
    platform, template = presets.platform, presets.template
    font = template.font or presets.language.font
    still = scene_still(scene, presets, engines, cache, file,
                        "" if index == 0 and timeline.hook.strip() else None)  # under the hook: as a render does
    shown = scene.shown_text
    words = scene.words if derive.words_match(shown, scene.words) else tuple(
        Word(w, i * SECONDS_PER_WORD, (i + 1) * SECONDS_PER_WORD) for i, w in enumerate(shown.split()))
    cues = captions.build_cues(words, platform, template, font)[:1]
    style = {"karaoke": "karaoke", "none": "none"}.get(timeline.caption_style, "plain")  # pop: as it settles
    events = captions.cue_events(captions.shifted(cues, -cues[0].start), template, style)[:1] if cues else []
    if index == 0:
        events = captions.hook_events(timeline.hook, 0.0, 1.0, platform, template, font) + events
    header = captions.ass_header(platform, template, font)
    out.parent.mkdir(parents=True, exist_ok=True)
    ass = captions.write_ass(out.with_suffix(".ass"), header, events)
    try:
        return render.thumbnail(still, ass, platform, out)
    finally:
        ass.unlink(missing_ok=True)
