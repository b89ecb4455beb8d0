"""``studio models list | pull PROFILE | pull-voice NAME | accept NAME | doctor``: what each profile needs,
fetching it, and what this machine has."""

from __future__ import annotations

import shutil
import subprocess
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from models.errors import StudioError
from studio import weights
from studio.engines import parse_overrides, resolve_profile
from studio.remedies import print_for_cli
from studio.settings import LICENCE_NOTICES, Settings

app = typer.Typer(help="Model weights: list what profiles need, pull them, check this machine.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_models(profile: Annotated[Optional[str], typer.Argument(help="One profile (default: all).")] = None) -> None:
    """What each profile needs (weights and Piper voices), and whether it is on this machine."""
    settings = Settings.from_env()
    for name in [profile] if profile else settings.profile_names():
        table = Table("stage", "engine", "model or voice", "revision", "status", title=f"profile {resolve_profile(name)}")
        listed = {(i.stage, i.name): i for i in weights.items(settings, name)}
        for stage, spec in weights.stage_specs(settings, name).items():
            item = listed.get((stage, spec.get("model", "")))
            status = "built in" if item is None else _status(item, settings)
            table.add_row(stage, spec["engine"], spec.get("model", "—"), str(spec.get("revision") or "—"), status)
        for item in listed.values():
            if item.kind == "voice":
                table.add_row("voice", "piper", item.name, "—", _status(item, settings))
        console.print(table)


def _status(item: weights.Item, settings: Settings) -> str:
    if item.present:
        return "on this machine"
    if item.licence and item.licence not in settings.accepted_licences:
        return f"optional: accept its licence first (studio models accept {item.licence})"
    return "missing"


@app.command("pull")
def pull_models(
    profile: Annotated[str, typer.Argument(help="cpu, gpu or auto.")],
    model: Annotated[list[str], typer.Option("--model", help="STAGE=REPO_OR_PATH override (repeatable).")] = [],  # noqa: B006
    stage: Annotated[list[str], typer.Option("--stage", help="Only these stages (repeatable).")] = [],  # noqa: B006
) -> None:
    """Download every model and Piper voice the profile needs (resumable; disk space checked first; checksums
    verified). Weights whose licence needs accepting are fetched only after `studio models accept NAME`."""
    settings = Settings.from_env()
    try:
        overrides = parse_overrides(model)
        todo = [i for i in weights.items(settings, profile, overrides) if not i.present and (
            not stage or i.stage in stage)]
        for item in todo:
            if item.licence and item.licence not in settings.accepted_licences:
                console.print(f"[yellow]{item.label}[/yellow]: skipped. {LICENCE_NOTICES[item.licence]} "
                              f"Accept it with: studio models accept {item.licence}")
                continue
            console.print(f"[bold]{item.label}[/bold]: fetching")
            console.print(f"  {weights.pull_item(item, settings)}")
    except StudioError as exc:
        print_for_cli(console, exc)
        raise typer.Exit(2) from None
    console.print("[green]Done.[/green]")


@app.command("pull-voice")
def pull_voice_command(name: Annotated[str, typer.Argument(help="A Piper voice in rhasspy/piper-voices, e.g. "
                                                           "en_US-kristin-medium.")]) -> None:
    """Download one Piper voice, checked against the md5 in that repo's voices.json."""
    from models.voice.piper import pull_voice

    try:
        console.print(pull_voice(name))
    except StudioError as exc:
        print_for_cli(console, exc)
        raise typer.Exit(2) from None


@app.command("accept")
def accept(
    name: Annotated[str, typer.Argument(help=f"Whose licence: {', '.join(LICENCE_NOTICES)}.")],
    yes: Annotated[bool, typer.Option("--yes", help="Accept without asking.")] = False,
) -> None:
    """Accept the licence of optional weights (MusicGen is CC-BY-NC-4.0: non-commercial use only)."""
    if name not in LICENCE_NOTICES:
        console.print(f"[red]Error:[/red] no licence to accept for {name!r}; choose one of: "
                      f"{', '.join(LICENCE_NOTICES)}.")
        raise typer.Exit(2)
    console.print(LICENCE_NOTICES[name])
    if not yes and not typer.confirm("Do you accept these terms?", default=False):
        console.print("Not accepted; nothing was changed.")
        raise typer.Exit(1)
    settings = Settings.from_env()
    settings.accept_licence(name)
    console.print(f"[green]Accepted[/green] (recorded in {settings.licences_file}). Fetch the weights with: "
                  f"studio models pull cpu --model music=facebook/musicgen-small")


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
