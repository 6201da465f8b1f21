"""``reports/claims.md``: each claim of the papers in SEEDS.md against what this study measured,
with the cells it rests on (report rows) and the caveat of scale. Written from summary.csv
(gains, p-values, saturation) and scaling.csv (quality statistics); a claim whose cells the
study lacks says so and names the configuration that has them."""

from __future__ import annotations

import pandas as pd

METRIC = "ndcg_at_10"
CAVEAT = ("Caveat: CPU-sized models (SmolLM2-135M / Qwen2.5-0.5B augmenters, MiniLM-L6 students), "
          "hundreds of examples where the papers use up to millions, and 2 CPU cores: shapes, "
          "not the papers' numbers.")


def _gains(summary: pd.DataFrame, strategies: list[str] | None = None) -> pd.DataFrame:
    d = summary[(summary["metric"] == METRIC) & (summary["scale"] > 0)]
    if strategies is not None:
        d = d[d["strategy"].isin(strategies)]
    return d


def _table(d: pd.DataFrame, extra: list[str] | None = None) -> list[str]:
    cols = ["eval_dataset", "augmenter", "strategy", "scale", "base", "seeds", "gain", "p_value", *(extra or [])]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in d.sort_values(["eval_dataset", "scale", "strategy", "augmenter", "base"]).iterrows():
        cells = [f"{r[c]:+.4f}" if c == "gain" else f"{r[c]:.4f}" if c == "p_value" else
                 (f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _missing(what: str, config: str = "configs/strategies.yaml") -> list[str]:
    if not config:
        return [f"Not measured in this study ({what}); the default study measures it: "
                "`snakemake -j8 reports/claims.md`."]
    run = f"snakemake -j8 --configfile {config}"
    return [f"Not measured in this study ({what}); the configuration that measures it: `{run}` "
            "(its reports go to the directory its `study.reports` names)."]


def write_claims(summary: pd.DataFrame, scaling: pd.DataFrame) -> str:
    out = ["# What this study measured, claim by claim", "", CAVEAT, "",
           f"Gains are nDCG@10 over the cell's own base at scale 0 (summary.csv); p: paired randomization "
           "test on per-query scores; rows cite report cells by their keys (scaling.csv beside this file).", ""]

    def section(title: str, claim: str, body: list[str]) -> None:
        out.extend([f"## {title}", "", f"Claim: {claim}", "", *body, ""])

    g = _gains(summary)
    sat = g.groupby(["eval_dataset", "augmenter", "strategy", "base"], as_index=False).agg(
        largest_scale=("scale", "max"), saturation_scale=("saturation_scale", "first"),
        saturation_low=("saturation_low", "first"), saturation_high=("saturation_high", "first"))
    section("DAGR (2509.16442): gains saturate with scale",
            "beyond some scale, more synthetic queries stop helping.",
            (["Saturation scale: smallest scale reaching 90% of the line's largest gain (95% interval: "
              "bootstrap over eval queries; empty = no scale gains).", "",
              *_table(g[g["strategy"] == "qgen"]), "", "| eval | augmenter | strategy | base | saturation | 95% |",
              "|---|---|---|---|---|---|",
              *[f"| {r.eval_dataset} | {r.augmenter} | {r.strategy} | {r.base} | {r.saturation_scale} | "
                f"[{r.saturation_low}, {r.saturation_high}] |" for r in sat.itertuples()]]
             if g["scale"].nunique() >= 2 else _missing("one scale only", "")))
    augs = g[g["strategy"] == "qgen"]
    section("DAGR: small augmenters are competitive with large ones",
            "a smaller LLM's queries train retrievers about as well as a larger LLM's.",
            _table(augs) if augs["augmenter"].nunique() >= 2 else _missing("one augmenter only", ""))
    section("DAGR: augmentation helps weakly pre-trained retrievers most",
            "the gain is larger for a weak base than for a retrieval-tuned one.",
            _table(augs) if augs["base"].nunique() >= 2 else _missing("one base only", ""))
    neg = ["qgen", "qgen+bm25", "qgen+dense", "qgen+ce", "qgen+llm-q", "qgen+llm-qp"]
    section("Don't Retrieve, Generate (2504.21015): LLM-written vs mined hard negatives",
            "negatives the LLM writes from the query compete with BM25/dense/cross-encoder-mined ones; conditioned "
            "on query and positive they lose to mined ones (later versions). Same queries in every row.",
            _table(_gains(summary, neg)) if _gains(summary, neg)["strategy"].nunique() >= 3 else _missing("negative sources"))
    util = _gains(summary, ["utility", "utility+human20", "utility+answer"])
    section("Utility-focused annotation (2504.05220): LLM labels, and 20% human labels",
            "20% human labels match full human labelling in-domain; LLM labels alone generalise better "
            "out of domain. Trained with Disj-InfoNCE; utility+answer selects after a drafted pseudo-answer.",
            _table(util) if util["strategy"].nunique() >= 2 else _missing("utility strategies"))
    q = scaling[(scaling["scale"] > 0) & scaling["strategy"].isin(["qgen", "rag-qgen"])]
    q = q.drop_duplicates(["augmenter", "strategy", "scale"])
    section("SynthesizRR (2405.10040): retrieval-augmented synthesis is more diverse",
            "retrieval in the prompt lowers Self-BLEU and raises distinct n-grams over few-shot prompting.",
            ["| augmenter | strategy | scale | self_bleu | distinct_2 | embedding_dispersion |", "|---|---|---|---|---|---|",
             *[f"| {r.augmenter} | {r.strategy} | {r.scale} | {r.self_bleu:.2f} | {r.distinct_2:.3f} | "
               f"{r.embedding_dispersion:.3f} |" for r in q.itertuples()]]
            if q["strategy"].nunique() == 2 else _missing("rag-qgen"))
    fam = _gains(summary, ["answer-aug", "rephrase", "qgen"])
    section("Cost-effective strategies (2409.19759): answer augmentation, rephrase, new question",
            "with a small budget per seed answer augmentation wins, with a large one new questions win "
            "(llm_calls in scaling.csv is each cell's budget spent).",
            _table(fam) if fam["strategy"].nunique() == 3 else _missing("answer-aug and rephrase"))
    sq = _gains(summary, ["q2d"])
    section("SoftQE (2402.12663): distilling query expansions",
            "+2.83 nDCG@10 on average out of domain, with no LLM at query time.",
            _table(sq) if len(sq) else _missing("q2d"))
    return "\n".join(out) + "\n"
