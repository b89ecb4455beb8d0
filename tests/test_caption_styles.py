"""A template's caption position (bottom, middle) and animation (karaoke, pop, none), as libass draws them."""

import dataclasses
import json
import re
from dataclasses import replace

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from models.types import Word
from pipelines import captions
from pipelines.timeline import SCHEMA_PATH, Timeline
from pipelines.types import ShortRequest
from studio.settings import Settings
from tests.test_hostile_text import _render_ass

POP = "\\t(0,120,\\fscx100\\fscy100)"


def _ink(png) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the text's pixels (white on black)."""
    ys, xs = np.nonzero(np.asarray(Image.open(png).convert("L")) > 24)
    assert len(xs) > 0, "nothing drawn"
    return ys, xs


def _draw(tmp_path, platform_name: str, position: str, style: str = "plain", text: str = "Big bold words",
          start: float = 1.0):
    """One cue from ``start`` to start + 2 s in the bold template at ``position``; its .ass file and the frame maker."""
    settings = Settings(home=tmp_path / "home")
    platform = settings.platform(platform_name)
    template = replace(settings.template("bold"), caption_position=position)
    font = settings.language("en").font
    words = tuple(Word(w, start + i * 0.5, start + i * 0.5 + 0.4) for i, w in enumerate(text.split()))
    cues = captions.build_cues(words, platform, template, font)
    cues = [replace(c, end=start + 2.0) for c in cues]
    ass = captions.write_ass(tmp_path / f"{platform_name}-{position}-{style}.ass",
                             captions.ass_header(platform, template, font), captions.cue_events(cues, template, style))
    return ass, platform, template


@pytest.mark.parametrize("platform_name", ["reels", "shorts", "tiktok"])
def test_middle_captions_are_centred_inside_the_safe_zone(tmp_path, platform_name):
    middle, platform, template = _draw(tmp_path, platform_name, "middle")
    left, top, right, bottom = captions.safe_box(platform)
    ys, xs = _ink(_render_ass(middle, 1.5, tmp_path / "middle.png"))
    assert xs.min() >= left and xs.max() < right, (xs.min(), xs.max(), left, right)
    assert ys.min() >= top and ys.max() < bottom, (ys.min(), ys.max(), top, bottom)
    # centred on the safe zone, not on the frame (libass's own middle alignment, 200 px lower on Reels)
    centre = (ys.min() + ys.max()) / 2
    assert abs(centre - (top + bottom) / 2) <= template.font_size / 4, (centre, (top + bottom) / 2)

    bottom_ass, _, _ = _draw(tmp_path, platform_name, "bottom")
    ys_b, _ = _ink(_render_ass(bottom_ass, 1.5, tmp_path / "bottom.png"))
    assert ys_b.max() < bottom and bottom - ys_b.max() <= template.font_size  # today's place: just above the edge
    assert ys_b.min() > ys.max()


def test_pop_scales_each_cue_in_once_in_the_caption_colour(tmp_path):
    template = Settings(home=tmp_path / "home").template("bold")
    cue = captions.Cue((Word("Pop", 1.0, 1.3), Word("goes", 1.3, 1.6), Word("it", 1.6, 1.9)), 1.0, 1.9)
    events = captions.cue_events([cue], template, "pop")
    assert len(events) == 1  # one event per cue: the pop plays once, not once per word
    assert "{\\fscx70\\fscy70" + POP + "}POP GOES IT" in events[0]  # bold sets captions in capitals
    lower = dataclasses.replace(template, uppercase=False)
    assert "}Pop goes it" in captions.cue_events([cue], lower, "pop")[0]
    assert "\\c&H" not in events[0]  # no highlight: the whole cue in the caption colour
    assert POP not in "".join(captions.cue_events([cue], template, "karaoke") + captions.cue_events([cue], template))


def test_pop_is_not_replayed_when_a_segment_starts_inside_a_cue(tmp_path):
    template = Settings(home=tmp_path / "home").template("bold")
    cue = captions.Cue((Word("Later", 1.0, 1.9),), 1.0, 1.9)
    assert "{\\fscx85\\fscy85\\t(0,60,\\fscx100\\fscy100)}LATER" in captions.cue_events([cue], template, "pop", 1.06)[0]
    assert re.search(r"Caption,,0,0,0,,LATER$", captions.cue_events([cue], template, "pop", 1.5)[0])


def test_hostile_text_in_a_popping_cue_stays_literal(tmp_path):
    template = Settings(home=tmp_path / "home").template("bold")
    hostile = ["{\\fscx900}", "\\N", "}{\\pos(0,0)}"]
    cue = captions.Cue(tuple(Word(t, 1.0 + i / 4, 1.2 + i / 4) for i, t in enumerate(hostile)), 1.0, 2.0)
    event = captions.cue_events([cue], dataclasses.replace(template, uppercase=False), "pop")[0]
    text = event.split(",,", 2)[-1].split(POP + "}", 1)[1]
    assert text == " ".join(captions.ass_escape(t) for t in hostile)
    assert re.search(r"(?<!\\)[{}]", text) is None  # every brace escaped: nothing creator-written is a tag


def test_a_popping_cue_grows_on_screen(tmp_path):
    ass, _, _ = _draw(tmp_path, "reels", "middle", style="pop", text="Grow")
    _, early = _ink(_render_ass(ass, 1.0, tmp_path / "early.png"))  # the cue's first frame: 70 %
    _, late = _ink(_render_ass(ass, 1.5, tmp_path / "late.png"))  # after the pop: full size
    ratio = (early.max() - early.min()) / (late.max() - late.min())
    assert 0.6 < ratio < 0.8, ratio


def test_a_planned_short_takes_its_templates_caption_animation(studio, tmp_path):
    result = studio.make(ShortRequest(script="Pop goes the caption.", template="punchy", profile="offline"),
                         out_dir=tmp_path / "out")
    assert result.report["ok"], {k: v for k, v in result.report["checks"].items() if not v["ok"]}
    doc = json.loads(result.timeline_path.read_text(encoding="utf-8"))
    assert doc["caption_style"] == "pop"
    assert not list(Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).iter_errors(doc))
    assert Timeline.load(result.timeline_path).caption_style == "pop"


@pytest.mark.parametrize("animation, style", [("karaoke", "karaoke"), ("pop", "pop"), ("none", "plain")])
def test_each_animation_names_a_timeline_caption_style(tmp_path, animation, style):
    template = replace(Settings(home=tmp_path / "home").template("bold"), caption_animation=animation)
    assert template.caption_style == style
    Timeline.from_dict({**_minimal_timeline(), "caption_style": style})  # the schema and the checks accept it


def _minimal_timeline() -> dict:
    return {"version": 1, "platform": "reels", "template": "bold", "language": "en", "voice": {"preset": "warm"},
            "music": {"level_db": -8, "seed": 1}, "seed": 1,
            "scenes": [{"id": "s00000001", "text": "", "duration": 2.0, "motion": {"kind": "still"},
                        "visual": {"kind": "generated", "prompt": "a calm sea", "seed": 1}}]}
