"""SynthesizRR (arXiv 2405.10040), on retrieval: retrieval-augmented query generation gives more
diverse data than few-shot prompting. Set-level statistics, tested over the draws of the data."""

from __future__ import annotations

import pandas as pd

from synthir.retrieval.report.claims.core import (MIN_DRAWS, NOT_DETECTABLE, NOT_MEASURED, Claim, Study, Test,
                                                  sign_decision)
from synthir.retrieval.strategies.qgen import QGen
from synthir.retrieval.strategies.rag_qgen import RagQGen
from synthir.stats import paired_replicates

#: (column, sign): each statistic oriented so that positive means "the first arm is more diverse".
DIVERSITY = (("distinct_2", 1.0), ("self_bleu", -1.0))


def claims(s: Study) -> list[Claim]:
    c = Claim("SynthesizRR (2405.10040): retrieval-augmented synthesis is more diverse",
              "retrieval in the prompt lowers Self-BLEU and raises distinct bigrams over few-shot prompting.",
              "rag-qgen vs qgen of the same augmenter and training corpus at every common scale, on each "
              "set-level statistic (synthir.retrieval.quality): a paired t test over the draws of the data both "
              "sets have (synthir.stats.paired_replicates: each draw's set is one replicate, so the test carries "
              "the variance of drawing passages and sampling), in the file's Holm family. Supported when distinct-2 "
              "is significantly higher and Self-BLEU significantly lower in every comparison; contradicted when "
              "any shows significantly less diversity.")
    rag = s.arms(lambda r: True, kind=RagQGen)
    few_shot = s.arms(lambda r: not r.get("negatives"), kind=QGen)
    if not (rag and few_shot):
        c.verdict = (NOT_MEASURED, "configs/budget.yaml has rag-qgen beside qgen")
        return [c]
    # one row per training set: set statistics do not depend on base, seed or eval set
    sets = s.trained.drop_duplicates(["train_dataset", "augmenter", "strategy", "draw", "scale"])
    sets = sets[sets["strategy"].isin([*rag, *few_shot])]
    line = ["train_dataset", "augmenter", "scale"]
    q = (sets.groupby([*line, "strategy"], as_index=False)
         .agg(self_bleu=("self_bleu", "mean"), distinct_2=("distinct_2", "mean"), draws=("draw", "nunique")))
    c.table = ["| train dataset | augmenter | strategy | scale | draws | self_bleu (mean) | distinct_2 (mean) |",
               "|---|---|---|---|---|---|---|",
               *[f"| {r.train_dataset} | {r.augmenter} | {r.strategy} | {r.scale} | {r.draws} | {r.self_bleu:.2f} "
                 f"| {r.distinct_2:.3f} |" for r in q.itertuples()]]
    c.tests = [t for a in rag for b in few_shot for t in _tests(sets, line, a, b)]
    if not c.tests:
        c.verdict = (NOT_DETECTABLE, f"no rag-qgen and qgen sets share {MIN_DRAWS} draws of the data")
    else:
        c.decide = sign_decision
    return [c]


def _tests(sets: pd.DataFrame, line: list[str], a: str, b: str) -> list[Test]:
    """``a`` vs ``b`` on each diversity statistic, in every line where both have MIN_DRAWS common draws."""
    out = []
    for key, g in sets[sets["strategy"].isin([a, b])].groupby(line):
        ds, augmenter, scale = key
        by = {st: g[g["strategy"] == st].set_index("draw") for st in (a, b)}
        draws = sorted(set(by[a].index) & set(by[b].index))
        if len(draws) < MIN_DRAWS:
            continue
        for col, sign in DIVERSITY:
            x, y = (sign * by[st].loc[draws, col].to_numpy(dtype=float) for st in (a, b))
            label = f"{a} vs {b}, {augmenter} x{int(scale)} on {ds}: {'-' if sign < 0 else ''}{col}"
            out.append(Test(label, paired_replicates(x, y), dataset=ds))
    return out
