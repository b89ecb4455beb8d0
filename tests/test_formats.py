"""Every feed format from one timeline: the files, captions inside each format's safe zone, and no stretching."""

import json
import subprocess
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pysubs2
import pytest
from PIL import Image, ImageDraw

from pipelines.captions import safe_box
from pipelines.timeline import Motion, Timeline, Visual
from pipelines.types import ShortRequest

FORMATS = ("9:16", "1:1", "4:5", "16:9")
SIZES = {"9:16": (1080, 1920), "1:1": (1080, 1080), "4:5": (1080, 1350), "16:9": (1920, 1080)}
SUFFIX = {"9:16": "", "1:1": "-1x1", "4:5": "-4x5", "16:9": "-16x9"}
SCRIPT = "Wake up early and drink some water.\nThen walk outside for ten minutes."


def _probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _luma(video, t, size):
    """The frame shown at ``t`` seconds, as its luma plane (full-range grey)."""
    w, h = size
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    assert len(raw) == w * h, (video.name, t, len(raw))
    return np.frombuffer(raw, np.uint8).reshape(h, w)


@pytest.fixture(scope="module")
def black_short(studio, tmp_path_factory):
    """A two-scene short over a pure black photo (only its text is bright), then its timeline in all four formats."""
    tmp = tmp_path_factory.mktemp("formats")
    Image.new("RGB", (1080, 1920), (0, 0, 0)).save(tmp / "black.png")
    made = studio.make(ShortRequest(script=SCRIPT, duration=None, media=(tmp / "black.png",), profile="offline",
                                    seed=4), out_dir=tmp / "made")
    assert made.report["ok"], {k: v for k, v in made.report["checks"].items() if not v["ok"]}
    result = studio.render(made.timeline_path, out_dir=tmp / "all", formats=FORMATS)
    return made, result


def test_one_render_writes_every_format_to_spec(black_short):
    _, result = black_short
    out = result.out_dir
    report = json.loads((out / "report.json").read_text())
    assert list(report["formats"]) == list(FORMATS)
    assert result.video == out / "short.mp4"
    durations, frames = {}, {}
    for aspect in FORMATS:
        w, h = SIZES[aspect]
        entry = report["formats"][aspect]
        assert entry["video"] == f"short{SUFFIX[aspect]}.mp4" and entry["size"] == f"{w}x{h}", entry
        bad = {k: v for k, v in entry["checks"].items() if not v["ok"]}
        assert entry["checks"] and not bad, (aspect, bad)
        info = _probe(out / entry["video"])
        v = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (v["width"], v["height"]) == (w, h), aspect
        assert v["codec_name"] == "h264" and v["profile"] == "High" and v["pix_fmt"] == "yuv420p", (aspect, v)
        assert Fraction(v["avg_frame_rate"]) == 30 and Fraction(v["r_frame_rate"]) == 30, aspect
        durations[aspect] = float(v["duration"])
        frames[aspect] = int(v["nb_frames"])
        thumb = out / f"thumbnail{SUFFIX[aspect]}.jpg"
        assert entry["thumbnail"] == thumb.name and thumb.is_file(), aspect
        with Image.open(thumb) as im:
            assert im.size == (w, h) and im.format == "JPEG", (aspect, im.size)
    assert max(durations.values()) - min(durations.values()) <= 1 / 30 + 1e-6, durations
    assert max(frames.values()) - min(frames.values()) <= 1, frames
    assert abs(durations["9:16"] - report["duration"]) <= 1 / 30 + 0.05, (durations, report["duration"])
    # every format is listed as a file of the result and checked in the main report too
    assert {p.name for p in result.files} >= {f"short{SUFFIX[a]}.mp4" for a in FORMATS}
    assert all(report["checks"][f"format_{a}"]["ok"] for a in FORMATS[1:])


def test_captions_and_hook_stay_inside_each_formats_safe_zone(studio, black_short):
    _, result = black_short
    report = result.report
    hook_until = report["hook"]["shown_until_s"]
    assert report["hook"]["text"].strip()
    cues = [e for e in pysubs2.load(str(result.captions_srt)) if e.type == "Dialogue"]
    assert len(cues) >= 3
    mids = [(e.start + e.end) / 2000 for e in cues]
    # cues shown while the hook is up (before its fade-out), and cues after it
    with_hook = [t for t in mids if t < hook_until - 0.3][:2]
    assert with_hook, (mids, hook_until)
    times = with_hook + [t for t in mids if t > hook_until + 0.1][-2:]
    top_half_seen = {}
    for aspect in FORMATS:
        w, h = SIZES[aspect]
        left, top, right, bottom = safe_box(studio.settings.platform(report["platform"], aspect))
        video = result.out_dir / f"short{SUFFIX[aspect]}.mp4"
        top_half_seen[aspect] = 0
        for t in times:
            frame = _luma(video, t, (w, h))
            ys, xs = np.nonzero(frame > 60)
            assert len(xs) > 200, f"{aspect}: no text drawn at {t:.2f} s"
            assert xs.min() >= left - 2 and xs.max() <= right + 2, (aspect, t, xs.min(), xs.max(), left, right)
            assert ys.min() >= top - 2 and ys.max() <= bottom + 2, (aspect, t, ys.min(), ys.max(), top, bottom)
            if t in with_hook:
                # the hook is drawn at the top of the safe zone (the captions that would repeat its words wait)
                upper = ys < (top + bottom) / 2
                assert upper.sum() > 200, (aspect, t, upper.sum())
                top_half_seen[aspect] += 1
    assert all(top_half_seen.values()), top_half_seen


def _disc_photo(path, size, radius):
    im = Image.new("RGB", size, (128, 128, 128))
    cx, cy = size[0] / 2, size[1] / 2
    ImageDraw.Draw(im).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255))
    im.save(path)


@pytest.fixture(scope="module")
def disc_short(studio, black_short, tmp_path_factory):
    """The same timeline with a white disc on grey in each scene (square, then tall 9:16), a still camera and no
    text at all, in every format."""
    made, _ = black_short
    out = tmp_path_factory.mktemp("discs")
    (out / "media").mkdir()
    _disc_photo(out / "media" / "square.png", (1200, 1200), 150)
    _disc_photo(out / "media" / "tall.png", (1080, 1920), 250)
    t = Timeline.load(made.timeline_path)
    assert len(t.scenes) == 2, [s.text for s in t.scenes]
    first, second = (s.id for s in t.scenes)
    t = t.with_scene(first, visual=Visual("photo", path="media/square.png"), motion=Motion("still"))
    t = t.with_scene(second, visual=Visual("photo", path="media/tall.png"), motion=Motion("still"))
    t = replace(t, caption_style="none", hook="")
    return studio.render(t, out_dir=out, formats=FORMATS)


def _disc_box(frame):
    """Bounding box and filled share of the bright disc (the blurred fill is dimmed to 60 %, so it stays below)."""
    ys, xs = np.nonzero(frame > 200)
    assert len(xs) > 1000, "no disc found"
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    return x0, y0, x1, y1, len(xs) / ((x1 - x0 + 1) * (y1 - y0 + 1))


@pytest.mark.parametrize("aspect", FORMATS)
def test_no_format_stretches_the_picture(disc_short, aspect):
    w, h = SIZES[aspect]
    video = disc_short.out_dir / f"short{SUFFIX[aspect]}.mp4"
    for scene in disc_short.report["scenes"]:
        t = scene["start"] + scene["duration"] / 2
        frame = _luma(video, t, (w, h))
        x0, y0, x1, y1, filled = _disc_box(frame)
        ratio = (x1 - x0 + 1) / (y1 - y0 + 1)
        assert abs(ratio - 1) <= 0.03, (aspect, scene["id"], (x0, y0, x1, y1), ratio)
        # the whole disc, centred (a disc fills pi/4 of its box; a cut one would fill more)
        assert x0 > 2 and y0 > 2 and x1 < w - 3 and y1 < h - 3, (aspect, (x0, y0, x1, y1))
        assert abs(filled - np.pi / 4) <= 0.04, (aspect, filled)
        assert abs((x0 + x1) / 2 - w / 2) <= 0.02 * w and abs((y0 + y1) / 2 - h / 2) <= 0.02 * h, (aspect, x0, x1)
        # the grey background is grey (not stretched in from a border): sample a ring just outside the disc
        r = (x1 - x0) / 2
        cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
        ring = frame[cy, int(cx + 1.2 * r)], frame[cy, int(cx - 1.2 * r)], frame[int(cy + 1.2 * r), cx]
        assert all(90 < v < 170 for v in ring), (aspect, ring)


def test_a_tall_photo_in_16_9_sits_whole_over_a_blurred_fill(disc_short):
    w, h = SIZES["16:9"]
    tall = disc_short.report["scenes"][1]
    frame = _luma(disc_short.out_dir / "short-16x9.mp4", tall["start"] + tall["duration"] / 2, (w, h))
    x0, y0, x1, y1, _ = _disc_box(frame)
    # the photo is fitted whole: its height is the frame's, so the disc's diameter is 500/1920 of it
    assert abs((y1 - y0 + 1) - 500 / 1920 * h) <= 0.04 * 500 / 1920 * h, (y0, y1)
    edges = frame[:, :120].astype(float), frame[:, -120:].astype(float)
    for edge in edges:
        # grey 128 dimmed to 60 % (about 77), never black, and never the sharp photo itself
        assert 40 < edge.mean() < 110, edge.mean()
        assert edge.min() > 25, edge.min()
    # the sharp photo's own grey (about 128) fills the middle column around the disc
    middle = frame[h // 2 - 20:h // 2 + 20, w // 2 - 250:w // 2 - 180].astype(float)
    assert 110 < middle.mean() < 150, middle.mean()


def test_cli_refuses_an_unknown_format_naming_it(black_short, tmp_path, monkeypatch, session_home):
    from typer.testing import CliRunner

    from studio.cli import app

    made, _ = black_short
    monkeypatch.setenv("STUDIO_HOME", str(session_home))
    run = CliRunner().invoke(app, ["render", str(made.timeline_path), "--out", str(tmp_path / "out"),
                                   "--format", "1:1,2:3"])
    assert run.exit_code != 0, run.output
    assert "--format" in run.output and "2:3" in run.output, run.output
    assert not (tmp_path / "out" / "short-1x1.mp4").exists()


def test_a_generated_clip_fits_every_format(tmp_path):
    """Generated motion (frames in an .npz) is fitted to each format's frame; 1080×1350 has a chroma plane whose
    rows are not whole rows of OpenCV's packed I420 image."""
    import numpy as np

    from pipelines.frames import _clip_planes
    from studio.settings import Settings

    clip = tmp_path / "clip.npz"
    np.savez(clip, frames=np.random.default_rng(1).integers(0, 255, (3, 576, 320, 3), dtype=np.uint8), fps=8)
    settings = Settings(home=tmp_path / "home")
    for aspect in ("9:16", "1:1", "4:5", "16:9"):
        f = settings.platform("reels", aspect)
        frames, fps = _clip_planes(clip, f)
        assert fps == 8 and len(frames) == 3
        assert [p.shape for p in frames[0]] == [(f.height, f.width), (f.height // 2, f.width // 2)] * 1 + [
            (f.height // 2, f.width // 2)]
