"""The ``studio`` command: a thin shell over ``Studio.make`` and ``Studio.render``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.errors import Cancelled, InvalidRequest, StudioError
from pipelines.types import ShortRequest
from studio.analytics_cli import app as analytics_app
from studio.batch_cli import batch as batch_command
from studio.core import Studio, check_out_dir
from studio.export_cli import export as export_command
from studio.jobs_cli import app as jobs_app
from studio.jobs_cli import dispatch as dispatch_command
from studio.jobs_cli import worker as worker_command
from studio.models_cli import app as models_app
from studio.remedies import print_for_cli
from studio.templates_cli import app as templates_app

app = typer.Typer(help="Viral AI Studio: topic, script or photos → post-ready vertical shorts.", no_args_is_help=True)
console = Console(stderr=True)
app.add_typer(models_app, name="models")
app.add_typer(templates_app, name="templates")
app.add_typer(jobs_app, name="jobs")
app.add_typer(analytics_app, name="analytics")
app.command("worker")(worker_command)
app.command("dispatch")(dispatch_command)
app.command("batch")(batch_command)
app.command("export")(export_command)


@app.callback()
def main() -> None:
    """Viral AI Studio."""


@app.command()
def make(
    topic: Annotated[str, typer.Argument(help="What the short is about (or use --script).")] = "",
    script: Annotated[Optional[Path], typer.Option("--script", help="A text file with your own words.")] = None,
    media: Annotated[list[Path], typer.Option("--media", help="A photo to use (repeatable).")] = [],  # noqa: B006
    platform: Annotated[str, typer.Option(help="reels, shorts or tiktok.")] = "reels",
    duration: Annotated[Optional[float], typer.Option(
        help="Seconds. Default 30 for a topic; a script lasts as long as its voiceover unless you ask for longer.")] = None,
    voice: Annotated[str, typer.Option(help="Voice preset.")] = "narrator",
    template: Annotated[str, typer.Option(help="Visual template.")] = "bold",
    language: Annotated[str, typer.Option(help="Language code, e.g. en, es, zh, ar.")] = "en",
    profile: Annotated[str, typer.Option(help="Engine profile: auto (gpu on CUDA, else cpu), cpu, gpu or offline.")] = "auto",
    seed: Annotated[int, typer.Option(help="Same seed, same short.")] = 0,
    model: Annotated[list[str], typer.Option("--model", help="STAGE=REPO_OR_PATH: another model for one stage "
                                             "(repeatable).")] = [],  # noqa: B006
    strict: Annotated[bool, typer.Option("--strict", help="Fail instead of falling back to offline engines.")] = False,
    safety: Annotated[str, typer.Option(help="Image safety check: block, warn or off.")] = "block",
    voice_sample: Annotated[Optional[Path], typer.Option("--voice-sample",
                                                         help="6–30 s of a voice to clone (XTTS-v2).")] = None,
    consent: Annotated[bool, typer.Option("--consent", help="The person in --voice-sample agreed to cloning.")] = False,
    music: Annotated[Optional[Path], typer.Option("--music", help="Your own music track (MP3, M4A, WAV, FLAC or OGG, "
                                                  "up to 10 minutes): looped or trimmed to fit, ducked under the "
                                                  "voice.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder.")] = None,
    keep_work: Annotated[bool, typer.Option("--keep-work", help="Keep the .work/ scratch folder in the output "
                                            "folder (for debugging).")] = False,
) -> None:
    """Make one short and print what was written."""
    try:
        if out is not None:
            _check_out_flag(out)
        text = _read_script(script) if script else ""
        if music is not None:
            _check_music_flag(music)
        request = ShortRequest(topic=topic, script=text, media=tuple(media), platform=platform,
                               duration=duration,
                               voice=voice, template=template, language=language, profile=profile, seed=seed,
                               models=tuple(model), strict=strict, safety=safety, voice_sample=voice_sample,
                               voice_consent=consent, music=music)
        studio = Studio()
        studio.front = "cli"
        with _bar() as (bar, task):
            result = studio.make(request, out_dir=out, keep_work=keep_work, on_progress=lambda f, stage, msg: bar.update(
                task, completed=f, stage=stage, description=msg))
    except (KeyboardInterrupt, Cancelled):
        _cancelled()
    except StudioError as exc:
        _fail(exc)
    _print_result(result)
    note = _outline_note(request, result)
    if note:
        console.print(f"[yellow]Note:[/yellow] {note}", soft_wrap=True)


@app.command()
def render(
    timeline: Annotated[Path, typer.Argument(help="A timeline.json (a short's, edited or not).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: the timeline's own folder, "
                                                "whose files are replaced once the new render has succeeded).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Engine profile (default: the one the timeline was made "
                                                   "with).")] = None,
    model: Annotated[list[str], typer.Option("--model", help="STAGE=REPO_OR_PATH (repeatable).")] = [],  # noqa: B006
    strict: Annotated[bool, typer.Option("--strict", help="Fail instead of falling back to offline engines.")] = False,
    safety: Annotated[str, typer.Option(help="Image safety check: block, warn or off.")] = "block",
    formats: Annotated[str, typer.Option("--format", help="Feed formats, comma-separated: 9:16 (short.mp4), 1:1 "
                                         "(short-1x1.mp4), 4:5 (short-4x5.mp4), 16:9 (short-16x9.mp4).")] = "9:16",
    keep_work: Annotated[bool, typer.Option("--keep-work", help="Keep the .work/ scratch folder in the output "
                                            "folder (for debugging).")] = False,
) -> None:
    """Render a timeline again; only the scenes that changed are made and encoded again."""
    try:
        if out is not None:
            _check_out_flag(out)
        studio = Studio()
        studio.front = "cli"
        try:
            chosen = studio.settings.parse_formats(formats)
        except StudioError as exc:
            raise InvalidRequest(f"--format: {exc.message}", exc.hint) from None
        with _bar() as (bar, task):
            result = studio.render(timeline, out_dir=out, profile=profile, models=tuple(model), strict=strict,
                                   safety=safety, formats=chosen, keep_work=keep_work,
                                   on_progress=lambda f, stage, msg: bar.update(task, completed=f, stage=stage,
                                                                                description=msg))
    except (KeyboardInterrupt, Cancelled):
        _cancelled()
    except StudioError as exc:
        _fail(exc)
    seg = result.run.segments
    console.print(f"Segments: {seg.encoded} encoded, {seg.reused} reused from earlier renders "
                  f"({seg.encoded_frames} frames encoded).")
    _print_result(result)


def _check_music_flag(path: Path) -> None:
    from models.errors import InvalidMedia
    from pipelines.media import check_music

    try:
        check_music(path)
    except InvalidMedia as exc:
        raise InvalidMedia(f"--music: {exc.message}", exc.hint) from None


def _check_out_flag(path: Path) -> None:
    try:
        check_out_dir(path)
    except StudioError as exc:
        raise InvalidRequest(f"--out: {exc.message} {exc.hint}".strip()) from None  # one line: the fix is plain


def _outline_note(request: ShortRequest, result) -> str:
    """Said once when the built-in rule writer, not a language model, made the script of a topic: its words fill a
    template, so the creator should know before posting them. (A script model that failed already has a warning.)"""
    from studio.engines import resolve_profile

    if request.script.strip() or not any(r.stage == "script" and r.engine == "rules" for r in result.stages):
        return ""
    profile = resolve_profile(request.profile)
    why = ("the offline profile has no script model" if profile == "offline" else
           f"the {profile} profile's script model is not downloaded")
    model = ("studio models pull cpu --stage script, then use --profile cpu" if profile == "offline" else
             f"studio models pull {profile} --stage script")
    return (f"No language model wrote this script ({why}): the built-in writer filled a template from the topic, "
            f"so it is an outline, not writing. Edit its words in timeline.json and run studio render on it, or "
            f"bring your own words with --script FILE. For written scripts, get a script model: {model} (or point a "
            f"profile's script stage at an Ollama or vLLM server).")


def _cost_line(result) -> str:
    """Compute spent here against what the same work would have cost on the paid APIs it replaces."""
    from studio.analytics.costs import load_prices, paid_usd, units_of

    compute = sum(r.seconds for r in result.stages)
    try:
        cost = paid_usd(units_of(result.report, timeline=result.timeline.to_dict()), load_prices())
    except StudioError as exc:  # a broken prices file is said, not fatal: the short is made
        return f"Compute: {compute:.1f} s on this machine. (Paid-API prices unreadable: {exc})"
    billed = [f"{ln.field.replace('_', ' ')} {ln.vendor} ${ln.usd:.3f}" for ln in cost.lines if ln.usd >= 0.0005]
    if not any(ln.amount for ln in cost.lines):
        return (f"Compute: {compute:.1f} s on this machine. Nothing a paid API would bill: every result came from "
                "the cache.")
    checked = "verified" if cost.verified else "not verified against the vendors' own pages"
    return (f"Compute: {compute:.1f} s on this machine. The same work on paid APIs: about ${cost.total_usd:.2f}"
            f"{' (' + ', '.join(billed) + ')' if billed else ''}; prices from configs/prices.yaml, {checked}.")


def _print_result(result) -> None:
    table = Table("stage", "engine", "seconds", "made", "cached", title="Engines")
    for r in result.stages:
        table.add_row(r.stage, r.engine, f"{r.seconds:.2f}", str(r.calls), str(r.cached))
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")
    failed = [name for name, c in result.report["checks"].items() if not c["ok"]]
    if failed:
        console.print(f"[red]Checks that failed on the output:[/red] {', '.join(failed)} (see report.json)")
    console.print(_cost_line(result), soft_wrap=True)
    print(f"Wrote {result.out_dir}:")
    for path in result.files:
        print(f"  {path}")


def _bar():
    from contextlib import contextmanager

    @contextmanager
    def bar():
        with Progress(TextColumn("[bold]{task.fields[stage]:<8}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as p:
            yield p, p.add_task("starting", total=1.0, stage="")

    return bar()


def _fail(exc: StudioError) -> NoReturn:
    print_for_cli(console, exc)
    raise typer.Exit(2) from None


def _cancelled() -> NoReturn:
    """Ctrl-C: one word and the shell's code for SIGINT (128 + 2). ffmpeg is stopped by the same Ctrl-C; the
    pipeline says so with ``Cancelled`` rather than an encode error, and has removed what it had not finished."""
    console.print("Cancelled")
    raise typer.Exit(130) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    auth: Annotated[Optional[str], typer.Option(help="none, local or supabase (default: $STUDIO_AUTH, else local).")] = None,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Mount the Gradio UI at /studio.")] = True,
) -> None:
    """Run the hosted studio: REST API (/docs, /openapi.json), sign-in page and the Gradio UI, one server."""
    from studio.settings import ServerSettings, Settings
    from studio.web import create_server

    try:
        settings = Settings.from_env()
        settings.server = ServerSettings.from_env(auth_mode=auth)
        server = create_server(settings, with_ui=ui)
    except StudioError as exc:
        _fail(exc)
    console.print(f"Viral AI Studio on http://{host}:{port}/studio/ · API docs http://{host}:{port}/docs · "
                  f"auth {settings.server.auth_mode} · storage {settings.server.storage}")
    from studio.serving import serve as run_server

    run_server(server, settings.server, host, port)


def _read_script(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StudioError(f"Cannot read the script file {str(path)!r}: {exc.strerror}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StudioError(f"{path.name!r} is not UTF-8 text.", "Save the script as plain UTF-8 text.") from None


if __name__ == "__main__":
    app()
