"""The A/B test (studio/analytics/stats.py): it finds a planted difference, and with none it stays at or below α while
the dashboard looks after every daily snapshot for 30 days — where a plain z-test under the same peeking does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps

from studio.analytics.stats import MIN_ENGAGED, MIN_VIEWS, judge, leaders, log_mixture_lr, threshold
from studio.analytics.types import VariantResult

ALPHA = 0.05
DAYS = 30
EXPERIMENTS = 4000


def _variant(label: str, views: int, engaged: int) -> VariantResult:
    return VariantResult(label=label, short_id=f"s-{label}", post_ids=(), views=views, engaged=engaged,
                         rate=engaged / views if views else None)


def _simulate(rng: np.random.Generator, rates: np.ndarray, experiments: int = EXPERIMENTS,
              first_day: tuple[float, float] = (100, 3000)) -> tuple[np.ndarray, ...]:
    """Cumulative views and engagements after each daily snapshot, shape (variants, experiments, days). Each experiment
    has its own audience (``first_day`` views per variant) and decay (a short's views fade over days); rates has
    shape (variants, experiments)."""
    k = rates.shape[0]
    start = rng.uniform(*first_day, experiments)[:, None]
    fade = rng.uniform(2, 15, experiments)[:, None]
    daily_mean = start * np.exp(-np.arange(DAYS) / fade) + 20
    daily = rng.poisson(np.broadcast_to(daily_mean, (k, experiments, DAYS)))
    engaged = rng.binomial(daily, rates[:, :, None])
    return daily.cumsum(-1), engaged.cumsum(-1)


def _naive_z_rejects(views: np.ndarray, engaged: np.ndarray) -> np.ndarray:
    """A fixed-sample two-proportion z-test at α, looked at after every snapshot (same minimum counts)."""
    pooled = engaged.sum(0) / views.sum(0)
    se = np.sqrt(pooled * (1 - pooled) * (1 / views[0] + 1 / views[1]))
    z = (engaged[1] / views[1] - engaged[0] / views[0]) / se
    enough = np.all((views >= MIN_VIEWS) & (engaged >= MIN_ENGAGED), axis=0)
    return enough & (np.abs(z) >= sps.norm.ppf(1 - ALPHA / 2))


@pytest.fixture(scope="module")
def null_runs():
    """Two variants with the same true rate (2–8 %, varying per experiment), evaluated after each of 30 days."""
    rng = np.random.default_rng(20240617)
    base = rng.uniform(0.02, 0.08, EXPERIMENTS)
    views, engaged = _simulate(rng, np.stack([base, base]))
    lead, _, _, _ = leaders(views, engaged, ALPHA)
    return views, engaged, lead


def test_with_no_difference_the_false_positive_rate_stays_below_alpha_however_often_it_looks(null_runs):
    _, _, lead = null_runs
    ever = (lead >= 0).any(axis=-1)  # a winner declared at any of the 30 looks is a false positive
    rate = ever.mean()
    se = math.sqrt(ALPHA * (1 - ALPHA) / EXPERIMENTS)
    print(f"mSPRT, 2 variants, {EXPERIMENTS} experiments × {DAYS} daily looks: false-positive rate {rate:.4f}")
    assert rate <= ALPHA - 2 * se  # well inside α, not just within sampling noise of it


def test_a_naive_z_test_under_the_same_peeking_exceeds_alpha(null_runs):
    """The check above could fail: the same data and looks push a fixed-sample test far past α."""
    views, engaged, _ = null_runs
    rate = _naive_z_rejects(views, engaged).any(axis=-1).mean()
    at_the_end = _naive_z_rejects(views[..., -1:], engaged[..., -1:]).mean()
    print(f"naive z-test: {rate:.4f} when peeking daily, {at_the_end:.4f} looking once at day {DAYS}")
    assert rate > 2 * ALPHA
    assert at_the_end <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / EXPERIMENTS)  # fine if you look only once


def test_three_variants_with_no_difference_stay_below_alpha():
    rng = np.random.default_rng(7)
    base = rng.uniform(0.02, 0.08, EXPERIMENTS)
    views, engaged = _simulate(rng, np.stack([base, base, base]))
    lead, _, _, _ = leaders(views, engaged, ALPHA)
    rate = (lead >= 0).any(axis=-1).mean()
    print(f"mSPRT, 3 variants (Bonferroni over 2 comparisons): false-positive rate {rate:.4f}")
    assert rate <= ALPHA


def test_a_planted_difference_is_found_and_the_right_variant_leads():
    rng = np.random.default_rng(11)
    n = 500
    # enough views: 2,000–4,000 on the first day per variant, fading over days
    views, engaged = _simulate(rng, np.stack([np.full(n, 0.05), np.full(n, 0.07)]), experiments=n,
                               first_day=(2000, 4000))
    lead, _, _, _ = leaders(views, engaged, ALPHA)
    found = (lead[:, -1] == 1).mean()
    wrong = (lead == 0).any(axis=-1).mean()
    print(f"5% vs 7%: B leads by day {DAYS} in {found:.3f} of {n} experiments; A ever led in {wrong:.3f}")
    assert found >= 0.95
    assert wrong <= ALPHA


def test_the_dashboard_statement_for_a_clear_leader():
    v = judge("exp", [_variant("A", 20_000, 820), _variant("B", 20_000, 1_200)])
    assert v.leader == "B"
    assert v.said.startswith("B leads: 6.0% vs 4.1% engaged (evidence ")
    assert "≥ 20 = 1/α" in v.said and v.said.endswith("This holds however often you look.")
    assert v.evidence >= 20


def test_not_enough_data_is_said_plainly():
    v = judge("exp", [_variant("A", 2_000, 82), _variant("B", 40, 3)])
    assert v.leader is None
    assert v.said == "Not enough data yet: B has 40 views; a verdict needs at least 100 per variant."
    v = judge("exp", [_variant("A", 2_000, 82), _variant("B", 400, 4)])
    assert v.said == "Not enough data yet: B has 4 engagements; a verdict needs at least 10 per variant."


def test_no_clear_leader_says_what_the_test_would_need():
    v = judge("exp", [_variant("A", 2_000, 82), _variant("B", 2_000, 76)])
    assert v.leader is None
    assert v.said.startswith("No clear leader yet: A 4.1% vs B 3.8% engaged; the test would need evidence 20 (it is ")
    assert "views per variant if this gap held" in v.said
    # the views it names would indeed be enough if the rates held
    need = int(v.said.split("about ")[1].split(" views")[0].replace(",", ""))
    scale = need / 2_000 * 1.05
    assert float(log_mixture_lr(2_000 * scale, 82 * scale, 2_000 * scale, 76 * scale)) >= math.log(20)
    level = judge("exp", [_variant("A", 3_000, 120), _variant("B", 3_000, 120)])
    assert "too close" in level.said and level.leader is None


def test_three_variants_split_alpha_over_the_comparisons_with_the_best():
    assert threshold(3, ALPHA) == pytest.approx(40)
    v = judge("exp", [_variant("A", 3_000, 120), _variant("B", 3_000, 180), _variant("C", 3_000, 117)])
    assert v.leader == "B"
    assert "≥ 40 = 2/α, α split over 2 comparisons" in v.said
    # evidence between 20 and 40 is enough for two variants but not for three
    two = judge("exp", [_variant("A", 3_000, 120), _variant("B", 3_000, 175)])
    three = judge("exp", [_variant("A", 3_000, 120), _variant("B", 3_000, 175), _variant("C", 3_000, 121)])
    assert 20 <= two.evidence < 40 and two.leader == "B"
    assert three.leader is None and three.said.startswith("No clear leader yet")


def test_the_mixture_likelihood_ratio_is_the_integral_it_claims_to_be():
    """Λ = ∫ N(d; θ, V) / N(d; 0, V) dN(θ; 0, τ²), checked by numerical integration."""
    va, ea, vb, eb, tau = 1_500, 60, 1_700, 95, 0.01
    ra, rb = ea / va, eb / vb
    var = ra * (1 - ra) / va + rb * (1 - rb) / vb
    d = rb - ra

    def integrand(theta: float) -> float:
        return (sps.norm.pdf(d, theta, math.sqrt(var)) / sps.norm.pdf(d, 0, math.sqrt(var))
                * sps.norm.pdf(theta, 0, tau))

    expected, _ = integrate.quad(integrand, -10 * tau, 10 * tau, points=[d])
    assert math.exp(float(log_mixture_lr(va, ea, vb, eb, tau))) == pytest.approx(expected, rel=1e-6)
    assert float(log_mixture_lr(va, ea, vb, eb, tau)) == pytest.approx(float(log_mixture_lr(vb, eb, va, ea, tau)))


def test_bad_requests_fail_early_with_a_reason():
    with pytest.raises(ValueError, match="two variants"):
        judge("exp", [_variant("A", 100, 10)])
    with pytest.raises(ValueError, match="alpha"):
        judge("exp", [_variant("A", 100, 10), _variant("B", 100, 10)], alpha=1.5)
    with pytest.raises(ValueError, match="labels must differ"):
        judge("exp", [_variant("A", 100, 10), _variant("A", 100, 10)])
