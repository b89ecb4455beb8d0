"""``studio templates list | show NAME | export NAME | import FILE``: the looks a short can take, as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from models.errors import StudioError
from studio import templates as tpl
from studio.remedies import print_for_cli
from studio.settings import Settings

app = typer.Typer(help="Templates: list, show, export and import the looks a short can take.", no_args_is_help=True)
console = Console()


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2)


def _one(settings: Settings, name: str) -> dict:
    found = settings.templates.get(name)
    if found is None:
        raise StudioError(f"Unknown template {name!r}.", f"Choose one of: {', '.join(settings.templates)}.")
    return found


@app.command("list")
def list_templates() -> None:
    """Every template: built in, and your own (STUDIO_HOME/templates)."""
    try:
        found = Settings.from_env().templates
    except StudioError as exc:
        _fail(exc)
    table = Table("name", "label", "version", "words/cue", "font size", "file")
    for name, t in found.items():
        table.add_row(name, t["label"], str(t["version"]), str(t["words_per_cue"]), str(t["font_size"]), t["source"])
    console.print(table)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="A template's name.")]) -> None:
    """The template with everything it inherits filled in."""
    try:
        print(tpl.export(_one(Settings.from_env(), name)), end="")
    except StudioError as exc:
        _fail(exc)


@app.command("export")
def export(name: Annotated[str, typer.Argument(help="A template's name.")],
           out: Annotated[Optional[Path], typer.Option("--out", help="File to write (default: NAME.yaml).")] = None,
           ) -> None:
    """Write a template to a file, self-contained (nothing inherited is left out)."""
    try:
        text = tpl.export(_one(Settings.from_env(), name))
    except StudioError as exc:
        _fail(exc)
    path = out or Path(f"{name}.yaml")
    path.write_text(text, encoding="utf-8")
    print(f"Wrote {path}")


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="A template file (YAML).")],
            name: Annotated[Optional[str], typer.Option("--name", help="Its name here (default: the file's).")] = None,
            ) -> None:
    """Check a template file and add it to your templates (it may extend any template already here)."""
    settings = Settings.from_env()
    try:
        path = tpl.import_file(file, name or file.stem, settings.user_templates_dir, settings.configs)
    except StudioError as exc:
        _fail(exc)
    print(f"Imported {name or file.stem} → {path}")
