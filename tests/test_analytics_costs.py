"""What a run would have cost on paid APIs: prices.yaml's sources, the loader's refusals, units counted from a
report.json built by hand in pipelines/report.py's to_dict shape, and the arithmetic checked independently."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from studio.analytics.costs import PRICES_PATH, UNITS, Prices, PricesError, Units, load_prices, paid_usd, units_of

# -- a run as pipelines/report.py writes it ------------------------------------------------------------------------

SCENES = [  # (id, text, visual kind, motion kind, duration)
    ("s1", "Five habits changed my mornings.", "generated", "generated", 3.2),
    ("s2", "I drink water before coffee.", "generated", "generated", 2.9),
    ("s3", "I write one line in a notebook.", "generated", "camera", 3.1),  # a camera move: no video made
    ("s4", "Try one tomorrow.", "photo", "camera", 2.8),
]


def _report(**stage_changes) -> dict:
    """A topic short: a 4-scene report with its merged stage records (planning and rendering)."""
    stages = {
        "script": {"stage": "script", "engine": "transformers", "seconds": 4.1, "calls": 0, "cached": 0},
        "voice": {"stage": "voice", "engine": "piper", "seconds": 2.0, "calls": 4, "cached": 4},
        "timing": {"stage": "timing", "engine": "faster-whisper", "seconds": 1.5, "calls": 4, "cached": 4},
        "stills": {"stage": "stills", "engine": "creator-photos + diffusers", "seconds": 9.0, "calls": 4, "cached": 0},
        "scoring": {"stage": "scoring", "engine": "open_clip", "seconds": 0.4, "calls": 0, "cached": 0},
        "motion": {"stage": "motion", "engine": "svd", "seconds": 30.0, "calls": 2, "cached": 0},
        "music": {"stage": "music", "engine": "musicgen", "seconds": 6.0, "calls": 1, "cached": 0},
        "mix": {"stage": "mix", "engine": "ducking + loudness", "seconds": 0.3, "calls": 0, "cached": 0},
        "render": {"stage": "render", "engine": "ffmpeg", "seconds": 12.0, "calls": 4, "cached": 0},
        "checks": {"stage": "checks", "engine": "ffprobe + ebur128", "seconds": 0.8, "calls": 0, "cached": 0},
    }
    for name, change in stage_changes.items():
        if change is None:
            stages.pop(name)
        else:
            stages[name].update(change)
    start, scenes = 0.0, []
    for sid, _text, kind, _motion, seconds in SCENES:
        visual = "IMG_0042.jpg" if kind == "photo" else f"generated: a sunrise over a kitchen table {sid}"
        scenes.append({"id": sid, "start": round(start, 3), "duration": seconds, "visual": visual,
                       "thumbnail_score": 0.5, "alignment": 0.3, "encoded": True, "credit": None})
        start += seconds
    return {
        "run_id": "3f2a9c", "created_at": "2026-11-03T09:15:00+00:00", "platform": "shorts", "duration": 12.0,
        "ok": True, "hook": {"text": "5 habits", "shown_from_s": 0.0, "shown_until_s": 3.2},
        "stages": list(stages.values()), "engines": {k: v["engine"] for k, v in stages.items()}, "checks": {},
        "scenes": scenes, "segments": {"segments": 4, "encoded": 4, "reused": 0, "encoded_frames": 360,
                                       "encoded_scenes": ["s1", "s2", "s3", "s4"]},
        "scene_alignment": [0.3] * 4, "safety": "not checked", "thumbnail_scene": "s1", "warnings": [],
        "request": {"platform": "shorts", "template": "bold", "voice": "narrator", "language": "en", "profile": "gpu",
                    "seed": 3, "from": "topic", "photos": 1},
        "formats": {}, "music": {"source": "musicgen", "licence": "CC-BY-NC-4.0"},
    }


def _timeline() -> dict:
    return {
        "version": 1, "platform": "shorts", "template": "bold", "language": "en", "seed": 3, "hook": "5 habits",
        "title": "5 morning habits", "caption": "Which one will you try?", "call_to_action": "Follow for more",
        "hashtags": ["#morning", "#habits"],
        "scenes": [{"id": sid, "text": text, "caption": None,
                    "visual": ({"kind": "photo", "path": "media/a.jpg"} if kind == "photo"
                               else {"kind": "generated", "prompt": f"a sunrise over a kitchen table {sid}", "seed": 1}),
                    "motion": {"kind": motion}} for sid, text, kind, motion, _ in SCENES],
    }


TEXT_CHARS = sum(len(text) for _, text, *_ in SCENES)


def test_units_of_a_fresh_topic_run():
    u = units_of(_report(), timeline=_timeline(), topic="5 habits that changed my mornings")
    assert u.voice_chars == TEXT_CHARS  # every scene voiced once (the render's hits are not counted again)
    assert u.images == 3  # three generated stills; the photo is the creator's
    assert u.video_seconds == pytest.approx(3.2 + 2.9)  # s1, s2 animated; s3 is a camera move
    assert u.transcribe_seconds == pytest.approx(12.0)  # whisper listened to every voiced scene
    assert u.music_seconds == pytest.approx(12.0)
    # the script estimate: everything the model wrote, at ~4 characters a token
    t = _timeline()
    written = " ".join([t["hook"], t["title"], t["caption"], t["call_to_action"], *t["hashtags"],
                        *(p for s in t["scenes"] for p in (s["text"], s["visual"].get("prompt")) if p)])
    assert u.llm_tokens == -(-len(written) // 4)
    assert 100 < u.llm_prompt_tokens < 400  # the studio's own prompt plus the topic
    assert any("estimated" in n for n in u.notes)


def test_a_re_render_counts_only_what_it_made_again():
    report = _report(script=None, voice={"calls": 1, "cached": 3}, timing={"calls": 1, "cached": 3},
                     stills={"calls": 0, "cached": 3}, motion={"calls": 0, "cached": 2},
                     music={"calls": 0, "cached": 1})
    u = units_of(report, timeline=_timeline())
    assert u.voice_chars == round(TEXT_CHARS / 4)  # one scene of four re-spoken (average scene length)
    assert u.transcribe_seconds == pytest.approx(12.0 / 4)
    assert (u.images, u.video_seconds, u.music_seconds, u.llm_tokens, u.llm_prompt_tokens) == (0, 0, 0, 0, 0)


def test_what_was_not_made_by_a_model_is_not_counted():
    report = _report(script={"engine": "creator"}, timing={"engine": "voice-events"}, motion={"engine": "kenburns"},
                     music={"engine": "creator-track"})
    report["scenes"][0]["credit"] = {"provider": "pexels", "url": "https://www.pexels.com/photo/1"}  # a stock photo
    u = units_of(report, timeline=_timeline())
    assert u.images == 2
    assert (u.video_seconds, u.transcribe_seconds, u.music_seconds, u.llm_tokens) == (0, 0, 0, 0)
    assert u.voice_chars == TEXT_CHARS


def test_a_motion_engine_that_could_not_animate_made_no_video():
    report = _report()
    report["warnings"] = ["motion: the timeline asks for generated clips but the kenburns engine cannot make them; "
                          "those scenes use a camera move instead."]
    assert units_of(report, timeline=_timeline()).video_seconds == 0


def test_units_from_the_report_alone_need_the_narration():
    report = _report()
    u = units_of(report)
    assert u.voice_chars == 0 and any("no narration" in n for n in u.notes)
    u = units_of(report, narration="Five habits changed my mornings. Try one tomorrow.")
    assert u.voice_chars == len("Five habits changed my mornings. Try one tomorrow.")
    # without the timeline every generated still is taken as animated, said so; 2 motion calls for 3 of them
    assert u.images == 3 and u.video_seconds == pytest.approx(round((3.2 + 2.9 + 3.1) * 2 / 3, 3))
    assert any("no timeline" in n for n in u.notes)


# -- pricing ---------------------------------------------------------------------------------------------------------

SMALL = """
units:
  voice_1k_chars: {label: voice, default: v}
  image: {label: image, default: i}
  video_second: {label: video, default: m}
  transcribe_hour: {label: transcription, default: t}
  llm_1k_input_tokens: {label: prompt, default: li}
  llm_1k_output_tokens: {label: answer, default: lo}
  music_minute: {label: music, default: mu}
prices:
  - {id: v, service: voice, vendor: Voicy, unit: voice_1k_chars, usd: 0.2, source: "https://voicy.example/p",
     source_date: "2026-10-01", verified: true}
  - {id: v2, service: voice, vendor: Cheapo, unit: voice_1k_chars, usd: 0.05, source: "https://cheapo.example/p",
     source_date: unknown, verified: false, note: no date on the page}
  - {id: i, service: image, vendor: Pix, unit: image, usd: 0.04, source: "https://pix.example/p",
     source_date: "2026-09", verified: false, note: month only}
  - {id: m, service: video, vendor: Mov, unit: video_second, usd: 0.05, source: "https://mov.example/p",
     source_date: "2026-10-02", verified: true}
  - {id: t, service: transcription, vendor: Ear, unit: transcribe_hour, usd: 0.36, source: "https://ear.example/p",
     source_date: "2026-10-03", verified: true}
  - {id: li, service: llm, vendor: Lm, unit: llm_1k_input_tokens, usd: 0.00015, source: "https://lm.example/p",
     source_date: "2026-10-04", verified: true}
  - {id: lo, service: llm, vendor: Lm, unit: llm_1k_output_tokens, usd: 0.0006, source: "https://lm.example/p",
     source_date: "2026-10-04", verified: true}
  - {id: mu, service: music, vendor: Tune, unit: music_minute, usd: 0.3, source: "https://tune.example/p",
     source_date: "2026-10-05", verified: true}
"""


@pytest.fixture
def small(tmp_path) -> Prices:
    path = tmp_path / "prices.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return load_prices(path)


def test_paid_usd_matches_a_hand_computation(small):
    units = Units(voice_chars=2500, images=3, video_seconds=6.0, transcribe_seconds=1800.0, llm_prompt_tokens=200,
                  llm_tokens=1000, music_seconds=90.0)
    cost = paid_usd(units, small)
    by_field = {line.field: line for line in cost.lines}
    assert by_field["voice_chars"].usd == pytest.approx(2.5 * 0.2)
    assert by_field["images"].usd == pytest.approx(3 * 0.04)
    assert by_field["video_seconds"].usd == pytest.approx(6 * 0.05)
    assert by_field["transcribe_seconds"].usd == pytest.approx(0.5 * 0.36)
    assert by_field["llm_prompt_tokens"].usd == pytest.approx(0.2 * 0.00015)
    assert by_field["llm_tokens"].usd == pytest.approx(1.0 * 0.0006)
    assert by_field["music_seconds"].usd == pytest.approx(1.5 * 0.3)
    assert cost.total_usd == pytest.approx(0.5 + 0.12 + 0.3 + 0.18 + 0.00003 + 0.0006 + 0.45)
    assert by_field["voice_chars"].vendor == "Voicy" and by_field["voice_chars"].verified
    assert not by_field["images"].verified and not cost.verified  # one unverified line taints the total
    assert paid_usd(Units(voice_chars=10), small).verified  # lines with nothing in them do not
    chosen = paid_usd(units, small, choose={"voice_1k_chars": "v2"})
    assert chosen.total_usd == pytest.approx(cost.total_usd - 2.5 * 0.2 + 2.5 * 0.05)
    d = cost.as_dict()
    assert d["lines"][0]["price_id"] == "v" and d["lines"][0]["source"] == "https://voicy.example/p"


def test_a_choice_of_the_wrong_unit_is_refused(small):
    with pytest.raises(PricesError, match="per image, not per voice_1k_chars"):
        paid_usd(Units(), small, choose={"voice_1k_chars": "i"})


def test_the_real_prices_price_a_real_run_line_by_line():
    prices = load_prices()
    raw = yaml.safe_load(PRICES_PATH.read_text(encoding="utf-8"))
    usd = {p["id"]: p["usd"] for p in raw["prices"]}
    units = units_of(_report(), timeline=_timeline())
    cost = paid_usd(units, prices)
    expected = 0.0
    for field, (unit, per) in UNITS.items():
        expected += getattr(units, field) / per * usd[raw["units"][unit]["default"]]
    assert cost.total_usd == pytest.approx(expected)
    assert cost.total_usd > 0


def test_every_price_cites_a_dated_source_or_says_why_not():
    raw = yaml.safe_load(PRICES_PATH.read_text(encoding="utf-8"))
    assert raw["prices"]
    for p in raw["prices"]:
        assert re.match(r"https?://", p["source"]), p["id"]
        date = str(p["source_date"])
        assert date == "unknown" or re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", date), p["id"]
        if p["verified"]:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), p["id"]
        else:
            assert len(str(p.get("note", "")).strip()) > 20, p["id"]
    for unit in {u for u, _ in UNITS.values()}:  # one default per unit, of that unit
        default = raw["units"][unit]["default"]
        assert next(p for p in raw["prices"] if p["id"] == default)["unit"] == unit


# -- the loader's refusals -------------------------------------------------------------------------------------------


def _broken(tmp_path, edit) -> str:
    data = yaml.safe_load(SMALL)
    edit(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("edit, where", [
    (lambda d: d["prices"][0].pop("usd"), r"prices\[0\] \(v\)\.usd: missing"),
    (lambda d: d["prices"][0].update(usd="ten"), r"prices\[0\] \(v\)\.usd: must be a positive number"),
    (lambda d: d["prices"][0].update(usd=-1), r"prices\[0\] \(v\)\.usd: must be a positive number"),
    (lambda d: d["prices"][0].update(source="their website"), r"prices\[0\] \(v\)\.source: must be the URL"),
    (lambda d: d["prices"][0].update(source_date="last spring"), r"prices\[0\] \(v\)\.source_date"),
    (lambda d: d["prices"][0].update(source_date="2026-13-01"), r"prices\[0\] \(v\)\.source_date"),
    (lambda d: d["prices"][0].update(source_date="unknown"), r"prices\[0\] \(v\)\.verified: true needs the full date"),
    (lambda d: d["prices"][1].pop("note"), r"prices\[1\] \(v2\)\.note: an unverified price must say why"),
    (lambda d: d["prices"][0].update(verified="yes"), r"prices\[0\] \(v\)\.verified: must be true or false"),
    (lambda d: d["prices"][0].update(unit="per_voice"), r"prices\[0\] \(v\)\.unit: unknown unit"),
    (lambda d: d["prices"][0].update(vendr="typo"), r"prices\[0\] \(v\)\.vendr: unknown key"),
    (lambda d: d["prices"][1].update(id="v"), r"prices\[1\]\.id: 'v' appears twice"),
    (lambda d: d["units"]["image"].update(default="nope"), r"units\.image\.default: no price has id 'nope'"),
    (lambda d: d["units"]["image"].update(default="v"), r"units\.image\.default: 'v' is priced per voice_1k_chars"),
    (lambda d: d["units"].pop("music_minute"), r"units\.music_minute\.default: missing"),
    (lambda d: d["units"].update(per_hug={"default": "v"}), r"units\.per_hug: unknown unit"),
])
def test_a_broken_prices_file_is_refused_naming_file_and_key(tmp_path, edit, where):
    path = _broken(tmp_path, edit)
    with pytest.raises(PricesError, match=re.escape(path) + ": " + where):
        load_prices(path)


def test_an_unreadable_prices_file_is_refused(tmp_path):
    with pytest.raises(PricesError, match="cannot be read"):
        load_prices(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("units: [\n", encoding="utf-8")
    with pytest.raises(PricesError, match="not valid YAML"):
        load_prices(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(PricesError, match="expected a mapping with 'units'"):
        load_prices(tmp_path / "list.yaml")


def test_units_of_does_not_change_the_report():
    report = _report()
    before = copy.deepcopy(report)
    units_of(report, timeline=_timeline())
    assert report == before
