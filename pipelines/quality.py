"""Quality checks measured on the finished file (never echoed from settings)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from pipelines import ffmpeg
from pipelines.types import Platform


def moov_before_mdat(path: Path) -> bool:
    """True when the MP4's index comes first (``+faststart``): players can start before the download ends."""
    with open(path, "rb") as fh:
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = int.from_bytes(fh.read(8), "big") - 8
            fh.seek(size - 8, 1)


def loudness(path: Path) -> dict:
    """Integrated loudness (LUFS) and true peak (dBTP) from ffmpeg's ebur128 filter."""
    integrated, peak = ffmpeg.ebur128(path)
    return {"integrated_lufs": integrated, "true_peak_dbtp": peak}


def measure(path: Path, platform: Platform, expected_seconds: float) -> dict:
    info = ffmpeg.probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio: dict = next((s for s in info["streams"] if s["codec_type"] == "audio"), {})
    duration = float(info["format"]["duration"])
    fps = float(Fraction(video["avg_frame_rate"]))
    loud = loudness(path)
    faststart = moov_before_mdat(path)
    checks = {
        "resolution": {"value": f"{video['width']}x{video['height']}", "ok": (video["width"], video["height"]) ==
                       (platform.width, platform.height)},
        "video_codec": {"value": f"{video['codec_name']} {video.get('profile', '')}".strip(),
                        "ok": video["codec_name"] == "h264" and video.get("profile") == "High"},
        "pixel_format": {"value": video.get("pix_fmt"), "ok": video.get("pix_fmt") == "yuv420p"},
        "fps": {"value": round(fps, 3), "ok": abs(fps - platform.fps) < 0.01},
        "audio": {"value": f"{audio.get('codec_name')} {audio.get('sample_rate')} Hz {audio.get('channels')} ch",
                  "ok": audio.get("codec_name") == "aac" and audio.get("sample_rate") == "48000"
                  and audio.get("channels") == 2},
        "faststart": {"value": faststart, "ok": faststart},
        "duration_s": {"value": round(duration, 3), "expected": round(expected_seconds, 3),
                       "ok": abs(duration - expected_seconds) <= 1.0},
        "integrated_lufs": {"value": loud["integrated_lufs"], "target": -14.0,
                            "ok": abs(loud["integrated_lufs"] + 14.0) <= 1.0},
        "true_peak_dbtp": {"value": loud["true_peak_dbtp"], "max": -1.0, "ok": loud["true_peak_dbtp"] <= -1.0},
    }
    return checks
