"""Each edge words a structured remedy its own way: the CLI as a command or a flag, the API as fields (the
remedy itself), the UI in plain words naming its own controls. Layers below the studio only say what fixes
an error (models.errors.Remedy), never which flag or box does it."""

from __future__ import annotations

import re

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
        return ui_words(exc.hint)
    if r.action == "accept_licence":
        return f"{exc.hint} Whoever runs the studio can accept it in the Models tab.".strip()
    if r.action == "pull_voice":
        return "This voice is not downloaded yet. Whoever runs the studio can download it in the Models tab."
    if r.action == "pull_weights":
        return (f"This machine does not have the {r.stage or 'model'} weights yet. Whoever runs the studio can "
                "download them in the Models tab.")
    words = UI_LABELS.get(r.field or "", f"change {r.field}")
    value = f" {r.value}" if r.value not in (None, True) and r.field == "safety" else ""
    return f"{ui_words(exc.hint)} To fix it, {words}{value}.".strip()


# Texts made before the edge (warnings in report.json, hints of errors without a remedy) name the CLI's commands
# and flags; the UI says which of its own controls does the same.
_UI_PHRASES = (
    (re.compile(r"(?:Fetch|Download) (them|it|a timing model|the weights) with:? `?studio models pull(?:-voice)?[^`\n]*`?\.?"),
     r"Download \1 in the Models tab."),
    (re.compile(r"`?studio models (?:pull|pull-voice|accept)\b[^`\n.]*`?"), "the Models tab"),
    (re.compile(r"--model ('[^'\n]*') is not"), r"The 'Model per stage' line \1 is not"),
    (re.compile(r"--model\b"), "'Model per stage'"),
    (re.compile(r"--strict\b"), "the Strict box"),
    (re.compile(r"--consent\b"), "the consent box"),
    (re.compile(r"--script(?: FILE)?\b"), "the script box"),
)


def ui_words(text: str) -> str:
    """``text`` with the CLI's commands and flags replaced by the UI's own words."""
    for pattern, words in _UI_PHRASES:
        text = pattern.sub(words, text)
    return text


def for_api(exc: StudioError) -> dict:
    return {"remedy": exc.remedy.as_dict()} if exc.remedy else {}
