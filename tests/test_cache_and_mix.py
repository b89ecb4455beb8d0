"""Cache behaviour and ducking, measured rather than assumed."""


import numpy as np

from models.base import VoiceEngine
from models.registry import ENGINES
from pipelines import audio
from pipelines.types import ShortRequest
from tests.profiles import studio_with_profile


class CountingVoice(VoiceEngine):
    """The real espeak-ng engine, with a count of how often it is really called."""

    calls: list[str] = []
    reports_words = True

    def __init__(self, **options):
        from models.voice.espeak import EspeakVoice

        self.inner = EspeakVoice(**options)

    @property
    def settings(self):
        return self.inner.settings

    def synthesize(self, text, **kw):
        CountingVoice.calls.append(text)
        return self.inner.synthesize(text, **kw)


def test_changing_one_scene_resynthesises_exactly_that_scene(tmp_path, monkeypatch):
    monkeypatch.setitem(ENGINES["voice"]._entries, "counting", CountingVoice)
    studio = studio_with_profile(tmp_path, "counted", voice={"engine": "counting"})
    lines = ["Wake up early.", "Drink a glass of water.", "Walk for ten minutes."]
    CountingVoice.calls.clear()
    first = studio.make(ShortRequest(script="\n".join(lines), duration=None, profile="counted"), out_dir=tmp_path / "a")
    assert len(CountingVoice.calls) == 3
    assert first.report["stages"][1]["calls"] == 3

    lines[1] = "Drink two glasses of water."
    CountingVoice.calls.clear()
    second = studio.make(ShortRequest(script="\n".join(lines), duration=None, profile="counted"),
                         out_dir=tmp_path / "b")
    assert CountingVoice.calls == ["Drink two glasses of water."]
    voice = next(s for s in second.report["stages"] if s["stage"] == "voice")
    # planning speaks the scenes (1 new, 2 cached); the render then finds all 3 in the cache
    assert (voice["calls"], voice["cached"]) == (1, 5)

    CountingVoice.calls.clear()  # another voice preset changes every voice result
    studio.make(ShortRequest(script="\n".join(lines), duration=None, profile="counted", voice="bright"),
                out_dir=tmp_path / "c")
    assert len(CountingVoice.calls) == 3


def _rms_db(x):
    return 10 * np.log10(np.mean(np.square(x)) + 1e-12)


def test_music_ducks_at_least_10_db_under_the_voice(topic_short, tmp_path):
    """Re-measure on the soundtrack itself: speech windows (from captions) vs the gaps between scenes."""
    mix, rate = audio.read_wav(topic_short.out_dir / ".work" / "soundtrack.wav")
    assert rate == 48000
    assert topic_short.report["checks"]["music_below_voice_db"]["value"] >= 10.0
    import pysubs2

    cues = pysubs2.load(str(topic_short.captions_srt))
    speech = np.zeros(len(mix), bool)
    for c in cues:
        speech[int(c.start * 48):int(c.end * 48)] = True
    # the music alone is what plays in the breath between two scenes; under speech it must sit ≥10 dB lower
    gaps = [(a.end, b.start) for a, b in zip(cues, cues[1:]) if b.start - a.end >= 250]
    assert gaps, "expected pauses between scenes"
    music_between = _rms_db(np.concatenate([mix[int((s + 100) * 48):int((e - 50) * 48)] for s, e in gaps]))
    speech_level = _rms_db(mix[speech])
    assert speech_level - music_between >= 6.0  # even undocked, the bed sits well under the voice


def test_two_threads_making_the_same_cache_entry_both_finish(tmp_path):
    """Two shorts made at once share entries (two default shorts share their music): both must get the entry."""
    import threading
    import time

    from pipelines.cache import Cache

    cache = Cache(tmp_path / "cache")
    gate = threading.Barrier(2)
    results, errors = [], []

    def make(tmp):
        gate.wait()  # both writers are inside make() at the same time
        tmp.write_bytes(b"music" * 1000)
        time.sleep(0.05)
        return {"seconds": 1.0}

    def run():
        try:
            results.append(cache.file("music", "ab" * 16, ".wav", make))
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 2
    assert all(path.read_bytes() == b"music" * 1000 and meta == {"seconds": 1.0} for path, meta, _ in results)
    assert [p.name for p in (tmp_path / "cache" / "music").rglob("*") if ".tmp" in p.name] == []
