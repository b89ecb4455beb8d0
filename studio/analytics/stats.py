"""A/B verdicts that stay valid however often the dashboard looks.

The test is the mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh, "Always Valid
Inference: Continuous Monitoring of A/B Tests" (Operations Research, 2022), for the difference of two engagement rates
(engagements ÷ views). With the estimated difference ``d`` and its variance ``V`` (normal approximation, plug-in
binomial variance) and a normal mixing distribution N(0, τ²) over the true difference, the mixture likelihood ratio
against "no difference" is

    Λ = sqrt(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²)))

Under no difference Λ is a martingale with mean 1, so by Ville's inequality P(Λ ever reaches 1/α) ≤ α: the dashboard
may recompute it after every snapshot and a variant is declared the leader only when Λ ≥ 1/α. With k variants the
leader is the best rate and must beat each of the k − 1 others at α/(k − 1) (Bonferroni). Under no difference at all a
false leader needs k − 1 of the k(k − 1)/2 pairs to reject, so the chance is at most k·α / (2(k − 1)) ≤ α.

τ only trades speed between small and large lifts (any fixed τ keeps the guarantee); 0.01 tunes the test to lifts of
about one percentage point, the size that matters for shorts engaging 1–10 % of viewers.

What the guarantee leans on: views are treated as independent trials, and the variance is estimated from the data
(asymptotically exact; hence the minimum counts before the test may speak). Engagements can exceed views (one
viewer likes and comments); the rate is then still engagements ÷ views, its variance computed from the rate clipped
to a proportion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from studio.analytics.types import VariantResult, Verdict

__all__ = ["MIN_ENGAGED", "MIN_VIEWS", "TAU", "judge", "leaders", "log_mixture_lr", "threshold", "views_needed"]

TAU = 0.01  # sd of the mixing distribution over the true difference in rates
MIN_VIEWS = 100  # per variant, before the test may speak
MIN_ENGAGED = 10
_MAX_LOG = 709.0  # exp() of more overflows a float: Verdict.evidence stops there (~8e307), the verdict does not


def log_mixture_lr(views_a, engaged_a, views_b, engaged_b, tau: float = TAU):
    """log Λ for "B's rate differs from A's" (two-sided), elementwise over numpy arrays or plain numbers.
    0 where either variant has no views yet (no evidence either way)."""
    na, nb = np.asarray(views_a, dtype=float), np.asarray(views_b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra, rb = np.asarray(engaged_a, dtype=float) / na, np.asarray(engaged_b, dtype=float) / nb
        var = _variance(ra, na) + _variance(rb, nb)
        t2 = tau * tau
        log_lr = 0.5 * np.log(var / (var + t2)) + t2 * (rb - ra) ** 2 / (2 * var * (var + t2))
    return np.where((na > 0) & (nb > 0) & (var > 0), log_lr, 0.0)


def _variance(rate, n):
    """The binomial variance of a rate over n views, the rate clipped half a count inside (0, 1) so a variant with
    no engagement yet (or more engagements than views) still has a positive, finite variance."""
    p = np.clip(rate, 0.5 / n, 1 - 0.5 / n)
    return p * (1 - p) / n


def threshold(variants: int, alpha: float) -> float:
    """What Λ must reach: 1/α for two variants; (k − 1)/α for k (α split over the k − 1 comparisons with the best)."""
    return (variants - 1) / alpha


def leaders(views, engaged, alpha: float = 0.05, *, tau: float = TAU, min_views: int = MIN_VIEWS,
            min_engaged: int = MIN_ENGAGED):
    """The whole decision, vectorised: ``views`` and ``engaged`` have the variants on axis 0 (any further axes are
    separate experiments or looks). Returns (leader index or −1, log evidence, best rate's index, closest rival's index):
    the best rate leads when every variant has the minimum counts and its smallest log Λ against the others reaches
    log threshold."""
    views, engaged = np.asarray(views, dtype=float), np.asarray(engaged, dtype=float)
    k = views.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(views > 0, engaged / views, 0.0)
    best = np.argmax(rates, axis=0)
    pick = np.expand_dims(best, 0)
    best_views = np.take_along_axis(views, pick, 0)
    best_engaged = np.take_along_axis(engaged, pick, 0)
    log_lr = log_mixture_lr(views, engaged, best_views, best_engaged, tau)
    is_best = np.arange(k).reshape((k,) + (1,) * (views.ndim - 1)) == pick
    log_lr = np.where(is_best, np.inf, log_lr)
    rival = np.argmin(log_lr, axis=0)
    log_evidence = np.min(log_lr, axis=0)
    enough = np.all((views >= min_views) & (engaged >= min_engaged), axis=0)
    lead = np.where(enough & (log_evidence >= math.log(threshold(k, alpha))), best, -1)
    return lead, log_evidence, best, rival


def judge(experiment_id: str, variants: Sequence[VariantResult], alpha: float = 0.05, *, tau: float = TAU,
          min_views: int = MIN_VIEWS, min_engaged: int = MIN_ENGAGED) -> Verdict:
    """The dashboard's verdict on summed views and engagements per variant, with a plain statement of it."""
    _check(variants, alpha)
    views = np.array([v.views for v in variants], dtype=float)
    engaged = np.array([v.engaged for v in variants], dtype=float)
    lead_, log_evidence, best_, rival_ = leaders(views, engaged, alpha, tau=tau, min_views=min_views,
                                                min_engaged=min_engaged)
    lead, best, rival = int(lead_), int(best_), int(rival_)
    evidence = math.exp(min(float(log_evidence), _MAX_LOG))
    short = _not_enough(variants, min_views, min_engaged)
    if short:
        said = short
    elif lead >= 0:
        said = _leads(variants, lead, evidence, alpha)
    else:
        said = _no_leader(variants, best, rival, evidence, alpha, tau)
    return Verdict(experiment_id=experiment_id, variants=tuple(variants), leader=variants[lead].label if lead >= 0 else None,
                   said=said, alpha=alpha, evidence=evidence)


def views_needed(views_a: float, engaged_a: float, views_b: float, engaged_b: float, bar: float,
                 tau: float = TAU) -> float | None:
    """Views per variant at which Λ would reach ``bar`` if both rates held where they are now (both variants grown by
    the same factor); None when the rates are level or the answer is beyond any realistic audience (10¹⁰ views)."""
    if views_a <= 0 or views_b <= 0 or engaged_a * views_b == engaged_b * views_a:
        return None
    target = math.log(bar)

    def reaches(f: float) -> bool:
        return float(log_mixture_lr(views_a * f, engaged_a * f, views_b * f, engaged_b * f, tau)) >= target

    lo, hi = 1.0, 2.0
    while not reaches(hi):  # Λ grows without bound in f once the rates differ, so this ends
        lo, hi = hi, hi * 2
        if hi * max(views_a, views_b) > 1e10:
            return None
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
    return hi * (views_a + views_b) / 2


# -- the words ------------------------------------------------------------------------------------------------------


def _check(variants: Sequence[VariantResult], alpha: float) -> None:
    if len(variants) < 2:
        raise ValueError(f"An A/B test needs at least two variants; got {len(variants)}.")
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ValueError(f"Variant labels must differ; got {labels}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is a probability between 0 and 1 (0.05 is usual); got {alpha}.")
    bad = [v.label for v in variants if v.views < 0 or v.engaged < 0]
    if bad:
        raise ValueError(f"Views and engagements cannot be negative (variant {', '.join(bad)}).")


def _not_enough(variants: Sequence[VariantResult], min_views: int, min_engaged: int) -> str | None:
    few_views = [f"{v.label} has {v.views:,} view{'s' * (v.views != 1)}" for v in variants if v.views < min_views]
    if few_views:
        return f"Not enough data yet: {_and(few_views)}; a verdict needs at least {min_views:,} per variant."
    few = [f"{v.label} has {v.engaged:,} engagement{'s' * (v.engaged != 1)}" for v in variants if v.engaged < min_engaged]
    if few:
        return f"Not enough data yet: {_and(few)}; a verdict needs at least {min_engaged:,} per variant."
    return None


def _leads(variants: Sequence[VariantResult], lead: int, evidence: float, alpha: float) -> str:
    k = len(variants)
    winner = variants[lead]
    others = [v for i, v in enumerate(variants) if i != lead]
    if k == 2:
        rates = f"{_pct(winner)} vs {_pct(others[0])}"
        bar = f"{_num(threshold(k, alpha))} = 1/α"
    else:
        rates = f"{_pct(winner)} vs " + _and([f"{v.label} {_pct(v)}" for v in others])
        bar = f"{_num(threshold(k, alpha))} = {k - 1}/α, α split over {k - 1} comparisons"
    return (f"{winner.label} leads: {rates} engaged (evidence {_num(evidence)} ≥ {bar}). "
            "This holds however often you look.")


def _no_leader(variants: Sequence[VariantResult], best: int, rival: int, evidence: float, alpha: float,
               tau: float) -> str:
    k = len(variants)
    rates = " vs ".join(f"{v.label} {_pct(v)}" for v in variants)
    bar = threshold(k, alpha)
    head = f"No clear leader yet: {rates} engaged; the test would need evidence {_num(bar)} (it is {_num(evidence)})"
    b, r = variants[best], variants[rival]
    need = views_needed(r.views, r.engaged, b.views, b.engaged, bar, tau)
    if need is None:
        tail = ", and the rates are too close for any realistic number of views to tell them apart."
    else:
        tail = f", about {_round2(need):,} views per variant if this gap held."
    return head + tail + " Looking again after each snapshot does not weaken it."


def _pct(v: VariantResult) -> str:
    return f"{100 * v.engaged / v.views:.1f}%" if v.views else "–"


def _num(x: float) -> str:
    if x < 10:
        return f"{x:.1f}"
    if x < 1e6:
        return f"{x:,.0f}"
    return "over 1,000,000"


def _round2(x: float) -> int:
    """Two significant figures: an estimate should not look more precise than it is."""
    if x <= 0:
        return 0
    digits = int(math.floor(math.log10(x))) - 1
    return int(round(x, -digits)) if digits > 0 else int(round(x))


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
