"""The CLI at its edges: an --out it cannot write, Ctrl-C in the middle of a render, the .work/ scratch folder, and
the notes a Spanish topic short gets (the outline the rule writer made, no English model named). The slow ones run
`studio` itself in a subprocess, as a creator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studio.cli import app

SCRIPT = "Mornings matter more than you think.\n\nDrink a glass of water first thing.\n\nWalk ten minutes outside.\n"


def _studio(args: list[str], home: Path, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, STUDIO_HOME=str(home), HF_HUB_OFFLINE="1", COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "studio.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_an_out_that_cannot_be_written_is_one_line_naming_the_flag(tmp_path):
    a_file = tmp_path / "taken.txt"
    a_file.write_text("mine")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    cases = [a_file, a_file / "sub"]
    if not os.access(read_only, os.W_OK):  # root may write anywhere: then this case proves nothing
        cases.append(read_only / "short")
    script = tmp_path / "words.txt"
    script.write_text(SCRIPT)
    runner = CliRunner()
    for out in cases:
        run = runner.invoke(app, ["make", "--script", str(script), "--profile", "offline", "--out", str(out)])
        said = _lines(run.output)
        assert run.exit_code == 2, (out, run.output)
        assert len(said) == 1 and said[0].startswith("Error: --out:") and str(out) in said[0], run.output
        assert "Traceback" not in run.output
    assert a_file.read_text() == "mine" and not list(read_only.iterdir())  # nothing half-written
    run = runner.invoke(app, ["render", str(tmp_path / "timeline.json"), "--out", str(a_file)])
    assert run.exit_code == 2 and _lines(run.output)[0].startswith("Error: --out:"), run.output

    from models.errors import InvalidRequest
    from studio.core import check_out_dir

    check_out_dir(tmp_path / "deeper" / "still")  # a folder that does not exist yet is fine, and is not made here
    assert not (tmp_path / "deeper").exists()
    with pytest.raises(InvalidRequest, match="is a file"):
        check_out_dir(a_file / "sub")


def _encoders_of(session: int) -> list[int]:
    """The segment encoders (ffmpeg reading frames on stdin) running in a process session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            if os.getsid(int(entry.name)) == session and b"ffmpeg" in cmd[0] and b"pipe:0" in cmd:
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.slow
def test_ctrl_c_while_rendering_says_cancelled_and_exits_130(tmp_path):
    """Ctrl-C reaches the whole foreground process group, ffmpeg included: the short is not blamed for the
    encoders that died, and the folder it had started is gone."""
    script = tmp_path / "words.txt"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    proc = _studio(["make", "--script", str(script), "--profile", "offline", "--out", str(out)], tmp_path / "home",
                   start_new_session=True)  # its own process group, as a terminal's foreground job is
    deadline = time.monotonic() + 240
    while not _encoders_of(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline, "the short ended before any segment was encoded"
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
    stdout, stderr = proc.communicate(timeout=60)
    said = stdout + stderr
    assert proc.returncode == 130, said
    assert "Cancelled" in said
    assert "Traceback" not in said and "could not encode" not in said and "Error" not in said, said
    assert not out.exists()  # nothing left pretending to be a short
    assert not _encoders_of(proc.pid)


def test_spanish_warnings_name_what_spanish_needs(tmp_path):
    """No Piper voice is set up for Spanish and the bundled Whisper is English-only: a Spanish short is told so,
    and the command it is given fetches only the stages it lacks, not the profile's English voices."""
    from pipelines.types import ShortRequest
    from studio import weights
    from studio.core import Studio
    from studio.settings import Settings

    studio = Studio(Settings(home=tmp_path / "home"))
    said = studio.engines(ShortRequest(topic="miel", profile="cpu", language="es")).warnings
    table = weights.engines_table(studio.settings, "cpu", "es")
    for text in [*said, *(status for _, _, status in table)]:
        assert "en_US" not in text and "tiny.en" not in text, text
    assert said[0].endswith("studio models pull cpu --stage script --stage stills --stage timing --stage scoring")
    assert dict((stage, status) for stage, _, status in table)["voice"] == "floor: espeak-ng (no Piper voice for 'es' yet)"
    english = weights.engines_table(studio.settings, "cpu", "en")  # English keeps its bundled voice and Whisper
    assert any("tiny.en" in status for _, _, status in english)


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    """A Spanish topic short made by the CLI on the cpu profile with no weights downloaded (the rule writer, espeak-ng)."""
    root = tmp_path_factory.mktemp("spanish")
    out = root / "out"
    proc = _studio(["make", "tres hábitos para dormir mejor", "--language", "es", "--profile", "cpu", "--duration", "6",
                    "--safety", "off", "--out", str(out)], root / "home")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout + stderr
    return root, out, stdout + stderr


@pytest.mark.slow
def test_a_spanish_topic_short_is_told_what_it_needs_and_that_its_script_is_an_outline(spanish):
    import json

    _, out, said = spanish
    warnings = json.loads((out / "report.json").read_text())["warnings"]
    assert warnings  # the cpu profile's weights are missing here: something is said
    for text in [*warnings, said]:
        assert "en_US" not in text and "tiny.en" not in text, text
    assert any("No Piper voice" in w and "'es'" in w for w in warnings)
    notes = [line for line in said.splitlines() if "outline" in line]
    assert len(notes) == 1, said  # once
    assert "--script FILE" in said and "studio models pull cpu --stage script" in said
    # what it cost here and what the same work would have cost on paid APIs, and the run in this machine's database
    [cost] = [line for line in said.splitlines() if line.startswith("Compute: ")]
    assert "s on this machine. The same work on paid APIs: about $" in cost and "not verified" in cost, cost
    from studio.analytics.service import Analytics
    from studio.db import Database

    db = Database.for_home(spanish[0] / "home")
    try:
        board = Analytics(db, spanish[0] / "home" / "analytics").studio(None, 1)
        assert board.runs == 1 and sum(n for _, n in board.shorts_per_day) == 1, board
    finally:
        db.dispose()


@pytest.mark.slow
def test_a_finished_folder_has_no_work_folder_unless_kept(spanish):
    root, out, _ = spanish
    assert (out / "short.mp4").exists() and not (out / ".work").exists()
    kept = root / "kept"
    proc = _studio(["render", str(out / "timeline.json"), "--out", str(kept), "--keep-work"], root / "home")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout + stderr  # a re-render needs nothing from the .work that is gone
    assert "0 encoded" in stdout + stderr  # its segments came from the content cache
    assert (kept / "short.mp4").exists() and (kept / ".work" / "soundtrack.m4a").exists()
    assert not list((kept / ".work").glob("next-*"))  # the staging folder is never kept once published
