"""synthir.stats validated by simulation: per-query nDCG@10 of a fine-tuned cell with three
training seeds against its untouched base, on 300 queries, with the spread measured on this
study (per-seed SciFact nDCG@10 of SPLADE-tiny + 800 SmolLM2 queries: 0.277 / 0.256 / 0.235,
sd 0.021; per-query scores spread ~0.25). With no effect, the seed-aware test rejects at most
5% of the time (within simulation error) where the query-only test, treating seed-averaged
scores as fixed, rejects far more; with a true effect at the printed minimum detectable effect,
it rejects about 80% of the time; and TOST calls a difference at the margin equivalent at
most 5% of the time."""

from __future__ import annotations

import numpy as np
import pytest

from synthir.stats import ALPHA, contrast, paired_randomization

QUERIES, SEEDS, RUNS = 300, 3, 2000
QUERY_SD, SEED_SD, NOISE_SD = 0.25, 0.021, 0.10
#: three standard errors of a 5% rate over RUNS simulated studies
SLACK = 3 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def simulate(rng: np.random.Generator, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """(trained: seeds x queries, untouched base: 1 x queries) sharing the queries' difficulty."""
    difficulty = rng.normal(0.4, QUERY_SD, QUERIES)
    seed_shift = rng.normal(0.0, SEED_SD, (SEEDS, 1))
    trained = difficulty + effect + seed_shift + rng.normal(0.0, NOISE_SD, (SEEDS, QUERIES))
    base = difficulty + rng.normal(0.0, NOISE_SD, (1, QUERIES))
    return trained, base


def rejection_rate(effect: float, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    hits, mdes = 0, []
    for _ in range(RUNS):
        a, b = simulate(rng, effect)
        c = contrast([(1.0, a), (-1.0, b)])
        hits += c.p() < ALPHA
        mdes.append(c.mde())
    return hits / RUNS, float(np.mean(mdes))


def test_with_no_effect_the_seed_aware_test_rejects_at_most_alpha():
    rate, _ = rejection_rate(0.0)
    assert rate <= ALPHA + SLACK, rate


def test_the_query_only_test_ignores_seed_variance_and_rejects_too_often():
    """What summary.csv did with one seed per cell, shown on three: the seed-averaged per-query
    differences as if fixed. (The sign-flip test, fewer runs: it draws 10,000 flips each.)"""
    rng = np.random.default_rng(1)
    runs = 200
    hits = sum(paired_randomization((a.mean(0) - b[0]), rng) < ALPHA for a, b in (simulate(rng, 0.0) for _ in range(runs)))
    assert hits / runs > 3 * ALPHA, hits / runs


def test_at_the_printed_minimum_detectable_effect_power_is_about_80_percent():
    _, mde = rejection_rate(0.0, seed=2)
    power, _ = rejection_rate(mde, seed=3)
    assert 0.72 <= power <= 0.88, (mde, power)


def test_equivalence_at_the_margin_is_claimed_at_most_alpha():
    """TOST with a margin as large as the true difference: 'equivalent' at most 5% of the time;
    with no difference and a margin well above the detectable effect, nearly always."""
    rng = np.random.default_rng(4)
    margin = 0.05
    at_margin = np.mean([contrast([(1.0, a), (-1.0, b)]).p_equivalent(margin) < ALPHA
                         for a, b in (simulate(rng, margin) for _ in range(RUNS))])
    assert at_margin <= ALPHA + SLACK, at_margin
    none = np.mean([contrast([(1.0, a), (-1.0, b)]).p_equivalent(margin) < ALPHA
                    for a, b in (simulate(rng, 0.0) for _ in range(RUNS // 4))])
    assert none > 0.5, none


def test_a_contrast_of_differences_counts_every_cell_once():
    """(a - a0) - (b - b0) with one replicate each is the paired t-test on the per-query
    double differences; a replicated cell adds its seed spread."""
    rng = np.random.default_rng(5)
    a, a0, b, b0 = (rng.normal(0.5, 0.2, (1, 50)) for _ in range(4))
    c = contrast([(1, a), (-1, a0), (-1, b), (1, b0)])
    d = (a - a0 - b + b0)[0]
    assert c.mean == pytest.approx(d.mean()) and c.se == pytest.approx(d.std(ddof=1) / np.sqrt(50))
    assert c.df == pytest.approx(49)
    seeds = np.vstack([a[0] + 0.05, a[0] - 0.05])
    wider = contrast([(1, seeds), (-1, a0), (-1, b), (1, b0)])
    assert wider.se > c.se and wider.replicates == (2, 1, 1, 1)
    with pytest.raises(ValueError, match="same queries"):
        contrast([(1, a), (-1, a[:, :10])])
