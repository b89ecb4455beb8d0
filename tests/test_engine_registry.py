"""Adding an engine is one file plus one registry line: proved from outside the package."""

import pysubs2
import pytest

from models.base import VoiceEngine
from models.errors import EngineUnavailable
from models.registry import BUILTIN, ENGINES
from pipelines.types import ShortRequest
from tests.profiles import studio_with_profile


@pytest.fixture
def sine_registered(monkeypatch):
    monkeypatch.setattr(ENGINES["voice"], "_entries", dict(ENGINES["voice"]._entries))  # undone after the test
    ENGINES["voice"].register("sine", "tests.engines.sine_voice:SineVoice")  # the one registry line


def test_a_voice_engine_from_the_tests_folder_makes_a_short(sine_registered, tmp_path):
    studio = studio_with_profile(tmp_path, "sine", voice={"engine": "sine", "word_seconds": 0.3})
    result = studio.make(ShortRequest(script="One two three four.\nFive six seven eight.", profile="sine"),
                         out_dir=tmp_path / "out")
    assert result.report["ok"], result.report["checks"]
    assert result.report["engines"]["voice"] == "sine"
    # the captions follow the engine's own word events: word k is shown from 0.3 k s after its scene's speech starts
    subs = pysubs2.load(str(result.captions_srt), format_="srt")
    first = result.run.scenes[0].start + result.timeline.scenes[0].lead
    assert subs[0].start / 1000 == pytest.approx(first, abs=0.02)
    assert "One two" in subs[0].text


def test_built_ins_are_listed_by_name_and_imported_only_when_chosen():
    assert set(BUILTIN["voice"]) <= set(ENGINES["voice"].names())
    assert issubclass(ENGINES["voice"].get("espeak-ng"), VoiceEngine)
    with pytest.raises(EngineUnavailable, match="Unknown voice engine 'nope'"):
        ENGINES["voice"].get("nope")


def test_an_engine_that_is_not_of_its_family_is_refused():
    ENGINES["voice"].register("wrong", "models.stills.procedural:ProceduralStills")
    try:
        with pytest.raises(EngineUnavailable, match="does not implement VoiceEngine"):
            ENGINES["voice"].get("wrong")
    finally:
        ENGINES["voice"]._entries.pop("wrong")
