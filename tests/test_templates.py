"""Templates as versioned data: inheritance, export/import, the old single-file layout, bad templates refused."""

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from models.errors import InvalidRequest
from pipelines.types import ShortRequest
from studio import templates as tpl
from studio.cli import app
from studio.core import Studio
from studio.settings import CONFIGS, Settings

OLD_SINGLE_FILE = """bold:
  label: Bold
  palette: ["#ff3d6e", "#6c2bd9", "#0c1445", "#ffb000"]
  caption_color: "#ffffff"
  highlight_color: "#ffd400"
  outline_color: "#000000"
  font_size: 92
  hook_font_size: 104
  words_per_cue: 3
  music: {bpm: 112, mood: upbeat, level_db: -8}
"""


def test_a_template_inherits_what_it_does_not_change():
    found = tpl.load(CONFIGS)
    punchy, bold = found["punchy"], found["bold"]
    assert punchy["palette"] == bold["palette"] and punchy["music"] == bold["music"]
    assert (punchy["font_size"], punchy["words_per_cue"]) == (212, 1) != (bold["font_size"], bold["words_per_cue"])
    assert punchy["uppercase"] is True  # inherited from bold
    assert "extends" not in punchy and punchy["version"] == 3


def test_export_then_import_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    out = tmp_path / "mine.yaml"
    assert runner.invoke(app, ["templates", "export", "punchy", "--out", str(out)]).exit_code == 0
    imported = runner.invoke(app, ["templates", "import", str(out), "--name", "mine"])
    assert imported.exit_code == 0, imported.output
    settings = Settings.from_env()
    mine, punchy = settings.templates["mine"], settings.templates["punchy"]
    assert {k: v for k, v in mine.items() if k != "source"} == {k: v for k, v in punchy.items() if k != "source"}
    assert "mine" in runner.invoke(app, ["templates", "list"]).output
    assert settings.template("mine").words_per_cue == 1


def test_an_old_configs_folder_with_one_templates_file_still_loads(tmp_path):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs, ignore=shutil.ignore_patterns("templates"))
    (configs / "templates.yaml").write_text(OLD_SINGLE_FILE)
    t = Settings(home=tmp_path / "home", configs=configs).template("bold")
    assert (t.font_size, t.version, t.highlight_color) == (92, 1, "#ffd400")


def _with(tmp_path, **files: dict) -> Path:
    configs = tmp_path / "configs"
    (configs / "templates").mkdir(parents=True)
    base = yaml.safe_load((CONFIGS / "templates" / "bold.yaml").read_text())
    (configs / "templates" / "bold.yaml").write_text(yaml.safe_dump(base))
    for name, data in files.items():
        (configs / "templates" / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return configs


@pytest.mark.parametrize("files, field", [
    ({"a": {"version": 1, "extends": "b"}, "b": {"version": 1, "extends": "a"}}, "extends makes a cycle"),
    ({"a": {"version": 1, "extends": "nope"}}, "extends names 'nope'"),
    ({"a": {"version": 1, "extends": "bold", "font": "Comic Nope 9000"}}, "field font"),
    ({"a": {"version": 1, "extends": "bold", "caption_color": "#fff"}}, "field caption_color"),
    ({"a": {"version": 1, "extends": "bold", "highlight_color": "red"}}, "field highlight_color"),
    ({"a": {"version": 1, "extends": "bold", "palette": ["#ffffff"]}}, "field palette"),
    ({"a": {"version": 1, "extends": "bold", "words_per_cue": 40}}, "field words_per_cue"),
    ({"a": {"version": 1, "extends": "bold", "music": {"bpm": 9000}}}, "field music.bpm"),
    ({"a": {"version": 0, "extends": "bold"}}, "field version"),
    ({"a": {"version": 1, "extends": "bold", "colour": "#ffffff"}}, "field colour is not a template field"),
    ({"a": {"version": 1, "extends": "bold", "caption_position": "sideways"}},
     "field caption_position must be one of bottom, middle, not 'sideways'"),
    ({"a": {"version": 1, "extends": "bold", "caption_animation": "bounce"}}, "field caption_animation"),
    ({"a": {"version": 1, "extends": "bold", "caption_animation": None}}, "field caption_animation"),
])
def test_bad_templates_are_refused_naming_the_field(tmp_path, files, field):
    with pytest.raises(InvalidRequest, match=field):
        tpl.load(_with(tmp_path, **files))


def test_a_template_font_draws_the_captions(tmp_path):
    configs = _with(tmp_path, mono={"version": 1, "extends": "bold", "font": "DejaVu Sans Mono"})
    shutil.copytree(CONFIGS, configs, ignore=shutil.ignore_patterns("templates"), dirs_exist_ok=True)
    studio = Studio(Settings(home=tmp_path / "home", configs=configs))
    result = studio.make(ShortRequest(script="Monospaced words.", template="mono", profile="offline"),
                         out_dir=tmp_path / "out", keep_work=True)
    assert result.report["ok"], {k: v for k, v in result.report["checks"].items() if not v["ok"]}
    assert "Style: Caption,DejaVu Sans Mono," in (result.out_dir / ".work" / "captions.ass").read_text()


def test_caption_position_and_animation_are_inherited_and_default_to_todays_captions(tmp_path):
    bold = yaml.safe_load((CONFIGS / "templates" / "bold.yaml").read_text())
    older = {k: v for k, v in bold.items() if not k.startswith("caption_") or k == "caption_color"}
    configs = _with(tmp_path, older=older,
                    pop={"version": 1, "extends": "older", "caption_animation": "pop", "caption_position": "middle"},
                    child={"version": 1, "extends": "pop", "label": "Child"},
                    low={"version": 1, "extends": "pop", "caption_position": "bottom"})
    found = tpl.load(configs)
    assert (found["older"]["caption_position"], found["older"]["caption_animation"]) == ("bottom", "karaoke")
    assert (found["child"]["caption_position"], found["child"]["caption_animation"]) == ("middle", "pop")
    assert (found["low"]["caption_position"], found["low"]["caption_animation"]) == ("bottom", "pop")
    shutil.copytree(CONFIGS, configs, ignore=shutil.ignore_patterns("templates"), dirs_exist_ok=True)
    child = Settings(home=tmp_path / "home", configs=configs).template("child")
    assert (child.caption_position, child.caption_animation, child.caption_style) == ("middle", "pop", "pop")


def test_the_built_in_templates_caption_styles(tmp_path):
    settings = Settings(home=tmp_path / "home")
    looks = {n: (settings.template(n).caption_position, settings.template(n).caption_style) for n in settings.templates}
    assert looks["bold"] == ("bottom", "karaoke")  # unchanged: what every short looked like before
    assert looks["punchy"] == ("middle", "pop") and looks["calm"] == ("bottom", "plain")
