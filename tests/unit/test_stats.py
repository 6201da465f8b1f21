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
import pandas as pd
import pytest
from scipy import stats

from synthir.stats import (ALPHA, Contrast, VariancePrior, contrast, contrast_of_tables, paired_randomization,
                           paired_replicates, replicate_table, with_priors)

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


def typical(contrasts: list[Contrast]) -> Contrast:
    """The contrast at each variance term's mean over simulated studies (its median degrees of
    freedom), whose detectable effect is the printed one to check power at: with 2 degrees of
    freedom a standard error's mean is 0.89 of its true value (its square is unbiased), so the
    mean of the printed effects would understate it."""
    terms = np.array([c.parts for c in contrasts])  # runs x terms x (variance, df)
    parts = zip(terms[:, :, 0].mean(axis=0), np.median(terms[:, :, 1], axis=0))
    return Contrast(0.0, tuple((float(v), float(d)) for v, d in parts), contrasts[0].replicates)


def rejection_rate(effect: float, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    hits, seen = 0, []
    for _ in range(RUNS):
        a, b = simulate(rng, effect)
        c = contrast([(1.0, a), (-1.0, b)])
        hits += c.p() < ALPHA
        seen.append(c)
    return hits / RUNS, typical(seen).mde()


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
    assert c.p() == pytest.approx(2 * stats.t.sf(abs(c.mean) / c.se, 49))
    seeds = np.vstack([a[0] + 0.05, a[0] - 0.05])
    wider = contrast([(1, seeds), (-1, a0), (-1, b), (1, b0)])
    assert wider.se > c.se and wider.replicates == (2, 1, 1, 1)
    with pytest.raises(ValueError, match="same queries"):
        contrast([(1, a), (-1, a[:, :10])])


# ------------------------------------------ a retrieval-tuned base: the query term dominates
#: configs/real-retriever.yaml's both-towers MiniLM: 800 human pairs gain +0.068 over the
#: untouched base in each of three draws (0.690 / 0.693 / 0.694: draw sd ~0.004) with a per-query
#: standard error of 0.013 (per-query gains spread ~0.23 and are much the same in every draw).
TUNED_GAIN_SD, TUNED_DRAW_SD, TUNED_NOISE_SD = 0.23, 0.004, 0.03


def simulate_tuned(rng: np.random.Generator, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """(trained: draws x queries, untouched base: 1 x queries): each query gains its own amount
    (mean ``effect`` over the population of queries), each draw shifts a little."""
    difficulty = rng.normal(0.6, QUERY_SD, QUERIES)
    gain = effect + rng.normal(0.0, TUNED_GAIN_SD, QUERIES)
    trained = (difficulty + gain + rng.normal(0.0, TUNED_DRAW_SD, (DRAWS, 1))
               + rng.normal(0.0, TUNED_NOISE_SD, (DRAWS, QUERIES)))
    return trained, difficulty[None, :]


def tuned_rejections(effect: float, seed: int, alpha: float = ALPHA) -> tuple[float, float, float]:
    """Rejection rate at ``alpha``, the mean printed detectable effect, and the mean detectable
    effect of a t test at the fewest degrees of freedom among the terms (what synthir did before)."""
    rng = np.random.default_rng(seed)
    hits, seen = 0, []
    for _ in range(RUNS // 2):
        trained, base = simulate_tuned(rng, effect)
        c = contrast([(1.0, trained), (-1.0, base)])
        hits += c.p() < alpha
        seen.append(c)
    mean = typical(seen)
    fewest = Contrast(0.0, ((mean.se**2, min(d for _, d in mean.parts)),), mean.replicates)
    return hits / (RUNS // 2), mean.mde(alpha), fewest.mde(alpha)


TUNED_SLACK = 3 * np.sqrt(ALPHA * (1 - ALPHA) / (RUNS // 2))


def test_a_tuned_base_whose_draws_agree_rejects_at_most_alpha_without_an_effect():
    rate, _, _ = tuned_rejections(0.0, seed=30)
    assert rate <= ALPHA + TUNED_SLACK, rate


def test_a_tuned_base_whose_draws_agree_has_about_80_percent_power_at_the_printed_mde():
    """... and that detectable effect is well below what 2 degrees of freedom allowed (at a
    family's alpha / 3, Holm's first step of real-retriever.yaml's summary, less than half)."""
    _, mde, _ = tuned_rejections(0.0, seed=31)
    power, _, _ = tuned_rejections(mde, seed=32)
    assert 0.72 <= power <= 0.88, (mde, power)
    _, mde, fewest = tuned_rejections(0.0, seed=33, alpha=ALPHA / 3)
    assert mde < fewest / 2, (mde, fewest)


def test_banerjees_critical_value_weights_each_term_by_its_own_t():
    c = Contrast(0.05, ((0.0001, 299.0), (0.00002, 2.0)), (3, 1))
    expected = np.sqrt(0.0001 * stats.t.isf(0.025, 299) ** 2 + 0.00002 * stats.t.isf(0.025, 2) ** 2)
    assert c.critical(0.05) == pytest.approx(expected)
    assert c.critical(c.p()) == pytest.approx(abs(c.mean), rel=1e-8)  # the p-value inverts the interval
    assert stats.t.isf(0.025, 299) * c.se < c.critical(0.05) < stats.t.isf(0.025, 2) * c.se
    negative = Contrast(-0.05, c.parts, c.replicates)
    assert negative.p() == pytest.approx(c.p())
    # TOST: the larger one-sided p, each inverting its one-sided critical value
    assert c.p_equivalent(0.2) < ALPHA < c.p_equivalent(0.06)
    lower = c.p_equivalent(0.2)
    assert c.critical(lower, tails=1) == pytest.approx(0.2 - 0.05, rel=1e-8)
    assert Contrast(0.0, ((0.0, 299.0),), (1, 1)).p() == 1.0
    # one term: Student's t, and its detectable effect the noncentral t's of its degrees of freedom
    one = Contrast(0.05, ((0.0004, 2.0),), (3, 3))
    assert one.p() == pytest.approx(2 * stats.t.sf(0.05 / 0.02, 2))
    nc = one.mde() / one.se
    assert stats.nct.sf(stats.t.isf(0.025, 2), 2, nc) == pytest.approx(0.8)


# ------------------------------------------------------------------ draws of the data, nested
#: Draw-to-draw spread of a cell's nDCG@10: the same 300-query SmolLM2 cell built twice, on two
#: CPUs that decoded other queries, gained +0.095 and +0.044 (sd ~0.036).
DRAWS, DRAW_SD, NESTED_RUNS = 3, 0.036, 1000


def simulate_nested(rng: np.random.Generator, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """(trained: draws x seeds x queries, untouched base: 1 x queries): each draw shifts all its
    seeds (they share its data), each seed shifts again within its draw."""
    difficulty = rng.normal(0.4, QUERY_SD, QUERIES)
    draw_shift = rng.normal(0.0, DRAW_SD, (DRAWS, 1, 1))
    seed_shift = rng.normal(0.0, SEED_SD, (DRAWS, SEEDS, 1))
    trained = difficulty + effect + draw_shift + seed_shift + rng.normal(0.0, NOISE_SD, (DRAWS, SEEDS, QUERIES))
    return trained, difficulty + rng.normal(0.0, NOISE_SD, (1, QUERIES))


def nested_rejections(effect: float, seed: int, flatten: bool = False) -> tuple[float, float]:
    """Rejection rate and mean printed detectable effect with replicate = draw (what
    replicate_table makes of these rows: the test below), or draws x seeds flattened."""
    rng = np.random.default_rng(seed)
    hits, seen = 0, []
    for _ in range(NESTED_RUNS):
        trained, base = simulate_nested(rng, effect)
        replicates = trained.reshape(DRAWS * SEEDS, QUERIES) if flatten else trained.mean(axis=1)
        c = contrast([(1.0, replicates), (-1.0, base)])
        hits += c.p() < ALPHA
        seen.append(c)
    return hits / NESTED_RUNS, typical(seen).mde()


def test_a_replicate_is_a_draw_averaged_over_its_seeds_else_a_seed():
    trained, _ = simulate_nested(np.random.default_rng(10), 0.0)
    d, s, q = np.meshgrid(range(DRAWS), range(SEEDS), range(QUERIES), indexing="ij")
    rows = pd.DataFrame({"draw": d.ravel(), "seed": s.ravel(), "query": q.ravel(), "score": trained.ravel()})
    assert np.allclose(replicate_table(rows).to_numpy(), trained.mean(axis=1))
    one_draw = rows[rows["draw"] == 1]
    assert np.allclose(replicate_table(one_draw).to_numpy(), trained[1])


def test_with_draws_and_seeds_and_no_effect_the_draw_level_test_rejects_at_most_alpha():
    rate, _ = nested_rejections(0.0, seed=6)
    assert rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / NESTED_RUNS), rate


def test_draws_times_seeds_as_exchangeable_replicates_reject_too_often():
    """Why a replicate is a draw: the seeds of one draw share its data."""
    rate, _ = nested_rejections(0.0, seed=7, flatten=True)
    assert rate > 2 * ALPHA, rate


def test_with_draws_power_at_the_printed_detectable_effect_is_about_80_percent():
    _, mde = nested_rejections(0.0, seed=8)
    power, _ = nested_rejections(mde, seed=9)
    assert 0.72 <= power <= 0.88, (mde, power)


# Set-level statistics (the retrieval SynthesizRR claim): one Self-BLEU per set, so one value per
# draw and arm; a draw's spread as a second draw shows it (sd ~1.5 Self-BLEU points between sets
# of one augmenter), with a shared draw effect that pairing removes.
SET_DRAWS, SET_SD, SHARED_SD = 3, 1.5, 1.0


def set_rejections(effect: float, seed: int) -> tuple[float, float, float]:
    """(paired t rejection rate, the printed MDE (see typical), rate of the old direction-only
    criterion: 'more diverse' whenever the mean over draws is lower) over RUNS simulated pairs of
    lines."""
    rng = np.random.default_rng(seed)
    hits, by_direction, seen = 0, 0, []
    for _ in range(RUNS):
        shared = rng.normal(0.0, SHARED_SD, SET_DRAWS)
        a = 20.0 - effect + shared + rng.normal(0.0, SET_SD, SET_DRAWS)  # rag: lower Self-BLEU by `effect`
        b = 20.0 + shared + rng.normal(0.0, SET_SD, SET_DRAWS)
        c = paired_replicates(-a, -b)  # oriented: positive = a more diverse
        hits += c.p() < ALPHA
        by_direction += a.mean() < b.mean()
        seen.append(c)
    return hits / RUNS, typical(seen).mde(), by_direction / RUNS


def test_a_set_statistic_over_draws_rejects_at_most_alpha_without_an_effect():
    rate, _, by_direction = set_rejections(0.0, seed=11)
    assert rate <= ALPHA + SLACK, rate
    assert by_direction > 0.4, by_direction  # a comparison by direction calls half of no-effect lines "more diverse"


def test_a_set_statistic_over_draws_has_about_80_percent_power_at_its_printed_mde():
    _, mde, _ = set_rejections(0.0, seed=12)
    power, _, _ = set_rejections(mde, seed=13)
    assert 0.72 <= power <= 0.88, (mde, power)


def test_paired_replicates_needs_two_paired_values():
    with pytest.raises(ValueError):
        paired_replicates([1.0], [2.0])
    with pytest.raises(ValueError):
        paired_replicates([1.0, 2.0], [2.0, 3.0, 4.0])


# ------------------------------------------------ a family of cells: the variance prior (limma)
#: A study's trained cells on one eval dataset and base: seven, as in configs/strategies.yaml and
#: configs/budget.yaml, three draws each, between-draw sd ~0.021 (the prior fitted to those
#: reports' SciFact cells: 0.021 and 0.026, their spread no more than sampling gives), half of
#: each draw's shift common to every cell of the draw (its passages and human rows are shared).
FAMILY, FAMILY_SD, COMMON, FAMILY_RUNS = 7, 0.021, 0.5, 600


def simulate_family(rng: np.random.Generator, sds: list[float], effect: float) -> tuple[list[np.ndarray], np.ndarray]:
    """(cells: draws x queries each, untouched base: 1 x queries)."""
    difficulty = rng.normal(0.4, QUERY_SD, QUERIES)
    common = rng.normal(0.0, 1.0, (DRAWS, 1))
    cells = [difficulty + effect + sd * (np.sqrt(COMMON) * common + np.sqrt(1 - COMMON) * rng.normal(0.0, 1.0, (DRAWS, 1)))
             + rng.normal(0.0, NOISE_SD, (DRAWS, QUERIES)) for sd in sds]
    return cells, difficulty + rng.normal(0.0, NOISE_SD, (1, QUERIES))


def family_rejections(sds: list[float], effect: float, seed: int, pooled: bool = True,
                      alpha: float = ALPHA) -> tuple[np.ndarray, float]:
    """Each cell's rejection rate against the untouched base, and the detectable effect at
    ``alpha`` printed for the first cell (see typical)."""
    rng = np.random.default_rng(seed)
    hits, first = np.zeros(len(sds)), []
    for _ in range(FAMILY_RUNS):
        cells, base = simulate_family(rng, sds, effect)
        prior = VariancePrior.fit(cells) if pooled else None
        for i, cell in enumerate(cells):
            c = contrast([(1.0, cell, prior), (-1.0, base)])
            hits[i] += c.p() < ALPHA
            if i == 0:
                first.append(c)
    return hits / FAMILY_RUNS, typical(first).mde(alpha)


FAMILY_SLACK = 3 * np.sqrt(ALPHA * (1 - ALPHA) / (FAMILY_RUNS * FAMILY))


def test_a_family_with_equal_variances_rejects_at_most_alpha_without_an_effect():
    rates, _ = family_rejections([FAMILY_SD] * FAMILY, 0.0, seed=20)
    assert rates.mean() <= ALPHA + FAMILY_SLACK, rates


def test_a_family_whose_variances_differ_4x_rejects_at_most_alpha_over_its_cells():
    """Between-draw sds 0.008 to 0.032. Over the family's cells the rate stays at alpha; the most
    variable cell, pooled with quieter ones, rejects more often (without the floor at its own
    variance, limma's posterior alone, it reached ~15%): the price VariancePrior documents."""
    rates, _ = family_rejections(list(np.geomspace(0.008, 0.032, FAMILY)), 0.0, seed=21)
    assert rates.mean() <= ALPHA + FAMILY_SLACK, rates
    assert rates.max() <= 2.5 * ALPHA, rates


def test_with_a_prior_power_at_the_printed_detectable_effect_is_about_80_percent():
    _, mde = family_rejections([FAMILY_SD] * FAMILY, 0.0, seed=22)
    power, _ = family_rejections([FAMILY_SD] * FAMILY, mde, seed=23)
    assert 0.72 <= power.mean() <= 0.88, (mde, power)


def test_the_prior_is_what_lets_three_draws_see_an_effect():
    """At the strictest level of a family of 14 tests (Holm's first step), the cell's own 2
    degrees of freedom print a detectable effect several times the moderated one."""
    _, alone = family_rejections([FAMILY_SD] * FAMILY, 0.0, seed=24, pooled=False, alpha=ALPHA / 14)
    _, moderated = family_rejections([FAMILY_SD] * FAMILY, 0.0, seed=24, alpha=ALPHA / 14)
    assert moderated < alone / 3, (moderated, alone)


def test_the_prior_pools_equal_variances_and_keeps_unequal_ones_apart():
    rng = np.random.default_rng(25)
    equal = VariancePrior.fit([rng.normal(0.0, 0.02, (3, 1)) + np.zeros((3, 5)) for _ in range(400)])
    assert equal is not None and equal.df > 20 and np.sqrt(equal.var) == pytest.approx(0.02, rel=0.25)
    apart = VariancePrior.fit([rng.normal(0.0, sd, (3, 1)) + np.zeros((3, 5)) for sd in np.geomspace(0.001, 0.1, 400)])
    assert apart is not None and apart.df < 5
    assert VariancePrior.fit([rng.normal(0.0, 0.02, (3, 5)) for _ in range(VariancePrior.MIN_CELLS - 1)]) is None
    one_replicate = [rng.normal(0.0, 0.02, (1, 5)) for _ in range(10)]
    assert VariancePrior.fit(one_replicate) is None


def test_a_moderated_variance_is_never_below_the_cells_own():
    prior = VariancePrior(df=10.0, var=0.0001, cells=7, pooled=14.0)
    assert prior.moderate(0.01, 2.0) == (0.01, 12.0)
    assert prior.moderate(0.00001, 2.0)[0] == pytest.approx((10 * 0.0001 + 2 * 0.00001) / 12)
    assert VariancePrior(float("inf"), 0.0004, 7, 14.0).moderate(0.0001, 2.0) == (0.0004, 14.0)


def test_priors_are_fitted_per_family_and_replicate_unit():
    rng = np.random.default_rng(26)

    def table(unit: str, replicates: int) -> pd.DataFrame:
        return pd.DataFrame(rng.normal(0.5, 0.1, (replicates, 4)), index=pd.Index(range(replicates), name=unit))

    tables = {("scifact", i): table("draw", 3) for i in range(5)}
    tables |= {("cisi", i): table("draw", 3) for i in range(2)}           # too few cells for a prior
    tables |= {("scifact", 10 + i): table("seed", 3) for i in range(5)}  # seeds: a prior of their own
    tables[("scifact", 99)] = table("draw", 1)                           # untouched: no spread, same prior
    cells = with_priors(tables, lambda k: k[0])
    draws, seeds = cells[("scifact", 0)].prior, cells[("scifact", 10)].prior
    assert draws is not None and seeds is not None and draws != seeds and draws.cells == seeds.cells == 5
    assert cells[("scifact", 99)].prior is draws and cells[("cisi", 0)].prior is None
    a, b = tables[("scifact", 0)].to_numpy(), tables[("scifact", 99)].to_numpy()
    c = contrast_of_tables([(1.0, cells[("scifact", 0)]), (-1.0, cells[("scifact", 99)])])
    var, _ = draws.moderate(float(np.var(a.mean(axis=1), ddof=1)), 2.0)
    assert c.se == pytest.approx(np.sqrt(np.var(a.mean(0) - b[0], ddof=1) / 4 + var / 3))
