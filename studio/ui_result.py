"""The result page of the Create tab: the post text for each platform (editable, with copy buttons) and the
warnings, fallbacks collapsed into one line. Everything shown here is in the UI's words: no server paths, no
CLI commands or flags."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import gradio as gr

from studio.post_text import PostEdit
from studio.remedies import ui_words

RESULT_CSS = """.short-notes p {margin: 0 0 6px} .short-notes ul {margin: 4px 0 0; padding-left: 1.2em}
.short-notes details {margin-top: 4px} .short-notes summary {cursor: pointer}
#outline-note {font-size: 0.92em}
.short-made {margin: 8px 0 0; font-size: 0.9em; line-height: 1.4; opacity: 0.85; overflow-wrap: anywhere}
"""
# what each line of a run's paid-API price is for, in a creator's words (studio.analytics.costs.UNITS)
SERVICE_WORDS = {"voice_chars": "voice", "images": "images", "video_seconds": "video",
                 "transcribe_seconds": "transcription", "llm_prompt_tokens": "script writing",
                 "llm_tokens": "script writing", "music_seconds": "music"}

# a stage that ran a built-in engine instead of the one asked for, as the engines and pipelines word it
_NOT_DOWNLOADED = re.compile(r"weights for ([\w, ]+?) are not downloaded")
_FELL_BACK = re.compile(r"^(\w+): .*(?:offline engine|rule-based writer|stood in|espeak-ng spoke)", re.S)
_PATH = re.compile(r"(?<![\w:/.~])(?:/[\w.@+\-]+){2,}/?")  # an absolute path on the server (not a URL's path)
# clicking it opens the Models tab (a tab is a button of role "tab" named by its label)
_TO_MODELS = ("event.preventDefault();for(const b of document.querySelectorAll('button[role=tab]'))"
              "if(b.textContent.trim()==='Models'){b.click();window.scrollTo(0,0);break}")


def plain(text: str) -> str:
    """A warning or an error for the page: the UI's words, and a file name where the server had a path."""
    return _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], ui_words(text))


def fallback_stages(warnings: tuple[str, ...] | list[str]) -> list[str]:
    """The stages that ran a built-in engine, in the order the warnings name them."""
    stages: list[str] = []
    for w in warnings:
        found = _NOT_DOWNLOADED.search(w)
        names = [s.strip() for s in found.group(1).split(",")] if found else []
        if not found and (m := _FELL_BACK.match(w)):
            names = [m.group(1)]
        stages.extend(n for n in names if n and n not in stages)
    return stages


def warnings_html(warnings: tuple[str, ...] | list[str]) -> str:
    """Each warning on its own line, then one line for every fallback ("3 stages used built-in engines — Download
    models") with the details behind it."""
    esc = html.escape
    stages = fallback_stages(warnings)
    fallbacks = [w for w in warnings if fallback_stages([w])]
    others = [w for w in warnings if w not in fallbacks]
    parts = ["<ul>" + "".join(f"<li>⚠️ {esc(plain(w))}</li>" for w in others) + "</ul>"] if others else []
    if stages:
        n = len(stages)
        details = "".join(f"<li>{esc(plain(w))}</li>" for w in fallbacks)
        parts.append(f'<p>⚠️ {n} stage{"s" if n > 1 else ""} used built-in engines ({esc(", ".join(stages))}) — '
                     f'<a href="#" class="to-models" onclick="{esc(_TO_MODELS)}">Download models</a></p>'
                     f"<details><summary>Which engines, and why</summary><ul>{details}</ul></details>")
    return f'<div class="short-notes">{"".join(parts) or "<p>All stages ran the engines you chose.</p>"}</div>'


def made_html(run) -> str:
    """One line under the short: its compute here and what paid APIs would have charged for the same work
    (``run``: studio.ui_hooks.RunCost, or None for a short with no run recorded, which shows nothing)."""
    if run is None:
        return ""
    said = f"Made in {seconds_words(run.seconds)} of compute on this machine ({run.device.upper()})"
    if run.usd is not None:
        services = list(dict.fromkeys(f"{vendor} {SERVICE_WORDS.get(name, name)}".strip()
                                      for name, vendor, _ in sorted(run.lines, key=lambda ln: -ln[2])))
        price = "less than $0.01" if 0 < run.usd < 0.005 else f"about ${run.usd:,.2f}"
        sources = "prices from configs/prices.yaml" + ("" if run.verified else ", not verified")
        said += (f" · the same work on paid APIs: {price} ("
                 + (", ".join(services) + "; " if services else "") + sources + ")")
    return f'<p class="short-made">{html.escape(said)}</p>'


def seconds_words(seconds: float) -> str:
    """16 s, 2 min 5 s, 1 h 3 min."""
    s = round(seconds)
    if s < 60:
        return f"{max(seconds, 0):.0f} s" if s else "under 1 s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


@dataclass
class PostPanel:
    """The post text boxes: (title, caption, hashtags) per platform, in the settings' order."""

    panel: gr.Column
    boxes: dict[str, tuple[gr.Textbox, gr.Textbox, gr.Textbox]]
    save: gr.Button
    status: gr.Markdown

    @property
    def outputs(self) -> list:
        return [box for trio in self.boxes.values() for box in trio]

    def values(self, post: dict) -> list:
        """post.json → the boxes' values (a short made before ``platforms`` existed shows its one text for all)."""
        out = []
        for name in self.boxes:
            p = (post.get("platforms") or {}).get(name) or post
            out += [p.get("title", ""), p.get("caption", ""), " ".join(p.get("hashtags", []))]
        return out

    def edits(self, values: tuple) -> dict[str, PostEdit]:
        it = iter(values)
        return {name: PostEdit(str(next(it) or ""), str(next(it) or ""), str(next(it) or "")) for name in self.boxes}


def build_post_panel(platforms: list[tuple[str, str]]) -> PostPanel:
    """``platforms``: (label, name) pairs. Hidden until a short is made."""
    boxes = {}
    with gr.Column(visible=False, elem_id="post-text") as panel:
        gr.Markdown("### Post text\nEdit it here, copy it into the app you post with.")
        with gr.Tabs():
            for label, name in platforms:
                with gr.Tab(label.split()[-1] if label.startswith(("Instagram", "YouTube")) else label):
                    boxes[name] = (
                        gr.Textbox(label="Title", max_lines=3, buttons=["copy"], elem_id=f"post-{name}-title"),
                        gr.Textbox(label="Caption", lines=5, max_lines=14, buttons=["copy"],
                                   elem_id=f"post-{name}-caption"),
                        gr.Textbox(label="Hashtags", max_lines=3, buttons=["copy"], elem_id=f"post-{name}-tags"))
        save = gr.Button("Save post text", elem_id="save-post")
        status = gr.Markdown("", elem_id="post-status")
    return PostPanel(panel, boxes, save, status)
