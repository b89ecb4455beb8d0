"""What the Calendar tab draws: the week and month grids of a creator's posts in their own time zone, the list of
the same posts under them, and the accounts panel, with their styles and the script that drags a chip. Plain
functions from the views studio.publishing answers to HTML; every piece of creator or platform text is escaped here
(titles are hostile input). No Gradio."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from studio.publishing.posts import still_to_come

# a post's status as the creator reads it: css class, a mark, words (never colour alone)
STATUS = {
    "scheduled": ("scheduled", "🕘", "Scheduled"),
    "claimed": ("publishing", "⏫", "Publishing…"),
    "publishing": ("publishing", "⏫", "Publishing…"),
    "posted": ("posted", "✓", "Posted"),
    "uploaded": ("posted", "✓", "Uploaded: goes public at its time"),  # YouTube: private until publishAt
    "failed": ("failed", "✗", "Failed"),
    "unconfirmed": ("unconfirmed", "⚠", "Unconfirmed: check your account"),
    "cancelled": ("cancelled", "⊘", "Cancelled"),
    "reconnect": ("reconnect", "⚠", "Needs reconnecting"),
}
MOVABLE = ("scheduled", "failed")  # what studio.publishing.posts lets a creator move
EARLIEST_HOUR = 7  # the week grid starts here unless a post in it is earlier
CONNECT_PATH = "/studio/connect/"

_esc = html.escape


@dataclass(frozen=True)
class Window:
    """The days one view shows, in one time zone."""

    view: str  # "week" | "month"
    anchor: date  # the day the creator navigated to
    first: date
    days: int
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.first + timedelta(days=self.days), time(), self.zone).astimezone(UTC)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def window(view: str, anchor: date, zone: ZoneInfo) -> Window:
    """Monday to Sunday around ``anchor``, or the whole weeks that hold its month."""
    if view == "month":
        first_of_month = anchor.replace(day=1)
        first = first_of_month - timedelta(days=first_of_month.weekday())
        following = (first_of_month + timedelta(days=32)).replace(day=1)
        return Window(view, anchor, first, -(-(following - first).days // 7) * 7, zone)
    return Window("week", anchor, anchor - timedelta(days=anchor.weekday()), 7, zone)


def shift(view: str, anchor: date, step: int) -> date:
    """The anchor a step (-1, +1) later: a week, or a month (on its first day)."""
    if view != "month":
        return anchor + timedelta(days=7 * step)
    month = anchor.year * 12 + anchor.month - 1 + step
    return date(month // 12, month % 12 + 1, 1)


def local_of(post: dict, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(post["publish_at"].replace("Z", "+00:00")).astimezone(zone)


def status_of(post: dict, reconnect: set[str]) -> str:
    """The chip's status: a waiting post whose account needs reconnecting says so first."""
    if post["status"] in MOVABLE and (post.get("connection_id") in reconnect or post.get("error_code") == "needs_reconnect"):
        return "reconnect"
    if post["status"] == "posted" and _later((post.get("result") or {}).get("publish_at")):
        return "uploaded"
    return post["status"] if post["status"] in STATUS else "scheduled"


def movable(post: dict) -> bool:
    """What studio.publishing.posts lets a creator move: a waiting post, or an upload the platform holds until its
    time (YouTube's publishAt, moved there with videos.update)."""
    return post["status"] in MOVABLE or (post["status"] == "posted" and _later((post.get("result") or {}).get("publish_at")))


_later = still_to_come  # the rule studio.publishing.posts moves posts by


def title_of(post: dict) -> str:
    return (post.get("text") or {}).get("title") or post.get("short_title") or "Untitled short"


def safe_url(url: str | None) -> str:
    """Only http(s) links from the platform reach an href."""
    return url if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") else ""


def _links(post: dict, labels: dict[str, str]) -> str:
    result = post.get("result") or {}
    out = ""
    if url := safe_url(result.get("url")):
        out += (f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer" draggable="false">'
                f'Open on {_esc(labels.get(post["platform"], post["platform"]))}</a>')
    if check := safe_url(result.get("check")):
        out += (f' <a href="{_esc(check)}" target="_blank" rel="noopener noreferrer" draggable="false">'
                "Check the account</a>")
    return out


def chip(post: dict, zone: ZoneInfo, reconnect: set[str], labels: dict[str, str], compact: bool = False) -> str:
    at = local_of(post, zone)
    status = status_of(post, reconnect)
    css, mark, words = STATUS[status]
    platform = labels.get(post["platform"], post["platform"])
    title = title_of(post)
    can_move = movable(post)
    said = f"{at:%a %d %b %H:%M} · {platform} · {post.get('account') or ''} · {title} · {words}"
    if post.get("message") and status != "scheduled":
        said += f" · {post['message']}"
    attrs = (f'class="chip st-{css}{" movable" if can_move else ""}" data-id="{_esc(post["id"])}" '
             f'data-time="{at:%H:%M}" data-at="{at:%Y-%m-%dT%H:%M}" tabindex="0" role="button" '
             f'title="{_esc(said)}" aria-label="{_esc(said)}"' + (' draggable="true"' if can_move else ""))
    links = "" if compact else _links(post, labels)
    links = f'<span class="chip-links">{links}</span>' if links else ""
    return (f'<div {attrs}><span class="chip-time">{at:%H:%M}</span> <span class="chip-platform">{_esc(platform)}'
            f'</span> <span class="chip-title">{_esc(title)}</span> <span class="chip-status"><span class="mark">{mark}'
            f'</span> <span class="words">{_esc(words)}</span></span>{links}</div>')


def calendar_html(posts: list[dict], win: Window, today: date, *, reconnect: set[str] | None = None,
                  labels: dict[str, str] | None = None) -> str:
    """The grid for ``win`` and, under it, the same posts as a list (what a phone or a screen reader reads)."""
    reconnect, labels = reconnect or set(), labels or {}
    zone_name = _esc(str(win.zone.key))
    grid = _week(posts, win, today, reconnect, labels) if win.view == "week" else _month(posts, win, today, reconnect,
                                                                                       labels)
    if win.view == "week":
        last = win.first + timedelta(days=6)
        heading = (f"{win.first:%d %b} – {last:%d %b %Y}" if win.first.year == last.year
                   else f"{win.first:%d %b %Y} – {last:%d %b %Y}")
    else:
        heading = f"{win.anchor:%B %Y}"
    where = "hour" if win.view == "week" else "day"
    hint = (f'<p class="cal-hint">Drag a waiting post to another {where} to move it, or tap it and change its date '
            "and time below.</p>") if any(movable(p) for p in posts) else ""
    return (f'<div class="cal cal-{win.view}" data-zone="{zone_name}"><div class="cal-head"><h3>{_esc(heading)}</h3>'
            f'<span class="cal-zone">Times in {zone_name}</span></div>' + hint
            + grid + _agenda(posts, win, reconnect, labels) + "</div>")


def _day_label(d: date, today: date) -> str:
    """The week's column heading; on a phone the weekday and the day stack, and "today" is its colour and a line."""
    return (f'<span class="dow">{d:%a}</span> <span class="dom">{d.day}</span>'
            + ('<span class="today-word"> · today</span>' if d == today else ""))


def _week(posts, win: Window, today: date, reconnect, labels) -> str:
    cells: dict[tuple[date, int], list[str]] = {}
    hours = [EARLIEST_HOUR]
    for p in posts:
        at = local_of(p, win.zone)
        cells.setdefault((at.date(), at.hour), []).append(chip(p, win.zone, reconnect, labels))
        hours.append(at.hour)
    head = '<div class="cal-corner"></div>' + "".join(
        f'<div class="cal-day{" today" if d == today else ""}">{_day_label(d, today)}</div>' for d in win.dates())
    rows = []
    for hour in range(min(hours), 24):
        rows.append(f'<div class="cal-hour">{hour:02d}<span class="mm">:00</span></div>')
        for d in win.dates():
            where = f"{d:%a %d %b}, {hour:02d}:00"
            rows.append(f'<div class="cal-slot{" today" if d == today else ""}" data-slot="{d:%Y-%m-%d}T{hour:02d}" '
                        f'aria-label="{_esc(where)}">{"".join(cells.get((d, hour), []))}</div>')
    return f'<div class="cal-scroll"><div class="cal-grid">{head}{"".join(rows)}</div></div>'


def _month(posts, win: Window, today: date, reconnect, labels) -> str:
    by_day: dict[date, list[str]] = {}
    for p in posts:
        at = local_of(p, win.zone)
        by_day.setdefault(at.date(), []).append(chip(p, win.zone, reconnect, labels, compact=True))
    head = "".join(f'<div class="cal-day">{name}</div>' for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
    cells = []
    for d in win.dates():
        classes = "cal-cell" + (" today" if d == today else "") + (" other" if d.month != win.anchor.month else "")
        cells.append(f'<div class="{classes}" data-slot="{d:%Y-%m-%d}" aria-label="{d:%a %d %b}">'
                     f'<span class="cal-date">{d.day}</span>{"".join(by_day.get(d, []))}</div>')
    return f'<div class="cal-month-grid">{head}{"".join(cells)}</div>'


def _agenda(posts, win: Window, reconnect, labels) -> str:
    if not posts:
        return (f'<p class="cal-empty">Nothing scheduled this {"week" if win.view == "week" else "month"}. '
                "Schedule a short above.</p>")
    rows = []
    for p in posts:
        at = local_of(p, win.zone)
        status = status_of(p, reconnect)
        css, mark, words = STATUS[status]
        own = ""
        if p.get("timezone") and p["timezone"] != win.zone.key:
            own = f" ({p['local_time'][11:16]} in {p['timezone']})"
        message = p.get("message") or ""
        if status == "reconnect" and not message:
            message = "Reconnect the account in Accounts above, then it goes out as planned."
        rows.append(
            f'<li class="st-{css}" data-id="{_esc(p["id"])}"><time datetime="{_esc(p["publish_at"])}">'
            f"{at:%a %d %b, %H:%M}{_esc(own)}</time> <b>{_esc(title_of(p))}</b> "
            f'<span class="cal-where">{_esc(labels.get(p["platform"], p["platform"]))} · {_esc(p.get("account") or "")}'
            f'</span> <span class="badge">{mark} {_esc(words)}</span> {_links(p, labels)}'
            + (f'<p class="cal-msg">{_esc(message)}</p>' if message and status not in ("posted", "cancelled") else "")
            + "</li>")
    return f'<ol class="cal-list" aria-label="Posts in this view">{"".join(rows)}</ol>'


def accounts_html(platforms: list[dict], slots: dict[str, list[str]]) -> str:
    """Each platform: what to know before connecting, Connect (or which settings are missing), and the accounts
    connected to it with their status; an account that needs reconnecting says so first, with Reconnect."""
    out = []
    for p in platforms:
        label, name = _esc(p["label"]), p["name"]
        connect = f"{CONNECT_PATH}{quote(name)}"
        parts = [f'<section class="acct-platform"><h3>{label}</h3>']
        if not p["configured"]:
            needed = " and ".join(_esc(s) for s in p.get("settings_needed", []))
            parts.append(f'<p class="acct-off"><b>Not configured</b> — set {needed} on the server to connect '
                         f"{label} accounts.</p>")
        notes = "".join(f"<li>{_esc(n)}</li>" for n in p.get("notes", []))
        if notes:
            parts.append(f'<ul class="acct-notes">{notes}</ul>')
        accounts = []
        for a in p.get("accounts", []):
            link = safe_url(a.get("link"))
            who = (f'<a href="{_esc(link)}" target="_blank" rel="noopener noreferrer">{_esc(a["name"])}</a>' if link
                   else _esc(a["name"] or a["account_id"]))
            times = ", ".join(slots.get(a["id"], [])) or "none yet"
            if a["status"] == "active":
                accounts.append(f'<li class="acct acct-ok" data-id="{_esc(a["id"])}">✓ {who} · connected · preset '
                                f"times: {_esc(times)}</li>")
            else:
                reason = f": {_esc(a['reason'].rstrip('. '))}" if a.get("reason") else ""
                again = (f' <a class="acct-btn" href="{_esc(connect)}">Reconnect {label}</a>'
                         if p["configured"] else "")
                accounts.append(f'<li class="acct acct-bad" data-id="{_esc(a["id"])}" role="alert">⚠ <b>{who} needs '
                                f"reconnecting</b>{reason}. Its posts wait until it is reconnected.{again}</li>")
        if accounts:
            parts.append(f'<ul class="acct-list">{"".join(accounts)}</ul>')
        if p["configured"]:
            more = "another" if accounts else "a"
            parts.append(f'<a class="acct-btn acct-connect" href="{_esc(connect)}">Connect {more} {label} account</a>')
        parts.append("</section>")
        out.append("".join(parts))
    return '<div class="acct-panel">' + "".join(out) + "</div>"


CONNECT_ERRORS = {  # the callback's ?connect_error= codes in our own words (the page never shows words from a URL)
    "access_denied": "You did not allow the studio to use the account, so nothing was connected.",
    "oauth_state_mismatch": "That connect attempt expired or was started in another browser. Press Connect again.",
    "missing_pkce_verifier": "That connect attempt could not be finished. Press Connect again.",
    "oauth_code_refused": "The platform refused to finish connecting. Press Connect again.",
    "platform_not_configured": "That platform is not configured on this studio.",
    "missing_code": "The platform sent no answer. Press Connect again.",
}


def connect_notice(query: str, platforms: list[dict]) -> str:
    """The page's address after a connect attempt (``?connected=youtube`` or ``?connect_error=...``) in words."""
    from urllib.parse import parse_qs

    q = parse_qs((query or "").lstrip("?"))
    labels = {p["name"]: p["label"] for p in platforms}
    if (done := q.get("connected", [""])[0]) in labels:
        return f'<p class="cal-ok" role="status">✓ {_esc(labels[done])} account connected.</p>'
    if code := q.get("connect_error", [""])[0]:
        code = "".join(c for c in code if c.isalnum() or c in "_-")[:64]
        words = CONNECT_ERRORS.get(code, f"The account was not connected ({code}). Press Connect to try again.")
        return f'<p class="cal-bad" role="alert">⚠ {_esc(words)}</p>'
    return ""


# -- the page's side: styles, and the script that lets a chip be dragged ---------------------------------------
# drag a waiting post's chip onto another day (month) or hour (week): the post moves there, keeping its minutes.
# A click or Enter on a chip picks it in the "move or cancel" form.
DRAG_JS = """
let dragged = null;
const clean = () => {
    element.querySelectorAll(".drop-here").forEach(x => x.classList.remove("drop-here"));
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
};
const slotOf = e => e.target instanceof Element ? e.target.closest("[data-slot]") : null;
element.addEventListener("dragstart", e => {
    const chip = e.target instanceof Element ? e.target.closest(".chip.movable") : null;
    if (!chip) return;
    dragged = chip;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", chip.dataset.id);
    chip.classList.add("dragging");
});
element.addEventListener("dragend", clean);
element.addEventListener("dragover", e => {
    const slot = slotOf(e);
    if (!slot || !dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    element.querySelectorAll(".drop-here").forEach(x => { if (x !== slot) x.classList.remove("drop-here"); });
    slot.classList.add("drop-here");
});
element.addEventListener("drop", e => {
    const slot = slotOf(e);
    if (!slot || !dragged) return;
    e.preventDefault();
    const where = slot.dataset.slot, time = dragged.dataset.time;
    const to = where.length === 10 ? where + "T" + time : where + ":" + time.slice(3);
    const post = dragged.dataset.id, from = dragged.dataset.at;
    clean();
    if (to !== from) trigger("move", {post: post, to: to});
});
const pick = chip => trigger("pick", {post: chip.dataset.id});
element.addEventListener("click", e => {
    if (!(e.target instanceof Element) || e.target.closest("a")) return;
    const chip = e.target.closest(".chip");
    if (chip) pick(chip);
});
element.addEventListener("keydown", e => {
    const chip = e.target instanceof Element ? e.target.closest(".chip") : null;
    if (chip && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); pick(chip); }
});
"""

CAL_CSS = """
.cal {font-size: 15px}
.cal-head {display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; margin-bottom: 6px}
.cal-head h3 {margin: 0; font-size: 1.15em}
.cal-zone, .cal-hint {font-size: 0.9em; opacity: 0.8; margin: 0 0 6px}
.cal-scroll {overflow-x: auto; border: 1px solid var(--border-color-primary); border-radius: 8px}
.cal-grid {display: grid; grid-template-columns: 3.4em repeat(7, minmax(7.2em, 1fr))}
.cal-grid > div {border-bottom: 1px solid var(--border-color-primary); min-width: 0}
.cal-slot {border-left: 1px solid var(--border-color-primary); min-height: 30px; padding: 2px}
.cal-hour, .cal-corner {position: sticky; left: 0; z-index: 1; background: var(--background-fill-primary);
  font-size: 0.8em; padding: 3px 4px 0 2px; font-variant-numeric: tabular-nums}
.cal-day {font-weight: 600; font-size: 0.9em; padding: 6px 4px; text-align: center;
  background: var(--background-fill-secondary)}
.cal-day.today, .cal-day.today span, .cal-cell.today .cal-date {color: var(--color-accent)}
.cal-slot.today {background: rgba(127, 127, 127, 0.06)}
.cal-month-grid {display: grid; grid-template-columns: repeat(7, minmax(0, 1fr));
  border: 1px solid var(--border-color-primary); border-radius: 8px; overflow: hidden}
.cal-cell {min-height: 84px; padding: 3px; border-top: 1px solid var(--border-color-primary);
  border-left: 1px solid var(--border-color-primary); min-width: 0}
.cal-cell.other {opacity: 0.55}
.cal-date {display: block; font-size: 0.85em; font-weight: 600}
.drop-here {outline: 2px dashed var(--color-accent); outline-offset: -2px; background: rgba(127, 127, 127, 0.12)}
.chip {display: block; margin: 2px 0; padding: 3px 5px; border-radius: 6px; border-left: 4px solid;
  font-size: 0.82em; line-height: 1.25; overflow: hidden; overflow-wrap: anywhere; cursor: pointer}
.chip.movable {cursor: grab}
.chip.dragging {opacity: 0.5}
.chip:focus-visible {outline: 2px solid var(--color-accent)}
.chip-time {font-weight: 700; font-variant-numeric: tabular-nums}
.chip-platform {opacity: 0.85}
.chip-title {display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
.chip-status {display: block; font-weight: 600}
.chip-links {display: block}
.st-scheduled {border-color: #2563eb; background: rgba(37, 99, 235, 0.12)}
.st-publishing {border-color: #d97706; background: rgba(217, 119, 6, 0.16)}
.st-posted {border-color: #16a34a; background: rgba(22, 163, 74, 0.14)}
.st-failed, .st-reconnect {border-color: #dc2626; background: rgba(220, 38, 38, 0.14)}
.st-unconfirmed {border-color: #ea580c; background: rgba(234, 88, 12, 0.16)}
.st-cancelled {border-color: #9ca3af; background: rgba(156, 163, 175, 0.12); text-decoration: line-through}
.cal-month .chip-platform {display: none}
.cal-list {list-style: none; padding: 0; margin: 12px 0 0}
.cal-list li {border-left-width: 4px; border-left-style: solid; border-radius: 6px; padding: 6px 8px; margin: 6px 0;
  overflow-wrap: anywhere}
.cal-list time {font-weight: 700; font-variant-numeric: tabular-nums}
.cal-list .badge {font-weight: 600; white-space: nowrap}
.cal-msg {display: block; margin: 4px 0 0; font-size: 0.92em}
.cal-empty {opacity: 0.8}
.cal-day .dow, .cal-day .dom {white-space: nowrap}
/* a phone: the whole week fits the screen; a chip is its time and status mark (the list under the grid has the
   words, and a tap on a chip picks it to move) */
@media (max-width: 600px) {
  .cal-grid {grid-template-columns: 1.7em repeat(7, minmax(0, 1fr))}
  .cal-hour {font-size: 0.8em; padding: 3px 0 0 2px}
  .cal-hour .mm {display: none}
  .cal-day {padding: 4px 0; font-size: 0.85em}
  .cal-day .dow, .cal-day .dom {display: block}
  .cal-day.today {text-decoration: underline; text-underline-offset: 3px}
  .today-word {display: none}
  .cal-slot {padding: 1px 0}
  .chip, .cal-month .chip {margin: 1px 0; padding: 2px 1px 2px 1px; border-left-width: 3px; font-size: 0.75em;
    text-align: center; border-radius: 4px}
  .chip-platform, .chip-title, .chip-status .words, .chip-links {display: none}
  .chip-time {display: block; white-space: nowrap; letter-spacing: -0.03em}
  .cal-cell {min-height: 60px; padding: 2px}
}
"""

ACCOUNTS_CSS = """
.acct-platform {margin: 0 0 12px}
.acct-platform h3 {margin: 0 0 6px}
.acct-notes {margin: 0 0 8px 1.1em; padding: 0; font-size: 0.92em}
.acct-notes li {margin: 2px 0}
.acct-list {list-style: none; margin: 0 0 8px; padding: 0}
.acct {padding: 6px 8px; margin: 4px 0; border-radius: 6px; border-left: 4px solid; overflow-wrap: anywhere}
.acct-ok {border-color: #16a34a; background: rgba(22, 163, 74, 0.12)}
.acct-bad {border-color: #dc2626; background: rgba(220, 38, 38, 0.14); font-size: 1.05em}
.acct-off {padding: 6px 8px; border-radius: 6px; background: rgba(217, 119, 6, 0.16)}
.acct-btn {display: inline-block; margin: 4px 0; padding: 8px 14px; border-radius: 8px; font-weight: 600;
  text-decoration: none; background: var(--button-primary-background-fill);
  color: var(--button-primary-text-color) !important}
"""

NOTICE_CSS = """
.cal-ok, .cal-bad {padding: 8px 10px; border-radius: 8px; margin: 0 0 8px; border-left: 4px solid}
.cal-ok {border-color: #16a34a; background: rgba(22, 163, 74, 0.12)}
.cal-bad {border-color: #dc2626; background: rgba(220, 38, 38, 0.14)}
"""
