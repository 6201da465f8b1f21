"""The classification study's report: ``classification.csv`` (one row per cell: accuracy,
macro-F1 and the paired bootstrap interval of the difference to the gold arm of the same
student, draw, scale and seed), ``diversity.csv`` (one row per training set: the statistics of
synthir.classification.stats) and ``claims.md`` (verdicts for SynthesizRR's two claims).

Intervals (synthir.stats): a cell's accuracy difference to its gold arm is paired over the eval
examples (95% percentile interval, 2,000 resamples); claim 2's differences count each arm's
spread over its draws and seeds (synthir.stats.replicate_table and contrast, moderated by the
arms of the same task and student: synthir.stats.VariancePrior); a diversity
difference of one draw's sets resamples each set's examples independently (95% basic interval,
500 resamples), and claim 1 tests each comparison over its draws (a paired t test of the
per-draw differences, synthir.stats.paired_replicates, as the retrieval report's set statistics;
one draw: that draw's bootstrap p-value). Seeded. Every test of claims.md, both claims, is in one Holm
family: a comparison is *supported* where its adjusted p < 0.05 in the claim's direction,
*contradicted* where it is in the other, *inconclusive* otherwise.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthir.core import io, paths
from synthir.classification.stats import entropy
from synthir.core.paths import HUMAN
from synthir.stats import (ALPHA, MIN_DRAWS, NOT_DETECTABLE, NOT_MEASURED, Replicates, contrast_of_tables, holm,
                           independent_bootstrap, paired_bootstrap, paired_replicates, replicate_table, with_priors)

STAT_COLUMNS = ("self_bleu", "entity_entropy", "mauve", "label_preservation", "label_cosine", "distinct_2")


def _correct(predictions: Path) -> np.ndarray:
    return np.array([r["label"] == r["pred"] for r in io.read_jsonl(predictions)], dtype=float)


def _mean_bleu(v: list[float]) -> float:
    return float(np.mean(v)) if v else math.nan


#: Subsamples averaged for an entity entropy at a matched count (rarefaction).
RAREFY_DRAWS = 10


def _entity_entropy_at(m: int) -> Callable[[list[list[str]]], float]:
    """Entity entropy at ``m`` entities: the mean entropy of RAREFY_DRAWS seeded subsamples of
    ``m`` of a set's entities, drawn without replacement (rarefaction). An entropy grows with the
    number of entities it is computed on, so two sets are compared at the smaller set's count:
    on all their entities, verdicts followed the counts (supported at 81 vs 28 entities, 20 vs 5,
    12 vs 1; contradicted at 400 vs 590)."""

    def stat(v: list[list[str]]) -> float:
        ents = [e for es in v for e in es]
        if len(ents) <= m:
            return entropy(Counter(ents))
        rng = np.random.default_rng(0)
        return float(np.mean([entropy(Counter(rng.choice(ents, m, replace=False).tolist()))
                              for _ in range(RAREFY_DRAWS)]))

    return stat


def _verdict(difference: float, p_holm: float, better: int) -> str:
    """``better`` +1: the claim says the difference is positive; -1: negative."""
    if p_holm >= ALPHA:
        return "inconclusive"
    return "supported" if difference * better > 0 else "contradicted"


def claim_verdict(cells: Counter[str], draws: int) -> str:
    """A claim's one verdict from its comparisons' (in the retrieval claims' words): none below
    MIN_DRAWS draws of the data; contradicted where any comparison significantly is; supported
    where every one significantly is; else not detectable at this power."""
    n = sum(cells.values())
    if not n:
        return f"**Verdict: {NOT_MEASURED}.** no SynthesizRR arm has a FewGen arm to compare with"
    if draws < MIN_DRAWS:
        return (f"**Verdict: {NOT_DETECTABLE}.** the comparisons have {draws} draw(s) of the data; claims need "
                f"at least {MIN_DRAWS} (`configs/synthesizrr.yaml` asks for three)")
    if cells["contradicted"]:
        return f"**Verdict: contradicted.** {cells['contradicted']} of {n} comparisons significantly against the claim"
    if cells["supported"] == n:
        return f"**Verdict: supported.** all {n} comparisons significantly in the claim's direction"
    return f"**Verdict: {NOT_DETECTABLE}.** {cells['inconclusive']} of {n} comparisons inconclusive, none against"


def _fmt(d: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def build(metrics: list[Path], stats: list[Path], roles: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The two tables and the claims text from every cell's metrics.json and every set's stats.json;
    ``roles`` maps each strategy alias to its kind: a kind that retrieves (synthesizrr) is compared
    with one that does not (fewgen)."""
    cells: list[dict[str, Any]] = []
    for mp in sorted(metrics):
        w = paths.parse(mp.as_posix())
        m = io.read_json(mp)
        cells.append({"train_dataset": w["dataset"], "eval_dataset": w["eval"], "augmenter": w["augmenter"],
                      "strategy": w["strategy"], "draw": int(w["draw"]), "scale": int(w["scale"]), "base": w["base"],
                      "seed": int(w["seed"]), **m["metrics"], "examples": m["examples"], "_pred": mp.parent / "predictions.jsonl"})
    sets: dict[tuple[str, str, str, int, int], dict[str, Any]] = {}
    for sp in sorted(stats):
        w = paths.parse(sp.as_posix())
        sets[(w["dataset"], w["augmenter"], w["strategy"], int(w["draw"]), int(w["scale"]))] = io.read_json(sp)["stats"]
    correct = {id(c): _correct(c["_pred"]) for c in cells}
    by_key = {(c["train_dataset"], c["augmenter"], c["strategy"], c["draw"], c["scale"], c["base"], c["seed"]): c
              for c in cells}
    for c in cells:
        gold = by_key.get((c["train_dataset"], paths.NONE, HUMAN, c["draw"], c["scale"], c["base"], c["seed"]))
        if gold is not None and gold is not c:
            d, lo, hi = paired_bootstrap(correct[id(c)], correct[id(gold)])
            c.update(gold_accuracy=gold["accuracy"], delta_vs_gold=round(d, 6), delta_lo=round(lo, 6), delta_hi=round(hi, 6))
        st = sets.get((c["train_dataset"], c["augmenter"], c["strategy"], c["draw"], c["scale"]), {})
        c.update({k: st.get(k) for k in STAT_COLUMNS})
    table = pd.DataFrame([{k: v for k, v in c.items() if k != "_pred"} for c in cells])
    div = pd.DataFrame([{"train_dataset": k[0], "augmenter": k[1], "strategy": k[2], "draw": k[3], "scale": k[4],
                         **{c: s.get(c) for c in (*STAT_COLUMNS, "rows", "words_mean", "entities")},
                         "gold_self_bleu": s["gold_reference"]["self_bleu"],
                         "gold_entity_entropy": s["gold_reference"]["entity_entropy"]}
                        for k, s in sorted(sets.items())])
    return table, div, claims(cells, correct, sets, roles)


def claims(cells: list[dict[str, Any]], correct: dict[int, np.ndarray], sets: dict[tuple[str, str, str, int, int], Any],
           roles: dict[str, Any]) -> str:
    from synthir.generation.strategy import strategy_class

    rag = sorted(a for a, k in roles.items() if strategy_class(k).retrieves)
    few = sorted(a for a, k in roles.items() if not strategy_class(k).retrieves)
    lines = ["# Claims: SynthesizRR on its own tasks (arXiv 2405.10040)", "",
             "Generated by `python -m synthir classification-report` from this study's results; see",
             "synthir/classification/report.py for the intervals (95%) and the verdict rules.", ""]
    # --- claim 1: diversity
    lines += ["## SynthesizRR (2405.10040), classification: retrieval-augmented synthesis gives more diverse data than FewGen", "",
              "Self-BLEU (lower is more diverse) and entity entropy (higher is more diverse) of each",
              "SynthesizRR set minus the FewGen set of the same task, augmenter, draw and scale. Entity entropy",
              "at matched entity counts: both sets at the smaller set's number of entities (the mean over",
              f"{RAREFY_DRAWS} seeded subsamples of the larger), since an entropy grows with the entities it sees.",
              "Each draw's pair with its 95% basic bootstrap interval (each set's examples resampled):", "",
              "| task | augmenter | draw | scale | synthesizrr | vs fewgen | Δ Self-BLEU | entities | Δ entity entropy |",
              "|---|---|---|---|---|---|---|---|---|"]
    diverse = _diversity_tests(sets, rag, few)
    for (*cell, entities), b, e in diverse:
        lines.append("| " + " | ".join(map(str, cell)) + f" | {_fmt(*b[:3], 2)} | {entities} | {_fmt(*e[:3], 2)} |")
    tested = _over_draws(diverse)
    lines += ["", "The tests: each comparison over its draws, the per-draw differences in a paired t test (95%",
              "t interval; one draw: its bootstrap test), Holm-adjusted over every test of this file (both",
              "claims); supported / contradicted where the adjusted p < 0.05.", "",
              "| task | augmenter | scale | synthesizrr | vs fewgen | draws | Δ Self-BLEU | Holm p | verdict | "
              "Δ entity entropy | Holm p | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[Any, ...], dict[tuple[int, int], np.ndarray]] = defaultdict(dict)
    for c in cells:
        key = (c["train_dataset"], c["augmenter"], c["strategy"], c["scale"], c["base"])
        groups[key][(c["draw"], c["seed"])] = correct[id(c)]
    compared = _accuracy_tests(groups, rag, few)
    # one family, one adjustment: Holm over every test of this file (both claims)
    raw = [x for _, _, b, e in tested for x in (b[3], e[3])] + [c.p() for _, c, _, _ in compared]
    adjusted = iter(holm(np.array(raw)))
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for key, draws, b, e in tested:
        pb, pe = next(adjusted), next(adjusted)
        vb, ve = _verdict(b[0], pb, -1), _verdict(e[0], pe, +1)
        tally["self_bleu"][vb] += 1
        tally["entity_entropy"][ve] += 1
        lines.append("| " + " | ".join(map(str, key)) + f" | {draws} | {_fmt(*b[:3], 2)} | {pb:.3g} | {vb} | "
                     f"{_fmt(*e[:3], 2)} | {pe:.3g} | {ve} |")
    lines += ["", f"Self-BLEU: {_tally(tally['self_bleu'])}. Entity entropy: {_tally(tally['entity_entropy'])}.", "",
              claim_verdict(tally["self_bleu"] + tally["entity_entropy"], min((d for _, d, _, _ in tested), default=0)),
              ""]
    # --- claim 2: student accuracy
    lines += ["## SynthesizRR, classification: students trained on SynthesizRR data are more accurate than on FewGen data", "",
              "Accuracy of the student trained on the SynthesizRR set minus the one trained on the FewGen",
              "set (same task, augmenter, scale, student), paired over eval examples, each arm's spread over",
              "its replicates counted (its draws of the data, each averaged over its seeds, else its seeds:",
              "synthir.stats.replicate_table and contrast: Banerjee's test; 95% interval); supported / contradicted",
              "where the Holm-adjusted p < 0.05 (one family with claim 1's tests).", "",
              "| task | augmenter | scale | student | synthesizrr | vs fewgen | draws x seeds | Δ accuracy | Holm p | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for key, c, half, _ in compared:
        p = next(adjusted)
        v = _verdict(c.mean, p, +1)
        tally["accuracy"][v] += 1
        lines.append("| " + " | ".join(map(str, key)) + f" | {_fmt(c.mean, c.mean - half, c.mean + half)} | {p:.3g} | {v} |")
    lines += ["", f"Accuracy: {_tally(tally['accuracy'])}.", "",
              claim_verdict(tally["accuracy"], min((d for *_, d in compared), default=0)), ""]
    # --- the positive control
    lines += ["## Positive control: the gold arm", "",
              "Students trained on the same number of real examples (strategy `human`): if they do not beat",
              "the majority class, the student recipe cannot learn at that scale and claim 2 says nothing.", "",
              "| task | scale | student | gold accuracy (mean over draws and seeds) | majority class |",
              "|---|---|---|---|---|"]
    for (task, _aug, strat, scale, base), by_replicate in sorted(groups.items()):
        if strat != HUMAN:
            continue
        rows = io.read_jsonl(next(c["_pred"] for c in cells if (c["train_dataset"], c["strategy"], c["scale"],
                                                                c["base"]) == (task, strat, scale, base)))
        majority = max(Counter(r["label"] for r in rows).values()) / len(rows)
        acc = float(np.mean([v.mean() for v in by_replicate.values()]))
        lines.append(f"| {task} | {scale} | {base} | {acc:.3f} | {majority:.3f} |")
    return "\n".join(lines) + "\n"


def _against_fewgen(arms: dict[tuple[Any, ...], Any], rag: list[str],
                    few: list[str]) -> Iterator[tuple[tuple[Any, ...], str, Any, Any]]:
    """(key, FewGen alias, SynthesizRR arm, FewGen arm) for each SynthesizRR arm and each FewGen
    arm whose key differs from it only by the strategy (``key[2]``)."""
    for key, mine in sorted(arms.items()):
        if key[2] not in rag:
            continue
        for f in few:
            other = arms.get((*key[:2], f, *key[3:]))
            if other is not None:
                yield key, f, mine, other


def _diversity_tests(sets: dict[tuple[str, str, str, int, int], Any], rag: list[str],
                     few: list[str]) -> list[tuple[tuple[Any, ...], tuple[float, ...], tuple[float, ...]]]:
    """Claim 1: (row cells, Self-BLEU (d, lo, hi, p), entity entropy (d, lo, hi, p)) for each
    SynthesizRR set and the FewGen set of the same task, augmenter, draw and scale."""
    out = []
    for (task, aug, strat, draw, scale), f, st, other in _against_fewgen(sets, rag, few):
        pa, pb = st["per_example"], other["per_example"]
        b = independent_bootstrap(pa["self_bleu"], pb["self_bleu"], _mean_bleu)
        na, nb = (sum(map(len, x)) for x in (pa["entities"], pb["entities"]))
        e = independent_bootstrap(pa["entities"], pb["entities"], _entity_entropy_at(min(na, nb)))
        out.append(((task, aug, draw, scale, strat, f, f"{na} vs {nb} at {min(na, nb)}"), b, e))
    return out


def _over_draws(diverse: list[tuple[tuple[Any, ...], tuple[float, ...], tuple[float, ...]]]
                ) -> list[tuple[tuple[Any, ...], int, tuple[float, ...], tuple[float, ...]]]:
    """Claim 1's tests: (comparison, draws, Self-BLEU (d, lo, hi, p), entity entropy (d, lo, hi, p))
    of each SynthesizRR set against its FewGen set (task, augmenter, scale) over the draws both
    have: the per-draw differences in a paired t test (synthir.stats.paired_replicates; each
    draw's difference already carries its sets' sampling variance), 95% t interval. One draw:
    that draw's bootstrap test. Testing each draw apart put every draw in the Holm family, and a
    500-resample p-value cannot go below 2/501: in a family of 32 no draw could ever count."""
    per: dict[tuple[Any, ...], list[tuple[tuple[float, ...], tuple[float, ...]]]] = defaultdict(list)
    for (task, aug, _draw, scale, strat, f, _entities), b, e in diverse:
        per[(task, aug, scale, strat, f)].append((b, e))
    out = []
    for key, rows in per.items():
        if len(rows) == 1:
            out.append((key, 1, *rows[0]))
            continue
        tests = []
        for stat in (0, 1):
            c = paired_replicates([r[stat][0] for r in rows], [0.0] * len(rows))
            half = c.critical(0.05)
            tests.append((c.mean, c.mean - half, c.mean + half, c.p()))
        out.append((key, len(rows), *tests))
    return out


def _accuracy_tests(groups: dict[tuple[Any, ...], dict[tuple[int, int], np.ndarray]], rag: list[str],
                    few: list[str]) -> list[tuple[tuple[Any, ...], Any, float, int]]:
    """Claim 2: (row cells, contrast, 95% half-width, draws) of each SynthesizRR arm against the
    FewGen arm of the same task, augmenter, scale and student, over the replicates both have."""
    # each arm's variance prior: fitted to every arm of the task and student over all its replicates
    arms = with_priors({k: _replicates(v, sorted(v)) for k, v in groups.items()}, lambda k: (k[0], k[4]))

    def replicates(key: tuple[Any, ...], shared: list[tuple[int, int]]) -> Replicates:
        table, arm = _replicates(groups[key], shared), arms[key]
        # the prior of the arm's unit: a draw's, or (one draw shared) a seed's, never mixed
        return Replicates(table, arm.prior if table.index.name == arm.table.index.name else None)

    out = []
    for key, f, by_replicate, other in _against_fewgen(groups, rag, few):
        task, aug, strat, scale, base = key
        shared = sorted(set(by_replicate) & set(other))
        if not shared:
            continue
        c = contrast_of_tables([(1.0, replicates(key, shared)), (-1.0, replicates((task, aug, f, scale, base), shared))])
        half = c.critical(0.05)
        draws = len({d for d, _ in shared})
        size = f"{draws}x{len({s for _, s in shared})}"
        out.append(((task, aug, scale, base, strat, f, size), c, half, draws))
    return out


def _replicates(correct: dict[tuple[int, int], np.ndarray], shared: list[tuple[int, int]]) -> pd.DataFrame:
    """An arm's replicates x eval examples correctness over the (draw, seed) pairs ``shared``."""
    rows = pd.DataFrame([{"draw": d, "seed": s, "query": i, "score": float(v)}
                         for d, s in shared for i, v in enumerate(correct[(d, s)])])
    return replicate_table(rows)


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
