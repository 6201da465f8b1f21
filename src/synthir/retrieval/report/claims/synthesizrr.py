"""SynthesizRR (arXiv 2405.10040), on retrieval: retrieval-augmented query generation gives more
diverse data than few-shot prompting. Set-level statistics compared by direction."""

from __future__ import annotations

from synthir.retrieval.report.claims.core import NOT_DETECTABLE, NOT_MEASURED, Claim, Study
from synthir.retrieval.strategies.qgen import QGen
from synthir.retrieval.strategies.rag_qgen import RagQGen


def claims(s: Study) -> list[Claim]:
    c = Claim("SynthesizRR (2405.10040): retrieval-augmented synthesis is more diverse",
              "retrieval in the prompt lowers Self-BLEU and raises distinct bigrams over few-shot prompting.",
              "rag-qgen vs qgen of the same augmenter and training corpus at every common scale, each set-level "
              "statistic (synthir.retrieval.quality) averaged over the line's draws: Self-BLEU lower and distinct-2 "
              "higher at all of them (supported), both the other way at all of them (contradicted). Compared by "
              "direction: no significance test.")
    rag = s.arms(lambda r: True, kind=RagQGen)
    few_shot = s.arms(lambda r: not r.get("negatives"), kind=QGen)
    if not (rag and few_shot):
        c.verdict = (NOT_MEASURED, "configs/strategies.yaml has rag-qgen beside qgen")
        return [c]
    # one row per training set (set statistics do not depend on base, seed or eval set), then the
    # mean over its line's draws: each draw is another sample of passages and seeds
    sets = s.trained.drop_duplicates(["train_dataset", "augmenter", "strategy", "draw", "scale"])
    line = ["train_dataset", "augmenter", "scale"]
    q = (sets[sets["strategy"].isin([*rag, *few_shot])]
         .groupby([*line, "strategy"], as_index=False)
         .agg(self_bleu=("self_bleu", "mean"), distinct_2=("distinct_2", "mean"), draws=("draw", "nunique")))
    c.table = ["| train dataset | augmenter | strategy | scale | draws | self_bleu (mean) | distinct_2 (mean) |",
               "|---|---|---|---|---|---|---|",
               *[f"| {r.train_dataset} | {r.augmenter} | {r.strategy} | {r.scale} | {r.draws} | {r.self_bleu:.2f} "
                 f"| {r.distinct_2:.3f} |" for r in q.itertuples()]]
    more = less = 0
    for r in q[q["strategy"].isin(rag)].itertuples():
        o = q[q["strategy"].isin(few_shot) & (q["train_dataset"] == r.train_dataset) & (q["augmenter"] == r.augmenter)
              & (q["scale"] == r.scale)]
        for x in o.itertuples():
            more += r.self_bleu < x.self_bleu and r.distinct_2 > x.distinct_2
            less += r.self_bleu > x.self_bleu and r.distinct_2 < x.distinct_2
    total = len(q[q["strategy"].isin(rag)])
    c.verdict = (("supported" if more and not less else "contradicted" if less and not more else NOT_DETECTABLE),
                 f"more diverse on both statistics (means over draws) at {more}, less at {less} of {total} comparisons")
    return [c]
