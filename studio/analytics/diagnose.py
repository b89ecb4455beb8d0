"""Why did this one flop? Readable rules, each comparing one number of the post with the creator's own baseline (the
median of their other posts) and saying so in plain words with a suggestion.

A post is a flop when its views at the comparison mark (24 h after posting, see ``comparison_mark``) are below the
median of the creator's other posts at the same mark. Each rule then speaks only when its own number is materially
worse than usual (severity ≥ ``MIN_SEVERITY``; ``MIN_GROUP_GAP`` for the hour and the length, which compare medians
of small groups), and the reasons come back worst first. Severity is "how far below
baseline, 0–1": for shares of viewers (retention, watch ratio) it is 1 − yours ÷ usual; for view counts, which spread
over orders of magnitude, it is log₁₀(usual ÷ yours), so a tenth of the usual views or less is 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

from studio.analytics.types import Reason

__all__ = ["MIN_BASELINE", "PostNumbers", "RULES", "comparison_mark", "diagnose"]

MIN_BASELINE = 3  # other posts behind a baseline or a bucket's median
MIN_SEVERITY = 0.1
MIN_GROUP_GAP = math.log10(1.5)  # an hour or a length must trail the best by a third: medians of a few posts are noisy
SCORE_HOURS = 24.0
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class PostNumbers:
    """What the rules read about one post (queries.py fills it from the dashboards)."""

    post_id: str
    views: Mapping[float, float] = field(default_factory=dict)  # hour mark → views at it
    hook: float | None = None  # share still watching at 3 s
    avg_view_ratio: float | None = None
    weekday: int | None = None  # 0 = Monday, in the creator's zone
    hour: int | None = None  # hour of day posted, in the creator's zone
    length: str | None = None  # the length bucket, "15–30 s"


def comparison_mark(post: PostNumbers, others: Sequence[PostNumbers]) -> float | None:
    """The hour mark at which the post is compared: 24 h; for a post younger than that its latest mark, for one first
    seen later (an imported video) its earliest; always a mark at least MIN_BASELINE other posts reached. None: no
    fair comparison exists."""
    marks = sorted(post.views)
    if SCORE_HOURS in post.views:
        candidates = [SCORE_HOURS]
    else:
        candidates = [m for m in reversed(marks) if m < SCORE_HOURS] + [m for m in marks if m > SCORE_HOURS]
    for mark in candidates:
        if sum(mark in o.views for o in others) >= MIN_BASELINE:
            return mark
    return None


def diagnose(post: PostNumbers, others: Sequence[PostNumbers]) -> tuple[Reason, ...] | None:
    """None: nothing to explain, because the post is at or above the baseline or there is no baseline to compare with
    yet. An empty tuple: below the baseline, but no rule found a cause in the numbers at hand (no retention curve,
    hour and length as usual). Otherwise the reasons, worst first."""
    mark = comparison_mark(post, others)
    if mark is None or post.views[mark] >= median(o.views[mark] for o in others if mark in o.views):
        return None
    found = (rule(post, others, mark) for rule in RULES)
    return tuple(sorted((r for r in found if r is not None), key=lambda r: -r.severity))


# -- the rules ------------------------------------------------------------------------------------------------------


def early_velocity(post: PostNumbers, others: Sequence[PostNumbers], mark: float) -> Reason | None:
    """Views ``mark`` hours after posting vs the median of the other posts at the same mark.
    Severity log₁₀(usual ÷ yours), capped at 1."""
    usual = median(o.views[mark] for o in others if mark in o.views)
    yours = post.views[mark]
    severity = _log_gap(usual, yours)
    if severity < MIN_SEVERITY:
        return None
    return Reason(rule="velocity", title="Fewer people saw it early",
                  numbers=f"{_n(yours)} views {_hours(mark)} after posting; your median is {_n(usual)} "
                          f"({_share(yours, usual)} of usual)",
                  suggestion="The first hours decide how far a short travels: post at one of your best hours and "
                             "make the first frame and the title promise the payoff.",
                  severity=severity)


def hook(post: PostNumbers, others: Sequence[PostNumbers], mark: float) -> Reason | None:
    """Share of viewers still watching at 3 s vs the median of the other posts that have a retention curve (at least
    MIN_BASELINE of them). Severity 1 − yours ÷ usual."""
    usual = _baseline([o.hook for o in others])
    if post.hook is None or usual is None:
        return None
    severity = _gap(usual, post.hook)
    if severity < MIN_SEVERITY:
        return None
    return Reason(rule="hook", title="The hook lost them",
                  numbers=f"{_pct(post.hook)} still watching at 3 s; your median is {_pct(usual)}",
                  suggestion="Open on the payoff, a bold claim or a question in the first second; cut any intro, logo "
                             "or slow zoom before it.",
                  severity=severity)


def middle(post: PostNumbers, others: Sequence[PostNumbers], mark: float) -> Reason | None:
    """How much of the video those the hook kept went on to watch (average view ratio ÷ 3-second retention) vs the
    median of the same for the other posts, so a weak hook is not blamed twice; without retention curves, the plain
    average view ratio. Severity 1 − yours ÷ usual."""
    kept = _kept(post)
    usual = _baseline([_kept(o) for o in others])
    if kept is not None and usual is not None:
        words = "those who stayed past the hook watched {yours} of it on average; yours usually watch {usual}"
        yours = kept
    else:
        yours, usual = post.avg_view_ratio, _baseline([o.avg_view_ratio for o in others])
        words = "viewers watched {yours} of it on average; your median is {usual}"
        if yours is None or usual is None:
            return None
    severity = _gap(usual, yours)
    if severity < MIN_SEVERITY:
        return None
    return Reason(rule="middle", title="The middle dragged",
                  numbers=words.format(yours=_pct(yours), usual=_pct(usual)),
                  suggestion="Tighten the middle: cut pauses and repeated points, change the picture every few "
                             "seconds and move the best moment earlier.",
                  severity=severity)


def posting_hour(post: PostNumbers, others: Sequence[PostNumbers], mark: float) -> Reason | None:
    """Median views at ``mark`` of the other posts published at this post's hour of day vs those of the best hour
    (each hour with at least MIN_BASELINE posts; hours of day over all weekdays, the creator's zone, because a
    weekday × hour cell rarely holds enough posts). Severity log₁₀(best ÷ this hour), capped at 1; speaks from
    MIN_GROUP_GAP."""
    if post.hour is None:
        return None
    by_hour = _medians(others, mark, lambda o: o.hour)
    if post.hour not in by_hour:
        return None
    best = sorted(by_hour, key=lambda h: -by_hour[h])[:3]
    severity = _log_gap(by_hour[best[0]], by_hour[post.hour])
    if severity < MIN_GROUP_GAP:
        return None
    day = f"{WEEKDAYS[post.weekday]} " if post.weekday is not None else ""
    return Reason(rule="hour", title="Posted at a slow hour",
                  numbers=f"posted {day}{post.hour:02d}:00; your posts at {post.hour:02d}:00 have a median of "
                          f"{_n(by_hour[post.hour])} views {_hours(mark)} in, at {best[0]:02d}:00 {_n(by_hour[best[0]])}",
                  suggestion="Schedule the next one at " + _or([f"{h:02d}:00" for h in best]) + " (your time zone).",
                  severity=severity)


def length(post: PostNumbers, others: Sequence[PostNumbers], mark: float) -> Reason | None:
    """Median views at ``mark`` of the other posts in this post's length bucket vs the best-performing bucket (each
    with at least MIN_BASELINE posts). Severity log₁₀(best ÷ this bucket), capped at 1; speaks from MIN_GROUP_GAP."""
    if post.length is None:
        return None
    by_length = _medians(others, mark, lambda o: o.length)
    if post.length not in by_length:
        return None
    best = max(by_length, key=lambda b: by_length[b])
    severity = _log_gap(by_length[best], by_length[post.length])
    if severity < MIN_GROUP_GAP:
        return None
    return Reason(rule="length", title="A length that does not work for you",
                  numbers=f"this short is {post.length}; your {post.length} shorts have a median of "
                          f"{_n(by_length[post.length])} views {_hours(mark)} in, your {best} ones "
                          f"{_n(by_length[best])}",
                  suggestion=f"Aim for {best}: cut to the strongest beats, or split a long idea into a series.",
                  severity=severity)


Rule = Callable[[PostNumbers, Sequence[PostNumbers], float], Reason | None]
RULES: tuple[Rule, ...] = (early_velocity, hook, middle, posting_hour, length)


# -- small helpers --------------------------------------------------------------------------------------------------


def _baseline(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if len(known) >= MIN_BASELINE else None


def _medians(others: Sequence[PostNumbers], mark: float, key: Callable[[PostNumbers], object]) -> dict:
    """Median views at ``mark`` per group of the other posts, for groups with at least MIN_BASELINE posts."""
    groups: dict = {}
    for o in others:
        if mark in o.views and key(o) is not None:
            groups.setdefault(key(o), []).append(o.views[mark])
    return {k: median(v) for k, v in groups.items() if len(v) >= MIN_BASELINE}


def _kept(p: PostNumbers) -> float | None:
    return p.avg_view_ratio / p.hook if p.avg_view_ratio is not None and p.hook else None


def _gap(usual: float, yours: float) -> float:
    return min(max(1 - yours / usual, 0.0), 1.0) if usual > 0 else 0.0


def _log_gap(usual: float, yours: float) -> float:
    if usual <= 0:
        return 0.0
    return 1.0 if yours <= 0 else min(max(math.log10(usual / yours), 0.0), 1.0)


def _n(x: float) -> str:
    return f"{round(x):,}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share(yours: float, usual: float) -> str:
    return _pct(yours / usual) if usual else "–"


def _hours(h: float) -> str:
    if h >= 48 and h % 24 == 0:
        return f"{h / 24:.0f} days"
    return f"{h:g} h"


def _or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
