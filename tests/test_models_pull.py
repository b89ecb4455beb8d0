"""`studio models pull` against a local server standing in for the Hub (HF_ENDPOINT): resume, checksums, full disk."""

import os
import subprocess
import sys

import pytest

from tests.fake_hub import FakeHub

pytest.importorskip("torch")


@pytest.fixture()
def hub(tiny):
    server = FakeHub()
    server.add_folder("tiny/whisper", tiny["timing"])
    yield server
    server.close()


def _pull(hub, tmp_path, *extra, env_extra=None):
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0",
           "HF_HUB_DISABLE_XET": "1", "HF_HUB_ENABLE_HF_TRANSFER": "0", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "studio.cli", "models", "pull", "cpu", "--stage", "timing",
                           "--model", "timing=tiny/whisper", *extra], capture_output=True, text=True, env=env,
                          timeout=300)


def test_pull_downloads_verifies_and_then_loads_offline(hub, tmp_path):
    proc = _pull(hub, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    snap = tmp_path / "hf" / "hub" / "models--tiny--whisper" / "snapshots"
    assert {p.name for p in next(snap.iterdir()).iterdir()} >= {"model.bin", "config.json", "vocabulary.json"} or \
        {p.name for p in next(snap.iterdir()).iterdir()} >= {"model.bin", "config.json"}
    # now the timing stage finds it by repo id with the Hub switched off
    code = ("from models.timing.whisper import WhisperTiming; "
            "t = WhisperTiming('tiny/whisper'); t.check(); t.model(); print('loaded')")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "loaded" in out.stdout, out.stderr[-1500:]


def test_pull_resumes_a_download_cut_off_mid_file(hub, tmp_path):
    """The connection drops half-way through a 24 MB file; the pull resumes it with an HTTP Range request from
    where it stopped (not from zero), and the joined file passes the checksum check."""
    import os as _os

    hub.repos["tiny/whisper"]["extra.safetensors"] = _os.urandom(24 * 2**20)
    hub.drop_once.add("extra.safetensors")
    proc = _pull(hub, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith("/extra.safetensors")]
    assert len(gets) == 2 and gets[0][2] is None
    start = int(gets[1][2].removeprefix("bytes=").rstrip("-"))
    assert 0 < start < 24 * 2**20


def test_a_killed_pull_resumes_in_the_next_process(hub, tmp_path):
    """The pull process is killed (SIGKILL) in the middle of a 24 MB file; the next pull, a new process, asks the
    Hub only for the bytes it does not have yet, and the joined file passes the checksum check."""
    import os as _os
    import time

    data = _os.urandom(24 * 2**20)
    hub.repos["tiny/whisper"]["extra.safetensors"] = data
    hub.slow.add("extra.safetensors")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0",
           "HF_HUB_DISABLE_XET": "1"}
    first = subprocess.Popen([sys.executable, "-m", "studio.cli", "models", "pull", "cpu", "--stage", "timing",
                              "--model", "timing=tiny/whisper"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    partial = []
    while time.time() < deadline:
        partial = [p for p in (tmp_path / "hf").rglob("*.partial") if p.stat().st_size > 4 * 2**20]
        if partial:
            break
        time.sleep(0.1)
    first.kill()
    first.wait()
    assert partial, "the first pull never got half-way"
    kept = partial[0].stat().st_size
    assert 0 < kept < len(data)
    hub.slow.clear()
    hub.requests.clear()
    proc = _pull(hub, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith("/extra.safetensors")]
    assert len(gets) == 1 and gets[0][2] == f"bytes={kept}-", gets
    snap = next((tmp_path / "hf" / "hub" / "models--tiny--whisper" / "snapshots").iterdir())
    assert (snap / "extra.safetensors").read_bytes() == data


def test_pull_refuses_a_checksum_mismatch(hub, tmp_path):
    hub.corrupt.add("model.bin")
    proc = _pull(hub, tmp_path)
    assert proc.returncode == 2
    assert "checksum" in proc.stdout and "model.bin" in proc.stdout
    assert not list((tmp_path / "hf").rglob("model.bin"))  # the damaged file is gone


def test_pull_refuses_when_the_disk_is_too_small(hub, tmp_path):
    code = ("import models.hub as h; h._free_bytes = lambda p: 1000; "
            "from studio.cli import app; app(['models', 'pull', 'cpu', '--stage', 'timing', '--model', "
            "'timing=tiny/whisper'])")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "only 0.00 GiB is free" in proc.stdout
    assert not list((tmp_path / "hf").rglob("model.bin"))


def test_pull_reports_an_unknown_repo(hub, tmp_path):
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "models", "pull", "cpu", "--stage", "timing",
                           "--model", "timing=nobody/nothing"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "does not exist on the Hub" in proc.stdout
