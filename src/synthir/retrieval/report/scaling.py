"""The study report: one tidy row per (train dataset, eval dataset, augmenter, strategy, draw,
scale, base, seed) with metrics, the cell's own baseline, the gain, what the cell cost in calls and
tokens, the quality statistics of its training set, and how many human-labelled queries went
into it (exemplars and seeds of the prompts, human rows). On its own training corpus a cell also
reports its exposure (the share of its positives that are relevant to a test query) and nDCG@10
on the test queries none of whose relevant documents it saw as a positive, with the baseline's
on the same queries: the in-domain gain without that exposure.

Seconds differ between builds of the same numbers, so they go to ``timings.csv`` (read from
each artifact's record.json), which is volatile: never versioned, never compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from synthir.core import io, paths
from synthir.retrieval.evaluate import METRICS
from synthir.core.paths import HUMAN
from synthir.core.provenance import record_path

KEYS = ["train_dataset", "eval_dataset", "augmenter", "strategy", "draw", "scale", "base", "seed"]
#: What makes a cell; its replicates are its draws x seeds.
CELL = [k for k in KEYS if k not in ("draw", "seed")]
#: The cells whose replicate variances share a prior (synthir.stats.with_priors): one training
#: dataset, eval dataset and base (and metric), in summary.csv and claims.md alike.
PRIOR_FAMILY = ["train_dataset", "eval_dataset", "base"]
COST = ["llm_calls", "prompt_tokens", "completion_tokens", "train_steps"]
#: timings.csv: seconds per cell, from the record.json of its training set, model and result.
SECONDS = ["generation_seconds", "training_seconds", "evaluation_seconds"]
#: Quality statistics of the cell's training set (synthir.retrieval.quality); ``leakage`` is against the
#: row's eval dataset.
QUALITY = ["human_rows", "human_queries_used", "distinct_1", "distinct_2", "self_bleu", "embedding_dispersion",
           "passage_overlap", "corpus_coverage", "duplicate_rate", "leakage"]
#: In-domain exposure (eval dataset = training dataset): see the module docstring.
EXPOSURE = ["exposure", "unexposed_queries", "ndcg_at_10_unexposed", "baseline_ndcg_at_10_unexposed",
            "gain_ndcg_at_10_unexposed"]


def human_queries_used(w: dict[str, str], subset: dict[str, Any]) -> int:
    """Labelled queries behind a training set: the human arm's rows, or the distinct labelled
    queries a pool's prompts showed (exemplars, seeds), plus human rows mixed in."""
    if w["strategy"] == HUMAN:
        return int(subset["human_rows"])
    pool = io.read_json(Path(paths.family_dir("pool", **w), "pool", "meta.json"))
    return int(pool["strategy"]["human_queries"]) + int(subset["human_rows"])


def _row(metrics_path: Path) -> dict[str, Any]:
    w = paths.parse(metrics_path.as_posix())
    m = io.read_json(metrics_path)
    row: dict[str, Any] = {
        "train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
        "strategy": w["strategy"], "draw": int(w["draw"]), "scale": int(w["scale"]), "base": w["base"],
        "seed": int(w["seed"]), **m["metrics"], "queries_evaluated": m["queries_evaluated"],
        "llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "train_steps": 0,
        "loss": None, **{q: None for q in QUALITY}, **{e: None for e in EXPOSURE},
    }
    if row["scale"] > 0:
        # Paths are relative to the project root (the job's working directory).
        subset_dir = Path(paths.family_dir("subset", **w))
        subset = io.read_json(subset_dir / "meta.json")
        model = io.read_json(Path(paths.family_dir("model", **w), "meta.json"))
        stats = io.read_json(subset_dir / "stats.json")["stats"]
        leakage = io.read_json(Path(paths.family_dir("leakage", **w), "leakage.json"))
        row.update(
            llm_calls=subset["cost"]["calls"], prompt_tokens=subset["cost"]["prompt_tokens"],
            completion_tokens=subset["cost"]["completion_tokens"], train_steps=model["steps"], loss=model["loss"],
            human_rows=subset["human_rows"], human_queries_used=human_queries_used(w, subset),
            leakage=leakage["leakage"], **{q: stats[q] for q in QUALITY if q in stats},
        )
        if "unexposed_queries" in leakage:
            unexposed = leakage["unexposed_queries"]
            scores = m["per_query"]["ndcg_at_10"]
            row.update(exposure=leakage["exposure"], unexposed_queries=len(unexposed),
                       ndcg_at_10_unexposed=_mean(scores, unexposed))
            baseline = Path(paths.family_dir("result", **{**w, "dataset": paths.NONE, "augmenter": paths.NONE,
                                                          "strategy": paths.NONE, "draw": 0, "scale": 0,
                                                          "seed": 0}))
            if (baseline / "metrics.json").is_file():
                ref = _mean(io.read_json(baseline / "metrics.json")["per_query"]["ndcg_at_10"], unexposed)
                row.update(baseline_ndcg_at_10_unexposed=ref,
                           gain_ndcg_at_10_unexposed=row["ndcg_at_10_unexposed"] - ref)
    return row


def _mean(scores: dict[str, float], queries: list[str]) -> float:
    picked = [scores[q] for q in queries if q in scores]
    return round(sum(picked) / len(picked), 6) if picked else float("nan")


def aggregate(metrics_paths: list[Path]) -> pd.DataFrame:
    """Rows for every ``metrics.json`` with ``baseline_<metric>`` (same base and eval dataset
    at scale 0) and ``gain_<metric>`` columns."""
    rows = [_row(p) for p in metrics_paths]
    df = pd.DataFrame(rows)
    base = df[df["scale"] == 0].set_index(["eval_dataset", "base"])
    for name in METRICS:
        lookup = base[name].to_dict()
        df[f"baseline_{name}"] = [lookup.get((e, b)) for e, b in zip(df["eval_dataset"], df["base"])]
        df[f"gain_{name}"] = df[name] - df[f"baseline_{name}"]
    ordered = KEYS + list(METRICS) + [f"baseline_{m}" for m in METRICS] + [f"gain_{m}" for m in METRICS]
    df = df[ordered + ["queries_evaluated"] + COST + ["loss"] + QUALITY + EXPOSURE]
    return df.sort_values(KEYS, key=lambda s: s.map(str) if s.dtype == object else s).reset_index(drop=True)


def _recorded(meta_path: Path, key: str) -> float | None:
    record = record_path(meta_path)
    return io.read_json(record).get("volatile", {}).get(key) if record.is_file() else None


def timings(metrics_paths: list[Path]) -> pd.DataFrame:
    """Seconds each cell took: generating its training set, training, evaluating (empty where
    an artifact has no record.json, e.g. after a pull)."""
    rows = []
    for p in metrics_paths:
        w = paths.parse(p.as_posix())
        row: dict[str, Any] = {"train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
                               "strategy": w["strategy"], "draw": int(w["draw"]), "scale": int(w["scale"]),
                               "base": w["base"], "seed": int(w["seed"]),
                               "evaluation_seconds": _recorded(p.parent / "meta.json", "evaluation_seconds")}
        if row["scale"] > 0:
            row["generation_seconds"] = _recorded(Path(paths.family_dir("subset", **w), "meta.json"), "generation_seconds")
            row["training_seconds"] = _recorded(Path(paths.family_dir("model", **w), "meta.json"), "training_seconds")
        rows.append(row)
    df = pd.DataFrame(rows).reindex(columns=KEYS + SECONDS)
    return df.sort_values(KEYS, key=lambda s: s.map(str) if s.dtype == object else s).reset_index(drop=True)


def plot_scaling(df: pd.DataFrame, out: Path, metric: str = "ndcg_at_10") -> None:
    """``metric`` against scale, one panel per eval dataset, one line per augmenter/strategy/base;
    each line starts at its base's scale-0 score; BM25 is a dashed reference line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = sorted(df["eval_dataset"].unique())
    fig, axes = plt.subplots(1, len(evals), figsize=(5 * len(evals), 4), squeeze=False)
    mean = df.groupby(CELL, as_index=False)[metric].mean()
    for ax, ev in zip(axes[0], evals):
        sub = mean[mean["eval_dataset"] == ev]
        for base in sorted(sub["base"].unique()):
            if base == "bm25":
                ax.axhline(sub[sub["base"] == base][metric].iloc[0], ls="--", c="grey", label="BM25")
                continue
            zero = sub[(sub["base"] == base) & (sub["scale"] == 0)]
            trained = sub[(sub["base"] == base) & (sub["scale"] > 0)]
            for (aug, strat), line in trained.groupby(["augmenter", "strategy"]):
                line = pd.concat([zero, line]).sort_values("scale")
                ax.plot(line["scale"], line[metric], marker="o", label=f"{aug} / {strat} / {base}")
        scale_axis(ax, sub["scale"], f"eval: {ev}", "synthetic training examples", metric)
    save_figure(fig, axes, out)


def scale_axis(ax: Any, scales: pd.Series, title: str, xlabel: str, metric: str) -> None:
    """A scale panel of scaling.png and summary.png: symmetric-log x with a tick per scale."""
    ax.set_xscale("symlog", linthresh=max(1, int(scales[scales > 0].min() or 1)))
    ticks = sorted(scales.unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric.replace("_at_", "@"))
    ax.grid(alpha=0.3)


def save_figure(fig: Any, axes: Any, out: Path) -> None:
    import matplotlib.pyplot as plt

    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


#: datasets.csv: what each data set of the study holds, and the quirks its fetch counted.
DATASET_COLUMNS = ["dataset", "source_sha256", "documents", "queries", "split", "judged_queries", "judgments",
                   "max_grade", "docs_not_in_corpus", "queries_not_in_queries_file", "empty_documents",
                   "duplicate_ids", "duplicate_judgments", "empty_texts"]


def datasets_table(metas: list[Path]) -> pd.DataFrame:
    """One row per (data set, qrels split) from the fetch jobs' meta.json; a corpus-only data
    set gets one row with no split. Counts that are missing in an older fetch's meta are empty."""
    rows = []
    for path in metas:
        meta = io.read_json(path)
        stats = meta["stats"]
        base = {"dataset": paths.parse(path.as_posix())["dataset"], "source_sha256": meta["source"]["sha256"],
                "documents": stats["documents"], "queries": stats["queries"],
                "empty_documents": stats["empty_documents"], **{k: stats.get("checks", {}).get(k) for k in (
                    "duplicate_ids", "duplicate_judgments", "empty_texts")}}
        for split, sp in sorted(stats["splits"].items()) or [(None, {})]:
            rows.append({**base, "split": split, **{k: sp.get(k) for k in (
                "judged_queries", "judgments", "max_grade", "docs_not_in_corpus", "queries_not_in_queries_file")}})
    return pd.DataFrame(rows, columns=DATASET_COLUMNS)

