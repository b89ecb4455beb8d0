"""``studio export SHORT_DIR --bundle FILE.zip``: a short's folder as one zip to post by hand (studio/bundle.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from models.errors import InvalidRequest, StudioError
from studio.remedies import print_for_cli

console = Console(stderr=True)


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2) from None


def export(
    short_dir: Annotated[Path, typer.Argument(metavar="SHORT_DIR",
                                              help="A short's folder, as studio make or studio render wrote it.")],
    bundle: Annotated[Path, typer.Option("--bundle", metavar="FILE.zip",
                                         help="The zip to write: the video in every format, captions, thumbnails, "
                                         "each platform's post text and a README for posting by hand.")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE.zip if it exists.")] = False,
) -> None:
    """Bundle a short for posting by hand (no connected account needed)."""
    from studio.bundle import folder_files, write_bundle
    from studio.settings import Settings

    try:
        _check_bundle_flag(bundle, force)
        try:
            files = folder_files(short_dir)
        except StudioError as exc:
            raise InvalidRequest(f"SHORT_DIR: {exc.message}", exc.hint) from None
        try:
            made = write_bundle(files, bundle, Settings.from_env())
        except OSError as exc:
            raise InvalidRequest(f"--bundle: cannot write {bundle}: {exc.strerror or exc}.",
                                 "Choose a file in a folder you can write to.") from None
        except StudioError as exc:  # post.json or report.json of the folder could not be read
            raise InvalidRequest(f"SHORT_DIR: {exc.message}", exc.hint) from None
    except StudioError as exc:
        _fail(exc)
    print(f"Wrote {made.path} ({made.path.stat().st_size / 2**20:.1f} MB):")
    for name in made.names:
        print(f"  {name}")


def _check_bundle_flag(path: Path, force: bool) -> None:
    if path.suffix.lower() != ".zip":
        raise InvalidRequest(f"--bundle: {path} does not end in .zip.", "Name the file like short.zip.")
    if not path.parent.is_dir():
        raise InvalidRequest(f"--bundle: the folder {path.parent} does not exist.",
                             "Create it first, or choose a file in a folder that exists.")
    if path.is_dir():
        raise InvalidRequest(f"--bundle: {path} is a folder.", "Name a file, like short.zip.")
    if path.exists() and not force:
        raise InvalidRequest(f"--bundle: {path} already exists.", "Add --force to replace it, or choose another name.")
