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
