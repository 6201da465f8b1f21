"""The classification study's report: ``classification.csv`` (one row per cell: accuracy,
macro-F1 and the paired bootstrap interval of the difference to the gold arm of the same
student, scale and seed), ``diversity.csv`` (one row per training set: the statistics of
synthir.classification.stats) and ``claims.md`` (verdicts for SynthesizRR's two claims).

Intervals: accuracy differences are paired over the eval examples (each arm's correctness
averaged over the seeds both arms have, examples resampled with replacement: 95% percentile
interval, 2,000 resamples); diversity differences resample each set's examples independently
(95% basic interval, 500 resamples). Seeded. A claim is *supported* where the interval lies above zero in its favour,
*contradicted* where it lies on the other side, *inconclusive* otherwise.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthir import io, paths
from synthir.classification.stats import entropy
from synthir.params import HUMAN

RESAMPLES = 2000
SEED = 0
STAT_COLUMNS = ("self_bleu", "entity_entropy", "mauve", "label_preservation", "label_cosine", "distinct_2")


def _correct(predictions: Path) -> np.ndarray:
    return np.array([r["label"] == r["pred"] for r in io.read_jsonl(predictions)], dtype=float)


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a - b`` over examples and its 95% bootstrap interval (paired resampling)."""
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, len(a), size=(RESAMPLES, len(a)))
    diffs = a[idx].mean(1) - b[idx].mean(1)
    return float(a.mean() - b.mean()), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def _resampled(values: list[Any], stat: Any, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    return np.array([stat([values[i] for i in rng.integers(0, n, n)]) for _ in range(RESAMPLES // 4)])


def diversity_interval(a: list[Any], b: list[Any], stat: Any) -> tuple[float, float, float]:
    """``stat(a) - stat(b)`` and a 95% interval, each set resampled independently (500 times).
    The basic (reverse-percentile) interval, not the percentile one: a resample repeats
    examples, which lowers an entropy by an amount that depends on the set, so percentiles of
    resampled entropies sit below the estimate; the basic interval corrects that bias."""
    rng = np.random.default_rng(SEED)
    diffs = _resampled(a, stat, rng) - _resampled(b, stat, rng)
    d = float(stat(a) - stat(b))
    return d, 2 * d - float(np.percentile(diffs, 97.5)), 2 * d - float(np.percentile(diffs, 2.5))


def _mean_bleu(v: list[float]) -> float:
    return float(np.mean(v)) if v else math.nan


def _entity_entropy(v: list[list[str]]) -> float:
    return entropy(Counter(e for ents in v for e in ents))


def _verdict(lo: float, hi: float, better: int) -> str:
    """``better`` +1: the claim says the difference is positive; -1: negative."""
    lo, hi = (lo, hi) if better > 0 else (-hi, -lo)
    return "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"


def _fmt(d: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def build(metrics: list[Path], stats: list[Path], roles: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The two tables and the claims text from every cell's metrics.json and every set's stats.json;
    ``roles`` maps each strategy alias to its kind (fewgen / synthesizrr)."""
    cells: list[dict[str, Any]] = []
    for mp in sorted(metrics):
        w = paths.parse(mp.as_posix())
        m = io.read_json(mp)
        cells.append({"train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
                      "strategy": w["strategy"], "scale": int(w["scale"]), "base": w["base"], "seed": int(w["seed"]),
                      **m["metrics"], "examples": m["examples"], "_pred": mp.parent / "predictions.jsonl"})
    sets: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for sp in sorted(stats):
        w = paths.parse(sp.as_posix())
        sets[(w["dataset"], w["augmenter"], w["strategy"], int(w["scale"]))] = io.read_json(sp)["stats"]
    correct = {id(c): _correct(c["_pred"]) for c in cells}
    by_key = {(c["train_dataset"], c["augmenter"], c["strategy"], c["scale"], c["base"], c["seed"]): c for c in cells}
    for c in cells:
        gold = by_key.get((c["train_dataset"], paths.NONE, HUMAN, c["scale"], c["base"], c["seed"]))
        if gold is not None and gold is not c:
            d, lo, hi = paired_interval(correct[id(c)], correct[id(gold)])
            c.update(gold_accuracy=gold["accuracy"], delta_vs_gold=round(d, 6), delta_lo=round(lo, 6), delta_hi=round(hi, 6))
        st = sets.get((c["train_dataset"], c["augmenter"], c["strategy"], c["scale"]), {})
        c.update({k: st.get(k) for k in STAT_COLUMNS})
    table = pd.DataFrame([{k: v for k, v in c.items() if k != "_pred"} for c in cells])
    div = pd.DataFrame([{"train_dataset": k[0], "augmenter": k[1], "strategy": k[2], "scale": k[3],
                         **{c: s.get(c) for c in (*STAT_COLUMNS, "rows", "words_mean", "entities")},
                         "gold_self_bleu": s["gold_reference"]["self_bleu"],
                         "gold_entity_entropy": s["gold_reference"]["entity_entropy"]}
                        for k, s in sorted(sets.items())])
    return table, div, claims(cells, correct, sets, roles)


def claims(cells: list[dict[str, Any]], correct: dict[int, np.ndarray], sets: dict[tuple[str, str, str, int], Any],
           roles: dict[str, Any]) -> str:
    rag = sorted(a for a, k in roles.items() if k == "synthesizrr")
    few = sorted(a for a, k in roles.items() if k == "fewgen")
    lines = ["# Claims: SynthesizRR on its own tasks (arXiv 2405.10040)", "",
             "Generated by `python -m synthir classification-report` from this study's results; see",
             "synthir/classification/report.py for the intervals (95%, bootstrap) and the verdict rule.", ""]
    # --- claim 1: diversity
    lines += ["## 1. Retrieval-augmented synthesis gives more diverse data than FewGen", "",
              "Self-BLEU (lower is more diverse) and entity entropy (higher is more diverse) of each",
              "SynthesizRR set minus the FewGen set of the same task, augmenter and scale.", "",
              "| task | augmenter | scale | synthesizrr | vs fewgen | Δ Self-BLEU | verdict | Δ entity entropy | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for (task, aug, strat, scale), s in sorted(sets.items()):
        if strat not in rag:
            continue
        for f in few:
            other = sets.get((task, aug, f, scale))
            if other is None:
                continue
            pa, pb = s["per_example"], other["per_example"]
            b = diversity_interval(pa["self_bleu"], pb["self_bleu"], _mean_bleu)
            e = diversity_interval(pa["entities"], pb["entities"], _entity_entropy)
            vb, ve = _verdict(b[1], b[2], -1), _verdict(e[1], e[2], +1)
            tally["self_bleu"][vb] += 1
            tally["entity_entropy"][ve] += 1
            lines.append(f"| {task} | {aug} | {scale} | {strat} | {f} | {_fmt(*b, 2)} | {vb} | {_fmt(*e, 2)} | {ve} |")
    lines += ["", f"Self-BLEU: {_tally(tally['self_bleu'])}. Entity entropy: {_tally(tally['entity_entropy'])}.", ""]
    # --- claim 2: student accuracy
    lines += ["## 2. Students trained on SynthesizRR data are more accurate than on FewGen data", "",
              "Accuracy of the student trained on the SynthesizRR set minus the one trained on the FewGen",
              "set (same task, augmenter, scale, student; paired over eval examples, averaged over seeds).", "",
              "| task | augmenter | scale | student | synthesizrr | vs fewgen | seeds | Δ accuracy | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[Any, ...], dict[int, np.ndarray]] = defaultdict(dict)
    for c in cells:
        groups[(c["train_dataset"], c["augmenter"], c["strategy"], c["scale"], c["base"])][c["seed"]] = correct[id(c)]
    for (task, aug, strat, scale, base), by_seed in sorted(groups.items()):
        if strat not in rag:
            continue
        for f in few:
            other = groups.get((task, aug, f, scale, base))
            seeds = sorted(set(by_seed) & set(other or {}))
            if not seeds:
                continue
            a = np.mean([by_seed[s] for s in seeds], 0)
            b = np.mean([other[s] for s in seeds], 0)  # type: ignore[index]
            d, lo, hi = paired_interval(a, b)
            v = _verdict(lo, hi, +1)
            tally["accuracy"][v] += 1
            lines.append(f"| {task} | {aug} | {scale} | {base} | {strat} | {f} | {len(seeds)} | {_fmt(d, lo, hi)} | {v} |")
    lines += ["", f"Accuracy: {_tally(tally['accuracy'])}.", ""]
    # --- the positive control
    lines += ["## Positive control: the gold arm", "",
              "Students trained on the same number of real examples (strategy `human`): if they do not beat",
              "the majority class, the student recipe cannot learn at that scale and claim 2 says nothing.", "",
              "| task | scale | student | gold accuracy (mean over seeds) | majority class |", "|---|---|---|---|---|"]
    for (task, aug, strat, scale, base), by_seed in sorted(groups.items()):
        if strat != HUMAN:
            continue
        rows = io.read_jsonl(next(c["_pred"] for c in cells if (c["train_dataset"], c["strategy"], c["scale"],
                                                                c["base"]) == (task, strat, scale, base)))
        majority = max(Counter(r["label"] for r in rows).values()) / len(rows)
        acc = float(np.mean([v.mean() for v in by_seed.values()]))
        lines.append(f"| {task} | {scale} | {base} | {acc:.3f} | {majority:.3f} |")
    return "\n".join(lines) + "\n"


def _tally(c: Counter[str]) -> str:
    if not c:
        return "no comparison in this study"
    return ", ".join(f"{c[k]} {k}" for k in ("supported", "inconclusive", "contradicted") if c[k]) + f" of {sum(c.values())}"


def write(metrics: list[Path], stats: list[Path], roles: dict[str, Any], csv: Path, diversity: Path, claims_md: Path) -> None:
    table, div, text = build(metrics, stats, roles)
    for df, out in ((table, csv), (div, diversity)):
        out.parent.mkdir(parents=True, exist_ok=True)
        with io.atomic_open(out) as f:
            df.to_csv(f, index=False, float_format="%.6g")
    with io.atomic_open(claims_md) as f:
        f.write(text)
