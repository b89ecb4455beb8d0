from pathlib import Path

import pytest

from pipelines.types import ShortRequest
from studio.core import Studio
from studio.settings import Settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads or writes the user's real data folder."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))


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
    return studio.make(ShortRequest(topic="5 habits that changed my mornings", duration=12, seed=3), out_dir=out)
