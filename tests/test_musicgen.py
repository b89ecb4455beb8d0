"""The MusicGen engine (models/music/musicgen.py) on a tiny random-weight MusicGen saved in the real Hub layout.

The tiny model keeps the real clock (32 kHz, 50 frames a second, 4 delayed codebooks) with a window of about one
second (tests/tiny/musicgen.py), so a 2.3 s bed is generated in several pieces and joined.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from models.base import EngineContext, MusicEngine
from models.errors import EngineUnavailable, InvalidRequest
from models.manager import ModelManager
from models.music import musicgen
from models.music.musicgen import MusicGenMusic, piece_lengths, prompt_for
from models.music.procedural import ProceduralMusic
from models.registry import ENGINES, MODEL_ENGINE

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ACCEPTED = ("musicgen",)
REMEDY = "Its licence has not been accepted. Accept it with: studio models accept musicgen"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny matrices on two busy cores: one thread is ~20× faster than two fighting over them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_musicgen(tmp_path_factory) -> Path:
    from tests.tiny.musicgen import build_musicgen

    return build_musicgen(tmp_path_factory.mktemp("tiny-models") / "musicgen-small-tiny")


@pytest.fixture
def generate_calls(monkeypatch) -> list[dict]:
    """Every ``generate`` call the engine makes, with its arguments (the real method still runs)."""
    calls: list[dict] = []
    real = transformers.MusicgenForConditionalGeneration.generate

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(transformers.MusicgenForConditionalGeneration, "generate", spy)
    return calls


def make(model: Path, manager: ModelManager | None = None, **options) -> MusicGenMusic:
    context = EngineContext(manager=manager or ModelManager(), licences_accepted=ACCEPTED)
    engine = ENGINES["music"].create("musicgen", {"model": str(model), **options}, context)
    assert isinstance(engine, MusicGenMusic)
    return engine


def read(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, channels)
    return samples, rate, channels


def test_it_is_registered_and_names_its_licence():
    assert ENGINES["music"].get("musicgen") is MusicGenMusic and MODEL_ENGINE["music"] == "musicgen"
    assert MusicGenMusic.uses_weights and issubclass(MusicGenMusic, MusicEngine)
    assert "CC-BY-NC-4.0" in MusicGenMusic.licence and "non-commercial" in MusicGenMusic.licence
    assert ProceduralMusic.licence.startswith("CC0") and MusicEngine.licence == ""


def test_without_accepting_the_licence_nothing_is_located_imported_or_loaded(tiny_musicgen, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("touched the weights before the licence was accepted")

    monkeypatch.setattr(transformers.MusicgenForConditionalGeneration, "from_pretrained", never)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", never)
    monkeypatch.setattr(musicgen, "locate", never)
    manager = ModelManager()
    for accepted in ((), ("something-else",)):
        with pytest.raises(EngineUnavailable) as refused:
            ENGINES["music"].create("musicgen", {"model": str(tiny_musicgen)},
                                    EngineContext(manager=manager, licences_accepted=accepted))
        assert "CC-BY-NC-4.0" in refused.value.message and "non-commercial" in refused.value.message
        assert refused.value.remedy.action == "accept_licence" and refused.value.remedy.repo == "musicgen"
        from studio.remedies import for_cli

        assert for_cli(refused.value) == REMEDY
    assert not manager.loads and not manager.loaded()


def test_a_bed_longer_than_the_window_is_joined_from_pieces_to_exactly_its_length(tiny_musicgen, generate_calls,
                                                                                   tmp_path):
    manager = ModelManager()
    engine = make(tiny_musicgen, manager, crossfade_s=0.25)  # pieces as long as the model's own window (1.02 s)
    out = engine.compose(2.3, bpm=90, mood="calm", seed=7, out_path=tmp_path / "bed.wav")
    samples, rate, channels = read(out)
    assert (rate, channels) == (32000, 1)
    assert samples.shape == (round(2.3 * 32000), 1)  # exactly 73,600 samples
    # three pieces of (2.3 − 0.25) / 3 + 0.25 = 0.93 s: 46 frames each, plus one spare and the 3 delay tokens
    assert [c["max_new_tokens"] for c in generate_calls] == [50, 50, 50]
    assert all(c["max_new_tokens"] <= 54 for c in generate_calls)  # within the model's max_length
    assert int(np.abs(samples).max()) > 0
    assert list(manager.loads.values()) == [1]


def test_the_piece_length_is_an_option_and_must_fit_the_window(tiny_musicgen, generate_calls, tmp_path):
    engine = make(tiny_musicgen, piece_seconds=0.5, crossfade_s=0.1)
    samples, _, _ = read(engine.compose(2.3, bpm=120, mood="upbeat", seed=1, out_path=tmp_path / "a.wav"))
    assert samples.shape == (73600, 1)
    assert len(generate_calls) == len(piece_lengths(2.3, 0.5, 0.1)) == 6
    too_long = make(tiny_musicgen, piece_seconds=5.0)
    with pytest.raises(EngineUnavailable, match="window"):
        too_long.compose(2.3, bpm=120, mood="upbeat", seed=1, out_path=tmp_path / "b.wav")
    with pytest.raises(EngineUnavailable, match="crossfade_s"):  # the default 1 s fade cannot fit a 1 s window
        make(tiny_musicgen).compose(2.3, bpm=120, mood="upbeat", seed=1, out_path=tmp_path / "c.wav")
    with pytest.raises(EngineUnavailable, match="crossfade_s"):
        make(tiny_musicgen, piece_seconds=0.5, crossfade_s=0.3)
    with pytest.raises(InvalidRequest):
        make(tiny_musicgen, crossfade_s=0.2).compose(0, bpm=120, mood="upbeat", seed=1, out_path=tmp_path / "d.wav")


def test_the_same_seed_gives_the_same_audio_and_another_seed_other_audio(tiny_musicgen, tmp_path):
    manager = ModelManager()
    engine = make(tiny_musicgen, manager, crossfade_s=0.25)
    a, b, c = (read(engine.compose(1.5, bpm=90, mood="calm", seed=s, out_path=tmp_path / f"{i}.wav"))[0]
               for i, s in enumerate((3, 3, 4)))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert list(manager.loads.values()) == [1]  # the model stayed resident between the three beds


def test_a_short_bed_is_one_piece_and_ends_faded_out(tiny_musicgen, generate_calls, tmp_path):
    samples, _, _ = read(make(tiny_musicgen, crossfade_s=0.25).compose(
        0.6, bpm=90, mood="calm", seed=2, out_path=tmp_path / "short.wav"))
    assert samples.shape == (19200, 1)
    assert [c["max_new_tokens"] for c in generate_calls] == [30 + 1 + 3]
    assert abs(int(samples[-1, 0])) <= 1


def test_the_prompt_and_the_plan():
    assert prompt_for("calm", 90) == "calm lo-fi instrumental, 90 bpm, no vocals"
    assert prompt_for("dreamy synthwave", 101.5) == "dreamy synthwave instrumental, 101.5 bpm, no vocals"
    assert piece_lengths(20.0, 29.94, 1.0) == [20.0]
    pieces = piece_lengths(75.0, 29.94, 1.0)  # a 75 s bed from musicgen-small: three pieces of 25.67 s
    assert len(pieces) == 3 and max(pieces) <= 29.94
    assert sum(pieces) - 2 * 1.0 == pytest.approx(75.0)


def test_weights_that_are_not_downloaded_are_reported_without_loading(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("loaded weights in check()")

    monkeypatch.setattr(transformers.MusicgenForConditionalGeneration, "from_pretrained", never)
    engine = ENGINES["music"].create("musicgen", {}, EngineContext(manager=ModelManager(), licences_accepted=ACCEPTED))
    assert engine.settings["model"] == "facebook/musicgen-small" and len(engine.settings["revision"]) == 40
    with pytest.raises(EngineUnavailable) as missing:
        engine.check()
    assert missing.value.remedy is not None and missing.value.remedy.action == "pull_weights"
    assert missing.value.remedy.repo == "facebook/musicgen-small" and missing.value.remedy.stage == "music"
