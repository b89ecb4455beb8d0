import os
import tempfile
from pathlib import Path

import pytest

from pipelines.types import ShortRequest
from studio.core import Studio
from studio.settings import Settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads or writes the user's real data folder."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    for name in ("STUDIO_PEXELS_KEY", "STUDIO_PIXABAY_KEY"):  # a developer's stock keys must not reach the network
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("studio-home")


@pytest.fixture(scope="session")
def studio(session_home) -> Studio:
    return Studio(Settings(home=session_home))


@pytest.fixture(scope="session")
def topic_short(studio, tmp_path_factory):
    """One offline short from a topic, shared by the tests that inspect its output."""
    out = tmp_path_factory.mktemp("topic-short")
    return studio.make(ShortRequest(topic="5 habits that changed my mornings", duration=12, seed=3, profile="offline"),
                       out_dir=out, keep_work=True)  # tests read its mix and subtitles in .work


os.environ["HF_HUB_OFFLINE"] = "1"  # no test may reach the Hub: weights come from tiny local models
# an empty model cache: a developer's downloaded weights must not change what the tests exercise
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="studio-test-hf-")
os.environ["TTS_HOME"] = os.environ["HF_HOME"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Tiny random-weight models of every family, built once per run in their real on-disk layouts."""
    pytest.importorskip("torch")
    from tests import tiny as builders

    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "script": builders.build_llm(root / "qwen2-tiny"),
        "voice": builders.build_coqui_vits(root / "vits-tiny"),
        "stills": builders.build_sd_turbo(root / "sd-turbo-tiny"),
        "timing": builders.build_whisper(root / "whisper-tiny-ct2"),
        "scoring": builders.build_open_clip(root / "openclip-tiny"),
        "motion": builders.build_svd(root / "svd-tiny"),
    }


@pytest.fixture(scope="session", autouse=True)
def _every_timeline_follows_the_schema(tmp_path_factory):
    """Every timeline.json any test wrote is checked against the schema in the repo, by jsonschema itself."""
    yield
    import json

    from jsonschema import Draft202012Validator

    from pipelines.timeline import SCHEMA_PATH

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    found = list(tmp_path_factory.getbasetemp().rglob("timeline.json"))
    bad = {str(p): [e.message for e in validator.iter_errors(json.loads(p.read_text(encoding="utf-8")))][:3]
           for p in found}
    bad = {p: errors for p, errors in bad.items() if errors}
    assert not bad, f"timeline.json files that break the schema: {bad}"
