"""Thin helpers around the ffmpeg and ffprobe binaries."""

from __future__ import annotations

import functools
import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

from models.errors import Cancelled, EngineUnavailable, RenderFailed

_HINT = "Install it with: sudo apt-get install ffmpeg"


def binary(name: str = "ffmpeg") -> str:
    path = shutil.which(name)
    if path is None:
        raise EngineUnavailable(f"{name} is not installed or not on PATH.", _HINT)
    return path


def run(args: list[str], *, cwd: Path | None = None, what: str = "ffmpeg") -> subprocess.CompletedProcess:
    """Run ffmpeg quietly; on failure raise with the tail of its log, which names the real cause."""
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        if interrupted(proc.returncode):
            raise cancelled(what)
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise RenderFailed(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc


def interrupted(returncode: int) -> bool:
    """Whether ffmpeg was stopped rather than failed. Ctrl-C reaches every process of the terminal's foreground
    group, so ffmpeg is stopped with the studio: it exits 255 (its exit code after a signal, said only at the info
    log level) or, like ffprobe, dies of SIGINT. Reporting that as an encode error would blame the short."""
    return returncode in (255, -signal.SIGINT)


def cancelled(what: str) -> Cancelled:
    return Cancelled(f"{what} was stopped (Ctrl-C or a signal) before it finished.", "Run the command again.")


def probe(path: Path) -> dict:
    cmd = [binary("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        if interrupted(proc.returncode):
            raise cancelled("ffprobe")
        raise RenderFailed(f"ffprobe could not read {Path(path).name}: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout)


def ebur128(path: Path, pre: str = "", *, what: str = "loudness measurement") -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the first audio stream of ``path``, after the optional filter chain
    ``pre``, read from ffmpeg's ebur128 summary."""
    chain = (pre + "," if pre else "") + "ebur128=peak=true"
    proc = run(["-i", str(path), "-map", "0:a:0", "-af", chain, "-f", "null", "-"], what=what)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if integrated is None or peak is None:
        raise RenderFailed(f"{what}: ffmpeg printed no loudness summary for {Path(path).name}.")
    return float(integrated.group(1)), float(peak.group(1))


@functools.cache
def version() -> str:
    """ffmpeg's version line: part of every encoded segment's key, so an upgrade never joins old and new encodes."""
    out = subprocess.run([binary("ffmpeg"), "-hide_banner", "-version"], capture_output=True, text=True)
    return (out.stdout.splitlines() or ["unknown"])[0]
