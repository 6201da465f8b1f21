"""``claims.md``: a verdict for each claim of the five papers, drawn from this study's cells.

Each claim is turned into contrasts of cells on per-query nDCG@10 (synthir.stats.contrast: the
queries paired, each cell's spread over its seeds counted), tested with one Holm adjustment over
every test of this file (its one family), and a verdict with its criterion spelled out:

- *supported* / *contradicted*: the adjusted test says so in the claim's direction (or against it);
  a claim that two things are about equal is supported when two one-sided tests (TOST) show the
  difference within ``MARGIN`` at the family's adjusted level, and contradicted when the
  difference is significant against the claim;
- *not detectable at this power*: no significant result, or too few seeds (claims are drawn only
  from cells with at least ``MIN_SEEDS`` seeds), or only bases the recipe cannot move (the
  human-label arm, the positive control, does not improve them significantly: their cells are
  left out of every claim);
- *not measured by this study*: it has no cells for the claim; the configuration that has them
  is named.

Minimum detectable effects are printed at the strictest level Holm applies in this family
(alpha / number of tests). Which alias plays which role comes from the study's configuration
(``roles``: each augmenter's parameter count, each strategy's kind, negative source and
conditioning, human-label share, each base's training recipe), so nothing here knows alias
names. The tables of cells stay below each verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthir.params import HUMAN
from synthir.paths import NONE
from synthir.stats import ALPHA, Contrast, contrast_of_tables, holm

METRIC = "ndcg_at_10"
MIN_SEEDS = 3
#: nDCG@10 difference below which two arms count as "about equal" (equivalence-type claims).
MARGIN = 0.02
#: A line has saturated when its last step adds less than (1 - this) of its gain (summary.csv's
#: saturation scale uses the same 90%).
SATURATION_SHARE = 0.9
CAVEAT = ("Caveat: CPU-sized models (SmolLM2-135M / Qwen2.5-0.5B augmenters, MiniLM-L6 and SPLADE-tiny students), "
          "hundreds of examples where the papers use up to millions: shapes, not the papers' numbers.")


@dataclass
class Test:
    """One contrast of cells on the eval queries, with its adjusted p-values and power. An
    equivalence test (``margin``) adds the TOST p-value to the family beside the difference's."""

    label: str
    contrast: Contrast
    margin: float | None = None
    #: the training dataset and the bases whose cells it compares (the positive control's keys)
    dataset: str = ""
    bases: tuple[str, ...] = ()
    p_holm: float = float("nan")
    p_equivalent_holm: float = float("nan")
    mde: float = float("nan")

    @property
    def mean(self) -> float:
        return self.contrast.mean

    @property
    def p(self) -> float:
        return self.contrast.p()

    def p_values(self) -> list[float]:
        return [self.p] + ([self.contrast.p_equivalent(self.margin)] if self.margin is not None else [])

    def significant(self) -> bool:
        return self.p_holm < ALPHA

    def equivalent(self) -> bool:
        return self.p_equivalent_holm < ALPHA

    def cite(self) -> str:
        tost = (f", within +-{self.margin} by TOST: Holm p = {self.p_equivalent_holm:.3g}"
                if self.margin is not None else "")
        return (f"{self.label}: {self.mean:+.4f} (Holm p = {self.p_holm:.3g}, raw p = {self.p:.3g}{tost}; "
                f"80%-power minimum detectable effect {self.mde:.4f} at the family's level; "
                f"seeds {'/'.join(map(str, self.contrast.replicates))})")


@dataclass
class Claim:
    title: str
    claim: str
    criterion: str
    tests: list[Test] = field(default_factory=list)
    decide: Callable[[list[Test]], tuple[str, str]] | None = None  # after adjustment: (verdict, why)
    verdict: tuple[str, str] | None = None  # set directly when no test applies
    table: list[str] = field(default_factory=list)


class Cells:
    """Per-query scores of the study's cells: a seeds x queries table per cell."""

    def __init__(self, per_query: pd.DataFrame) -> None:
        d = per_query[per_query["metric"] == METRIC]
        keys = ["train_dataset", "eval_dataset", "augmenter", "strategy", "scale", "base"]
        self.scores = {k: g.pivot_table(index="seed", columns="query", values="score", aggfunc="mean")
                       for k, g in d.groupby(keys)}
        self.seeds = {k: len(v.index) for k, v in self.scores.items()}

    def get(self, dataset: str, ev: str, augmenter: str, strategy: str, scale: int, base: str) -> pd.DataFrame | None:
        return self.scores.get((dataset, ev, augmenter, strategy, scale, base))

    def baseline(self, ev: str, base: str) -> pd.DataFrame | None:
        return self.scores.get((NONE, ev, NONE, NONE, 0, base))

    def seeds_of(self, *key: Any) -> int:
        return self.seeds.get(tuple(key), 0)


NOT_DETECTABLE = "not detectable at this power"


def write_claims(summary: pd.DataFrame, scaling: pd.DataFrame, per_query: pd.DataFrame,
                 roles: dict[str, Any]) -> str:
    """claims.md from the study's per-query results (``roles``: see the module docstring)."""
    cells = Cells(per_query)
    trained = scaling[(scaling["scale"] > 0)]
    datasets = sorted(set(trained["train_dataset"]))
    evals = sorted(set(scaling["eval_dataset"]))
    strategies: dict[str, dict[str, Any]] = roles.get("strategies", {})
    sizes: dict[str, int] = roles.get("augmenters", {})

    def kind(alias: str) -> str | None:
        return strategies.get(alias, {}).get("kind")

    def seeds_ok(*keys: tuple[Any, ...]) -> bool:
        return all(cells.seeds_of(*k) >= MIN_SEEDS for k in keys)

    def min_seeds() -> int:
        synthetic = [n for k, n in cells.seeds.items() if k[4] > 0]
        return min(synthetic) if synthetic else 0

    def test(label: str, a: pd.DataFrame, b: pd.DataFrame, margin: float | None = None,
             on: tuple[str, tuple[str, ...]] = ("", ())) -> Test:
        """a - b, measured on training dataset and bases ``on``."""
        return Test(label, contrast_of_tables([(1.0, a), (-1.0, b)]), margin, *on)

    # -- the positive control: can the recipe move each base? ------------------------------
    control: dict[tuple[str, str], Test] = {}
    for ds in datasets:
        for base in sorted(set(trained[trained["strategy"] == HUMAN]["base"])):
            scales = sorted(trained[(trained["strategy"] == HUMAN) & (trained["base"] == base)]["scale"].unique())
            top = cells.get(ds, ds, NONE, HUMAN, int(scales[-1]), base) if scales else None
            ref = cells.baseline(ds, base)
            if top is not None and ref is not None:
                control[(ds, base)] = test(f"human labels x{int(scales[-1])} vs untouched {base} on {ds}", top, ref)

    def movable(ds: str, base: str) -> bool | None:
        t = control.get((ds, base))
        return None if t is None else (t.significant() and t.mean > 0)

    claims: list[Claim] = []
    few = min_seeds() < MIN_SEEDS
    seeds_note = (f"this study's synthetic cells have {min_seeds()} seed(s); claims need at least {MIN_SEEDS} "
                  "(e.g. `--configfile configs/paper-shapes.yaml`)")

    def lines(k: str) -> list[tuple[str, str, str]]:
        rows = trained[trained["strategy"].map(kind) == k]
        return sorted({(r.train_dataset, r.augmenter, r.strategy) for r in rows.itertuples()})

    # -- DAGR: saturation -------------------------------------------------------------------
    c = Claim("DAGR (2509.16442): gains saturate with scale",
              "beyond some scale, more synthetic queries stop helping.",
              "per qgen line on its own corpus with >= 3 trained scales, where the largest scale's gain over the "
              "untouched base is significant and positive: the step from the previous trained scale adds "
              f"significantly less than {1 - SATURATION_SHARE:.0%} of that gain (supported) or significantly more "
              "(contradicted: still rising); the step is tested as (largest - previous) - "
              f"{1 - SATURATION_SHARE:.0%} x gain, per query. The lines must agree.")
    per_line: list[tuple[Test, Test]] = []
    for ds, aug, st in lines("qgen"):
        for base in sorted(set(trained["base"])):
            scales = sorted(trained[(trained["augmenter"] == aug) & (trained["strategy"] == st)
                                    & (trained["base"] == base)]["scale"].unique())
            ref = cells.baseline(ds, base)
            if len(scales) < 3 or ref is None:
                continue
            top, prev = cells.get(ds, ds, aug, st, int(scales[-1]), base), cells.get(ds, ds, aug, st, int(scales[-2]), base)
            if top is None or prev is None or not seeds_ok((ds, ds, aug, st, int(scales[-1]), base)):
                continue
            g = test(f"{aug} x{int(scales[-1])} vs untouched {base}", top, ref, on=(ds, (base,)))
            # (top - prev) - share x (top - ref): the gain is estimated too, so it is a term
            share = 1 - SATURATION_SHARE
            s = Test(f"step x{int(scales[-2])} -> x{int(scales[-1])} minus {share:.0%} of the gain, {aug} on {base}",
                     contrast_of_tables([(1.0 - share, top), (-1.0, prev), (share, ref)]), None, ds, (base,))
            per_line.append((g, s))
            c.tests += [g, s]

    def decide_saturation(usable: list[Test]) -> tuple[str, str]:
        votes = []
        lines_used = [(g, s) for g, s in per_line if g in usable]
        for g, s in lines_used:
            if not (g.significant() and g.mean > 0):
                votes.append(None)
            elif s.significant():
                votes.append("supported" if s.mean < 0 else "contradicted")
            else:
                votes.append(None)
        decided = {v for v in votes if v}
        cite = "; ".join(f"{g.cite()} / {s.cite()}" for g, s in lines_used)
        if len(decided) == 1:
            return decided.pop(), cite
        reason = ("the lines disagree" if decided else
                  "no line both gains significantly and has a last step clearly above or below the threshold")
        return NOT_DETECTABLE, f"{reason}: {cite}"

    if few:
        c.verdict = (NOT_DETECTABLE, seeds_note)
    elif not per_line:
        c.verdict = ("not measured by this study", "no qgen line with three trained scales")
    else:
        c.decide = decide_saturation
    claims.append(c)

    # -- DAGR: small augmenters -------------------------------------------------------------
    c = Claim("DAGR: small augmenters are competitive with large ones",
              "a smaller LLM's queries train retrievers about as well as a larger LLM's.",
              f"qgen, the smallest and the largest augmenter (by parameters) at their largest common scale, each "
              f"base the control moves, every eval dataset: every difference within +-{MARGIN} by two one-sided "
              f"tests (supported); the larger one significantly better anywhere (contradicted).")
    augs = sorted({a for _, a, _ in lines("qgen") if a in sizes}, key=lambda a: sizes[a])
    if few:
        c.verdict = (NOT_DETECTABLE, seeds_note)
    elif len(augs) < 2:
        c.verdict = ("not measured by this study", "one augmenter of known size (configs/paper-shapes.yaml has two)")
    else:
        small, large = augs[0], augs[-1]
        for ds, _, st in [x for x in lines("qgen") if x[1] == small]:
            for base in sorted(set(trained["base"])):
                common = sorted(set(trained[(trained["augmenter"] == small) & (trained["base"] == base)]["scale"])
                                & set(trained[(trained["augmenter"] == large) & (trained["base"] == base)]["scale"]))
                if not common:
                    continue
                n = int(common[-1])
                for ev in evals:
                    a, b = cells.get(ds, ev, small, st, n, base), cells.get(ds, ev, large, st, n, base)
                    if a is not None and b is not None and seeds_ok((ds, ev, small, st, n, base)):
                        c.tests.append(test(f"{small} vs {large} x{n} on {base}, eval {ev}", a, b, MARGIN,
                                            on=(ds, (base,))))

        def decide_small(ts: list[Test]) -> tuple[str, str]:
            cite = "; ".join(t.cite() for t in ts)
            if any(t.significant() and t.mean < 0 for t in ts):
                return "contradicted", cite
            if all(t.equivalent() for t in ts):
                return "supported", cite
            return NOT_DETECTABLE, f"not every difference is shown within {MARGIN} (TOST): {cite}"

        c.decide = decide_small
        c.verdict = None if c.tests else (NOT_DETECTABLE, "no common cells with enough seeds")
    claims.append(c)

    # -- DAGR: weak bases gain most ---------------------------------------------------------
    c = Claim("DAGR: augmentation helps weakly pre-trained retrievers most",
              "the gain from synthetic queries is larger for a weak base than for a retrieval-tuned one.",
              "qgen at each line's largest scale, on its own corpus: (weak cell - weak base) - (tuned cell - tuned "
              "base) per query, significantly positive (supported) or negative (contradicted); the weak base is "
              "the one with the lower untouched in-domain nDCG@10, and the human arm must move both.")
    bases = sorted(b for b in set(trained["base"]) if cells.baseline(datasets[0], b) is not None) if datasets else []
    if len(bases) >= 2 and not few:
        ds = datasets[0]
        ranked = sorted(bases, key=lambda b: float(cells.baseline(ds, b).to_numpy().mean()))  # type: ignore[union-attr]
        weak, tuned = ranked[0], ranked[-1]
        for _, aug, st in [x for x in lines("qgen") if x[0] == ds]:
            common = sorted(set(trained[(trained["augmenter"] == aug) & (trained["base"] == weak)]["scale"])
                            & set(trained[(trained["augmenter"] == aug) & (trained["base"] == tuned)]["scale"]))
            if not common:
                continue
            n = int(common[-1])
            w, t = cells.get(ds, ds, aug, st, n, weak), cells.get(ds, ds, aug, st, n, tuned)
            wb, tb = cells.baseline(ds, weak), cells.baseline(ds, tuned)
            if any(x is None for x in (w, t, wb, tb)):
                continue
            c.tests.append(Test(f"gain on {weak} - gain on {tuned}, {aug} x{n}",
                                contrast_of_tables([(1.0, w), (-1.0, wb), (-1.0, t), (1.0, tb)]),  # type: ignore[list-item]
                                None, ds, (weak, tuned)))

        def decide_weak(ts: list[Test]) -> tuple[str, str]:
            cite = "; ".join(t.cite() for t in ts)
            if ts and all(t.significant() and t.mean > 0 for t in ts):
                return "supported", cite
            if any(t.significant() and t.mean < 0 for t in ts):
                return "contradicted", cite
            return NOT_DETECTABLE, cite

        c.decide = decide_weak if c.tests else None
    if c.decide is None:
        c.verdict = (NOT_DETECTABLE, seeds_note) if few else ("not measured by this study", "one base only")
    claims.append(c)

    # -- 2504.21015: LLM-written vs mined negatives ----------------------------------------
    def arms(predicate: Callable[[dict[str, Any]], bool]) -> list[str]:
        return sorted(a for a, s in strategies.items() if predicate(s) and a in set(trained["strategy"]))

    mined = arms(lambda s: s.get("negatives") in ("bm25", "dense", "ce"))
    llm_q = arms(lambda s: s.get("negatives") == "llm" and s.get("conditioning") == "query")
    llm_qp = arms(lambda s: s.get("negatives") == "llm" and s.get("conditioning") == "query+positive")

    def compare(a_alias: str, b_alias: str, margin: float | None) -> list[Test]:
        out = []
        for ds in datasets:
            rows = trained[(trained["strategy"] == a_alias)]
            for r in rows[["augmenter", "scale", "base"]].drop_duplicates().itertuples():
                for ev in evals:
                    a = cells.get(ds, ev, r.augmenter, a_alias, int(r.scale), r.base)
                    b = cells.get(ds, ev, r.augmenter, b_alias, int(r.scale), r.base)
                    if a is not None and b is not None and seeds_ok((ds, ev, r.augmenter, a_alias, int(r.scale), r.base)):
                        out.append(test(f"{a_alias} vs {b_alias}, {r.augmenter} x{int(r.scale)} on {r.base}, eval {ev}",
                                        a, b, margin, on=(ds, (r.base,))))
        return out

    def equal_or_worse(name: str, title: str, claim: str, a_arms: list[str], b_arms: list[str], want: str) -> None:
        c = Claim(title, claim, name)
        if few and a_arms and b_arms:
            c.verdict = (NOT_DETECTABLE, seeds_note)
        elif not (a_arms and b_arms):
            c.verdict = ("not measured by this study", "configs/strategies.yaml has these arms")
        else:
            c.tests = [t for a in a_arms for b in b_arms for t in compare(a, b, MARGIN if want == "equal" else None)]

            def decide(ts: list[Test]) -> tuple[str, str]:
                cite = "; ".join(t.cite() for t in ts)
                worse = any(t.significant() and t.mean < 0 for t in ts)
                better = any(t.significant() and t.mean > 0 for t in ts)
                if want == "equal":
                    if worse:
                        return "contradicted", cite
                    return ("supported", cite) if ts and all(t.equivalent() for t in ts) else (NOT_DETECTABLE, cite)
                if want == "worse":
                    return ("supported", cite) if worse and not better else (
                        ("contradicted", cite) if better and not worse else (NOT_DETECTABLE, cite))
                return ("supported", cite) if better and not worse else (
                    ("contradicted", cite) if worse and not better else (NOT_DETECTABLE, cite))

            c.decide = decide if c.tests else None
            c.verdict = None if c.tests else (NOT_DETECTABLE, "no cells with enough seeds")
        claims.append(c)

    equal_or_worse(f"LLM negatives from the query alone vs every mined source, same queries and cells: not "
                   f"significantly worse anywhere and every difference within +-{MARGIN} by TOST (supported), significantly worse "
                   "(contradicted).",
                   "Don't Retrieve, Generate (2504.21015): LLM negatives from the query compete with mined ones",
                   "negatives an LLM writes from the query alone train as well as BM25/dense/cross-encoder-mined ones.",
                   llm_q, mined, "equal")
    equal_or_worse("LLM negatives conditioned on query and positive vs every mined source: significantly worse "
                   "(supported), significantly better (contradicted).",
                   "Don't Retrieve, Generate (later versions): conditioned on the positive, LLM negatives lose",
                   "negatives written from query and positive lose to mined ones.", llm_qp, mined, "worse")
    # -- 2504.05220: utility labels ---------------------------------------------------------
    mix = arms(lambda s: s.get("kind") == "utility" and s.get("human_fraction", 0) > 0)
    pure = arms(lambda s: s.get("kind") == "utility" and s.get("human_fraction", 0) == 0)
    human = [HUMAN] if HUMAN in set(trained["strategy"]) else []
    equal_or_worse(f"utility with human labels mixed in vs the human-label arm at equal size, on every eval: not "
                   f"significantly worse and every difference within +-{MARGIN} by TOST (supported), significantly worse "
                   "(contradicted).",
                   "Utility-focused annotation (2504.05220): 20% human labels match full human labelling",
                   "LLM utility labels with 20% human labels train as well as human labels alone.", mix, human, "equal")
    equal_or_worse("utility labels alone vs the human-label arm at equal size: significantly better (supported), "
                   "significantly worse (contradicted); out of domain the paper finds LLM labels generalise better.",
                   "Utility-focused annotation: LLM labels generalise better out of domain",
                   "LLM utility labels alone beat human labels out of domain.", pure, human, "better")
    # -- SynthesizRR: diversity -------------------------------------------------------------
    c = Claim("SynthesizRR (2405.10040): retrieval-augmented synthesis is more diverse",
              "retrieval in the prompt lowers Self-BLEU and raises distinct bigrams over few-shot prompting.",
              "rag-qgen vs qgen of the same augmenter at every common scale: Self-BLEU lower and distinct-2 higher "
              "at all of them (supported), both the other way at all of them (contradicted). Set-level statistics "
              "(synthir.quality), compared by direction: no significance test.")
    rag, few_shot = arms(lambda s: s.get("kind") == "rag-qgen"), arms(lambda s: s.get("kind") == "qgen"
                                                                        and not s.get("negatives"))
    rows = trained.drop_duplicates(["augmenter", "strategy", "scale"])
    if rag and few_shot:
        q = rows[rows["strategy"].isin([*rag, *few_shot])]
        c.table = ["| augmenter | strategy | scale | self_bleu | distinct_2 |", "|---|---|---|---|---|",
                   *[f"| {r.augmenter} | {r.strategy} | {r.scale} | {r.self_bleu:.2f} | {r.distinct_2:.3f} |"
                     for r in q.itertuples()]]
        more = less = 0
        for r in q[q["strategy"].isin(rag)].itertuples():
            o = q[(q["strategy"].isin(few_shot)) & (q["augmenter"] == r.augmenter) & (q["scale"] == r.scale)]
            for x in o.itertuples():
                more += r.self_bleu < x.self_bleu and r.distinct_2 > x.distinct_2
                less += r.self_bleu > x.self_bleu and r.distinct_2 < x.distinct_2
        total = len(q[q["strategy"].isin(rag)])
        c.verdict = (("supported" if more and not less else "contradicted" if less and not more else NOT_DETECTABLE),
                     f"more diverse on both statistics at {more}, less at {less} of {total} comparisons")
    else:
        c.verdict = ("not measured by this study", "configs/strategies.yaml has rag-qgen beside qgen")
    claims.append(c)
    # -- 2409.19759: budget -----------------------------------------------------------------
    aa, nq = arms(lambda s: s.get("kind") == "answer-aug"), arms(lambda s: s.get("kind") == "qgen"
                                                                   and not s.get("negatives"))
    c = Claim("Cost-effective strategies (2409.19759): answer augmentation at a small budget, new questions at a large one",
              "with a small budget per seed answer augmentation wins, with a large one new questions win.",
              "answer-aug vs qgen (same augmenter and base) on its own corpus: answer-aug significantly better at "
              "the smallest common scale and qgen significantly better at the largest (supported); the opposite at "
              "either end (contradicted).")
    if few and aa and nq:
        c.verdict = (NOT_DETECTABLE, seeds_note)
    elif not (aa and nq):
        c.verdict = ("not measured by this study", "configs/strategies.yaml has answer-aug beside qgen")
    else:
        ends: list[tuple[Test, str]] = []
        for ds in datasets:
            for r in trained[trained["strategy"] == aa[0]][["augmenter", "base"]].drop_duplicates().itertuples():
                common = sorted(set(trained[(trained["strategy"] == aa[0]) & (trained["base"] == r.base)]["scale"])
                                & set(trained[(trained["strategy"] == nq[0]) & (trained["base"] == r.base)]["scale"]))
                for n, end in ((common[0], "small"), (common[-1], "large")) if common else ():
                    a = cells.get(ds, ds, r.augmenter, aa[0], int(n), r.base)
                    b = cells.get(ds, ds, r.augmenter, nq[0], int(n), r.base)
                    if a is not None and b is not None:
                        t = test(f"answer-aug vs qgen x{int(n)} on {r.base} ({end} budget)", a, b, on=(ds, (r.base,)))
                        ends.append((t, end))
                        c.tests.append(t)

        def decide_budget(usable: list[Test]) -> tuple[str, str]:
            cite = "; ".join(t.cite() for t, _ in ends if t in usable)
            small = [t for t, e in ends if e == "small" and t in usable]
            large = [t for t, e in ends if e == "large" and t in usable]
            if all(t.significant() and t.mean > 0 for t in small) and all(t.significant() and t.mean < 0 for t in large):
                return "supported", cite
            if any(t.significant() and t.mean < 0 for t in small) or any(t.significant() and t.mean > 0 for t in large):
                return "contradicted", cite
            return NOT_DETECTABLE, cite

        c.decide = decide_budget if ends else None
        c.verdict = None if ends else (NOT_DETECTABLE, "no common scales")
    claims.append(c)
    # -- SoftQE -----------------------------------------------------------------------------
    q2d = arms(lambda s: s.get("kind") == "q2d")
    c = Claim("SoftQE (2402.12663): distilled query expansions help out of domain",
              "+2.83 nDCG@10 on average out of domain, with no LLM at query time.",
              "q2d cells' gain over the untouched base on every out-of-domain eval dataset: significantly positive "
              "somewhere and negative nowhere (supported), significantly negative somewhere (contradicted).")
    if few and q2d:
        c.verdict = (NOT_DETECTABLE, seeds_note)
    elif not q2d:
        c.verdict = ("not measured by this study", "configs/strategies.yaml has q2d")
    else:
        for ds in datasets:
            for r in trained[trained["strategy"] == q2d[0]][["augmenter", "scale", "base"]].drop_duplicates().itertuples():
                for ev in [e for e in evals if e != ds]:
                    a, b = cells.get(ds, ev, r.augmenter, q2d[0], int(r.scale), r.base), cells.baseline(ev, r.base)
                    if a is not None and b is not None:
                        c.tests.append(test(f"q2d x{int(r.scale)} vs untouched {r.base}, eval {ev}", a, b,
                                            on=(ds, (r.base,))))

        def decide_softqe(ts: list[Test]) -> tuple[str, str]:
            cite = "; ".join(t.cite() for t in ts)
            if any(t.significant() and t.mean < 0 for t in ts):
                return "contradicted", cite
            return ("supported", cite) if any(t.significant() and t.mean > 0 for t in ts) else (NOT_DETECTABLE, cite)

        c.decide = decide_softqe if c.tests else None
        c.verdict = None if c.tests else (NOT_DETECTABLE, "no out-of-domain cells")
    claims.append(c)

    # -- one family: Holm over every p-value of this file (differences and TOST alike) ---------
    family = [*control.values(), *(t for c in claims for t in c.tests)]
    ps = [(t, i, p) for t in family for i, p in enumerate(t.p_values())]
    level = ALPHA / max(1, len(ps))  # the strictest level Holm applies: the detectable effects'
    for (t, i, _), h in zip(ps, holm(np.array([p for _, _, p in ps]))):
        if i == 0:
            t.p_holm = float(h)
        else:
            t.p_equivalent_holm = float(h)
    for t in family:
        t.mde = t.contrast.mde(alpha=level)
    for c in claims:
        if c.verdict is None and c.decide is not None:
            # only cells of bases the positive control moves carry a claim
            usable = [t for t in c.tests if all(movable(t.dataset, b) for b in t.bases)]
            left = sorted({b for t in c.tests if t not in usable for b in t.bases if not movable(t.dataset, b)})
            if not usable:
                c.verdict = (NOT_DETECTABLE, f"every test involves a base whose positive control does not pass "
                             f"({', '.join(left)}: no human-label arm, or one that does not improve it significantly)")
            else:
                verdict, why = c.decide(usable)
                note = (f" Left out: cells on {', '.join(left)}, whose positive control does not pass." if left else "")
                c.verdict = (verdict, why + note)
        assert c.verdict is not None

    out = ["# What this study measured, claim by claim", "", CAVEAT, "",
           f"Verdicts rest on contrasts of per-query {METRIC.replace('_at_', '@')} between cells (queries paired, "
           f"each cell's spread over its seeds counted: synthir.stats.contrast), one family: Holm over all "
           f"{len(ps)} p-values of this file; minimum detectable effects (80% power) at the family's strictest "
           f"level, alpha / {len(ps)}. Claims use only cells with at least {MIN_SEEDS} seeds, on bases whose "
           f"human-label arm moves them; 'about equal' means within +-{MARGIN} by two one-sided tests (TOST). "
           "Cells are rows of the scaling.csv beside this file; summary.csv has every cell's gain, interval, "
           "minimum detectable effect and p-values adjusted over that file's own family.", "",
           "## Positive control: can the recipe move each base?", ""]
    for (ds, base), t in sorted(control.items()):
        can = t.significant() and t.mean > 0
        out.append(f"- {base} on {ds}: {t.cite()}. " + (
            "The recipe detects effects for this base." if can else
            f"**The recipe cannot detect effects for {base}**: its human-label arm does not improve it "
            "significantly, so no claim about synthetic data rests on it."))
    if not control:
        out.append("- No human-label arm in this study (no training dataset with a labelled split).")
    out.append("")
    for c in claims:
        verdict, why = c.verdict  # type: ignore[misc]
        out += [f"## {c.title}", "", f"Claim: {c.claim}", "", f"**Verdict: {verdict}.** {why}", "",
                f"Criterion: {c.criterion}", ""]
        if c.table:
            out += [*c.table, ""]
    out += ["## Cells", "", *_cell_table(summary), ""]
    return "\n".join(out) + "\n"


def _cell_table(summary: pd.DataFrame) -> list[str]:
    d = summary[(summary["metric"] == METRIC) & (summary["scale"] > 0)]
    # no p-values here: summary.csv adjusts them over its own family, this file over its claims'
    cols = ["eval_dataset", "augmenter", "strategy", "scale", "base", "seeds", "gain", "mde", "gain_vs_human"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in d.sort_values(["eval_dataset", "strategy", "augmenter", "base", "scale"]).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float) and np.isnan(v):
                cells.append("")
            elif c.startswith("gain"):
                cells.append(f"{v:+.4f}")
            elif c.startswith("p_") or c == "mde":
                cells.append(f"{v:.3g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return lines
