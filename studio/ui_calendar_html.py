"""What the Calendar tab draws: the week and month grids of a creator's posts in their own time zone, the list of
the same posts under them (one chip per post, with its platform's mark and its own status), and the accounts panel
(their styles and the drag script: studio.ui_calendar_style). Plain functions from the views studio.publishing
answers to HTML; every piece of creator or platform text is escaped here (titles are hostile input). No Gradio."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from studio.publishing.posts import still_to_come

# a post's status as the creator reads it: css class, a mark, words (never colour alone; {platform} is its label)
STATUS = {
    "scheduled": ("scheduled", "🕘", "Scheduled"),
    # the platform's own limit for now, a try again later, or prepared ahead and waiting for its time: the post's
    # message says which ("Waiting: Instagram's limit of 50 posts a day is reached ...")
    "waiting": ("waiting", "⏳", "Waiting for {platform}"),
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
# a chip's platform at a glance (with its name beside it where there is room): the abbreviations creators use
ICON = {"youtube": "YT", "instagram": "IG", "facebook": "FB", "tiktok": "TT"}
SAYS_WHY = ("failed", "unconfirmed", "waiting", "reconnect")  # statuses whose message a chip shows
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


def local_of(post: dict, zone: tzinfo) -> datetime:
    return datetime.fromisoformat(post["publish_at"].replace("Z", "+00:00")).astimezone(zone)


def status_of(post: dict, reconnect: set[str]) -> str:
    """The chip's status: a waiting post whose account needs reconnecting says so first."""
    if post["status"] in MOVABLE and (post.get("connection_id") in reconnect or post.get("error_code") == "needs_reconnect"):
        return "reconnect"
    if post["status"] == "posted" and _later((post.get("result") or {}).get("publish_at")):
        return "uploaded"
    if post["status"] in ("scheduled", "publishing") and post.get("error_code"):  # put back by the dispatcher
        return "waiting"
    return post["status"] if post["status"] in STATUS else "scheduled"


def words_of(post: dict, status: str, labels: dict[str, str]) -> str:
    return STATUS[status][2].format(platform=labels.get(post["platform"], post["platform"]))


def icon(name: str) -> str:
    """The platform's abbreviation in its own colour; screen readers read its name beside it instead."""
    return f'<span class="pf pf-{_esc(name)}" aria-hidden="true">{_esc(ICON.get(name, name[:2].upper()))}</span>'


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
    """One post: its time, platform, title and status in words; why it waits or failed where there is room."""
    at = local_of(post, zone)
    status = status_of(post, reconnect)
    css, mark, _ = STATUS[status]
    words = words_of(post, status, labels)
    platform = labels.get(post["platform"], post["platform"])
    title = title_of(post)
    can_move = movable(post)
    said = f"{at:%a %d %b %H:%M} · {platform} · {post.get('account') or ''} · {title} · {words}"
    why = post.get("message") if status in SAYS_WHY else ""
    if why:
        said += f" · {why}"
    attrs = (f'class="chip st-{css}{" movable" if can_move else ""}" data-id="{_esc(post["id"])}" '
             f'data-platform="{_esc(post["platform"])}" data-time="{at:%H:%M}" data-at="{at:%Y-%m-%dT%H:%M}" '
             f'tabindex="0" role="button" title="{_esc(said)}" aria-label="{_esc(said)}"'
             + (' draggable="true"' if can_move else ""))
    links = "" if compact else _links(post, labels)
    links = f'<span class="chip-links">{links}</span>' if links else ""
    why_html = f'<span class="chip-msg">{_esc(why)}</span>' if why and not compact else ""
    return (f'<div {attrs}>{icon(post["platform"])} <span class="chip-time">{at:%H:%M}</span> '
            f'<span class="chip-platform">{_esc(platform)}</span> <span class="chip-title">{_esc(title)}</span> '
            f'<span class="chip-status"><span class="mark">{mark}</span> <span class="words">{_esc(words)}</span></span>'
            f"{why_html}{links}</div>")


def platform_heading(name: str, label: str) -> str:
    """A platform's part of the schedule form starts with its name and mark."""
    return f'<h4 class="cal-pf-head">{icon(name)} {_esc(label)}</h4>'


def calendar_html(posts: list[dict], win: Window, today: date, *, reconnect: set[str] | None = None,
                  labels: dict[str, str] | None = None) -> str:
    """The grid for ``win`` and, under it, the same posts as a list (what a phone or a screen reader reads)."""
    reconnect, labels = reconnect or set(), labels or {}
    order = list(ICON)  # one short posted everywhere at once: its chips always in the same order
    posts = sorted(posts, key=lambda p: (local_of(p, UTC), order.index(p["platform"]) if p["platform"] in order else 9))
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
        css, mark, _ = STATUS[status]
        words = words_of(p, status, labels)
        own = ""
        if p.get("timezone") and p["timezone"] != win.zone.key:
            own = f" ({p['local_time'][11:16]} in {p['timezone']})"
        message = p.get("message") or ""
        if status == "reconnect" and not message:
            message = "Reconnect the account in Accounts above, then it goes out as planned."
        rows.append(
            f'<li class="st-{css}" data-id="{_esc(p["id"])}"><time datetime="{_esc(p["publish_at"])}">'
            f"{at:%a %d %b, %H:%M}{_esc(own)}</time> <b>{_esc(title_of(p))}</b> "
            f'<span class="cal-where">{icon(p["platform"])} {_esc(labels.get(p["platform"], p["platform"]))} · '
            f'{_esc(p.get("account") or "")}'
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
        parts = [f'<section class="acct-platform" data-platform="{_esc(name)}"><h3>{icon(name)} {label}</h3>']
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
