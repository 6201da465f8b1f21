"""The statistics synthir's reports rest on, in one place: intervals, paired tests, the minimum
detectable effect, multiple-testing adjustments. (Self-BLEU, the set statistic both tasks
report, is synthir.self_bleu: the set-statistics jobs import it, and a change here should rerun
only the reports.) Pure functions of arrays; the report
writers (synthir.retrieval.report.summary, synthir.retrieval.report.claims, synthir.classification.report) decide
what is compared with what.

Hand-written rather than scipy.stats.permutation_test / bootstrap because the reports need
the same seeded per-query resamples across many comparisons (a whole line of scales, every
cell of a family); scipy gives the t and normal quantiles and the Benjamini-Hochberg
adjustment.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

#: Sign flips of the paired randomization test.
PERMUTATIONS = 10_000
#: Paired bootstrap resamples (examples resampled with replacement).
RESAMPLES = 2_000
ALPHA, POWER = 0.05, 0.80
#: Draws of the data a cell needs before a claim rests on it, in either task: training seeds
#: alone leave the variance of the data unmeasured (one pool, one sample of passages and rows).
MIN_DRAWS = 3
#: The verdict words both tasks' claims use beside "supported" and "contradicted".
NOT_DETECTABLE = "not detectable at this power"
NOT_MEASURED = "not measured by this study"
K = TypeVar("K")


def t_interval(values: np.ndarray) -> tuple[float, float]:
    """95% Student t interval of the mean; (nan, nan) below two values (no spread to measure)."""
    from scipy import stats

    if len(values) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def paired_randomization(diff: np.ndarray, rng: np.random.Generator) -> float:
    """Two-sided p-value of mean(diff) = 0 by random sign flips (with the +1 correction).

    ``PERMUTATIONS`` draws cannot resolve a p-value below 1 / (PERMUTATIONS + 1), and a family
    of a few hundred tests needs smaller ones to survive Holm's adjustment; when no draw is as
    extreme as the observation, the p-value is the normal approximation of the same sign-flip
    distribution (its mean has variance sum(d^2) / n^2 under the null), which is what the
    Monte Carlo estimate converges to in the tail, capped at 1 / (PERMUTATIONS + 1) so that a
    more extreme observation never gets a larger p-value than one a single draw matched."""
    from scipy import stats

    if len(diff) == 0 or not np.any(diff):
        return 1.0
    observed = abs(diff.mean())
    signs = rng.choice([-1.0, 1.0], size=(PERMUTATIONS, len(diff)))
    null = np.abs((signs * diff).mean(axis=1))
    extreme = int(np.sum(null >= observed - 1e-12))
    if extreme == 0:
        z = abs(diff.sum()) / np.sqrt(np.sum(diff**2))
        return float(min(2 * stats.norm.sf(z), 1 / (PERMUTATIONS + 1)))
    return float((1 + extreme) / (1 + PERMUTATIONS))


def minimum_detectable_effect(diff: np.ndarray, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest mean difference a paired two-sided test at ``alpha`` detects with ``power``,
    from the per-query differences' spread (normal approximation):
    ``(z_{1-alpha/2} + z_power) * sd(d) / sqrt(n)``."""
    from scipy import stats

    if len(diff) < 2:
        return float("nan")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * diff.std(ddof=1) / np.sqrt(len(diff)))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: sort ascending, p_(i) * (m - i + 1), running maximum, cap 1."""
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), scipy's."""
    from scipy.stats import false_discovery_control

    return false_discovery_control(p, method="bh") if len(p) else p


def paired_bootstrap(a: np.ndarray, b: np.ndarray, seed: int = 0,
                     resamples: int = RESAMPLES) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired examples and its 95% percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(resamples, len(a)))
    diffs = a[idx].mean(1) - b[idx].mean(1)
    return float(a.mean() - b.mean()), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def independent_bootstrap(a: Sequence[Any], b: Sequence[Any], stat: Callable[[list[Any]], float], seed: int = 0,
                          resamples: int = RESAMPLES // 4) -> tuple[float, float, float, float]:
    """``stat(a) - stat(b)``, a 95% interval, each set resampled independently, and the
    two-sided p-value that inverts the same interval.

    The basic (reverse-percentile) interval, not the percentile one: a resample repeats
    examples, which lowers a set statistic such as an entropy by an amount that depends on the
    set, so percentiles of resampled values sit below the estimate; the basic interval corrects
    that bias. Its level-alpha interval excludes 0 when fewer than alpha/2 of the resampled
    differences lie beyond 2d (on d's side), so p = 2 (k + 1) / (R + 1) for k such resamples of
    R (capped at 1): the p-value a multiplicity adjustment needs, consistent with the interval."""
    rng = np.random.default_rng(seed)

    def resampled(values: Sequence[Any]) -> np.ndarray:
        n = len(values)
        return np.array([stat([values[i] for i in rng.integers(0, n, n)]) for _ in range(resamples)])

    diffs = resampled(a) - resampled(b)
    d = float(stat(list(a)) - stat(list(b)))
    beyond = int(np.sum(diffs >= 2 * d)) if d > 0 else int(np.sum(diffs <= 2 * d))
    p = min(1.0, 2 * (beyond + 1) / (resamples + 1))
    return d, 2 * d - float(np.percentile(diffs, 97.5)), 2 * d - float(np.percentile(diffs, 2.5)), p


@dataclass(frozen=True)
class Contrast:
    """A linear contrast of cells (e.g. a - b, or (a - a0) - (b - b0)) estimated on shared eval
    queries, with every source of variance its cells' replicates show.

    A cell is a replicates x queries matrix of scores (a replicate: one training seed, or one
    draw of the data and seed); the estimate is sum_i c_i * mean(cell_i). Its variance has a
    query term, var_q(sum_i c_i * mean_r cell_i[r, q]) / n (paired over queries: the same
    queries in every cell), and a replicate term per cell with at least two replicates,
    c_i^2 * var_r(mean_q cell_i[r, q]) / k_i: the spread of a cell's mean over its replicates,
    which the query term alone ignores. This is the variance decomposition of a balanced linear
    mixed model with random query and replicate effects (accounting for training-seed and
    data-sampling variance as Bouthillier et al., arXiv:2103.03098, recommend); ``parts`` holds
    each term's variance and degrees of freedom (n - 1; k - 1 for k replicates, more where a
    variance prior moderates it). A cell with one replicate contributes no replicate term: its
    seed variance is unknown, and ``replicates`` says so (claims need at least three).

    The test is Banerjee's (1960, "Approximate confidence interval for linear functions of means
    of k populations when the population variances are not equal", Sankhya 22): the level-alpha
    critical value is sqrt(sum_i t_i^2 * v_i), each term weighted by the t quantile of its own
    degrees of freedom, which keeps the level whatever the terms' true ratio. Where one term
    dominates it becomes that term's t test: the replicate term's (three draws: 2 degrees of
    freedom) or the query term's (hundreds of queries: nearly a z test), where a t test at the
    fewest degrees of freedom among the terms, synthir's test before, asked a retrieval-tuned base
    whose draws agree to 0.004 for t ~ 8 on a query spread of 0.013. Welch-Satterthwaite degrees
    of freedom (Satterthwaite 1946) were tried before that and rejected 7% of the time with no
    effect in the simulation of tests/unit/test_stats.py, where the replicate term dominates: with
    2 degrees of freedom, a small variance estimate also raises the estimated degrees of freedom.
    tests/unit/test_stats.py validates this test in both regimes and between them."""

    mean: float
    #: (variance, degrees of freedom) of each independent term of the estimate's variance
    parts: tuple[tuple[float, float], ...]
    replicates: tuple[int, ...]

    @property
    def se(self) -> float:
        return float(np.sqrt(sum(v for v, _ in self.parts)))

    def critical(self, alpha: float, tails: int = 2) -> float:
        """Banerjee's critical value of the estimate: the half-width of its level-(1 - alpha)
        interval (``tails`` 2), or its one-sided bound (1); negative for a one-sided alpha
        above 1/2."""
        from scipy import special

        v, d = self._live()
        t = -special.stdtrit(d, alpha / tails)  # Student's t quantile of the upper tail alpha / tails
        return float(np.copysign(np.sqrt(np.sum(v * t * t)), 0.5 - alpha / tails))

    def _live(self) -> tuple[np.ndarray, np.ndarray]:
        """Variances and degrees of freedom of the terms that vary."""
        live = [(v, d) for v, d in self.parts if v > 0]
        return np.array([v for v, _ in live]), np.array([d for _, d in live])

    def _p_one_sided(self, x: float) -> float:
        """p-value of the one-sided test that rejects 'contrast <= 0' when the estimate, here
        ``x``, exceeds the one-sided critical value: the alpha at which the two are equal. It
        lies between Student's t p-values of x / se at the terms' most and fewest degrees of
        freedom (the critical value over se is a weighted root mean square of their t quantiles)."""
        from scipy import optimize, special

        v, d = self._live()
        if len(v) == 0:
            return 0.5 if x == 0 else float(x < 0)
        if x < 0:
            return 1.0 - self._p_one_sided(-x)
        k = x / float(np.sqrt(v.sum()))
        lo, hi = float(special.stdtr(d.max(), -k)), float(special.stdtr(d.min(), -k))  # upper tails at k
        if hi <= lo or x == 0:  # one term, or all of one degrees of freedom: Student's t itself
            return hi
        if lo == 0.0:
            lo = np.nextafter(0.0, 1.0)
        f = lambda log_alpha: self.critical(float(np.exp(log_alpha)), tails=1) - x  # noqa: E731 - decreasing
        if f(np.log(hi)) >= 0:  # far in the tails the quantiles lose the precision the bracket assumes
            return hi
        if f(np.log(lo)) <= 0:
            return lo
        return float(np.exp(optimize.brentq(f, np.log(lo), np.log(hi), xtol=1e-12, rtol=1e-12)))

    def p(self) -> float:
        """Two-sided p-value of contrast = 0."""
        return float(min(1.0, 2 * self._p_one_sided(abs(self.mean))))

    def p_equivalent(self, margin: float) -> float:
        """Two one-sided tests (TOST, Schuirmann 1987) of |contrast| < ``margin``: the larger of
        the two one-sided p-values; below alpha, the contrast is within the margin."""
        lower = self._p_one_sided(self.mean + margin)  # H0: contrast <= -margin
        upper = self._p_one_sided(margin - self.mean)  # H0: contrast >= +margin
        return float(max(lower, upper))

    def mde(self, alpha: float = ALPHA, power: float = POWER) -> float:
        """Smallest true contrast the two-sided test at ``alpha`` detects with ``power``, the
        terms' variances taken as estimated. The critical value is itself an estimate: its square,
        sum_i t_i^2 * v_i, is approximated as a scaled chi-square with Satterthwaite's degrees of
        freedom nu (1946), so the test rejects when a noncentral t with nu degrees of freedom
        exceeds critical / se; the noncentrality at which it does with probability ``power``,
        times the standard error, is the effect. With one dominant term this is the noncentral t
        of its own degrees of freedom: with few, (t_{1-alpha/2} + t_power) * se would promise
        power the test does not have."""
        from scipy import optimize, stats

        if self.se == 0:
            return 0.0
        weighted = [(float(v) * float(stats.t.isf(alpha / 2, d)) ** 2, float(d)) for v, d in zip(*self._live())]
        total = sum(w for w, _ in weighted)
        nu = total**2 / sum(w * w / d for w, d in weighted)
        crit = float(np.sqrt(total)) / self.se
        nc = optimize.brentq(lambda x: stats.nct.sf(crit, nu, x) - power, 0.0, 20.0 * crit)
        return float(nc * self.se)


@dataclass(frozen=True)
class VariancePrior:
    """What the other cells of a study say about one cell's replicate variance: the empirical
    Bayes prior of limma's moderated t (Smyth 2004, "Linear models and empirical Bayes methods
    for assessing differential expression in microarray experiments", Stat. Appl. Genet. Mol.
    Biol. 3(1); limma's ``fitFDist`` and ``squeezeVar``, written out here because limma is R
    and the Python ports are not maintained libraries).

    Three draws give a cell's replicate variance 2 degrees of freedom, and a t test on 2 needs
    t ~ 10 at a family's alpha/5, so no control passes. The cells of one study, evaluated on the
    same queries by the same base, have replicate variances of the same kind; the prior is
    fitted to them (``df`` degrees of freedom around ``var``: a scaled inverse chi-square), and
    a cell's variance is moderated toward it, with ``df`` more degrees of freedom. When the
    cells' variances differ more than sampling explains, ``df`` comes out small and little is
    pooled; when they do not, ``df`` is large (up to every cell's degrees of freedom together,
    limma's cap). The assumption it adds: the cells of a family share one distribution of
    replicate variance. tests/unit/test_stats.py validates the test by simulation, with equal
    variances, variances 4x apart between cells, and draws that move every cell of a study
    together: with no effect it rejects at most 5% of the time over a family's cells; a cell
    whose variance is well above its family's still rejects more often than that (the price of
    the pooling, bounded in the same tests)."""

    df: float
    var: float
    cells: int
    pooled: float

    #: Fewer cells fit no prior: the spread of a few variances says little about their prior.
    MIN_CELLS = 4

    @classmethod
    def fit(cls, tables: Sequence[Any]) -> VariancePrior | None:
        """The prior of replicates x queries tables (arrays or DataFrames) with two or more
        replicates each and a positive spread over them; None below MIN_CELLS of them."""
        from scipy import special

        found = [(float(np.var(m.mean(axis=1), ddof=1)), m.shape[0] - 1)
                 for m in (np.atleast_2d(np.asarray(t, dtype=float)) for t in tables) if m.shape[0] > 1]
        found = [(v, d) for v, d in found if v > 0]
        if len(found) < cls.MIN_CELLS:
            return None
        var, df = np.array([v for v, _ in found]), np.array([d for _, d in found], dtype=float)
        e = np.log(var) - special.digamma(df / 2) + np.log(df / 2)
        spread = float(np.var(e, ddof=1) - np.mean(special.polygamma(1, df / 2)))
        if spread <= 0:  # no more spread than sampling gives: one variance for every cell
            return cls(float("inf"), float(np.exp(e.mean())), len(found), float(df.sum()))
        d0 = 2 * _trigamma_inverse(spread)
        s0 = float(np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2)))
        return cls(d0, s0, len(found), float(df.sum()))

    def moderate(self, var: float, df: float) -> tuple[float, float]:
        """A cell's replicate variance moderated by the prior, and its degrees of freedom: the
        prior's plus its own, at most every fitted cell's together (``pooled``, limma's cap).
        The variance is limma's posterior, but never below the cell's own: a cell whose draws
        spread more than its neighbours' keeps its spread (limma would shrink it, and a
        high-variance cell would then reject too often: tests/unit/test_stats.py)."""
        if np.isinf(self.df):
            return max(self.var, var), self.pooled
        return max((self.df * self.var + df * var) / (self.df + df), var), min(self.df + df, self.pooled)


def _trigamma_inverse(y: float) -> float:
    """x with trigamma(x) = y (trigamma decreases from infinity to 0 on x > 0)."""
    from scipy import optimize, special

    hi = 1.0
    while special.polygamma(1, hi) > y:
        hi *= 2
    return float(optimize.brentq(lambda x: special.polygamma(1, x) - y, 1e-8, hi))


def contrast(terms: Sequence[tuple[float, np.ndarray] | tuple[float, np.ndarray, VariancePrior | None]]) -> Contrast:
    """The contrast sum_i c_i * cell_i of ``terms`` = [(c_i, replicates x queries matrix[, prior]), ...];
    every matrix has the same queries in the same column order. See Contrast; a cell given a
    prior has its replicate variance moderated by it (VariancePrior.moderate)."""
    cells = [(t[0], np.atleast_2d(np.asarray(t[1], dtype=float)), t[2] if len(t) > 2 else None) for t in terms]
    n = cells[0][1].shape[1]
    if n < 2 or any(m.shape[1] != n for _, m, _ in cells):
        raise ValueError("every cell needs the same queries, at least two")
    per_query = sum(c * m.mean(axis=0) for c, m, _ in cells)
    parts = [(float(np.var(per_query, ddof=1)) / n, float(n - 1))]
    for c, m, prior in cells:
        if c != 0 and m.shape[0] > 1:
            var, df = float(np.var(m.mean(axis=1), ddof=1)), float(m.shape[0] - 1)
            if prior is not None:
                var, df = prior.moderate(var, df)
            parts.append((c * c * var / m.shape[0], df))
    return Contrast(float(per_query.mean()), tuple(parts), tuple(m.shape[0] for _, m, _ in cells))



def replicate_table(rows: Any) -> Any:
    """One cell's replicates x queries table from its long rows (columns draw, seed, query,
    score). With several draws of the data, a replicate is a draw: the mean over its seeds. The
    top level of a nested design carries the variance of every level below it (the ultimate
    cluster estimator, Hansen, Hurwitz & Madow 1953), whereas draws x seeds taken as exchangeable
    replicates would treat the seeds of one draw, which share its data, as independent and
    understate the variance (tests/unit/test_stats.py shows both by simulation). With one draw,
    a replicate is a training seed, and the data's variance is not measured."""
    unit = "draw" if rows["draw"].nunique() > 1 else "seed"
    return rows.pivot_table(index=unit, columns="query", values="score", aggfunc="mean")


@dataclass(frozen=True)
class Replicates:
    """One cell: its replicates x queries DataFrame (:func:`replicate_table`) and the prior
    of its study's cells of the same kind (:func:`with_priors`; None: its own variance only)."""

    table: Any
    prior: VariancePrior | None = None


def with_priors(tables: Mapping[K, Any], family: Callable[[K], Hashable]) -> dict[K, Replicates]:
    """Every cell of ``tables`` with the prior fitted to the cells of its ``family`` (e.g. the
    same eval dataset, base and metric) whose replicates are of the same unit (draws, or seeds
    of one draw: :func:`replicate_table`), so a draw's variance is never pooled with a seed's."""
    groups: dict[Hashable, list[K]] = {}
    for k, t in tables.items():
        groups.setdefault((family(k), t.index.name), []).append(k)
    priors = {g: VariancePrior.fit([tables[k] for k in ks]) for g, ks in groups.items()}
    return {k: Replicates(t, priors[(family(k), t.index.name)]) for k, t in tables.items()}


def contrast_of_tables(terms: Sequence[tuple[float, Replicates]]) -> Contrast:
    """contrast() of cells (:class:`Replicates`), aligned on the first cell's queries (a query
    another cell lacks scores 0 there); each replicated cell's variance moderated by its prior."""
    queries = terms[0][1].table.columns
    return contrast([(c, r.table.reindex(columns=queries).fillna(0.0).to_numpy(), r.prior) for c, r in terms])


def paired_replicates(a: Sequence[float], b: Sequence[float]) -> Contrast:
    """a - b of a statistic measured once per replicate (a draw of the data), paired by
    replicate: the mean difference, its standard error over the replicates and k - 1 degrees of
    freedom (a paired t test). For set-level statistics such as Self-BLEU or distinct-2, which
    have no per-query scores to pair: each draw's value already carries its set's sampling
    variance, so the spread over draws carries every level below it (the ultimate cluster
    estimator, as in :func:`replicate_table`). Pairing by draw is valid whether or not the two
    arms share a draw's passages; it gains power where they do."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError("paired replicates need two equal-length sequences of at least two values")
    return Contrast(float(d.mean()), ((float(d.var(ddof=1) / len(d)), float(len(d) - 1)),), (len(d), len(d)))



__all__ = ["ALPHA", "PERMUTATIONS", "POWER", "RESAMPLES", "Contrast", "Replicates", "VariancePrior", "benjamini_hochberg", "contrast", "contrast_of_tables", "holm",
           "paired_replicates", "replicate_table", "with_priors",
           "independent_bootstrap",
           "minimum_detectable_effect", "paired_bootstrap", "paired_randomization", "t_interval"]
