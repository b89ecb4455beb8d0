"""``studio models list | pull PROFILE | doctor``: what each profile needs, fetching it, and what this machine has."""

from __future__ import annotations

import shutil
import subprocess
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from models.errors import StudioError
from models.registry import ENGINES, MODEL_ENGINE
from studio.engines import parse_overrides, resolve_profile
from studio.remedies import print_for_cli
from studio.settings import Settings

app = typer.Typer(help="Model weights: list what profiles need, pull them, check this machine.", no_args_is_help=True)
console = Console()
STAGES = ("script", "voice", "stills", "motion", "music", "timing", "scoring")


def _status(stage: str, spec: dict) -> str:
    model = spec.get("model")
    if not model:
        return "built in"
    engine = ENGINES[stage].get(spec["engine"])
    return "cached" if engine.weights_present(stage, model, spec.get("revision")) else "missing"


def _stage_specs(settings: Settings, profile: str, overrides: dict[str, str]) -> dict[str, dict]:
    spec = settings.profile(resolve_profile(profile))
    out = {}
    for stage in STAGES:
        s = dict(spec[stage])
        if stage in overrides:
            s.update(model=overrides[stage], revision=None)
            if not ENGINES[stage].get(s["engine"]).uses_weights:
                s["engine"] = MODEL_ENGINE[stage]
        out[stage] = s
    return out


@app.command("list")
def list_models(profile: Annotated[Optional[str], typer.Argument(help="One profile (default: all).")] = None) -> None:
    """What each profile needs, and whether it is in the local cache."""
    settings = Settings.from_env()
    for name in [profile] if profile else settings.profile_names():
        table = Table("stage", "engine", "model", "revision", "status", title=f"profile {resolve_profile(name)}")
        for stage, spec in _stage_specs(settings, name, {}).items():
            table.add_row(stage, spec["engine"], spec.get("model", "—"), str(spec.get("revision") or "—"),
                          _status(stage, spec))
        console.print(table)


@app.command("pull")
def pull_models(
    profile: Annotated[str, typer.Argument(help="cpu, gpu or auto.")],
    model: Annotated[list[str], typer.Option("--model", help="STAGE=REPO_OR_PATH override (repeatable).")] = [],  # noqa: B006
    stage: Annotated[list[str], typer.Option("--stage", help="Only these stages (repeatable).")] = [],  # noqa: B006
) -> None:
    """Download every model the profile needs (resumable; disk space checked first; checksums verified)."""
    settings = Settings.from_env()
    try:
        specs = _stage_specs(settings, profile, parse_overrides(model))
        for name_of_stage, spec in specs.items():
            name = spec.get("model")
            if (stage and name_of_stage not in stage) or not name or _status(name_of_stage, spec) == "cached":
                continue
            console.print(f"[bold]{name_of_stage}[/bold]: fetching {name}")
            fetched = ENGINES[name_of_stage].get(spec["engine"]).fetch_weights(name, spec.get("revision"))
            console.print(f"  {fetched}")
    except StudioError as exc:
        print_for_cli(console, exc)
        raise typer.Exit(2) from None
    console.print("[green]Done.[/green]")


def _version(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "MISSING"
    out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
    return out[0][:60] if out else "present"


@app.command("doctor")
def doctor(profile: Annotated[str, typer.Option(help="Profile to check.")] = "auto") -> None:
    """Device, memory, tools, and which weights of the profile are cached or missing."""
    table = Table("check", "result", title="this machine")
    try:
        import torch

        cuda = torch.cuda.is_available()
        table.add_row("torch", f"{torch.__version__} ({'CUDA ' + torch.cuda.get_device_name(0) if cuda else 'CPU'})")
        if cuda:
            free, total = torch.cuda.mem_get_info()
            table.add_row("VRAM free", f"{free / 2**30:.1f} of {total / 2**30:.1f} GiB")
    except ImportError:
        table.add_row("torch", "MISSING: pip install -r requirements.txt")
    with open("/proc/meminfo") as fh:
        mem = dict(line.split(":", 1) for line in fh)
    table.add_row("RAM available", f"{int(mem['MemAvailable'].split()[0]) / 2**20:.1f} GiB")
    table.add_row("ffmpeg", _version(["ffmpeg", "-version"]))
    table.add_row("espeak-ng", _version(["espeak-ng", "--version"]))
    table.add_row("profile", f"{profile} → {resolve_profile(profile)}")
    console.print(table)
    list_models(resolve_profile(profile))
