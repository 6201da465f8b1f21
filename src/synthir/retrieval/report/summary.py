"""Statistics a reviewer can trust: ``summary.csv`` and ``summary.png``.

One row per (train dataset, eval dataset, augmenter, strategy, scale, base, metric), its draws
of the data and training seeds pooled. Every test is paired on the eval queries (the same queries
in both cells). A cell's replicates are its draws, each the mean over its seeds, when it has
several draws, else its seeds (synthir.stats.replicate_table: seeds of one draw share its data).

- ``mean`` over replicates with a 95% confidence interval (Student t over replicate means; empty
  with one replicate: it has no spread to measure).
- ``gain`` over the cell's own baseline (its base at scale 0; untrained, so seed-free) and
  ``p_value`` of a two-sided test. Where both cells have one seed, the queries are the only
  spread the data show: a paired randomization test over them (``synthir.stats.PERMUTATIONS``
  sign flips, seeded; beyond their resolution, the normal approximation of the same test: see
  synthir.stats.paired_randomization), which cannot count seed variance. Where a cell has
  more replicates, its spread over them counts too: synthir.stats.contrast (Banerjee's test on
  the query and replicate variance terms, the replicate variance moderated by the cells of the same
  training dataset, eval dataset, base and metric: synthir.stats.VariancePrior;
  tests/unit/test_stats.py validates it by simulation).
- ``mde``: the minimum detectable effect of that test at 80% power and alpha 0.05 (one seed:
  ``(z_0.975 + z_0.80) * sd(d) / sqrt(n)`` over the per-query differences d; more:
  synthir.stats.Contrast.mde): a gain smaller than this is one the cell could not have told
  from zero.
- ``gain_vs_human``, ``p_vs_human``, ``mde_vs_human``: a synthetic cell against the human-label arm
  of the same training dataset, base and scale (the positive control; 'synthetic vs human at equal
  size').
- ``unexposed_shared``, ``gain_vs_human_unexposed``, ``p_vs_human_unexposed``: the same comparison
  on its own corpus restricted to the test queries *neither* arm was exposed to (none of whose
  relevant documents is a positive of either training set, in any of their draws:
  synthir.retrieval.quality.exposure), so both
  arms are scored on the same queries; each arm's own unexposed subset (scaling.csv) differs in
  size and difficulty and cannot be compared.
- ``p_vs_previous_scale``: the line's change from its previous trained scale.
- ``p_holm`` / ``p_bh`` (and ``p_vs_human_holm`` / ``_bh``, ``p_vs_human_unexposed_holm``,
  ``p_vs_previous_scale_holm``): Holm (family-wise) and Benjamini-Hochberg (false discovery rate)
  adjusted p-values. The family is every test of the report for that metric: gains, comparisons
  with the human arm (all queries and unexposed ones) and between scales, together.
- ``saturation_scale``: the smallest scale whose gain reaches 90% of the line's largest gain, for
  lines with at least three trained scales (empty otherwise, or when no scale gains), with a 95%
  interval from a bootstrap over the eval queries.

The tests, intervals and adjustments are synthir.stats'; the saturation bootstrap is here
because it resamples the same queries across a whole line of scales.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthir.core import io, paths
from synthir.retrieval.evaluate import METRICS
from synthir.core.paths import HUMAN
from synthir.retrieval.report.scaling import CELL, PRIOR_FAMILY, save_figure, scale_axis
from synthir.stats import (Replicates, benjamini_hochberg, contrast_of_tables, holm, minimum_detectable_effect,
                           paired_randomization, replicate_table, t_interval, with_priors)

LINE = ["train_dataset", "eval_dataset", "augmenter", "strategy", "base"]
BOOTSTRAPS = 1_000
SATURATION = 0.9
#: Lines need this many trained scales before a saturation scale means anything.
MIN_SCALES_FOR_SATURATION = 3
#: summary.csv's columns, in order.
ORDER = [*CELL, "metric", "draws", "seeds", "mean", "ci95_low", "ci95_high", "gain", "p_value", "p_holm", "p_bh", "mde",
         "human_gain", "gain_vs_human", "p_vs_human", "p_vs_human_holm", "p_vs_human_bh", "mde_vs_human",
         "unexposed_shared", "gain_vs_human_unexposed", "p_vs_human_unexposed", "p_vs_human_unexposed_holm",
         "p_vs_previous_scale", "p_vs_previous_scale_holm", "saturation_scale", "saturation_low", "saturation_high"]


def per_query_table(metrics_paths: list[Path]) -> pd.DataFrame:
    """Long table: one row per (cell keys, metric, query) with its score."""
    rows = []
    for p in metrics_paths:
        w = paths.parse(p.as_posix())
        keys = {"train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
                "strategy": w["strategy"], "draw": int(w["draw"]), "scale": int(w["scale"]), "base": w["base"],
                "seed": int(w["seed"])}
        for metric, scores in io.read_json(p)["per_query"].items():
            rows += [{**keys, "metric": metric, "query": q, "score": s} for q, s in scores.items()]
    return pd.DataFrame(rows)


#: (train dataset, eval dataset, augmenter, strategy, scale) -> the test queries none of whose
#: relevant documents any draw of the cell's training set has as a positive (own corpus only).
Unexposed = dict[tuple[str, str, str, str, int], list[str]]


def unexposed_queries(metrics_paths: list[Path]) -> Unexposed:
    """Each trained cell's unexposed test queries, from the leakage.json of its training set on
    its own corpus (synthir.retrieval.quality.set_leakage), where the study measured it."""
    out: Unexposed = {}
    for p in metrics_paths:
        w = paths.parse(p.as_posix())
        if int(w["scale"]) == 0 or w["eval"] != w["dataset"]:
            continue
        leakage = Path(paths.family_dir("leakage", **w), "leakage.json")
        if leakage.is_file() and "unexposed_queries" in (found := io.read_json(leakage)):
            key = (w["dataset"], w["eval"], w["augmenter"], w["strategy"], int(w["scale"]))
            seen = set(found["unexposed_queries"])  # in every draw: the first draw's order, kept
            out[key] = [q for q in out[key] if q in seen] if key in out else list(found["unexposed_queries"])
    return out


def saturation(scales: list[int], gains: np.ndarray) -> float:
    """Smallest scale whose gain reaches SATURATION x the largest gain; nan if none gains."""
    best = gains.max()
    if best <= 0:
        return float("nan")
    return float(next(s for s, g in zip(scales, gains) if g >= SATURATION * best))


def _query_means(table: pd.DataFrame) -> dict[tuple[Any, ...], pd.Series]:
    """(line keys..., scale, metric) -> each query's score averaged over the cell's seeds."""
    groups = table.groupby([*LINE, "scale", "metric", "query"])["score"].mean()
    return {k: g.droplevel(list(range(len(LINE) + 2))) for k, g in groups.groupby(level=list(range(len(LINE) + 2)))}


#: Positions in a cell's key (line keys..., scale, metric) of what its variance prior shares.
_FAMILY = [*(LINE.index(k) for k in PRIOR_FAMILY), len(LINE) + 1]


def _replicate_tables(table: pd.DataFrame) -> dict[tuple[Any, ...], Replicates]:
    """(line keys..., scale, metric) -> the cell's replicates x queries scores with its family's prior."""
    tables = {k: replicate_table(g) for k, g in table.groupby([*LINE, "scale", "metric"])}
    return with_priors(tables, lambda k: tuple(k[i] for i in _FAMILY))


def _diff(a: pd.Series, b: pd.Series | None) -> np.ndarray | None:
    if b is None:
        return None
    return (a - b.reindex(a.index).fillna(0.0)).to_numpy()


class _Tests:
    """Gain, p-value and detectable effect of one cell over another, from per-query tables."""

    def __init__(self, table: pd.DataFrame, seed: int) -> None:
        self.means = _query_means(table)
        self.tables = _replicate_tables(table)
        self.rng = np.random.default_rng(seed)
        # the unexposed comparisons draw their sign flips apart, so adding them moves no other p
        self.rng_unexposed = np.random.default_rng([seed, 1])

    def __call__(self, a: tuple[Any, ...], b: tuple[Any, ...] | None,
                 queries: list[str] | None = None) -> tuple[float, float, float]:
        """Cell ``a`` over cell ``b`` (on ``queries`` only, if given). With one replicate in each,
        the queries are the only spread the data show: the paired randomization test over them.
        With more, every cell's spread over its replicates counts too (synthir.stats.contrast)."""
        nan = float("nan"), float("nan"), float("nan")
        if b is None or b not in self.tables:
            return nan
        ta, tb = self.tables[a], self.tables[b]
        if queries is not None:
            cols = [q for q in queries if q in ta.table.columns and q in tb.table.columns]
            if len(cols) < 2:
                return nan
            # no prior on a subset: it was fitted to the cells' means over all their queries,
            # and a mean over fewer queries spreads more between replicates
            ta, tb = Replicates(ta.table[cols]), Replicates(tb.table[cols])
        if len(ta.table.index) < 2 and len(tb.table.index) < 2:
            diff = (_diff(self.means[a], self.means[b]) if queries is None
                    else _diff(ta.table.mean(axis=0), tb.table.mean(axis=0)))
            assert diff is not None
            flips = self.rng if queries is None else self.rng_unexposed
            return float(diff.mean()), paired_randomization(diff, flips), minimum_detectable_effect(diff)
        c = contrast_of_tables([(1.0, ta), (-1.0, tb)])
        return c.mean, c.p(), c.mde()


def _saturation_interval(gains_q: dict[int, np.ndarray], rng: np.random.Generator) -> tuple[float, float, float]:
    """Saturation scale of a line's per-query gains, with a bootstrap interval over queries."""
    ordered = sorted(gains_q)
    mat = np.stack([gains_q[s] for s in ordered])  # scales x queries
    point = saturation(ordered, mat.mean(axis=1))
    idx = rng.integers(0, mat.shape[1], size=(BOOTSTRAPS, mat.shape[1]))
    boot = np.array([saturation(ordered, mat[:, i].mean(axis=1)) for i in idx])
    boot = boot[~np.isnan(boot)]
    low = high = float("nan")
    # an interval only around a point (a line that gains) and when most resamples gain at all
    if not np.isnan(point) and len(boot) >= BOOTSTRAPS // 2:
        low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
    return point, low, high


def _adjust(df: pd.DataFrame) -> None:
    """Holm (and Benjamini-Hochberg) over one family per metric: every test of it."""
    tests = {"p_value": "p", "p_vs_human": "p_vs_human", "p_vs_human_unexposed": "p_vs_human_unexposed",
             "p_vs_previous_scale": "p_vs_previous_scale"}
    for _, idx in df.groupby("metric").groups.items():
        cells = [(i, c) for c in tests for i in idx if not np.isnan(df.at[i, c])]
        p = np.array([df.at[i, c] for i, c in cells])
        for (i, c), h, b in zip(cells, holm(p), benjamini_hochberg(p)):
            df.at[i, f"{tests[c]}_holm"] = h
            if f"{tests[c]}_bh" in df.columns:
                df.at[i, f"{tests[c]}_bh"] = b


def summarise(table: pd.DataFrame, seed: int = 0, unexposed: Unexposed | None = None) -> pd.DataFrame:
    unexposed = unexposed or {}
    test = _Tests(table, seed)
    means = test.means
    counts = table.groupby([*LINE, "scale", "metric"])[["draw", "seed"]].nunique()

    out: list[dict[str, Any]] = []
    for keys, g in table.groupby([*LINE, "metric"]):
        line = dict(zip([*LINE, "metric"], keys))
        ref_key = (paths.NONE, line["eval_dataset"], paths.NONE, paths.NONE, line["base"], 0, line["metric"])
        ref = means.get(ref_key)
        scales = sorted(g["scale"].unique())
        trained = [s for s in scales if s > 0]
        gains_q: dict[int, np.ndarray] = {}
        for s in scales:
            k = (*(line[c] for c in LINE), s, line["metric"])
            per_replicate = test.tables[k].table.mean(axis=1).to_numpy()
            lo, hi = t_interval(per_replicate)
            row: dict[str, Any] = {**line, "scale": s, "draws": int(counts.at[k, "draw"]),
                                   "seeds": int(counts.at[k, "seed"]), "mean": float(per_replicate.mean()),
                                   "ci95_low": lo, "ci95_high": hi}
            q = means[k]
            if s > 0:
                gain, p, mde = test(k, ref_key)
                row.update(gain=gain, p_value=p, mde=mde)
                if ref is not None:
                    gains_q[s] = _diff(q, ref)
                previous = [t for t in trained if t < s]
                if previous:
                    row["p_vs_previous_scale"] = test(k, (*(line[c] for c in LINE), previous[-1], line["metric"]))[1]
                if line["strategy"] != HUMAN:
                    human_key = (line["train_dataset"], line["eval_dataset"], paths.NONE, HUMAN, line["base"], s,
                                 line["metric"])
                    human = means.get(human_key)
                    hg, hp, hm = test(k, human_key)
                    row.update(gain_vs_human=hg, p_vs_human=hp, mde_vs_human=hm)
                    cell = (line["train_dataset"], line["eval_dataset"], line["augmenter"], line["strategy"], s)
                    arm = (line["train_dataset"], line["eval_dataset"], paths.NONE, HUMAN, s)
                    if cell in unexposed and arm in unexposed:
                        shared = sorted(set(unexposed[cell]) & set(unexposed[arm]))
                        ug, up, _ = test(k, human_key, queries=shared)
                        row.update(unexposed_shared=len(shared), gain_vs_human_unexposed=ug, p_vs_human_unexposed=up)
                    if human is not None and ref is not None:
                        row["human_gain"] = float(_diff(human, ref).mean())
            out.append(row)
        sat = (float("nan"),) * 3
        if len(gains_q) >= MIN_SCALES_FOR_SATURATION and line["base"] != "bm25":
            sat = _saturation_interval(gains_q, test.rng)
        for row in out[-len(scales):]:
            row.update(saturation_scale=sat[0], saturation_low=sat[1], saturation_high=sat[2])
    df = pd.DataFrame(out).reindex(columns=ORDER)
    _adjust(df)
    return df.sort_values([*CELL, "metric"], key=lambda s: s.map(str) if s.dtype == object else s
                          ).reset_index(drop=True)


def plot_summary(df: pd.DataFrame, out: Path, metric: str = "ndcg_at_10") -> None:
    """Mean ``metric`` against scale with its 95% replicate interval as a band; one panel per eval
    dataset, one line per augmenter/strategy/base (the human arm dotted), each starting at its
    base's scale 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = df[df["metric"] == metric]
    evals = sorted(d["eval_dataset"].unique())
    fig, axes = plt.subplots(1, len(evals), figsize=(5 * len(evals), 4), squeeze=False)
    for ax, ev in zip(axes[0], evals):
        sub = d[d["eval_dataset"] == ev]
        for base in sorted(sub["base"].unique()):
            zero = sub[(sub["base"] == base) & (sub["scale"] == 0)]
            if base == "bm25":
                ax.axhline(zero["mean"].iloc[0], ls="--", c="grey", label="BM25")
                continue
            for (aug, strat), line in sub[(sub["base"] == base) & (sub["scale"] > 0)].groupby(["augmenter", "strategy"]):
                line = pd.concat([zero, line]).sort_values("scale")
                style = ":" if strat == HUMAN else "-"
                label = f"human labels / {base}" if strat == HUMAN else f"{aug} / {strat} / {base}"
                (h,) = ax.plot(line["scale"], line["mean"], style, marker="o", label=label)
                ax.fill_between(line["scale"], line["ci95_low"], line["ci95_high"], color=h.get_color(), alpha=0.2)
        scale_axis(ax, sub["scale"], f"eval: {ev} (band: 95% CI over replicates)", "training examples", metric)
    save_figure(fig, axes, out)


def write_evidence(path: Path, per_query: pd.DataFrame, unexposed: Unexposed, roles: dict[str, Any]) -> None:
    """Everything summary.csv and claims.md are computed from, beside scaling.csv: every cell's
    per-query scores (per_query_table), each cell's unexposed queries and the study's roles, as
    gzipped JSON (floats round-trip exactly; no timestamp in the gzip header, so the same
    evidence gives the same bytes). With it, ``python -m synthir recheck`` recomputes both
    files from a committed report, no model rebuilt."""
    import gzip

    doc = {"roles": roles, "unexposed": [[*k, q] for k, q in unexposed.items()],
           "columns": list(per_query.columns), "per_query": {c: per_query[c].tolist() for c in per_query.columns}}
    with io.atomic_open(path, "wb") as f:
        f.write(gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0))


def read_evidence(path: Path) -> tuple[pd.DataFrame, Unexposed, dict[str, Any]]:
    """(per-query table, unexposed queries, roles) as :func:`write_evidence` wrote them."""
    import gzip

    doc = json.loads(gzip.decompress(path.read_bytes()))
    unexposed: Unexposed = {(d, e, a, s, int(n)): list(q) for d, e, a, s, n, q in doc["unexposed"]}
    return pd.DataFrame(doc["per_query"])[doc["columns"]], unexposed, doc["roles"]


__all__ = ["METRICS", "per_query_table", "plot_summary", "read_evidence", "summarise", "write_evidence"]
