"""Statistics a reviewer can trust: ``reports/summary.csv`` and ``reports/summary.png``.

One row per (train dataset, eval dataset, augmenter, strategy, scale, base, metric), seeds
pooled:

- ``mean`` over seeds with a 95% confidence interval (Student t over seed means; empty with
  one seed: one seed has no spread to measure).
- ``gain`` over the cell's own baseline (its base at scale 0) and ``p_value`` of a paired
  two-sided randomization test on per-query scores (each query's score averaged over seeds,
  minus its baseline score; sign flips, ``PERMUTATIONS`` draws, seeded). Baselines are
  untrained and so seed-free.
- ``saturation_scale``: the smallest scale whose gain reaches 90% of the line's largest gain
  (empty when no scale gains), with a 95% interval from a bootstrap over the eval queries.

Hand-written rather than scipy.stats.permutation_test / bootstrap because both statistics
need the same per-query resamples across a whole line of scales; scipy gives the t quantile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthir import io, paths
from synthir.evaluate import METRICS
from synthir.report.scaling import KEYS

LINE = ["train_dataset", "eval_dataset", "augmenter", "strategy", "base"]
PERMUTATIONS = 10_000
BOOTSTRAPS = 1_000
SATURATION = 0.9


def per_query_table(metrics_paths: list[Path]) -> pd.DataFrame:
    """Long table: one row per (cell keys, metric, query) with its score."""
    rows = []
    for p in metrics_paths:
        w = paths.parse(p.as_posix())
        keys = {"train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
                "strategy": w["strategy"], "scale": int(w["scale"]), "base": w["base"], "seed": int(w["seed"])}
        for metric, scores in io.read_json(p)["per_query"].items():
            rows += [{**keys, "metric": metric, "query": q, "score": s} for q, s in scores.items()]
    return pd.DataFrame(rows)


def t_interval(values: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(values) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def paired_randomization(diff: np.ndarray, rng: np.random.Generator) -> float:
    """Two-sided p-value of mean(diff) = 0 by random sign flips (with the +1 correction)."""
    if len(diff) == 0 or not np.any(diff):
        return 1.0
    observed = abs(diff.mean())
    signs = rng.choice([-1.0, 1.0], size=(PERMUTATIONS, len(diff)))
    null = np.abs((signs * diff).mean(axis=1))
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + PERMUTATIONS))


def saturation(scales: list[int], gains: np.ndarray) -> float:
    """Smallest scale whose gain reaches SATURATION x the largest gain; nan if none gains."""
    best = gains.max()
    if best <= 0:
        return float("nan")
    return float(next(s for s, g in zip(scales, gains) if g >= SATURATION * best))


def summarise(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    base_rows = table[table["scale"] == 0]
    baseline = {(e, b, m): g.set_index("query")["score"]
                for (e, b, m), g in base_rows.groupby(["eval_dataset", "base", "metric"])}
    for keys, g in table.groupby([*LINE, "metric"]):
        line = dict(zip([*LINE, "metric"], keys))
        ref = baseline.get((line["eval_dataset"], line["base"], line["metric"]))
        scales = sorted(g["scale"].unique())
        # per scale: queries x seeds, each query's mean over seeds
        by_scale = {s: g[g["scale"] == s].pivot_table(index="query", columns="seed", values="score") for s in scales}
        trained = [s for s in scales if s > 0]
        gains_q = {}
        for s in scales:
            seed_means = by_scale[s].mean(axis=0).to_numpy()
            lo, hi = t_interval(seed_means)
            row = {**line, "scale": s, "seeds": len(seed_means), "mean": float(seed_means.mean()),
                   "ci95_low": lo, "ci95_high": hi, "gain": float("nan"), "p_value": float("nan")}
            if ref is not None and s > 0:
                q_mean = by_scale[s].mean(axis=1)
                diff = (q_mean - ref.reindex(q_mean.index).fillna(0.0)).to_numpy()
                gains_q[s] = diff
                row.update(gain=float(diff.mean()), p_value=paired_randomization(diff, rng))
            out.append(row)
        sat, sat_lo, sat_hi = float("nan"), float("nan"), float("nan")
        if gains_q and line["base"] != "bm25":
            mat = np.stack([gains_q[s] for s in trained])  # scales x queries
            sat = saturation(trained, mat.mean(axis=1))
            idx = rng.integers(0, mat.shape[1], size=(BOOTSTRAPS, mat.shape[1]))
            boot = np.array([saturation(trained, mat[:, i].mean(axis=1)) for i in idx])
            boot = boot[~np.isnan(boot)]
            if len(boot) >= BOOTSTRAPS // 2:  # an interval only when most resamples gain at all
                sat_lo, sat_hi = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
        for row in out[-len(scales):]:
            row.update(saturation_scale=sat, saturation_low=sat_lo, saturation_high=sat_hi)
    df = pd.DataFrame(out)
    order = [*KEYS[:-1], "metric", "seeds", "mean", "ci95_low", "ci95_high", "gain", "p_value",
             "saturation_scale", "saturation_low", "saturation_high"]
    return df[order].sort_values([*KEYS[:-1], "metric"], key=lambda s: s.map(str) if s.dtype == object else s
                                 ).reset_index(drop=True)


def plot_summary(df: pd.DataFrame, out: Path, metric: str = "ndcg_at_10") -> None:
    """Mean ``metric`` against scale with its 95% seed interval as a band; one panel per eval
    dataset, one line per augmenter/strategy/base, each starting at its base's scale 0."""
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
                (h,) = ax.plot(line["scale"], line["mean"], marker="o", label=f"{aug} / {strat} / {base}")
                ax.fill_between(line["scale"], line["ci95_low"], line["ci95_high"], color=h.get_color(), alpha=0.2)
        ax.set_xscale("symlog", linthresh=max(1, int(sub.loc[sub["scale"] > 0, "scale"].min() or 1)))
        ticks = sorted(sub["scale"].unique())
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_title(f"eval: {ev} (band: 95% CI over seeds)")
        ax.set_xlabel("synthetic training examples")
        ax.set_ylabel(metric.replace("_at_", "@"))
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


__all__ = ["METRICS", "per_query_table", "plot_summary", "summarise"]
