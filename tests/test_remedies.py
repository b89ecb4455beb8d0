"""Errors carry a remedy as data below the studio; each edge words it: CLI flags, API fields, UI words."""

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.errors import EngineUnavailable, InvalidMedia, Remedy
from pipelines.types import ShortRequest
from studio.cli import app
from studio.core import Studio
from studio.remedies import for_api, for_cli, for_ui
from studio.settings import Settings
from tests.api_helpers import bearer, make_settings, signup

ROOT = Path(__file__).resolve().parents[1]


def test_no_layer_below_the_studio_speaks_in_cli_flags():
    said = []
    for path in [*ROOT.joinpath("models").rglob("*.py"), *ROOT.joinpath("pipelines").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                flag = re.search(r"(^|\s)--[a-z]", text)
                if ("studio models" in text or "studio make" in text or flag) and "espeak-ng --" not in text:
                    said.append(f"{path.relative_to(ROOT)}: {text!r}")
    assert not said, said


def test_missing_weights_name_the_profile_and_each_edge_words_it(tmp_path):
    studio = Studio(Settings(home=tmp_path / "home"))
    with pytest.raises(EngineUnavailable) as err:
        studio.make(ShortRequest(topic="sleep", duration=6, profile="cpu", strict=True), out_dir=tmp_path / "o")
    r = err.value.remedy
    assert r is not None and r.action == "pull_weights" and r.profile == "cpu" and r.stage and r.repo
    assert "studio models pull cpu" in for_cli(err.value)
    assert for_api(err.value)["remedy"] == {"action": "pull_weights", "profile": "cpu", "stage": r.stage, "repo": r.repo}
    assert "--" not in for_ui(err.value) or "studio models pull" in for_ui(err.value)


def test_the_cli_words_a_remedy_as_its_own_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    run = CliRunner().invoke(app, ["make", "sleep", "--duration", "900", "--profile", "offline"])
    assert run.exit_code == 2 and "--duration" in run.output
    sample = tmp_path / "v.wav"
    sample.write_bytes(b"RIFF")
    run = CliRunner().invoke(app, ["make", "sleep", "--voice-sample", str(sample), "--profile", "offline"])
    assert run.exit_code == 2 and "consent" in run.output and "--consent" in run.output


def test_the_ui_words_a_remedy_in_plain_words():
    exc = InvalidMedia("The visual 'x' looks unsafe.", "Replace it.", Remedy("set_field", field="safety", value="warn"))
    words = for_ui(exc)
    assert "image safety check to warn" in words and "--" not in words


def test_the_api_answers_consent_as_a_field_before_any_quota(tmp_path):
    from fastapi.testclient import TestClient

    from studio.web import create_server

    with TestClient(create_server(make_settings(tmp_path / "home"), with_ui=False)) as client:
        ada = signup(client, "ada@example.com")
        r = client.post("/api/shorts", headers=bearer(ada),
                        json={"topic": "x", "duration": 5, "voice_sample_asset_id": "abc"})
        assert r.status_code in (404, 422)  # an asset that is not the caller's is refused first
        body = {"topic": "x", "duration": 5, "profile": "offline", "asset_ids": [], "voice_sample_asset_id": None}
        r = client.post("/api/shorts", headers=bearer(ada), json={**body, "duration": 500})
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["remedy"]["field"] == "duration" and "--" not in error["message"] + error.get("hint", "")
        assert client.get("/api/me", headers=bearer(ada)).json()["quota"]["used_today"] == 0
