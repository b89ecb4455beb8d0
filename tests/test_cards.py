"""The offline stills are typographic cards: each scene's key phrase, large, in a layout its seed picks, inside the
part of the still that stays clear of the captions however the camera moves."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.script.rules import RuleScriptWriter
from models.stills import typeset
from models.stills.cards import LAYOUTS, card_phrase, layout_for, render_card
from models.types import StillSpec
from pipelines import captions, cards, frames
from pipelines.derive import scene_seed

TOPICS = ("5 morning habits that changed my life", "How to save money on groceries")
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")


@pytest.fixture(scope="module")
def reels(studio):
    return studio.settings.platform("reels")


@pytest.fixture(scope="module")
def bold(studio):
    return studio.settings.template("bold")


def _spec(platform, template, text: str, seed: int, language: str = "en") -> StillSpec:
    """The spec pipelines.derive asks the engine for."""
    w, h = frames.source_size(platform)
    return StillSpec("prompt", w, h, seed=seed, palette=template.palette, text=text, language=language,
                     text_area=cards.text_area(platform, template))


def _pixels(spec: StillSpec) -> tuple[int, int, int, int]:
    assert spec.text_area is not None
    x0, y0, x1, y1 = spec.text_area
    return round(x0 * spec.width), round(y0 * spec.height), round(x1 * spec.width), round(y1 * spec.height)


def _ink_box(spec: StillSpec, layout: str) -> tuple[int, int, int, int]:
    """Bounds of everything the words add to the card: the card with them against the same card without."""
    with_words = np.asarray(render_card(spec, layout), dtype=np.int16)
    without = np.asarray(render_card(replace(spec, text=""), layout), dtype=np.int16)
    ys, xs = np.nonzero(np.abs(with_words - without).max(axis=2) > 24)
    assert len(xs), "the words drew nothing"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _ocr(image: Image.Image, tmp: Path) -> str:
    """What tesseract reads as sparse text, and as a page at half size (it misses dark words on a bright block on
    a dark field in sparse mode, and very large letters as a page)."""
    out = []
    for k, (im, psm) in enumerate(((image, "11"), (image.reduce(2), "3"))):
        path = tmp / f"ocr{k}.png"
        im.convert("L").save(path)
        out.append(subprocess.run(["tesseract", str(path), "-", "--psm", psm], capture_output=True, text=True,
                                  timeout=60).stdout)
    return "\n".join(out)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _scenes(topic: str) -> list[tuple[str, int]]:
    script = RuleScriptWriter().write(topic, language="en", target_words=60, seed=3)
    return [(s.text, scene_seed(3, f"{topic}:{i}")) for i, s in enumerate(script.scenes)]


def test_two_topics_give_clearly_different_cards(reels, bold):
    """Today's gradient-and-blobs backgrounds differed by about 5/255 between topics; cards by far more."""
    a, b = _scenes(TOPICS[0]), _scenes(TOPICS[1])
    diffs = []
    for (ta, sa), (tb, sb) in zip(a, b):
        ca = np.asarray(render_card(_spec(reels, bold, ta, sa)).reduce(4), dtype=np.float32)
        cb = np.asarray(render_card(_spec(reels, bold, tb, sb)).reduce(4), dtype=np.float32)
        diffs.append(float(np.abs(ca - cb).mean()))
    print("mean abs difference per scene (/255):", [round(d, 1) for d in diffs])
    assert float(np.mean(diffs)) > 25, diffs
    assert min(diffs) > 10, diffs


def test_key_phrases_are_a_few_meaningful_words():
    assert card_phrase("Start small, and do it every single day.").text == "Start small"
    assert card_phrase("Do it before you check your phone.").text == "check your phone"
    listed = card_phrase("Number 2. Write it down, so you never have to remember it.")
    assert (listed.number, listed.text) == ("2", "Write it down")
    assert card_phrase("Número 3. Dale diez minutos, no una hora.", "es").number == "3"
    for text, _ in _scenes(TOPICS[0]) + _scenes(TOPICS[1]):
        assert 1 <= len(card_phrase(text).text.split()) <= 4, text


@needs_tesseract
def test_the_key_phrase_reads_back_by_ocr(reels, bold, tmp_path):
    read, total = [], 0
    for text, seed in _scenes(TOPICS[0])[1:] + _scenes(TOPICS[1])[1:]:
        phrase = card_phrase(text)
        card = render_card(_spec(reels, bold, text, seed))
        seen = set(_words(_ocr(card, tmp_path)))
        wanted = _words(phrase.text)  # a badge's lone digit is rarely read by tesseract, so it is not asked for
        total += 1
        if all(w in seen for w in wanted):
            read.append(phrase.text)
        else:
            print(f"not read: {phrase} in {sorted(seen)}")
    assert len(read) == total, f"OCR read {len(read)} of {total} phrases"


def test_layouts_differ_across_seeds(reels, bold):
    chosen = {layout_for(seed, card_phrase("Keep it simple enough that you cannot skip it.")) for seed in range(8)}
    assert chosen == set(LAYOUTS)
    assert layout_for(5, card_phrase("Number 4. Give it ten minutes.")) == "badge"
    text = "Track it for one week and watch what changes."
    looks = [np.asarray(render_card(_spec(reels, bold, text, seed)).reduce(4), dtype=np.float32) for seed in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert float(np.abs(looks[i] - looks[j]).mean()) > 12, (i, j)


@pytest.mark.parametrize("layout", [*LAYOUTS, "badge"])
def test_words_stay_inside_the_text_area(reels, bold, layout):
    text = "Number 3. Prepare everything you need the night before." if layout == "badge" else \
        "Prepare everything you need the night before."
    spec = _spec(reels, bold, text, seed=11)
    x0, y0, x1, y1 = _pixels(spec)
    ix0, iy0, ix1, iy1 = _ink_box(spec, layout)
    assert x0 <= ix0 and y0 <= iy0 and ix1 <= x1 and iy1 <= y1, ((ix0, iy0, ix1, iy1), (x0, y0, x1, y1))
    assert (iy1 - iy0) > 0.25 * (y1 - y0) or (ix1 - ix0) > 0.6 * (x1 - x0), "set large, not lost in the area"


@pytest.mark.parametrize(("text", "language"), [("早起きの習慣が人生を変える。", "ja"), ("每天早上喝一杯水。", "zh"),
                                                ("العادات الصباحية تغير حياتك", "ar")])
def test_non_latin_phrases_get_real_glyphs_inside_the_area(reels, bold, text, language):
    phrase = card_phrase(text, language)
    assert phrase.text and len(phrase.text) <= len(text)
    font = typeset.font_for(phrase.text, language)
    assert font is not None and typeset.covers(*font, phrase.text), f"no font has {phrase.text!r}: tofu"
    if language in ("ja", "zh"):
        assert all(unicodedata.name(c).startswith(("CJK", "HIRAGANA", "KATAKANA")) for c in phrase.text)
    spec = _spec(reels, bold, text, seed=2, language=language)
    x0, y0, x1, y1 = _pixels(spec)
    for layout in LAYOUTS:
        ix0, iy0, ix1, iy1 = _ink_box(spec, layout)
        assert x0 <= ix0 and y0 <= iy0 and ix1 <= x1 and iy1 <= y1, (layout, (ix0, iy0, ix1, iy1))


@pytest.mark.parametrize(("platform", "template"), [("reels", "bold"), ("shorts", "punchy"), ("tiktok", "calm")])
def test_the_text_area_stays_clear_of_captions_wherever_the_camera_is(studio, platform, template):
    """Mapped through the widest and closest camera and the drift, the area stays in the safe zone and off the
    caption line (bottom, or the middle for Punchy)."""
    p, t = studio.settings.platform(platform), studio.settings.template(template)
    x0, y0, x1, y1 = cards.text_area(p, t)
    left, top, right, bottom = captions.safe_box(p)
    line_bottom = p.height - captions.caption_margin_v(p, t)
    line = (line_bottom - t.font_size * 1.25, line_bottom)
    assert (y1 - y0) * p.height > 0.1 * p.height, "room for a phrase"
    for zoom in (1.0, 1.05, frames.SOURCE_SCALE):
        for cx, cy in ((0.48, 0.48), (0.52, 0.52), (0.48, 0.52), (0.52, 0.48)):
            fx0, fx1 = ((0.5 + (s - cx) * zoom) * p.width for s in (x0, x1))
            fy0, fy1 = ((0.5 + (s - cy) * zoom) * p.height for s in (y0, y1))
            assert left <= fx0 and fx1 <= right and top <= fy0 and fy1 <= bottom
            assert fy1 <= line[0] or fy0 >= line[1], (zoom, cx, cy, (fy0, fy1), line)


@needs_tesseract
def test_a_made_offline_short_shows_its_phrase(studio, topic_short, tmp_path):
    """A frame in the middle of a scene after the hook shows that scene's key phrase above the captions (read from
    the frame cut off above the caption line, so the captions' own words do not count)."""
    scenes = topic_short.report["scenes"]
    k = 2 if len(scenes) > 2 else len(scenes) - 1
    scene = topic_short.timeline.scenes[k]
    t = scenes[k]["start"] + scenes[k]["duration"] / 2
    frame = tmp_path / "frame.png"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{t:.2f}", "-i", str(topic_short.video), "-frames:v", "1",
                    str(frame)], check=True, timeout=60)
    p = studio.settings.platform(topic_short.timeline.platform)
    t = studio.settings.template(topic_short.timeline.template)
    above = p.height - captions.caption_margin_v(p, t) - round(t.font_size * 1.3)
    seen = set(_words(_ocr(Image.open(frame).crop((0, 0, p.width, above)), tmp_path)))
    phrase = card_phrase(scene.shown_text)
    assert all(w in seen for w in _words(phrase.text)), (phrase, sorted(seen))
