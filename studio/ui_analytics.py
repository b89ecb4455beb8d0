"""The Analytics tab (hosted studio, signed-in creators): My studio, My posts, A/B tests and "Why did this one flop?",
drawn as figures (studio.analytics.figures) from the same service GET /api/analytics/... and `studio analytics` use
(studio.ui_hooks → hosted.analytics), and "Import a CSV" (studio.ui_analytics_import). One section is drawn at a
time: the one picked, when the tab opens, on Refresh (the dashboards look again at every snapshot taken so far) and
when the time zone changes. Posts are placed in the creator's own time zone, the browser's unless they choose
another."""

from __future__ import annotations

import html
from datetime import UTC
from statistics import median
from zoneinfo import ZoneInfo, available_timezones

import gradio as gr

from models.errors import InvalidRequest
from studio.analytics import diagnose, figures
from studio.analytics.types import PostsDashboard, Reason, StudioDashboard
from studio.ui_analytics_import import build_import_section
from studio.ui_analytics_style import ANALYTICS_CSS
from studio.ui_edit import plain_errors

SECTIONS = (("My studio", "studio"), ("My posts", "posts"), ("A/B tests", "ab"), ("Why did this one flop?", "why"),
            ("Import a CSV", "import"))
PERIODS = (("7 days", 7), ("30 days", 30), ("90 days", 90))
MAX_EXPERIMENTS = 10  # verdicts worked out per look: each reads the Parquet once
FALLBACK_ZONE = "UTC"

# the browser's own time zone until the creator chooses one: every draw asks, so a section picked before the tab's
# first draw has answered (and filled in the zone) is drawn in it too
ZONE_JS = """(part, zone, ...rest) =>
    [part, zone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", ...rest]"""


def build_analytics_tab(hooks) -> None:
    """Lay out the Analytics tab in the current Blocks (only where creators have accounts: posts belong to one)."""
    if not hooks.accounts_on:
        return
    zones = sorted(available_timezones())

    with gr.Tab("Analytics", elem_id="analytics-tab") as tab:
        section = gr.Radio([(w, v) for w, v in SECTIONS], value="studio", show_label=False, container=False,
                           elem_id="an-section")
        with gr.Row(elem_id="an-top", equal_height=False):
            zone = gr.Dropdown(zones, value=None, label="Your time zone", elem_id="an-zone", allow_custom_value=True,
                               min_width=200, info="Your browser's own at first. Posting hours are shown in it.")
            refresh = gr.Button("Refresh", size="sm", scale=0, min_width=90, elem_id="an-refresh")
        boxes = {}
        with gr.Column(visible=True, elem_id="an-studio") as boxes["studio"]:
            days = gr.Radio([(w, v) for w, v in PERIODS], value=30, label="Period", elem_id="an-days")
            studio_said = gr.HTML("", elem_id="an-studio-said", css_template=ANALYTICS_CSS)
            with gr.Row(elem_classes="an-plots"):
                studio_plots = [_plot(f"an-{name}") for name in figures.STUDIO_FIGURES]
        with gr.Column(visible=False, elem_id="an-posts") as boxes["posts"]:
            posts_said = gr.HTML("", elem_id="an-posts-said", css_template=ANALYTICS_CSS)
            with gr.Row(elem_classes="an-plots"):
                post_plots = [_plot(f"an-{name}") for name in figures.POSTS_FIGURES]
        with gr.Column(visible=False, elem_id="an-ab") as boxes["ab"]:
            ab_list = gr.HTML("", elem_id="an-ab-list", css_template=ANALYTICS_CSS)
            ab_pick = gr.Dropdown([], label="Show a test", elem_id="an-ab-pick")
            ab_plot = _plot("an-ab-plot")
            with gr.Accordion("Start an A/B test", open=False, elem_id="an-ab-new") as ab_new:
                ab_shorts = gr.Dropdown([], multiselect=True, max_choices=3, label="Two or three of your shorts",
                                        elem_id="an-ab-shorts",
                                        info="A short and its variants (a different hook, thumbnail or caption), "
                                             "in order: A, B, C. Post each as usual; the test reads their posts.")
                ab_name = gr.Textbox(label="Name", placeholder="Question hook vs a number first",
                                     elem_id="an-ab-name")
                ab_start = gr.Button("Start the test", variant="primary", elem_id="an-ab-start")
        with gr.Column(visible=False, elem_id="an-why") as boxes["why"]:
            why_pick = gr.Dropdown([], label="Post (those below your usual first)", elem_id="an-why-pick")
            why_said = gr.HTML("", elem_id="an-why-said", css_template=ANALYTICS_CSS)
            with gr.Row(elem_classes="an-plots"):
                why_plots = [_plot("an-why-views"), _plot("an-why-retention")]
        boxes["import"] = build_import_section(hooks, zone, _zone)  # studio/ui_analytics_import.py

    same = gr.update()

    def studio_part(who, n_days) -> list:
        board = hooks.analytics_studio(who, int(n_days or 30))
        return [studio_summary(board), *(build(board) for build in figures.STUDIO_FIGURES.values())]

    def posts_part(who, zone_name) -> list:
        board = hooks.analytics_posts(who, zone_name)
        return [posts_summary(board), *(build(board) for build in figures.POSTS_FIGURES.values())]

    def ab_part(who, picked) -> list:
        tests = hooks.experiments(who)
        titles = {s["id"]: s["title"] or s["id"] for s in hooks.my_shorts(who)}
        shown = [(t, hooks.verdict(who, t["id"])) for t in tests[:MAX_EXPERIMENTS]]
        choices = [(t["name"], t["id"]) for t, _ in shown]
        picked = picked if picked in {v for _, v in choices} else (choices[0][1] if choices else None)
        plot = next((figures.experiment(v, t["name"]) for t, v in shown if t["id"] == picked), None)
        shorts = [(f"{title} · {sid[:8]}", sid) for sid, title in titles.items()]
        # with no test yet, the form to start one is what the section offers
        return [experiments_html(shown, titles, len(tests)), gr.Dropdown(choices=choices, value=picked,
                                                                         visible=bool(choices)),
                gr.Plot(value=plot, visible=plot is not None), gr.Accordion(open=True) if not choices else same,
                shorts]

    def why_part(who, zone_name, picked) -> list:
        board = hooks.analytics_posts(who, zone_name)
        ranked = rank_posts(board)
        choices = [(pick_label(p, share, zone_name), p.post_id) for p, share, _ in ranked]
        keys = {v for _, v in choices}
        picked = picked if picked in keys else (choices[0][1] if choices else None)
        if picked is None:
            return [gr.Dropdown(choices=[], value=None), f'<p class="an-said">{html.escape(figures.NO_POSTS)}</p>',
                    figures.views_curves(board), figures.retention(board)]
        post, share, mark = next(r for r in ranked if r[0].post_id == picked)
        reasons = hooks.why(who, picked, zone_name) if share is not None and share < 1 else ()
        return [gr.Dropdown(choices=choices, value=picked), why_html(post.title, share, mark, reasons),
                figures.views_curves(board, highlight=picked), figures.retention(board, highlight=picked)]

    def drawn(part, zone_name, n_days, ab_picked, why_picked, request) -> list:
        """Section ``part`` drawn afresh; the others left as they are (each is drawn when it is picked)."""
        who = hooks.account(request)
        out = {"studio": [same] * (1 + len(studio_plots)), "posts": [same] * (1 + len(post_plots)),
               "ab": [same] * 5, "why": [same] * 4}
        if part == "posts":
            out["posts"] = posts_part(who, _zone(zone_name))
        elif part == "ab":
            *out["ab"], shorts = ab_part(who, ab_picked)
            out["ab"].append(gr.Dropdown(choices=shorts))
        elif part == "why":
            out["why"] = why_part(who, _zone(zone_name), why_picked)
        elif part == "import":
            pass  # nothing to draw until a file is chosen
        else:
            out["studio"] = studio_part(who, n_days)
        return [*out["studio"], *out["posts"], *out["ab"], *out["why"]]

    @plain_errors
    def opened(part, zone_name, n_days, ab_picked, why_picked, request: gr.Request):
        """The tab shown: the section picked, and the time zone filled in (the browser's, from ZONE_JS)."""
        zone_name = _zone(zone_name)
        return [zone_name, *drawn(part, zone_name, n_days, ab_picked, why_picked, request)]

    @plain_errors
    def redraw(part, zone_name, n_days, ab_picked, why_picked, request: gr.Request):
        return drawn(part, zone_name, n_days, ab_picked, why_picked, request)

    def switch(part):
        """Only the section radio shows and hides sections: draws finishing in any order never undo its choice."""
        return [gr.Column(visible=name == part) for name in boxes]

    @plain_errors
    def start_test(short_ids, name, ab_picked, request: gr.Request):
        who = hooks.account(request)
        if not short_ids or len(short_ids) < 2:
            raise InvalidRequest("Choose two or three of your shorts to compare.",
                                 "Pick them in the list, in the order A, B, C.")
        made = hooks.new_experiment(who, (name or "").strip() or "A/B test", list(short_ids))
        *listed, shorts = ab_part(who, made["id"])
        return [*listed, gr.Dropdown(choices=shorts, value=[]), ""]

    # -- wiring ------------------------------------------------------------------------------------------------
    where = [section, zone, days, ab_pick, why_pick]
    shown = [studio_said, *studio_plots, posts_said, *post_plots, ab_list, ab_pick, ab_plot, ab_new, ab_shorts, why_pick,
             why_said, *why_plots]
    look = {"api_visibility": "private", "concurrency_limit": 4, "concurrency_id": "analytics"}
    section.input(switch, section, list(boxes.values()), api_visibility="private", show_progress="hidden")
    tab.select(opened, where, [zone, *shown], js=ZONE_JS, **look)
    for trigger in (section.input, refresh.click, zone.input, days.input, why_pick.input, ab_pick.input):
        trigger(redraw, where, shown, js=ZONE_JS, **look)
    ab_start.click(start_test, [ab_shorts, ab_name, ab_pick], [ab_list, ab_pick, ab_plot, ab_new, ab_shorts, ab_name],
                   **look)


def _plot(elem_id: str) -> gr.Plot:
    """A figure: one to a row on a phone, side by side on a wide screen (a row wraps below its min_width)."""
    return gr.Plot(show_label=False, format="png", elem_id=elem_id, elem_classes="an-plot", container=False,
                   min_width=320)


def _zone(name: str | None) -> str:
    try:
        ZoneInfo(name or FALLBACK_ZONE)
    except (ValueError, KeyError):  # zoneinfo's not-found error is a KeyError
        raise InvalidRequest(f"Unknown time zone {str(name)[:60]!r}.", "Choose one from the list.") from None
    return name or FALLBACK_ZONE


# -- words --------------------------------------------------------------------------------------------------------


def studio_summary(board: StudioDashboard) -> str:
    if not board.runs:
        return f'<p class="an-said">{html.escape(figures.NO_RUNS)}</p>'
    made = sum(n for _, n in board.shorts_per_day)
    parts = [f"{made} shorts made in {board.runs} runs over the last {len(board.shorts_per_day)} days"]
    if board.cache_hit_rate is not None:
        parts.append(f"{board.cache_hit_rate:.0%} of engine results came from the cache")
    if board.savings:
        _, seconds, usd = board.savings[-1]
        parts.append(f"{seconds / 3600:.1f} h of compute here; paid APIs would have charged ${usd:,.2f}")
    return '<p class="an-said">' + " · ".join(html.escape(p) for p in parts) + "</p>"


def posts_summary(board: PostsDashboard) -> str:
    if not board.posts:
        return f'<p class="an-said">{html.escape(figures.NO_POSTS)}</p>'
    parts = [f"{len(board.posts)} posts with numbers"]
    at_day = dict(board.median_curve).get(diagnose.SCORE_HOURS)
    if at_day is not None:
        parts.append(f"your median is {figures.short_number(at_day)} views 24 h after posting")
    best = max((c for c in board.heatmap if c.median_views is not None), key=lambda c: c.median_views, default=None)
    if best is not None:
        parts.append(f"your best hour so far: {diagnose.WEEKDAYS[best.weekday]} {best.hour:02d}:00 "
                     f"({figures.short_number(best.median_views)} views, {best.posts} posts)")
    return '<p class="an-said">' + " · ".join(html.escape(p) for p in parts) + "</p>"


def experiments_html(shown: list, titles: dict[str, str], total: int) -> str:
    if not shown:
        return ('<p class="an-said">No A/B test yet. Post a short as two or three variants (a different hook, '
                "thumbnail or caption), then start a test from them below.</p>")
    esc = html.escape
    items = []
    for test, verdict in shown:
        variants = ", ".join(f"{esc(v['label'])}: {esc(titles.get(v['short_id'], v['short_id']))}"
                             for v in test["variants"])
        lead = " an-lead" if verdict.leader else ""
        items.append(f'<article class="an-exp"><h4>{esc(test["name"])}</h4>'
                     f'<p class="an-meta">Started {esc(test["created_at"][:10])} · {variants}</p>'
                     f'<p class="an-verdict{lead}">{esc(verdict.said)}</p></article>')
    more = (f'<p class="an-meta">The newest {len(shown)} of your {total} tests.</p>' if total > len(shown) else "")
    return '<div class="an-exps">' + "".join(items) + more + "</div>"


def rank_posts(board: PostsDashboard) -> list[tuple]:
    """(post, share of the creator's usual views, hour mark) for every post: those below their usual first (the
    furthest below at the top), then the rest newest first. The comparison is diagnose.py's own: the post's views at
    its comparison mark against the median of the other posts at that mark; share None when there is no fair one."""
    numbers = {p.post_id: diagnose.PostNumbers(p.post_id, views=dict(board.curves.get(p.post_id, ())))
               for p in board.posts}
    ranked = []
    for p in board.posts:
        others = [n for k, n in numbers.items() if k != p.post_id]
        mark = diagnose.comparison_mark(numbers[p.post_id], others)
        share = None
        if mark is not None:
            usual = median(o.views[mark] for o in others if mark in o.views)
            share = numbers[p.post_id].views[mark] / usual if usual else None
        ranked.append((p, share, mark))
    below = sorted((r for r in ranked if r[1] is not None and r[1] < 1), key=lambda r: r[1])
    return below + [r for r in ranked if r not in below]


def pick_label(post, share: float | None, zone_name: str) -> str:
    at = post.posted_at if post.posted_at.tzinfo else post.posted_at.replace(tzinfo=UTC)
    when = at.astimezone(ZoneInfo(zone_name))
    how = ("too new to compare" if share is None else f"{share:.0%} of your usual views" if share < 1
           else "at or above your usual")
    title = post.title if len(post.title) <= 40 else post.title[:39].rstrip() + "…"
    return f"{title} · {when:%d %b %H:%M} · {how}"


def hours_words(h: float) -> str:
    """24 → "24 h", 72 → "3 days"."""
    return f"{h / 24:.0f} days" if h >= 48 and h % 24 == 0 else f"{h:g} h"


def why_html(title: str, share: float | None, mark: float | None, reasons: tuple[Reason, ...]) -> str:
    esc = html.escape
    named = f"“{esc(title)}”"
    if share is None:
        return (f'<p class="an-said">{named} is too new, or you have too few other posts, for a fair comparison yet. '
                "Look again once it is a day old.</p>")
    if share >= 1:
        return f'<p class="an-said">{named} did as well as your usual or better: nothing to explain.</p>'
    head = (f'<p class="an-said">{named} had {share:.0%} of your usual views '
            f"{esc(hours_words(mark))} after posting.")
    if not reasons:
        return head + (" None of the rules finds a cause in the numbers so far (no retention curve yet, and the "
                       "hour and length were as usual for you).</p>")
    # divs, not paragraphs: the page's prose styles run paragraphs in a list item together
    items = "".join(f'<li><h4>{esc(r.title)}</h4><div class="an-num">{esc(r.numbers)}</div>'
                    f'<div class="an-tip"><b>Try:</b> {esc(r.suggestion)}</div></li>' for r in reasons)
    return head + " What the numbers say, the biggest gap first:</p>" + f'<ol class="an-reasons">{items}</ol>'
