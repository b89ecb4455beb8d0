"""XTTS-v2 voice cloning through CoquiVoice, on a tiny random-weight XTTS-v2 saved in the Hub repo's layout.

The folder is loaded by exactly the call a downloaded coqui/XTTS-v2 takes (``TTS(model_path=.../model.pth,
config_path=.../config.json)`` inside the adapter); the reference WAV goes through Coqui's own cloning path
(torchaudio load, speaker encoder, GPT conditioning). Random weights speak noise, so the tests assert types, rates,
durations and that the reference and the seed decide the output.
"""

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from models.errors import EngineUnavailable
from models.manager import ModelManager

pytest.importorskip("TTS")
sf = pytest.importorskip("soundfile")

TEXT = "Hello there, this is my cloned voice."
# Every generated code is 1024 samples at 22.05 kHz; Coqui pads each sentence with 10,000 samples of silence.
CODE_SECONDS, PAD_SECONDS = 1024 / 22050, 10000 / 24000


@pytest.fixture(scope="module")
def xtts(tmp_path_factory) -> Path:
    from tests import tiny

    return tiny.build_xtts(tmp_path_factory.mktemp("tiny-models") / "xtts-v2-tiny")


@pytest.fixture(scope="module")
def refs(tmp_path_factory) -> dict[str, Path]:
    """Two 7 s references with different voices: a low buzz at 110 Hz and a brighter, breathier one at 230 Hz."""
    root = tmp_path_factory.mktemp("refs")
    rate = 22050
    t = np.arange(7 * rate) / rate
    rng = np.random.default_rng(0)
    out = {}
    for name, f0, noise in (("low", 110.0, 0.01), ("high", 230.0, 0.08)):
        syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 3.3 * t)  # a speech-like 3-4 Hz envelope
        voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
        wav = 0.25 * syllables * voiced / 2.6 + noise * rng.standard_normal(t.size)
        sf.write(root / f"{name}.wav", wav.astype(np.float32), rate, subtype="PCM_16")
        out[name] = root / f"{name}.wav"
    return out


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager()  # one load serves the whole file, as one studio serves many shorts


def _voice(xtts, manager, **kw):
    from models.voice.coqui import CoquiVoice

    return CoquiVoice(str(xtts), manager=manager, language=kw.pop("language", "en"), **kw)


def _speak(voice, path: Path, text: str = TEXT) -> np.ndarray:
    clip = voice.synthesize(text, voice="narrator", out_path=path)
    audio, rate = sf.read(clip.path, dtype="float32")
    assert rate == clip.sample_rate
    return audio


def _differs(a: np.ndarray, b: np.ndarray, rel: float = 0.005) -> bool:
    """Another waveform, not float noise: same-input runs are bit-identical, and the smallest real change here (the
    reference, on random weights) moves ~3% of the signal."""
    return a.shape != b.shape or float(np.linalg.norm(a - b) / np.linalg.norm(a)) > rel


def test_clone_from_a_real_xtts_folder(xtts, refs, manager, tmp_path):
    from TTS.tts.models.xtts import Xtts

    from models.types import VoiceClip
    from tests.tiny.xtts import MAX_AUDIO_TOKENS

    assert sorted(p.name for p in xtts.iterdir()) == ["config.json", "model.pth", "speakers_xtts.pth", "vocab.json"]
    voice = _voice(xtts, manager, speaker_wav=str(refs["low"]), seed=7)
    voice.check()
    clip = voice.synthesize(TEXT, voice="narrator", out_path=tmp_path / "clone.wav")

    assert isinstance(clip, VoiceClip) and clip.words == ()  # Coqui gives no word events
    assert clip.sample_rate == 24000  # XTTS-v2 decodes at 24 kHz
    model = voice.tts().synthesizer.tts_model
    assert isinstance(model, Xtts) and model.config.model == "xtts"
    with wave.open(str(clip.path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
        assert w.getnframes() / 24000 == pytest.approx(clip.duration, abs=1e-3)
    audio, _ = sf.read(clip.path, dtype="float32")
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01
    longest = (MAX_AUDIO_TOKENS - 3) * CODE_SECONDS + PAD_SECONDS  # the GPT's generation cap, one sentence
    assert CODE_SECONDS + PAD_SECONDS <= clip.duration <= longest + 0.01
    assert list(manager.loads.values()) == [1]


def test_the_reference_decides_the_voice_and_the_seed_reproduces_it(xtts, refs, manager, tmp_path, monkeypatch):
    from TTS.tts.models.xtts import Xtts

    heard = []
    original = Xtts.get_conditioning_latents

    def spy(self, audio_path, *args, **kwargs):
        heard.append(Path(audio_path))
        return original(self, audio_path, *args, **kwargs)

    monkeypatch.setattr(Xtts, "get_conditioning_latents", spy)
    low, again = _voice(xtts, manager, speaker_wav=str(refs["low"]), seed=7), _voice(
        xtts, manager, speaker_wav=str(refs["low"]), seed=7)
    high = _voice(xtts, manager, speaker_wav=str(refs["high"]), seed=7)
    a, b, c = (_speak(v, tmp_path / f"{n}.wav") for n, v in (("a", low), ("b", again), ("c", high)))
    assert heard == [refs["low"], refs["low"], refs["high"]]  # each reference reached XTTS's cloning path

    np.testing.assert_array_equal(a, b)  # same reference, same seed: the same audio, sample for sample
    assert _differs(a, c)  # another reference: another voice
    assert low.settings["clone"] != high.settings["clone"]  # so the voice cache never mixes two references up

    other_seed = _speak(_voice(xtts, manager, speaker_wav=str(refs["low"]), seed=8), tmp_path / "d.wav")
    assert _differs(a, other_seed)
    # without a sample the first built-in speaker of speakers_xtts.pth talks, and nothing is cloned
    builtin = _speak(_voice(xtts, manager, seed=7), tmp_path / "e.wav")
    assert len(heard) == 4 and _differs(a, builtin)
    assert list(manager.loads.values()) == [1]


def test_languages_use_the_models_own_codes(xtts, refs, manager, tmp_path):
    """The studio says ``zh``, XTTS-v2 says ``zh-cn``; a language the model lacks is refused with its list."""
    spanish = _speak(_voice(xtts, manager, language="es", speaker_wav=str(refs["low"])), tmp_path / "es.wav",
                     "Hola, esta es mi voz.")
    assert spanish.size > 0
    try:  # Chinese text needs coqui-tts[zh] (pypinyin); either way "zh" reached the Chinese front-end
        _speak(_voice(xtts, manager, language="zh", speaker_wav=str(refs["low"])), tmp_path / "zh.wav", "你好。")
    except EngineUnavailable as exc:
        assert "pypinyin" in exc.message and exc.hint == 'pip install "coqui-tts[zh]"'
    with pytest.raises(EngineUnavailable, match="does not speak 'he'") as err:
        _speak(_voice(xtts, manager, language="he", speaker_wav=str(refs["low"])), tmp_path / "he.wav", "שלום.")
    assert "zh-cn" in err.value.hint


def test_cli_make_clones_the_sample_with_xtts(xtts, refs, tmp_path, monkeypatch):
    """`studio make --profile cpu --model voice=XTTS_DIR --voice-sample WAV --consent`: the voice stage is Coqui's
    XTTS speaking in the cloned voice (24 kHz clips in the voice cache); the other stages fall back offline."""
    from typer.testing import CliRunner

    from studio.cli import app

    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    script = tmp_path / "script.txt"
    script.write_text("Wake up early and drink water.\nWalk for ten minutes in the sun.\n")
    result = CliRunner().invoke(app, ["make", "--script", str(script), "--profile", "cpu", "--model", f"voice={xtts}",
                                      "--voice-sample", str(refs["high"]), "--consent", "--safety", "off",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["engines"]["voice"] == "coqui"
    assert not any("sample was not used" in w for w in report["warnings"])
    voice = next(s for s in report["stages"] if s["stage"] == "voice")
    assert voice["calls"] == len(report["scenes"]) >= 2
    clips = [json.loads(p.read_text()) for p in (home / "cache" / "voice").rglob("*.wav.json")]
    assert len(clips) == len(report["scenes"]) and {c["rate"] for c in clips} == {24000}
    assert all(c["duration"] > 0 for c in clips)
    for name in ("resolution", "audio", "duration_s"):
        assert report["checks"][name]["ok"], name
