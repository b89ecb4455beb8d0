"""Captions sized for phones: with every built-in template, the active line's letters stand at least 5 % of the
frame's height, as tesseract reads them back from what libass drew; in Latin and in Chinese. A word too wide for
the safe zone at that size is the one thing shrunk (and the short says so)."""

import subprocess
from dataclasses import replace

import pytest
from PIL import Image, ImageOps

from models.types import Word
from pipelines import captions
from studio.settings import Settings
from tests.test_hostile_text import _render_ass

TEMPLATES = ("bold", "calm", "neon", "punchy")
TEXTS = {"en": ("eng", "Big bold words"), "zh": ("chi_sim", "今天学习新东西")}


def _line_height(png, lang: str) -> tuple[int, str]:
    """The tallest text line tesseract finds (pixels) and what it read."""
    inverted = png.with_suffix(".ocr.png")
    ImageOps.invert(Image.open(png).convert("L")).save(inverted)
    tsv = subprocess.run(["tesseract", str(inverted), "-", "-l", lang, "--psm", "11", "tsv"], capture_output=True,
                         text=True, check=True).stdout
    words = [row.split("\t") for row in tsv.splitlines()[1:]]
    words = [w for w in words if len(w) == 12 and w[11].strip() and float(w[10]) > 50]
    assert words, f"tesseract read nothing in {png.name}"
    return max(int(w[9]) for w in words), "".join(w[11] for w in words)


@pytest.mark.parametrize("language", sorted(TEXTS))
@pytest.mark.parametrize("name", TEMPLATES)
def test_the_active_line_is_at_least_5_percent_of_the_frame(tmp_path, name, language):
    settings = Settings(home=tmp_path / "home")
    platform, template = settings.platform("reels"), settings.template(name)
    font = settings.language(language).font
    lang, text = TEXTS[language]
    tokens = text.split() if language == "en" else list(text)
    words = tuple(Word(w, 1.0 + i * 0.2, 1.15 + i * 0.2) for i, w in enumerate(tokens))
    cues = captions.build_cues(words, platform, template, font)
    assert all(len(c.words) <= (3 if language == "en" else 9) for c in cues)  # one to three words a cue
    first = replace(cues[0], end=4.0)
    ass = captions.write_ass(tmp_path / f"{name}-{language}.ass", captions.ass_header(platform, template, font),
                             captions.cue_events([first], template, "plain"))
    height, read = _line_height(_render_ass(ass, 2.0, tmp_path / f"{name}-{language}.png"), lang)
    assert height >= 0.05 * platform.height, (name, language, height, read)
    assert first.scale == 1.0  # nothing was shrunk to get there


def test_built_in_templates_are_set_for_phones(tmp_path):
    settings = Settings(home=tmp_path / "home")
    for name in TEMPLATES:
        t = settings.template(name)
        assert t.font_size >= captions.MIN_CAPTION_SIZE and 1 <= t.words_per_cue <= 3, name


def test_only_a_word_too_wide_for_the_safe_zone_is_shrunk(tmp_path):
    settings = Settings(home=tmp_path / "home")
    platform, template = settings.platform("tiktok"), settings.template("neon")
    font = settings.language("en").font
    words = (Word("so", 0.0, 0.2), Word("incomprehensibilities", 0.2, 1.0), Word("now", 1.0, 1.2))
    cues = captions.build_cues(words, platform, template, font)
    assert [c.text for c in cues] == ["so", "incomprehensibilities", "now"]
    assert [c.scale < 1 for c in cues] == [False, True, False]


def test_every_format_keeps_the_share_of_the_frame(tmp_path):
    settings = Settings(home=tmp_path / "home")
    template = settings.template("bold")
    for aspect in ("9:16", "1:1", "4:5", "16:9"):
        f = settings.platform("reels", aspect)
        sized = captions.for_frame(template, f)
        assert sized.font_size / f.height == pytest.approx(template.font_size / 1920, abs=0.002), aspect
