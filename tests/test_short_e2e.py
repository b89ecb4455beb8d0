"""End to end: a real short from a topic and from a script, measured on the files."""

import json
import re
import subprocess
from fractions import Fraction

import pysubs2

from pipelines.quality import moov_before_mdat
from pipelines.types import ShortRequest


def _probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _ebur128(path):
    err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    summary = err[err.rfind("Summary:"):]
    return (float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
            float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1)))


def test_outputs_exist_with_their_names(topic_short):
    names = sorted(p.name for p in topic_short.out_dir.iterdir() if p.is_file())
    assert names == sorted(["short.mp4", "captions.srt", "captions.vtt", "thumbnail.jpg", "post.json", "report.json",
                          "timeline.json"])


def test_video_properties_measured_with_ffprobe(topic_short):
    info = _probe(topic_short.video)
    v = next(s for s in info["streams"] if s["codec_type"] == "video")
    a = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (v["width"], v["height"]) == (1080, 1920)
    assert v["codec_name"] == "h264" and v["profile"] == "High" and v["pix_fmt"] == "yuv420p"
    assert Fraction(v["avg_frame_rate"]) == 30
    assert a["codec_name"] == "aac" and a["sample_rate"] == "48000" and a["channels"] == 2
    assert abs(float(info["format"]["duration"]) - 12) <= 1.0
    assert moov_before_mdat(topic_short.video)


def test_loudness_and_true_peak(topic_short):
    integrated, true_peak = _ebur128(topic_short.video)
    assert abs(integrated + 14) <= 1.0, integrated
    assert true_peak <= -1.0, true_peak


def test_captions_parse_and_stay_inside_the_audio(topic_short):
    duration = float(_probe(topic_short.video)["format"]["duration"])
    for path in (topic_short.captions_srt, topic_short.captions_vtt):
        subs = pysubs2.load(str(path))
        assert len(subs) >= 5
        starts = [e.start for e in subs]
        assert starts == sorted(starts)
        assert all(e.start < e.end for e in subs)
        assert all(a.end <= b.start for a, b in zip(subs, subs[1:]))
        assert subs[-1].end / 1000 <= duration + 0.01
        assert all(len(e.plaintext.split()) <= 4 for e in subs)


def test_post_and_report(topic_short, studio):
    post = json.loads(topic_short.post.read_text())
    assert set(post) >= {"title", "caption", "hashtags", "platform", "duration"}
    assert post["platform"] == "reels" and abs(post["duration"] - 12) <= 1
    assert len(post["hashtags"]) <= studio.settings.platform("reels").hashtags_max
    report = json.loads(topic_short.report_path.read_text())
    assert {"script", "voice", "timing", "stills", "motion", "music", "scoring", "render"} <= set(report["engines"])
    assert report["engines"]["voice"] == "espeak-ng" and report["engines"]["script"] == "rules"
    assert all(isinstance(s["seconds"], float) for s in report["stages"])
    assert report["ok"], {k: v for k, v in report["checks"].items() if not v["ok"]}


def test_script_sets_the_duration(studio, tmp_path):
    text = "Coffee is not breakfast. Eat something real before noon. Your future self will thank you."
    result = studio.make(ShortRequest(script=text, duration=None, platform="tiktok", template="calm",
                                      voice="bright"), out_dir=tmp_path)
    duration = float(_probe(result.video)["format"]["duration"])
    words = [w for cue in pysubs2.load(str(result.captions_srt)) for w in cue.plaintext.split()]
    assert " ".join(words) == text  # the creator's words, as written
    voice_end = pysubs2.load(str(result.captions_srt))[-1].end / 1000
    assert voice_end < duration <= voice_end + 2.0
    assert result.report["engines"]["script"] == "creator"


def test_a_script_can_be_padded_to_a_longer_duration_but_never_cut(studio, tmp_path):
    import pytest

    from models.errors import InvalidRequest

    text = "Short and sweet."
    result = studio.make(ShortRequest(script=text, duration=8), out_dir=tmp_path / "long")
    assert abs(float(_probe(result.video)["format"]["duration"]) - 8) <= 1.0
    with pytest.raises(InvalidRequest, match="voiceover needs"):
        studio.make(ShortRequest(script="This script has far too many words to be spoken in three seconds. " * 2,
                                 duration=3), out_dir=tmp_path / "cut")
