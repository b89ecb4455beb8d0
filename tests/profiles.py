"""A studio whose configs hold one extra profile: the offline engines, with one stage's engine swapped."""

import shutil

import yaml

from studio.core import Studio
from studio.settings import CONFIGS, Settings


def studio_with_profile(tmp_path, name: str, **stages: dict) -> Studio:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    offline = yaml.safe_load((CONFIGS / "profiles" / "offline.yaml").read_text())
    (configs / "profiles" / f"{name}.yaml").write_text(yaml.safe_dump({**offline, **stages}))
    return Studio(Settings(home=tmp_path / "home", configs=configs))
