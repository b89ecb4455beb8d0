"""Each edge words a structured remedy its own way: the CLI as a command or a flag, the API as fields (the
remedy itself), the UI in plain words naming its own controls. Layers below the studio only say what fixes
an error (models.errors.Remedy), never which flag or box does it."""

from __future__ import annotations

from models.errors import Remedy, StudioError

CLI_FLAGS = {"voice_consent": "--consent", "script": "--script FILE", "duration": "--duration SECONDS",
             "safety": "--safety", "models": "--model", "topic": "a TOPIC argument", "profile": "--profile"}
UI_LABELS = {"voice_consent": "tick the consent box under the voice sample", "script": "put your own words in the script box",
             "duration": "pick another duration", "safety": "set the image safety check to",
             "models": "change the 'Model per stage' box", "profile": "pick another profile"}


def pull_command(r: Remedy) -> str:
    if r.action == "pull_voice":
        return f"studio models pull-voice {r.repo}"
    command = f"studio models pull {r.profile or 'auto'}"
    if r.stage and not r.profile:  # a model named by --model: fetch that one alone
        command += f" --stage {r.stage}" + (f" --model {r.stage}={r.repo}" if r.repo else "")
    return command


def for_cli(exc: StudioError) -> str:
    r = exc.remedy
    if r is None:
        return exc.hint
    if r.action == "pull_weights":
        return f"Fetch them with: {pull_command(r)}"
    if r.action == "pull_voice":
        return f"Fetch it with: {pull_command(r)}"
    if r.action == "accept_licence":
        return f"{exc.hint} Accept it with: studio models accept {r.repo}".strip()
    flag = CLI_FLAGS.get(r.field or "", f"--{(r.field or '').replace('_', '-')}")
    value = "" if r.value in (None, True) or " " in flag else f" {r.value}"
    return f"{exc.hint} Use {flag}{value}.".strip()


def print_for_cli(console, exc: StudioError) -> None:
    """The CLI's one way to show an error: what went wrong, then what fixes it (a command or a flag)."""
    console.print(f"[red]Error:[/red] {exc.message}", soft_wrap=True)
    advice = for_cli(exc)
    if advice:
        console.print(f"[yellow]→[/yellow] {advice}", soft_wrap=True)


def for_ui(exc: StudioError) -> str:
    r = exc.remedy
    if r is None:
        return exc.hint
    if r.action == "accept_licence":
        return f"{exc.hint} Whoever runs the studio can accept it in the Models tab.".strip()
    if r.action == "pull_voice":
        return f"This voice is not downloaded yet. Whoever runs the studio can fetch it with `{pull_command(r)}`."
    if r.action == "pull_weights":
        return (f"This machine does not have the {r.stage or 'model'} weights yet. Whoever runs the studio can fetch "
                f"them with `{pull_command(r)}`.")
    words = UI_LABELS.get(r.field or "", f"change {r.field}")
    value = f" {r.value}" if r.value not in (None, True) and r.field == "safety" else ""
    return f"{exc.hint} To fix it, {words}{value}.".strip()


def for_api(exc: StudioError) -> dict:
    return {"remedy": exc.remedy.as_dict()} if exc.remedy else {}
