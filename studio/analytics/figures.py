"""The dashboards as pictures: one builder per figure, each taking a dashboard's typed value (studio.analytics.types)
and returning a matplotlib Figure. The UI shows them in gr.Plot; the CLI writes them with ``save_png``.

Drawn for a phone first: a figure is WIDTH inches at DPI (720 px), shown at about 330 px on a 390 px screen, where
a point of font is then about 1.1 px: nothing is smaller than 12 pt (13 px). On a wide screen the page shows it at
most about 480 px wide (studio/ui_analytics_style.py). Few ticks, titles in plain words, the
Okabe–Ito palette and viridis (both readable with colour blindness), and when there is nothing to draw a figure that
says what is missing instead of empty axes.

matplotlib is imported inside the builders (the studio starts without it) and never through pyplot: each figure has
its own Agg canvas, so builders may run in several threads. The style is set with ``rc_context``, which is global,
so figures are built one at a time under a lock.
"""

from __future__ import annotations

import math
import textwrap
import threading
from collections.abc import Callable, Sequence
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.analytics.queries import LENGTHS
from studio.analytics.types import PostsDashboard, StudioDashboard, Verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COLORS", "DPI", "POSTS_FIGURES", "STUDIO_FIGURES", "WIDTH", "comparisons", "empty", "engines",
           "experiment", "failures", "heatmap", "retention", "save_png", "savings", "shorts_per_day", "stage_time",
           "views_curves"]

WIDTH, DPI = 4.0, 180  # inches, dots per inch: 720 px wide, its text sized for a 4-inch figure
TITLE_PT, TEXT_PT, TICK_PT = 16, 14, 13
# Okabe & Ito (2008), "Color Universal Design": told apart with every common colour blindness
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION = COLORS[:6]
INK, MUTED, FAINT = "#222222", "#666666", "#d9d9d9"
HEAT, FEW, NONE = "viridis", "#bdbdbd", "#f2f2f2"  # the heatmap's scale; too few posts; none
HOOK_SECONDS = 3.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DIMENSION_WORDS = {"template": "Template", "voice": "Voice", "hook_style": "Hook style", "length": "Length",
                   "platform": "Platform"}
HOUR_TICKS = ((1, "1 h"), (6, "6 h"), (24, "1 day"), (168, "1 week"), (720, "1 month"))
MAX_CURVES = 20  # retention curves drawn at once: more is a tangle on a phone

NO_POSTS = "No posts with numbers yet: they arrive about an hour after posting."
NO_RUNS = "No shorts made in this period yet. Make one in the Create tab and it shows here."

_STYLE = {
    "font.size": TEXT_PT, "axes.titlesize": TEXT_PT, "axes.labelsize": TEXT_PT, "xtick.labelsize": TICK_PT,
    "ytick.labelsize": TICK_PT, "legend.fontsize": TICK_PT, "figure.titlesize": TITLE_PT,
    "figure.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": MUTED,
    "axes.labelcolor": INK, "xtick.color": MUTED, "ytick.color": MUTED, "text.color": INK,
    "axes.prop_cycle": None, "legend.frameon": False, "figure.facecolor": "white", "axes.facecolor": "white",
    "svg.fonttype": "none",
}
_LOCK = threading.RLock()  # a builder may hand over to another (its empty state)


def _figure(build: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build under the house style, one figure at a time (rc_context is process-wide)."""

    @wraps(build)
    def styled(*args: Any, **kwargs: Any) -> Figure:
        import matplotlib
        from cycler import cycler

        style = dict(_STYLE, **{"axes.prop_cycle": cycler(color=COLORS)})
        with _LOCK, matplotlib.rc_context(style):
            return build(*args, **kwargs)

    return styled


def _new(height: float, rows: int = 1, *, sharex: bool = False, ratios: Sequence[float] | None = None):
    """A figure WIDTH × ``height`` inches on its own Agg canvas, with ``rows`` axes stacked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = round(height * DPI) / DPI  # a whole number of pixels: the PNG is exactly the size asked for
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(h_pad=0.06, w_pad=0.06)
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": list(ratios)} if ratios else None)[:, 0]
    return fig, list(axes)


def _wrap(text: str, points: float = TEXT_PT, width: float = WIDTH, *, bold: bool = False) -> str:
    """``text`` broken into lines that fit ``width`` inches at ``points`` (a DejaVu Sans glyph averages about 0.55 em,
    0.62 em in bold). Write "3\u00a0s" to keep a number with its unit."""
    em = 0.62 if bold else 0.55
    return textwrap.fill(text, max(int(width * 72 * 0.92 / (points * em)), 12), break_long_words=False)


def _title(fig, text: str, sub: str | None = None, ax=None) -> None:
    """The title, left-aligned; ``sub``, a quieter line saying what is measured, goes under it as the top axes' own
    title (``ax``), or, where the axes have titles of their own, under the plot."""
    fig.suptitle(_wrap(text, TITLE_PT, bold=True), x=0.02, ha="left", fontsize=TITLE_PT, fontweight="bold", linespacing=1.3)
    if sub and ax is not None:
        ax.set_title(_wrap(sub, TICK_PT, WIDTH * 0.74), loc="left", fontsize=TICK_PT, color=MUTED, linespacing=1.3,
                     pad=10)
    elif sub:
        _caption(fig, sub)


def _caption(fig, text: str) -> None:
    """Plain words under the plot (constrained layout keeps room for them); a second call adds a line."""
    lines = [*getattr(fig, "caption_lines", []), text]
    fig.caption_lines = lines
    fig.supxlabel("\n".join(_wrap(t, TICK_PT) for t in lines), x=0.02, ha="left", fontsize=TICK_PT, color=MUTED,
                  linespacing=1.3)


@_figure
def empty(title: str, message: str) -> Figure:
    """What is missing, said where the figure would be."""
    fig, (ax,) = _new(2.4)
    _title(fig, title)
    ax.axis("off")
    ax.text(0.5, 0.5, _wrap(message, TEXT_PT, WIDTH * 0.92), ha="center", va="center", color=MUTED,
            fontsize=TEXT_PT, linespacing=1.4, transform=ax.transAxes)
    fig.empty = True  # what the UI and the tests read to tell a placeholder from a plot
    return fig


def _plotted(fig: Figure) -> Figure:
    fig.empty = False
    return fig


def save_png(fig: Figure, path: Path | str) -> Path:
    """Write ``fig`` as a PNG of WIDTH × height inches at DPI (exactly: no cropping). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


# -- number words ---------------------------------------------------------------------------------------------------


def short_number(x: float | None) -> str:
    """12 → "12", 1234 → "1.2k", 56000 → "56k", 2_100_000 → "2.1M"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    for limit, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= limit:
            v = x / limit
            return f"{v:.1f}{unit}".replace(".0" + unit, unit) if v < 10 else f"{v:.0f}{unit}"
    return f"{x:.0f}"


def _duration_words(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _day_label(text: str) -> str:
    d = date.fromisoformat(text)
    return f"{d.day} {d:%b}"


def _count_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))


def _number_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _: short_number(v) if abs(v) >= 10 else f"{v:g}"))


def _ink_on(rgba) -> str:
    """Black or white, whichever reads on a cell of colour ``rgba``."""
    r, g, b = rgba[:3]
    return INK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def _short_text(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# -- My studio -------------------------------------------------------------------------------------------------------


@_figure
def shorts_per_day(board: StudioDashboard) -> Figure:
    days = [d for d, _ in board.shorts_per_day]
    made = [n for _, n in board.shorts_per_day]
    if not days or not any(made):
        return empty("Shorts made per day", NO_RUNS)
    fig, (ax,) = _new(3.2)
    _title(fig, "Shorts made per day", f"{sum(made)} in the last {len(days)} days", ax=ax)
    ax.bar(range(len(days)), made, color=BLUE, width=0.8)
    step = max(1, math.ceil(len(days) / 4))
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [_day_label(days[i]) for i in ticks])
    ax.set_xlim(-0.8, len(days) - 0.2)
    _count_axis(ax.yaxis)
    ax.grid(axis="y", color=FAINT)
    ax.set_axisbelow(True)
    return _plotted(fig)


@_figure
def stage_time(board: StudioDashboard) -> Figure:
    rows = [r for r in board.stage_seconds if r[2]]
    if not rows:
        return empty("Time per stage", NO_RUNS)
    rows = sorted(rows, key=lambda r: r[1])  # the longest at the top
    fig, (ax,) = _new(1.3 + 0.42 * len(rows))
    _title(fig, "Time per stage", "Average seconds each stage took per short", ax=ax)
    y = range(len(rows))
    ax.barh(y, [r[1] for r in rows], color=BLUE, height=0.65)
    ax.set_yticks(list(y), [r[0] for r in rows])
    top = max(r[1] for r in rows)
    for i, (_, seconds, _) in enumerate(rows):
        ax.text(seconds + top * 0.02, i, _duration_words(seconds) if seconds >= 60 else f"{seconds:.1f} s",
                va="center", fontsize=TICK_PT, color=INK)
    ax.set_xlim(0, top * 1.3)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return _plotted(fig)


@_figure
def engines(board: StudioDashboard) -> Figure:
    """Per stage, the share of its runs each engine did (100 % bars), and how much the cache served."""
    stages: dict[str, dict[str, int]] = {}
    for stage, engine, runs in board.engines:
        stages.setdefault(stage, {})[engine] = stages.get(stage, {}).get(engine, 0) + runs
    if not stages:
        return empty("Which engines ran", NO_RUNS)
    names = sorted({e for by in stages.values() for e in by})
    color = {e: COLORS[i % len(COLORS)] for i, e in enumerate(names)}
    hatch = {e: "//" if i >= len(COLORS) else "" for i, e in enumerate(names)}  # a ninth engine: hatched
    order = sorted(stages, reverse=True)  # alphabetical from the top
    fig, (ax,) = _new(2.0 + 0.46 * len(order) + 0.3 * math.ceil(len(names) / 3))
    sub = "Share of each stage's runs"
    if board.cache_hit_rate is not None:
        sub += f"; {board.cache_hit_rate:.0%} of engine results came from the cache"
    _title(fig, "Which engines ran", sub, ax=ax)
    labelled = set()
    for i, stage in enumerate(order):
        total, left = sum(stages[stage].values()), 0.0
        for engine, runs in sorted(stages[stage].items(), key=lambda t: (-t[1], t[0])):
            share = runs / total
            bar = ax.barh(i, share, left=left, color=color[engine], hatch=hatch[engine], height=0.7,
                          edgecolor="white", linewidth=1, label=engine)
            if share >= 0.3:
                labelled.add(engine)
                ax.text(left + share / 2, i, _short_text(engine, 12), ha="center", va="center", fontsize=TICK_PT - 1,
                        color=_ink_on(bar.patches[0].get_facecolor()))
            left += share
    ax.set_yticks(range(len(order)), order)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1], ["0%", "50%", "100%"])
    ax.tick_params(axis="y", length=0)
    rest = [e for e in names if e not in labelled]  # too thin a share to write its name in
    if rest:
        handles = {h.get_label(): h for h in ax.containers}
        fig.legend([handles[e] for e in rest], rest, loc="outside lower left", ncols=min(3, len(rest)),
                   handlelength=1.2, columnspacing=1.0)
    return _plotted(fig)


@_figure
def failures(board: StudioDashboard) -> Figure:
    if not board.failures:
        return empty("Failed runs", "No run failed in this period." if board.runs else NO_RUNS)
    rows = sorted(board.failures, key=lambda r: r[1])
    fig, (ax,) = _new(1.3 + 0.42 * len(rows))
    total = sum(n for _, n in rows)
    _title(fig, "Failed runs, by cause", f"{total} of {board.runs} runs failed" if board.runs else None, ax=ax)
    ax.barh(range(len(rows)), [n for _, n in rows], color=VERMILLION, height=0.65)
    ax.set_yticks(range(len(rows)), [code.replace("_", " ") for code, _ in rows])
    top = max(n for _, n in rows)
    for i, (_, n) in enumerate(rows):
        ax.text(n + top * 0.02, i, str(n), va="center", fontsize=TICK_PT)
    ax.set_xlim(0, top * 1.2)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return _plotted(fig)


@_figure
def savings(board: StudioDashboard) -> Figure:
    """Two panels over the same days: compute spent here, and what paid APIs would have charged for it."""
    if not board.savings or not board.runs:
        return empty("What the same work would have cost on paid APIs", NO_RUNS)
    days = [d for d, _, _ in board.savings]
    seconds = [s for _, s, _ in board.savings]
    usd = [u for _, _, u in board.savings]
    hours = max(seconds) >= 7200
    compute = [s / 3600 if hours else s / 60 for s in seconds]
    fig, (top, bottom) = _new(5.0, 2, sharex=True)
    _title(fig, "What the same work would have cost on paid APIs",
           f"Last {len(days)} days: {_duration_words(seconds[-1])} of compute here, "
           f"${usd[-1]:,.2f} at paid API prices")
    x = range(len(days))
    top.fill_between(x, compute, color=SKY, alpha=0.35, linewidth=0)
    top.plot(x, compute, color=BLUE, linewidth=2.5)
    top.set_title("Compute on this machine (" + ("hours" if hours else "minutes") + ")", loc="left",
                  fontsize=TEXT_PT)
    bottom.fill_between(x, usd, color=ORANGE, alpha=0.3, linewidth=0)
    bottom.plot(x, usd, color=VERMILLION, linewidth=2.5)
    bottom.set_title("Paid APIs would have charged ($)", loc="left", fontsize=TEXT_PT)
    for ax, series in ((top, compute), (bottom, usd)):
        ax.set_ylim(0, max(max(series) * 1.15, 1e-9))
        _number_axis(ax.yaxis)
        ax.grid(axis="y", color=FAINT)
        ax.set_axisbelow(True)
    step = max(1, math.ceil(len(days) / 4))
    ticks = list(range(0, len(days), step))
    bottom.set_xticks(ticks, [_day_label(days[i]) for i in ticks])
    bottom.set_xlim(0, max(len(days) - 1, 1))
    return _plotted(fig)


# -- My posts --------------------------------------------------------------------------------------------------------


def _newest_with(board: PostsDashboard, have: dict) -> str | None:
    return next((p.post_id for p in board.posts if have.get(p.post_id)), None)  # posts come newest first


def _title_of(board: PostsDashboard, post_id: str) -> str:
    return next((p.title for p in board.posts if p.post_id == post_id), post_id)


@_figure
def views_curves(board: PostsDashboard, highlight: str | None = None) -> Figure:
    """Views by hours since posting, one thin line per post (log-x, log-y: a post's shape shows whatever its size),
    the creator's own median bold, and one post (``highlight``, else the newest) in orange."""
    curves = {k: [(h, v) for h, v in c if h > 0 and v > 0] for k, c in board.curves.items()}
    curves = {k: c for k, c in curves.items() if c}
    if not curves:
        return empty("Views since posting", NO_POSTS)
    chosen = highlight if highlight in curves else _newest_with(board, curves)
    fig, (ax,) = _new(4.4)
    sub = f"Each post thin, your median bold; orange: “{_short_text(_title_of(board, chosen))}”" if chosen else None
    _title(fig, "Views since posting", sub, ax=ax)
    for key, c in curves.items():
        if key != chosen:
            ax.plot(*zip(*c), color=SKY, alpha=0.45, linewidth=1.2)
    median_line = [(h, v) for h, v in board.median_curve if h > 0 and v > 0]
    if median_line:
        ax.plot(*zip(*median_line), color=INK, linewidth=3.2, label="Your median", zorder=3)
    if chosen:
        ax.plot(*zip(*curves[chosen]), color=ORANGE, linewidth=2.8, label="This post", zorder=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    hours = [h for c in curves.values() for h, _ in c]
    lo, hi = min(hours), max(hours)
    ticks = [(h, w) for h, w in HOUR_TICKS if lo * 0.8 <= h <= hi * 1.25] or [(lo, f"{lo:g} h")]
    ax.set_xticks([h for h, _ in ticks], [w for _, w in ticks])
    ax.xaxis.set_minor_locator(_no_ticks())
    ax.set_xlim(lo * 0.9, hi * 1.1)
    _log_views(ax.yaxis)
    ax.set_xlabel("Time since posting")
    ax.grid(color=FAINT, which="major")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right")
    return _plotted(fig)


def _no_ticks():
    from matplotlib.ticker import NullLocator

    return NullLocator()


def _log_views(axis) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, numticks=5))
    axis.set_minor_locator(_no_ticks())
    axis.set_major_formatter(FuncFormatter(lambda v, _: short_number(v)))


@_figure
def retention(board: PostsDashboard, highlight: str | None = None) -> Figure:
    """Share still watching by second of the video, one line per post (up to MAX_CURVES, newest first), the 3-second
    point marked on each and its percentage written for one post (``highlight``, else the newest with a curve)."""
    seconds = {p.post_id: p.duration for p in board.posts if p.duration}
    shown = [p.post_id for p in board.posts if board.retention.get(p.post_id) and seconds.get(p.post_id)]
    if not shown:
        return empty("How long people keep watching",
                     "No retention curves yet: YouTube reports them two to three days after posting."
                     if board.posts else NO_POSTS)
    chosen = highlight if highlight in shown else shown[0]
    shown = [chosen, *[k for k in shown if k != chosen][: MAX_CURVES - 1]]
    hooks = {p.post_id: p.hook_retention for p in board.posts}
    fig, (ax,) = _new(4.4)
    sub = f"Orange: “{_short_text(_title_of(board, chosen))}”. Dots: 3\u00a0s in, where the hook is"
    _title(fig, "How long people keep watching", sub, ax=ax)
    top = 1.0
    for key in reversed(shown):  # the chosen one last: on top
        curve = board.retention[key]
        xs = [r * seconds[key] for r, _ in curve]
        ys = [a for _, a in curve]
        top = max(top, *ys)
        mine = key == chosen
        ax.plot(xs, ys, color=ORANGE if mine else SKY, alpha=1 if mine else 0.5, linewidth=2.8 if mine else 1.2,
                zorder=4 if mine else 2)
        hook = hooks.get(key)
        if hook is not None:
            ax.plot([HOOK_SECONDS], [hook], "o", color=ORANGE if mine else BLUE, markersize=9 if mine else 5,
                    markeredgecolor="white", zorder=5 if mine else 3, label="3-second point" if mine else None)
    ax.axvline(HOOK_SECONDS, color=MUTED, linestyle=":", linewidth=1.5, zorder=1)
    hook = hooks.get(chosen)
    longest = max(seconds[k] for k in shown)
    if hook is not None:
        ax.annotate(f"{hook:.0%} still watching at 3\u00a0s", (HOOK_SECONDS, hook),
                    xytext=(HOOK_SECONDS + longest * 0.08, min(hook + 0.12 * top, top * 1.02)),
                    fontsize=TEXT_PT, fontweight="bold", color=INK, zorder=6,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "none", "alpha": 0.9},
                    arrowprops={"arrowstyle": "-", "color": INK, "linewidth": 1.2})
    ax.set_xlim(0, longest)
    ax.set_ylim(0, top * 1.1)
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f} s"))
    ax.set_xlabel("Time into the video")
    ax.set_ylabel("Still watching")
    ax.grid(color=FAINT)
    ax.set_axisbelow(True)
    if len(board.retention) > len(shown):
        _caption(fig, f"The newest {len(shown)} of {len(board.retention)} posts with a curve.")
    return _plotted(fig)


@_figure
def heatmap(board: PostsDashboard) -> Figure:
    """Weekday × hour of posting in the creator's zone, coloured by median views 24 h in; every cell with posts shows
    how many; a cell with fewer than ``min_posts_per_cell`` posts is hatched grey (no median is shown for it). Hours
    run down the figure, so the 24 rows fit a phone's height and the 7 days its width."""
    import numpy as np

    if not any(c.posts for c in board.heatmap):
        return empty("Best hours to post", "No post is a day old yet: the map fills in as your posts pass 24 hours."
                     if board.posts else NO_POSTS)
    counts = np.zeros((24, 7), dtype=int)
    views = np.full((24, 7), np.nan)
    for c in board.heatmap:
        counts[c.hour, c.weekday] = c.posts
        if c.median_views is not None:
            views[c.hour, c.weekday] = c.median_views
    masked = np.ma.masked_invalid(views)
    fig, (ax,) = _new(8.4)
    _title(fig, "Best hours to post", f"Median views 24\u00a0h in, by when you posted ({board.timezone}). "
                                      "Numbers: how many posts.", ax=ax)
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Patch, Rectangle

    cmap = colormaps[HEAT].with_extremes(bad=NONE)
    known = masked.compressed()
    lo, hi = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
    wide = lo > 0 and hi > 10 * lo  # views over orders of magnitude: a log scale, so the middle is not all one colour
    norm = LogNorm(lo, hi) if wide else Normalize(lo, hi if hi > lo else lo + 1)
    image = ax.imshow(masked, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    few = (counts > 0) & masked.mask
    for hour, day in zip(*np.nonzero(few)):
        ax.add_patch(Rectangle((day - 0.5, hour - 0.5), 1, 1, facecolor=FEW, edgecolor="white", hatch="///",
                               linewidth=0))
    for hour, day in zip(*np.nonzero(counts)):
        fill = FEW if few[hour, day] else cmap(norm(views[hour, day]))
        ax.text(day, hour, str(counts[hour, day]), ha="center", va="center", fontsize=TICK_PT - 1,
                fontweight="bold", color=_ink_on(fill) if not few[hour, day] else INK)
    ax.set_xticks(range(7), WEEKDAYS)
    ax.xaxis.tick_top()
    ax.set_yticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)])
    ax.set_xticks(np.arange(-0.5, 7), minor=True)
    ax.set_yticks(np.arange(-0.5, 24), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if known.size:
        bar = fig.colorbar(image, ax=ax, orientation="horizontal", location="bottom", shrink=0.9, aspect=28,
                           pad=0.015)
        ticks = sorted({lo, hi, *([math.sqrt(lo * hi) if wide else (lo + hi) / 2] if hi > lo * 1.2 else [])})
        bar.set_ticks(ticks, labels=[short_number(t) for t in ticks])
        bar.ax.minorticks_off()
        bar.ax.tick_params(labelsize=TICK_PT - 1, length=0)
        bar.set_label("Median views, cells with enough posts", fontsize=TICK_PT - 1, color=MUTED)
        bar.outline.set_visible(False)
    fig.legend(handles=[Patch(facecolor=FEW, hatch="///", edgecolor="white",
                              label=f"Fewer than {board.min_posts_per_cell} posts:\nnot enough to say"),
                        Patch(facecolor=NONE, edgecolor=FAINT, label="No posts at that hour")],
               loc="outside lower left", ncols=1, handlelength=1.6)
    return _plotted(fig)


@_figure
def comparisons(board: PostsDashboard) -> Figure:
    """Median views 24 h in by template, voice, hook style, length and platform, a panel each, with the number of
    posts behind each bar (hatched and paler below ``min_posts_per_cell``)."""
    groups: dict[str, list] = {}
    for c in board.comparisons:
        if c.median_views is not None:
            groups.setdefault(c.dimension, []).append(c)
    dims = [d for d in DIMENSION_WORDS if d in groups] + [d for d in groups if d not in DIMENSION_WORDS]
    if not dims:
        return empty("What works for you", "No post is a day old yet: comparisons start once posts pass 24 hours."
                     if board.posts else NO_POSTS)
    sizes = [len(groups[d]) for d in dims]
    fig, axes = _new(1.6 + sum(0.36 * n + 0.55 for n in sizes), len(dims), ratios=[n + 1.0 for n in sizes])
    _title(fig, "What works for you", "Median views 24\u00a0h after posting, and how many posts each is from")
    top = max(c.median_views for d in dims for c in groups[d])
    few = board.min_posts_per_cell
    for ax, dim in zip(axes, dims):
        rows = (sorted(groups[dim], key=lambda c: LENGTHS.index(c.value) if c.value in LENGTHS else -1,
                       reverse=True) if dim == "length" else sorted(groups[dim], key=lambda c: c.median_views))
        ax.barh(range(len(rows)), [c.median_views for c in rows], height=0.68,
                color=[BLUE if c.posts >= few else SKY for c in rows],
                hatch=["" if c.posts >= few else "///" for c in rows], edgecolor="white", linewidth=0)
        ax.set_yticks(range(len(rows)), [_short_text(c.value, 14) for c in rows])
        for i, c in enumerate(rows):
            words = f"{short_number(c.median_views)} · {c.posts} post{'s' * (c.posts != 1)}"
            ax.text(c.median_views + top * 0.02, i, words, va="center", fontsize=TICK_PT - 1, color=INK)
        ax.set_title(DIMENSION_WORDS.get(dim, dim), loc="left", fontsize=TEXT_PT, fontweight="bold")
        ax.set_xlim(0, top * 1.6)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    if any(c.posts < few for d in dims for c in groups[d]):
        _caption(fig, f"Hatched: fewer than {few} posts, so a hint rather than a finding.")
    return _plotted(fig)


# -- A/B tests -------------------------------------------------------------------------------------------------------


@_figure
def experiment(verdict: Verdict, name: str = "A/B test") -> Figure:
    """Each variant's engagement rate (likes, comments, shares and saves per view) with its views; the leader, when
    the sequential test names one, in orange; the verdict's own words under it."""
    if not any(v.views for v in verdict.variants):
        return empty(name, verdict.said)
    rows = list(reversed(verdict.variants))  # A at the top
    fig, (ax,) = _new(2.1 + 0.62 * len(rows))
    _title(fig, _short_text(name, 60), "Engaged per view: likes, comments, shares and saves", ax=ax)
    rates = [v.rate or 0.0 for v in rows]
    ax.barh(range(len(rows)), rates, height=0.62,
            color=[ORANGE if v.label == verdict.leader else BLUE for v in rows])
    ax.set_yticks(range(len(rows)), [f"Variant {v.label}\n{short_number(v.views)} views" for v in rows])
    top = max(max(rates), 1e-9)
    for i, v in enumerate(rows):
        words = f"{v.rate:.1%}" + (" leads" if v.label == verdict.leader else "") if v.rate is not None else "no views"
        ax.text((v.rate or 0) + top * 0.02, i, words, va="center", fontsize=TEXT_PT, color=INK,
                fontweight="bold" if v.label == verdict.leader else "normal")
    ax.set_xlim(0, top * 1.45)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    _caption(fig, verdict.said)
    return _plotted(fig)


# what `studio analytics … --png DIR` and the UI draw for each dashboard: name → builder
STUDIO_FIGURES: dict[str, Callable[[StudioDashboard], Figure]] = {
    "shorts_per_day": shorts_per_day, "stage_time": stage_time, "engines": engines, "failures": failures,
    "savings": savings}
POSTS_FIGURES: dict[str, Callable[[PostsDashboard], Figure]] = {
    "views": views_curves, "retention": retention, "heatmap": heatmap, "comparisons": comparisons}
