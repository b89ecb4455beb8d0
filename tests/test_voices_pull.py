"""More Piper voices, fetched from a local stand-in for rhasspy/piper-voices (HF_ENDPOINT) and checked against its
voices.json; optional weights behind a licence; one line when the Hub cannot be reached."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from models.voice.piper import VOICES_REPO, default_voice_files, voice_path
from tests.fake_hub import FakeHub

NAME = "en_US-kristin-medium"


def _voices_repo(model: bytes, config: bytes, md5: str | None = None) -> dict[str, bytes]:
    stem = voice_path(NAME)
    card = b"# Model card for kristin (medium)\n* License: public domain\n"
    files = {f"{stem}.onnx": model, f"{stem}.onnx.json": config, f"{stem.rsplit('/', 1)[0]}/MODEL_CARD": card}
    index = {NAME: {"key": NAME, "name": "kristin", "quality": "medium", "num_speakers": 1, "speaker_id_map": {},
                    "files": {path: {"size_bytes": len(data), "md5_digest": md5 if md5 and path.endswith(".onnx")
                                     else hashlib.md5(data).hexdigest()}  # noqa: S324 - what voices.json holds
                              for path, data in files.items()}, "aliases": []},
             "en_US-norman-medium": {"files": {}}, "de_DE-thorsten-medium": {"files": {}}}
    return {**files, "voices.json": json.dumps(index).encode()}


@pytest.fixture(scope="module")
def voice_bytes():
    model, config = default_voice_files()  # the real joe voice stands in for kristin's bytes
    return model.read_bytes(), config.read_bytes()


@pytest.fixture()
def hub():
    server = FakeHub()
    yield server
    server.close()


def _studio(hub_url: str, tmp_path, *args, timeout=300, answer: str | None = None):
    env = {**os.environ, "HF_ENDPOINT": hub_url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0",
           "HF_HUB_DISABLE_XET": "1", "STUDIO_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, input=answer)


def test_a_pulled_voice_is_checked_and_then_speaks_its_preset(hub, tmp_path, voice_bytes):
    hub.repos[VOICES_REPO] = _voices_repo(*voice_bytes)
    proc = _studio(hub.url, tmp_path, "models", "pull-voice", NAME)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "md5 checked against voices.json" in proc.stdout
    # now the "bright" preset speaks with it, offline, with no stand-in
    script = tmp_path / "script.txt"
    script.write_text("Sunlight first thing resets your clock. Then water, then the hard task.")
    env_args = ["make", "--script", str(script), "--voice", "bright", "--profile", "cpu", "--out", str(tmp_path / "o")]
    proc = _studio("http://127.0.0.1:9", tmp_path, *env_args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["engines"]["voice"] == "piper"
    assert not any("spoke instead" in w for w in report["warnings"]), report["warnings"]


def test_without_the_voice_the_preset_stands_in_and_says_so(tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("Sunlight first thing resets your clock.")
    proc = _studio("http://127.0.0.1:9", tmp_path, "make", "--script", str(script), "--voice", "bright",
                   "--profile", "cpu", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    said = [w for w in report["warnings"] if "spoke instead" in w]
    assert report["engines"]["voice"] == "piper" and len(said) == 1
    assert f"studio models pull-voice {NAME}" in said[0] and "en_US-joe-medium" in said[0]


def test_a_voice_that_differs_from_voices_json_is_removed(hub, tmp_path, voice_bytes):
    hub.repos[VOICES_REPO] = _voices_repo(*voice_bytes, md5="0" * 32)
    proc = _studio(hub.url, tmp_path, "models", "pull-voice", NAME)
    assert proc.returncode == 2
    assert "differs from the md5 in voices.json" in proc.stdout
    assert not list((tmp_path / "hf").rglob(f"{NAME}.onnx"))  # the damaged file is gone
    proc = _studio(hub.url, tmp_path, "models", "pull-voice", "en_US-nobody-medium")
    assert proc.returncode == 2 and "no voice 'en_US-nobody-medium'" in proc.stdout
    assert "en_US-kristin-medium" in proc.stdout  # the voices that language has


def test_an_unreachable_hub_is_one_line(tmp_path):
    for args in (["models", "pull-voice", NAME], ["models", "pull", "cpu", "--stage", "timing"]):
        proc = _studio("http://127.0.0.1:9", tmp_path, *args)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        assert "Traceback" not in out and "cannot be reached" in out
        errors = [line for line in out.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "HF_ENDPOINT" in errors[0]


def test_weights_under_a_licence_are_fetched_only_once_it_is_accepted(hub, tmp_path):
    pytest.importorskip("torch")
    from tests.tiny.musicgen import build_musicgen

    hub.add_folder("tiny/musicgen", build_musicgen(tmp_path / "musicgen"))
    pull = ["models", "pull", "cpu", "--stage", "music", "--model", "music=tiny/musicgen"]
    proc = _studio(hub.url, tmp_path, *pull)
    assert proc.returncode == 0 and "skipped" in proc.stdout and "CC-BY-NC-4.0" in proc.stdout
    assert "studio models accept musicgen" in proc.stdout
    assert not any(r[1].startswith("/tiny/musicgen/resolve") for r in hub.requests)
    refused = _studio(hub.url, tmp_path, "models", "accept", "musicgen", answer="n\n")
    assert refused.returncode == 1 and "Not accepted" in refused.stdout
    assert not (tmp_path / "home" / "licences.json").exists()
    assert _studio(hub.url, tmp_path, "models", "accept", "musicgen", "--yes").returncode == 0
    proc = _studio(hub.url, tmp_path, *pull)
    assert proc.returncode == 0 and "fetching" in proc.stdout, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "home" / "licences.json").read_text())["musicgen"]["notice"].startswith("MusicGen")
