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
"""

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
