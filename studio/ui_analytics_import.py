"""The Analytics tab's "Import a CSV" section: a YouTube Studio or TikTok Studio export read (studio.analytics.imports
.preview), shown as its first rows with the columns' proposed meaning, which the creator can change, then stored in one
transaction through the same service as POST /api/analytics/imports (UiHooks.import_csv).

The file reaches the server as the event's own value, read in the browser (PICK_JS), not through a gr.File: the UI's
upload route (studio/web.py) takes only images, video and audio, typed by their bytes, and a CSV has no such type. So
the file's size is held to the request body limit here, and its type is judged by its content, by imports.preview, as
the API's is. The bytes stay on the server (gr.State) between the preview and the import.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import gradio as gr

from models.errors import InvalidRequest
from studio.analytics import imports
from studio.analytics.imports import FIELDS, ImportRefused, ImportResult, Problem
from studio.ui_analytics_style import ANALYTICS_CSS, IMPORT_CSS
from studio.ui_edit import plain_errors

MAX_COLUMNS = 30  # a dropdown per column up to here; columns after it keep the proposed meaning
SHOWN_ROWS = 5
SHOWN_PROBLEMS = 8
_BODY_SLACK = 16 * 1024  # the event's other values and JSON around the file, within the request body limit
PLATFORMS = (("YouTube Studio", "youtube"), ("TikTok Studio", "tiktok"))
DATE_ORDERS = (("As the dates show", "auto"), ("Month first (US): 03/11 is 11 March", "mdy"),
               ("Day first: 03/11 is 3 November", "dmy"))
# short enough for a phone's dropdown; imports.FIELDS says the rest
_FIELD_WORDS = {"remote_id": "Video id or link", "title": "Title", "posted_at": "Publish time", "duration": "Length",
                "reach": "Accounts reached", "subscribers": "Subscribers gained",
                "watch_hours": "Watch time (hours)", "watch_minutes": "Watch time (minutes)",
                "watch_seconds": "Watch time (total)", "avg_view_duration": "Average view duration",
                "avg_view_percent": "Average % watched", "saves": "Saves", "ignore": "Not imported"}
FIELD_CHOICES = [(_FIELD_WORDS.get(name, what[0].upper() + what[1:]), name) for name, (_, what) in FIELDS.items()]
_NUMERIC_DATE = re.compile(r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
# the import's words for API callers, as this section says them
_UI_WORDS = {"import with another timezone if that is wrong": "choose another time zone above if that is wrong",
             "Import with date_order='dmy' if the day comes first": "Choose “Day first” below if the day comes first",
             "choose the platform": "choose which Studio wrote it"}

# the picked file, read in the browser as the component's value (base64 in JSON); "at" makes the same file picked
# again a new value. The input is emptied after reading, so the same file can be picked again.
PICK_JS = """
element.addEventListener('change', async (ev) => {
  const input = ev.target;
  if (!input || input.type !== 'file' || !input.files || !input.files.length) return;
  const f = input.files[0];
  input.value = '';
  const out = {name: f.name, size: f.size, at: Date.now()};
  if (f.size <= props.limit) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    out.data = btoa(s);
  }
  props.value = JSON.stringify(out);
  trigger('change');
});
"""


def upload_limit(max_body_kb: int) -> int:
    """The largest file the section takes: base64 makes 3 bytes 4, inside one request of at most ``max_body_kb``."""
    return max(0, (max_body_kb * 1024 - _BODY_SLACK) * 3 // 4)


def size_words(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{max(1, round(n / 1024))} KB"


@dataclass(frozen=True)
class Held:
    """The picked file between its preview and its import (kept on the server in the session's gr.State)."""

    name: str
    data: bytes
    header: tuple[str, ...]
    proposal: dict[str, str]  # column → field, as imports.preview proposed
    platform: str | None  # the Studio the header names; None when it does not say
    numeric_dates: bool  # its publish dates are written as 03/11/2026: the day and month order may need saying
    samples: dict[str, str] = field(default_factory=dict)  # column → its first value, to show beside the choice


@dataclass(frozen=True)
class Checked:
    """What Import would do with the current choices: said in words, the first rows, and whether it can."""

    said: str
    rows: str
    can_import: bool
    videos: int = 0


def received(value, limit: int) -> tuple[str, bytes]:
    """The picker's value → (file name, bytes). InvalidRequest for a file too large for the section."""
    try:
        picked = json.loads(value) if isinstance(value, str) else dict(value or {})
    except (TypeError, ValueError):
        picked = {}
    name = str(picked.get("name") or "the file")[:200]
    size = int(picked.get("size") or 0)
    if size > limit or ("data" not in picked and size):
        raise InvalidRequest(f"“{name}” is {size_words(size)}; this tab reads CSV files of up to {size_words(limit)}.",
                             "Export a shorter date range, or fewer columns.")
    try:
        data = base64.b64decode(str(picked.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("The file could not be read.", "Choose it again.") from None
    if len(data) > limit:
        raise InvalidRequest(f"“{name}” is larger than {size_words(limit)}.", "Export a shorter date range.")
    return name, data


def read(name: str, data: bytes) -> Held:
    """The file's preview: which Studio wrote it, and what each column holds. ImportRefused for a file that is not a
    readable table (an image, a workbook, a ZIP, an empty file), in words."""
    p = imports.preview(data)
    samples = {col: cell.strip() for col, cell in zip(p.header, p.sample[0] if p.sample else ()) if cell.strip()}
    dates = [i for i, col in enumerate(p.header) if p.mapping.get(col) == "posted_at"]
    numeric = bool(dates) and any(_NUMERIC_DATE.match(row[dates[0]]) for row in p.sample if len(row) > dates[0])
    return Held(name, data, p.header, dict(p.mapping), p.platform, numeric, samples)


def mapping_of(held: Held, chosen: list | tuple) -> dict[str, str]:
    """Column → field from the dropdowns (one per column, in the header's order); columns past the dropdowns keep
    the proposal. A column left out is mapped to ``ignore``."""
    out = {}
    for i, column in enumerate(held.header):
        picked = chosen[i] if i < len(chosen) and i < MAX_COLUMNS else held.proposal.get(column)
        out[column] = picked if picked in FIELDS else "ignore"
    return out


def _date_order(order: str | None) -> str | None:
    return order if order in ("dmy", "mdy") else None


def check(held: Held, mapping: dict[str, str], platform: str | None, order: str | None, zone: str) -> Checked:
    """The whole file read with the current choices, nothing stored: every row it would import and every problem."""
    esc = html.escape
    head = f'<p class="an-said">📄 <b>{esc(held.name)}</b>'
    if platform not in imports.SOURCES:
        return Checked(head + " · which Studio wrote it? The header does not say: choose it below.</p>", "", False)
    studio = dict((v, w) for w, v in PLATFORMS)[platform]
    try:
        result = imports.parse(held.data, mapping, platform=platform, owner_id=None, date_order=_date_order(order),
                               timezone=zone, imported_at=datetime.now(UTC))
    except ImportRefused as exc:
        return Checked(head + f" · {studio} export</p>" + refused_html(exc), "", False)
    videos = len(result.snapshots)
    left_out = [c for c in held.header if mapping.get(c, "ignore") == "ignore"]
    said = head + f" · {studio} export · {videos} video{'s' * (videos != 1)} to import</p>"
    notes = [f"Left out: {', '.join(left_out)}." if left_out else "",
             *(problem_words(p) for p in result.problems)]
    return Checked(said + bullets([n for n in notes if n]), rows_html(result, zone), True, videos)


def store(hooks, who, held: Held, mapping: dict[str, str], platform: str | None, order: str | None,
          zone: str) -> str:
    """Import: every row as a snapshot, in one transaction. Answers the outcome in words (a file that cannot be
    imported: why, and nothing stored)."""
    if platform not in imports.SOURCES:
        return refused_html(InvalidRequest("Choose which Studio wrote the file first."))
    try:
        result, stored = hooks.import_csv(who, held.data, mapping, platform=platform, date_order=_date_order(order),
                                          timezone=zone)
    except ImportRefused as exc:
        return refused_html(exc)
    return stored_html(result, stored)


# -- words ------------------------------------------------------------------------------------------------------------


def ui_words(text: str) -> str:
    for api, ui in _UI_WORDS.items():
        text = text.replace(api, ui)
    return text


def problem_words(p: Problem) -> str:
    """One problem as a line: where (row, column) and what."""
    what = ui_words(p.message)
    where = (f"Row {p.row}" + (f", {p.column}" if p.column else "") if p.row is not None
             else (p.column or ""))
    return f"{where}: {what}" if where else what[:1].upper() + what[1:]


def bullets(lines: list[str]) -> str:
    if not lines:
        return ""
    esc = html.escape
    shown = "".join(f"<li>{esc(line)}</li>" for line in lines[:SHOWN_PROBLEMS])
    more = f"<li>…and {len(lines) - SHOWN_PROBLEMS} more.</li>" if len(lines) > SHOWN_PROBLEMS else ""
    return f'<ul class="an-imp-notes">{shown}{more}</ul>'


def refused_html(exc) -> str:
    """A file (or a mapping) that cannot be imported, and why, in plain words."""
    hint = ui_words(getattr(exc, "hint", "") or "")
    return f'<p class="an-refused">✗ {html.escape(ui_words(exc.message))} {html.escape(hint)}</p>'


def stored_html(result: ImportResult, stored: int) -> str:
    """✓ N snapshots of M videos stored; K rows skipped (rows …: reason) — or that the file was imported already."""
    videos = len(result.snapshots)
    skipped = [p for p in result.problems if p.skipped and p.row is not None]
    why = "; ".join(f"row {p.row}: {p.message.removesuffix('; skipped')}" for p in skipped[:SHOWN_PROBLEMS])
    if len(skipped) > SHOWN_PROBLEMS:
        why += f"; and {len(skipped) - SHOWN_PROBLEMS} more"
    rows = (f"; {len(skipped)} row{'s' * (len(skipped) != 1)} skipped ({why})" if skipped else "")
    of = f"{videos} video{'s' * (videos != 1)}"
    if stored == 0:
        said = (f"Already imported: the numbers of these {of} from this file are stored already, so nothing was "
                f"stored twice{rows}.")
        return f'<p class="an-said">{html.escape(said)}</p>'
    again = f" ({videos - stored} were imported already)" if stored < videos else ""
    said = (f"✓ {stored} snapshot{'s' * (stored != 1)} of {of} stored{again}{rows}. "
            "My posts now counts them.")
    return f'<p class="an-said an-stored">{html.escape(said)}</p>'


def rows_html(result: ImportResult, zone: str) -> str:
    """The first rows as they will be stored: the video, when it was published (in the creator's time zone), its
    views, and one more of its numbers (four columns fit a phone)."""
    shown = result.snapshots[:SHOWN_ROWS]
    if not shown:
        return ""
    tz = ZoneInfo(zone)
    extra = [(label, key, fmt) for label, key, fmt in _EXTRA if any(getattr(s, key) is not None for s in shown)][:1]
    esc = html.escape
    head = "".join(f"<th>{esc(label)}</th>" for label in ("Video", "Published", "Views", *(e[0] for e in extra)))
    body = []
    for s in shown:
        name = s.title or s.remote_id
        name = name if len(name) <= 60 else name[:59].rstrip() + "…"
        at = s.posted_at.astimezone(tz) if s.posted_at else None
        when = f"{at.day} {at:%b %Y}" if at else "—"
        cells = [esc(name), esc(when), f"{s.views:,}" if s.views is not None else "—",
                 *(esc(fmt(getattr(s, key))) if getattr(s, key) is not None else "—" for _, key, fmt in extra)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = len(result.snapshots) - len(shown)
    caption = f"The first {len(shown)} of {len(result.snapshots)} videos, as they will be stored" if more else \
        "The videos, as they will be stored"
    return (f'<div class="an-imp-rows"><table><caption>{caption}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _seconds(v: float) -> str:
    return f"{v:.0f} s" if v < 60 else f"{v // 60:.0f} min {v % 60:.0f} s"


_EXTRA = (("Likes", "likes", lambda v: f"{v:,}"), ("Avg. view", "avg_view_seconds", _seconds),
          ("Watch time", "watch_seconds", lambda v: f"{v / 3600:,.1f} h"), ("Comments", "comments", lambda v: f"{v:,}"),
          ("Subscribers", "subscribers", lambda v: f"{v:,}"))


# -- layout and wiring --------------------------------------------------------------------------------------------


def build_import_section(hooks, zone: gr.Dropdown, zone_name) -> gr.Column:
    """The section's widgets in the current Blocks (hidden until picked), wired; ``zone``: the tab's time zone
    dropdown (dates without a zone are read in it), ``zone_name``: its value checked (ui_analytics._zone)."""
    limit = upload_limit(hooks.hosted.server.max_body_kb)
    pick_html = ('<label class="an-pick"><input type="file" aria-label="Choose a CSV export">'
                 '<span class="an-pick-btn">📄 Choose a CSV export</span></label>'
                 '<p class="an-meta">Your numbers from YouTube Studio or TikTok Studio: export the table of your '
                 "videos as CSV (YouTube Studio gives a .zip: choose “Table data.csv” inside it), up to "
                 f"{size_words(limit)}. You see what will be stored before anything is.</p>")
    with gr.Column(visible=False, elem_id="an-import") as box:
        pick = gr.HTML("", html_template=pick_html, js_on_load=PICK_JS, css_template=IMPORT_CSS, limit=limit,
                       elem_id="an-imp-pick")
        said = gr.HTML("", elem_id="an-imp-said", css_template=ANALYTICS_CSS + IMPORT_CSS)
        rows = gr.HTML("", elem_id="an-imp-table", css_template=IMPORT_CSS)
        with gr.Column(visible=False, elem_id="an-imp-choices") as choices:
            platform = gr.Radio([(w, v) for w, v in PLATFORMS], value=None, label="Which Studio wrote it",
                                elem_id="an-imp-platform")
            order = gr.Radio([(w, v) for w, v in DATE_ORDERS], value="auto", visible=False,
                             label="Dates such as 03/11/2026", elem_id="an-imp-order")
            with gr.Accordion("What each column holds", open=False, elem_id="an-imp-map") as map_box:
                columns = [gr.Dropdown(FIELD_CHOICES, value="ignore", label=f"Column {i + 1}", visible=False,
                                       elem_id=f"an-imp-col-{i}") for i in range(MAX_COLUMNS)]
            go = gr.Button("Import", variant="primary", interactive=False, elem_id="an-imp-go")
        done = gr.HTML("", elem_id="an-imp-done", css_template=ANALYTICS_CSS + IMPORT_CSS)
        held = gr.State(None, time_to_live=3600)

    def button(c: Checked) -> gr.Button:
        return gr.Button(value=f"Import {c.videos} video{'s' * (c.videos != 1)}" if c.can_import else "Import",
                         interactive=c.can_import)

    @plain_errors
    def picked(value, zone_value):
        try:
            h = read(*received(value, limit))
        except (ImportRefused, InvalidRequest) as exc:  # not a table at all, or too large: said where it shows
            return [None, refused_html(exc), "", gr.Column(visible=False), gr.update(), gr.update(),
                    gr.update(), *[gr.update()] * MAX_COLUMNS, gr.Button(interactive=False), ""]
        c = check(h, mapping_of(h, []), h.platform, "auto", zone_name(zone_value))
        dropdowns = [gr.Dropdown(label=col, value=h.proposal.get(col, "ignore"), visible=True,
                                 info=f"e.g. {h.samples[col][:40]}" if col in h.samples else None)
                     for col in h.header[:MAX_COLUMNS]]
        dropdowns += [gr.Dropdown(visible=False, value="ignore")] * (MAX_COLUMNS - len(dropdowns))
        return [h, c.said, c.rows, gr.Column(visible=True), gr.Radio(value=h.platform),
                gr.Radio(value="auto", visible=h.numeric_dates),
                gr.Accordion(open=not c.can_import,
                             label=f"What each column holds ({len(h.header)} columns)"),
                *dropdowns, button(c), ""]

    @plain_errors
    def changed(h, platform_value, order_value, zone_value, *chosen):
        if h is None:
            return [gr.update()] * 3
        c = check(h, mapping_of(h, chosen), platform_value, order_value, zone_name(zone_value))
        return [c.said, c.rows, button(c)]

    @plain_errors
    def imported(request: gr.Request, h, platform_value, order_value, zone_value, *chosen):  # the request first:
        # Gradio passes none after *values
        if h is None:
            raise InvalidRequest("Choose a CSV export first.")
        return store(hooks, hooks.account(request), h, mapping_of(h, chosen), platform_value, order_value,
                     zone_name(zone_value))

    quiet = {"api_visibility": "private", "concurrency_limit": 2, "concurrency_id": "analytics-import"}
    pick.change(picked, [pick, zone], [held, said, rows, choices, platform, order, map_box, *columns, go, done],
                **quiet)
    choosing = [held, platform, order, zone, *columns]
    for trigger in (platform.input, order.input, zone.input, *(c.input for c in columns)):
        trigger(changed, choosing, [said, rows, go], show_progress="hidden", **quiet)
    go.click(imported, choosing, done, **quiet)
    return box
