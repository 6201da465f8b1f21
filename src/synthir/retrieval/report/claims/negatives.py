"""Don't Retrieve, Generate (arXiv 2504.21015): LLM-written hard negatives against mined ones
(BM25, dense, cross-encoder), written from the query alone or from query and positive."""

from __future__ import annotations

from synthir.retrieval.report.claims.core import MARGIN, Claim, Study

MINED = ("bm25", "dense", "ce")


def claims(s: Study) -> list[Claim]:
    mined = s.arms(lambda r: r.get("negatives") in MINED)
    llm_q = s.arms(lambda r: r.get("negatives") == "llm" and r.get("conditioning") == "query")
    llm_qp = s.arms(lambda r: r.get("negatives") == "llm" and r.get("conditioning") == "query+positive")
    return [
        s.arms_claim(f"LLM negatives from the query alone vs every mined source, same queries and cells: not "
                     f"significantly worse anywhere and every difference within +-{MARGIN} by TOST (supported), "
                     "significantly worse (contradicted).",
                     "Don't Retrieve, Generate (2504.21015): LLM negatives from the query compete with mined ones",
                     "negatives an LLM writes from the query alone train as well as BM25/dense/cross-encoder-mined ones.",
                     llm_q, mined, "equal"),
        s.arms_claim("LLM negatives conditioned on query and positive vs every mined source: significantly worse "
                     "(supported), significantly better (contradicted).",
                     "Don't Retrieve, Generate (later versions): conditioned on the positive, LLM negatives lose",
                     "negatives written from query and positive lose to mined ones.", llm_qp, mined, "worse"),
    ]
