"""The short as a timeline: saved, loaded, refused when hostile, and re-rendered doing only what changed."""

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from PIL import Image, ImageOps

from models.errors import InvalidRequest, RenderFailed
from pipelines.timeline import SCHEMA_PATH, Timeline, TimelineScene, Visual, check_files, new_scene_id
from pipelines.types import ShortRequest

EDITED = "Drink a tall glass of water before coffee."


def _stage(result, name):
    return next(s for s in result.stages if s.stage == name)


def _frame_md5s(video: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:v", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def _scene_frames(result, fps=30) -> dict[str, range]:
    return {s.id: range(round(s.start * fps), round((s.start + s.duration) * fps)) for s in result.run.scenes}


def _ocr(video: Path, t: float, tmp: Path) -> str:
    png = tmp / f"ocr-{t}.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(t), "-i", str(video), "-frames:v", "1", str(png)],
                   check=True)
    # the captions are white (the spoken word yellow) with a dark outline: keep bright text, drop the rest
    band = ImageOps.grayscale(Image.open(png)).crop((0, 1050, 1080, 1450)).point(lambda v: 0 if v > 170 else 255)
    band.save(png)
    return subprocess.run(["tesseract", str(png), "-", "--psm", "6"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def made(studio, tmp_path_factory):
    """A 6-scene, 30 s short from a script, and a copy of its folder taken before any edit."""
    out = tmp_path_factory.mktemp("timeline-short")
    script = ("Wake up at the same time every day.\nOpen the curtains and let the light in.\n"
              "Drink a glass of water first.\nMove your body for five minutes.\n"
              "Write down the one thing that matters today.\nThen start, before you check your phone.")
    result = studio.make(ShortRequest(script=script, duration=30, seed=5), out_dir=out)
    first = tmp_path_factory.mktemp("timeline-first")
    shutil.copytree(out, first, dirs_exist_ok=True)
    return result, first


def test_every_short_writes_a_timeline_that_round_trips(made):
    result, _ = made
    data = json.loads(result.timeline_path.read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(data)
    t = Timeline.load(result.timeline_path)
    assert t.to_dict() == data
    assert len(t.scenes) == 6 and len({s.id for s in t.scenes}) == 6
    assert all(s.words for s in t.scenes) and t.scenes[2].text == "Drink a glass of water first."
    # seeds come from the scene's id, never its position
    assert len({s.visual.seed for s in t.scenes}) == 6
    again = t.save(result.out_dir / "copy.json")
    assert Timeline.load(again) == t


def test_editing_one_scenes_words_redoes_that_scene_alone(studio, made, tmp_path):
    result, first_dir = made
    before = _frame_md5s(first_dir / "short.mp4")
    t = Timeline.load(result.timeline_path)
    edited_id = t.scenes[2].id
    second = studio.render(t.with_scene(edited_id, text=EDITED), out_dir=result.out_dir)

    assert second.report["ok"], {k: v for k, v in second.report["checks"].items() if not v["ok"]}
    assert (_stage(second, "voice").calls, _stage(second, "voice").cached) == (1, 5)
    # the offline still is a card that sets the scene's words: that card alone is made again
    assert _stage(second, "stills").calls == 1 and _stage(second, "motion").calls == 0
    seg = second.run.segments
    # the edited scene's own segment, the fade into it and the fade out of it; nothing else
    assert (seg.encoded, seg.reused) == (3, seg.segments - 3), seg
    assert seg.encoded_scenes == (edited_id, t.scenes[3].id)

    after = _frame_md5s(second.video)
    old, new = _scene_frames(made[0]), _scene_frames(second)
    for scene in t.scenes:
        if scene.id == edited_id:
            continue
        a, b = old[scene.id], new[scene.id]
        skip = 8 if scene.id == t.scenes[3].id else 0  # the fade out of the edited scene was redone
        assert [before[i] for i in a][skip:] == [after[i] for i in b][skip:], scene.id
    text = " ".join(_ocr(second.video, new[edited_id].start / 30 + x, tmp_path) for x in (1.0, 1.6, 2.2))
    assert "water" in text.lower() and "coffee" in text.lower(), text
    assert Timeline.load(second.timeline_path).scene(edited_id).text == EDITED


def test_inserting_a_scene_reuses_every_other_scene(studio, made, tmp_path):
    result, first_dir = made
    t = Timeline.load(first_dir / "timeline.json")
    new = TimelineScene(new_scene_id(), "Stretch for one minute.", Visual("generated", "a person stretching", 77),
                        t.scenes[0].motion)
    shorter = replace(t, scenes=tuple(replace(s, pause=0.1) for s in t.scenes))  # room for one more scene
    studio.render(shorter, out_dir=tmp_path / "a", safety="off")
    third = studio.render(shorter.with_scene_inserted(3, new), out_dir=tmp_path / "b", safety="off")
    assert _stage(third, "voice").calls == 1 and _stage(third, "stills").calls == 1
    seg = third.run.segments
    assert seg.encoded == 3 and set(seg.encoded_scenes) == {new.id, t.scenes[3].id}, seg
    assert third.report["ok"]
    # moving a scene re-does nothing at all but the joins around it
    moved = list(shorter.scenes)
    moved[1], moved[4] = moved[4], moved[1]
    fourth = studio.render(replace(shorter, scenes=tuple(moved)), out_dir=tmp_path / "c", safety="off")
    assert _stage(fourth, "voice").calls == 0 and _stage(fourth, "stills").calls == 0


def test_studio_render_cli_renders_an_edited_timeline(made, tmp_path, monkeypatch, session_home):
    from typer.testing import CliRunner

    from studio.cli import app

    result, _ = made
    folder = tmp_path / "edit"
    shutil.copytree(result.out_dir, folder)
    data = json.loads((folder / "timeline.json").read_text())
    data["scenes"][0]["caption"] = "A new caption"
    (folder / "timeline.json").write_text(json.dumps(data))
    monkeypatch.setenv("STUDIO_HOME", str(session_home))
    run = CliRunner().invoke(app, ["render", str(folder / "timeline.json"), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert "encoded" in run.output and (tmp_path / "out" / "short.mp4").exists()
    assert json.loads((tmp_path / "out" / "timeline.json").read_text())["scenes"][0]["caption"] == "A new caption"
    srt = " ".join((tmp_path / "out" / "captions.srt").read_text().split())
    assert all(w in srt for w in ("A", "new", "caption")) and srt.index("new") < srt.index("caption")
    bad = CliRunner().invoke(app, ["render", str(tmp_path / "nope.json")])
    assert bad.exit_code == 2 and "Cannot read the timeline" in bad.output


def test_a_failed_render_leaves_the_last_one_intact(studio, made, tmp_path, monkeypatch):
    result, _ = made
    folder = tmp_path / "keep"
    shutil.copytree(result.out_dir, folder)
    digest = hashlib.sha256((folder / "short.mp4").read_bytes()).hexdigest()
    saved = (folder / "timeline.json").read_text()

    def broken(*_a, **_k):
        raise RenderFailed("the join failed")

    monkeypatch.setattr("pipelines.render.join", broken)
    t = Timeline.load(folder / "timeline.json")
    with pytest.raises(RenderFailed):
        studio.render(t.with_scene(t.scenes[0].id, text="Something else entirely."), out_dir=folder)
    assert hashlib.sha256((folder / "short.mp4").read_bytes()).hexdigest() == digest
    assert (folder / "timeline.json").read_text() == saved


def test_an_edit_that_runs_past_the_platform_limit_says_so(studio, made):
    result, _ = made
    t = Timeline.load(result.timeline_path)
    long = t.with_scene(t.scenes[0].id, text=" ".join(["and this goes on"] * 200) + ".")
    with pytest.raises(InvalidRequest, match="Reels shorts last between"):
        studio.render(long, out_dir=result.out_dir)


def _doc(made):
    return json.loads(made[0].timeline_path.read_text())


@pytest.mark.parametrize("change, field", [
    (lambda d: d.pop("scenes"), "scenes"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: d["scenes"][1].update(duration=0), "scenes[1].duration"),
    (lambda d: d["scenes"][1].update(duration=-3), "scenes[1].duration"),
    (lambda d: d["scenes"][1].update(duration=1e9), "scenes[1].duration"),
    (lambda d: d["scenes"][1].update(pause=-1), "scenes[1].pause"),
    (lambda d: d["scenes"][1].update(transition="spin"), "scenes[1].transition"),
    (lambda d: d["scenes"][2].update(id=d["scenes"][0]["id"]), "scenes[2].id"),
    (lambda d: d["scenes"][0].update(id="../x"), "scenes[0].id"),
    (lambda d: d["scenes"][0].update(text=123), "scenes[0].text"),
    (lambda d: d["scenes"][0]["visual"].update(kind="video"), "scenes[0].visual"),
    (lambda d: d["scenes"][0]["motion"].update(zoom_end=40), "scenes[0].motion"),
    (lambda d: d.update(scenes=[d["scenes"][0]] * 61), "scenes"),
    (lambda d: d.update(caption_style="neon"), "caption_style"),
])
def test_hostile_timelines_are_refused_naming_the_field(made, change, field):
    doc = _doc(made)
    change(doc)
    with pytest.raises(InvalidRequest) as err:
        Timeline.from_dict(doc)
    assert f"Timeline field {field}" in err.value.message, err.value.message


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "media/../../x.jpg", "C:/x.jpg"])
def test_timelines_name_files_inside_their_folder_only(made, path, tmp_path):
    doc = _doc(made)
    doc["scenes"][0]["visual"] = {"kind": "photo", "path": path}
    t = Timeline.from_dict(doc)
    with pytest.raises(InvalidRequest, match=r"scenes\[0\]\.visual\.path"):
        check_files(t, tmp_path)


def test_a_symlink_out_of_the_folder_is_refused(made, tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "x.jpg").symlink_to("/etc/passwd")
    doc = _doc(made)
    doc["scenes"][0]["visual"] = {"kind": "photo", "path": "media/x.jpg"}
    with pytest.raises(InvalidRequest, match="leads outside"):
        check_files(Timeline.from_dict(doc), tmp_path)


def test_the_hosted_studio_takes_assets_by_id_only(made, tmp_path):
    doc = _doc(made)
    doc["scenes"][0]["visual"] = {"kind": "photo", "path": "media/a.jpg"}
    with pytest.raises(InvalidRequest, match="asset id only"):
        check_files(Timeline.from_dict(doc), None, assets_only=True)
    doc["scenes"][0]["visual"] = {"kind": "photo", "asset": "abc123"}
    assert check_files(Timeline.from_dict(doc), None, assets_only=True) == {}
    with pytest.raises(InvalidRequest, match="only known to the hosted studio"):
        check_files(Timeline.from_dict(doc), tmp_path)


def test_a_file_that_is_not_a_timeline_is_refused(tmp_path):
    (tmp_path / "t.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(InvalidRequest, match="not a JSON timeline"):
        Timeline.load(tmp_path / "t.json")
    (tmp_path / "big.json").write_bytes(b" " * 3_000_000)
    with pytest.raises(InvalidRequest, match="at most"):
        Timeline.load(tmp_path / "big.json")


def _copy_with_clip(made, tmp_path, name: str, inputs: list[str]) -> tuple[Path, Timeline]:
    """A copy of the made short's folder with a clip made by ffmpeg from ``inputs`` in its media folder."""
    folder = tmp_path / "clip"
    shutil.copytree(made[0].out_dir, folder)
    (folder / "media").mkdir(exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(folder / "media" / name)], check=True)
    return folder, Timeline.load(folder / "timeline.json")


def test_a_creators_clip_plays_in_its_scene(studio, made, tmp_path):
    from models.errors import InvalidMedia

    # 4 s of moving test pattern, landscape (it is cover-cropped into the vertical frame)
    folder, t = _copy_with_clip(made, tmp_path, "walk.mp4", ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4"])
    target = t.scenes[1]
    edited = t.with_scene(target.id, visual=Visual("clip", "a walk", path="media/walk.mp4", clip_in=0.5, clip_out=3.5))
    again = studio.render(edited, out_dir=folder)
    assert again.report["ok"], {k: v for k, v in again.report["checks"].items() if not v["ok"]}
    assert again.run.segments.encoded_scenes[0] == target.id
    assert "creator-clips" in _stage(again, "stills").engine
    span = _scene_frames(again)[target.id]
    md5 = _frame_md5s(again.video)
    inside = [md5[i] for i in range(span.start + 10, span.start + 40)]
    assert len(set(inside)) > 20, "the clip should move frame to frame"
    saved = json.loads((folder / "timeline.json").read_text())["scenes"][1]["visual"]
    assert saved == {"kind": "clip", "path": "media/walk.mp4", "in": 0.5, "out": 3.5, "prompt": "a walk"}

    (folder / "media" / "fake.mp4").write_text("not a video")
    with pytest.raises(InvalidMedia, match="not a video clip"):
        studio.render(t.with_scene(target.id, visual=Visual("clip", path="media/fake.mp4")), out_dir=folder)
    with pytest.raises(InvalidRequest, match=r"scenes\[1\]\.visual\.in"):
        studio.render(t.with_scene(target.id, visual=Visual("clip", path="media/walk.mp4", clip_in=9)), out_dir=folder)


def test_a_deeply_nested_document_is_refused_cleanly(tmp_path):
    (tmp_path / "deep.json").write_text('{"version": 1, "hook": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidRequest):
        Timeline.load(tmp_path / "deep.json")
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(InvalidRequest):
        Timeline.from_dict({"version": 1, "hook": nested})


@pytest.mark.parametrize("text", [
    '{"version": 1, "seed": ' + "1" * 5000 + "}",  # longer than Python's integer digit limit
    '{"version": 1, "seed": NaN}',
    '{"version": 1, "seed": Infinity}',
])
def test_numbers_json_cannot_carry_are_refused(tmp_path, text):
    (tmp_path / "t.json").write_text(text)
    with pytest.raises(InvalidRequest):
        Timeline.load(tmp_path / "t.json")


@pytest.mark.parametrize("change", [
    lambda d: d["scenes"][0].update(text="\ud800 lone surrogate"),
    lambda d: d["scenes"][0]["motion"].update(zoom_start=float("nan")),
    lambda d: d["scenes"][0].update(id="s1\n"),
])
def test_values_that_break_later_stages_are_refused_at_load(made, change):
    doc = _doc(made)
    change(doc)
    with pytest.raises(InvalidRequest):
        Timeline.from_dict(doc)


def test_whole_float_seeds_are_taken_as_integers(made):
    doc = _doc(made)
    doc["seed"], doc["music"]["seed"], doc["scenes"][0]["visual"]["seed"] = 3.0, 4.0, 5.0
    t = Timeline.from_dict(doc)
    assert (t.seed, t.music.seed, t.scenes[0].visual.seed) == (3, 4, 5)
    assert all(isinstance(x, int) for x in (t.seed, t.music.seed, t.scenes[0].visual.seed))


@pytest.mark.parametrize("path", ["a\u0000b.jpg", "loop/x.jpg", "locked.jpg"])
def test_paths_that_cannot_be_opened_are_refused_cleanly(made, tmp_path, path):
    if path == "locked.jpg" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "locked.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "locked.jpg").chmod(0)
    doc = _doc(made)
    doc["scenes"][0]["visual"] = {"kind": "photo", "path": path}
    with pytest.raises(InvalidRequest, match=r"scenes\[0\]\.visual\.path"):
        check_files(Timeline.from_dict(doc), tmp_path)


def test_a_short_script_stretched_to_a_long_short_is_planned(studio, tmp_path):
    result = studio.make(ShortRequest(script="Hello there.", duration=60), out_dir=tmp_path / "o")
    assert result.report["ok"], {k: v for k, v in result.report["checks"].items() if not v["ok"]}
    assert abs(result.report["duration"] - 60) < 0.1


def test_a_clip_whose_sound_outlasts_its_picture_holds_its_last_frame(studio, made, tmp_path):
    # 1 s of picture, 3 s of sound: the container says 3 s
    folder, t = _copy_with_clip(made, tmp_path, "short-picture.mp4", [
        "-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=1", "-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac"])
    target = t.scenes[2]
    again = studio.render(t.with_scene(target.id, visual=Visual("clip", path="media/short-picture.mp4")),
                          out_dir=folder, safety="off")
    assert again.report["ok"]
    span = _scene_frames(again)[target.id]
    png = tmp_path / "late.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{(span.stop - 3) / 30:.3f}", "-i", str(again.video),
                    "-frames:v", "1", str(png)], check=True)
    r, g, b = Image.open(png).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert r > 150 and g < 90 and b < 90, (r, g, b)  # the red picture held, not black
