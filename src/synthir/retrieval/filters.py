"""The generation filter that needs more than the response itself: round-trip consistency (a
retriever must find the source passage for the generated query). It runs on the accepted
records of a chunk, after parsing; rejections are counted by reason like the parser's. The LLM
judge, a filter that is a second call, is a follow-up (synthir.retrieval.followups)."""

from __future__ import annotations

from typing import Any

from synthir.retrieval.bm25 import BM25Index


def round_trip(records: list[dict[str, Any]], index: BM25Index, top_k: int) -> None:
    """Mark ``status = "round_trip"`` on every record whose query does not retrieve its
    positive passage within BM25's ``top_k`` (Alberti et al. 2019; the InPars/Promptagator
    consistency filter, with BM25 as the configured retriever)."""
    run = index.search({str(r["n"]): r["query"] for r in records}, top_k)
    for r in records:
        if r["positive_id"] not in run.get(str(r["n"]), {}):
            r["status"] = "round_trip"
