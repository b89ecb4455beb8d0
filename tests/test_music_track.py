"""The creator's own music track: fitted to the short (looped with crossfades, or trimmed), ducked under the voice,
its licence recorded; anything that is not a usable track is refused before work starts."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

from models.errors import InvalidMedia
from pipelines.audio import RATE, read_wav
from pipelines.types import ShortRequest

SCRIPT = "Coffee first, always. Then ten minutes of sunlight. Then the hard task, before any message."


def _tone(path, seconds: float, freq: float = 330.0, codec: list[str] | None = None):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={freq}:sample_rate=44100:duration={seconds}", "-ac", "2",
                    *(codec or []), str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.core import Studio
    from studio.settings import Settings

    return Studio(Settings(home=tmp_path_factory.mktemp("home")))


@pytest.mark.parametrize("seconds", [3.0, 40.0])
def test_a_track_is_fitted_to_the_short_and_ducked_under_the_voice(studio, tmp_path, seconds):
    track = _tone(tmp_path / "song.mp3", seconds)
    result = studio.make(ShortRequest(script=SCRIPT, music=track, profile="offline", seed=4), out_dir=tmp_path / "o")
    report = result.report
    assert report["engines"]["music"] == "creator-track"
    assert report["music"]["source"] == "creator-track" and "creator" in report["music"]["licence"]
    post = json.loads((result.out_dir / "post.json").read_text())
    assert post["music"] == report["music"]
    assert report["checks"]["music_below_voice_db"]["value"] >= 10.0
    assert result.timeline.music.path and (result.out_dir / result.timeline.music.path).is_file()
    # the fitted bed is exactly the short's length, and the tone is there from start to end (looped or trimmed)
    fitted = sorted((studio.settings.cache_dir / "music").rglob("*.wav"), key=lambda p: p.stat().st_mtime)[-1]
    samples, rate = read_wav(fitted)
    assert rate == RATE and abs(len(samples) / RATE - report["duration"]) < 0.05
    body = samples[: -2 * RATE, 0]  # before the closing fade
    windows = body[: len(body) // 4800 * 4800].reshape(-1, 4800)
    assert np.sqrt(np.mean(windows**2, axis=1)).min() > 0.05  # no gap where a loop joins


def test_an_edit_keeps_the_track_and_reuses_its_fitting(studio, tmp_path):
    track = _tone(tmp_path / "song.wav", 6.0, 220.0)
    result = studio.make(ShortRequest(script=SCRIPT, music=track, profile="offline", seed=4), out_dir=tmp_path / "o")
    t = result.timeline
    edited = t.with_scene(t.scenes[0].id, caption="Coffee. Always.")
    again = studio.render(edited, out_dir=tmp_path / "o")
    music = next(r for r in again.stages if r.stage == "music")
    assert music.engine == "creator-track" and music.cached == 1 and music.calls == 0


def test_what_is_not_a_usable_track_is_refused(studio, tmp_path):
    fake = tmp_path / "song.mp3"
    fake.write_bytes(b"<html>not music</html>" * 50)
    with pytest.raises(InvalidMedia, match="not an audio file"):
        studio.make(ShortRequest(script=SCRIPT, music=fake, profile="offline"), out_dir=tmp_path / "a")
    long = _tone(tmp_path / "long.mp3", 630.0, codec=["-b:a", "32k"])
    with pytest.raises(InvalidMedia, match="10"):
        studio.make(ShortRequest(script=SCRIPT, music=long, profile="offline"), out_dir=tmp_path / "b")
    video = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x64:duration=2",
                    str(video)], check=True)
    with pytest.raises(InvalidMedia):  # an mp4 with no sound
        studio.make(ShortRequest(script=SCRIPT, music=video, profile="offline"), out_dir=tmp_path / "c")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_cli_names_its_flag(tmp_path):
    from studio.cli import app

    fake = tmp_path / "song.mp3"
    fake.write_text("hello")
    out = CliRunner().invoke(app, ["make", "--script", str(_script(tmp_path)), "--music", str(fake),
                                   "--profile", "offline"])
    assert out.exit_code == 2
    assert "--music" in out.output and "not an audio file" in out.output


def _script(tmp_path):
    path = tmp_path / "script.txt"
    path.write_text(SCRIPT)
    return path


from tests.api_helpers import bearer, database_url, signup  # noqa: E402, F401
from tests.test_api_media import client, png_bytes, upload, wait  # noqa: E402, F401


def test_the_api_takes_a_track_by_asset_id_and_refuses_what_is_not_one(client, tmp_path):  # noqa: F811
    ada = signup(client, "ada@example.com")
    photo = upload(client, ada, png_bytes()).json()
    r = client.post("/api/shorts", headers=bearer(ada), json={"script": SCRIPT, "profile": "offline",
                                                              "music_asset_id": photo["id"]})
    assert r.status_code == 422 and "music_asset_id" in r.json()["error"]["message"]
    long = _tone(tmp_path / "long.mp3", 630.0, codec=["-b:a", "32k"])
    too_long = upload(client, ada, long.read_bytes(), "long.mp3", "audio/mpeg").json()
    r = client.post("/api/shorts", headers=bearer(ada), json={"script": SCRIPT, "profile": "offline",
                                                              "music_asset_id": too_long["id"]})
    assert r.status_code == 422 and "10" in r.json()["error"]["message"]
    bo = signup(client, "bo@example.com")
    song = upload(client, ada, _tone(tmp_path / "song.m4a", 5.0, codec=["-c:a", "aac"]).read_bytes(), "song.m4a",
                  "audio/mp4").json()
    r = client.post("/api/shorts", headers=bearer(bo), json={"script": SCRIPT, "music_asset_id": song["id"]})
    assert r.status_code == 404  # another account's asset is not there at all
    r = client.post("/api/shorts", headers=bearer(ada), json={"script": SCRIPT, "profile": "offline",
                                                              "music_asset_id": song["id"]})
    assert r.status_code == 202, r.text
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "succeeded", job
    short = job["short"]
    report = client.get(short["files"]["report.json"]).json()
    assert report["music"]["source"] == "creator-track"
    timeline = client.get(f"/api/shorts/{short['id']}/timeline", headers=bearer(ada)).json()
    assert timeline["music"].get("asset") and not timeline["music"].get("path")  # adopted as the creator's asset
