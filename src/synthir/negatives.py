"""Hard negatives for a training set: the values of a strategy's ``negatives.source``.

A miner ranks the training corpus for every query of a scale subset and picks one negative per
example from a rank window, skipping the positive and, as a false-negative guard, any
candidate whose score exceeds ``max_score_ratio`` times the positive's own score (positive-aware
mining, as NV-Retriever; 2504.21015 compares such mined negatives with LLM-written ones). An
example with no candidate left gets a seeded random passage instead, and is counted.

The subsets of one pool share their queries, so ``qgen`` and ``qgen+bm25`` (same prompts, same
cache entries) train on the same queries and differ only by the negatives.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from synthir.config import BM25Config, NegativesConfig
from synthir.io import Document, Query, Run


def bm25_scores(cfg: BM25Config, corpus: dict[str, Document], queries: dict[str, Query]) -> Run:
    """Every passage's BM25 score for every query (the positive's score is needed even when it
    ranks outside the window)."""
    from synthir.evaluate import bm25_search

    return bm25_search(cfg, corpus, queries, top_k=len(corpus))


#: negative source -> scorer of (bm25 settings, corpus, queries); keys = the schema's enum.
MINERS: dict[str, Callable[[BM25Config, dict[str, Document], dict[str, Query]], Run]] = {
    "bm25": bm25_scores,
}


def pick_negative(scores: dict[str, float], positive_id: str, cfg: NegativesConfig) -> str | None:
    """The best-ranked passage inside the rank window that passes the false-negative guard."""
    first, last = cfg.rank_window
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[first - 1 : last]
    ceiling = cfg.max_score_ratio * scores.get(positive_id, 0.0)
    for doc_id, score in ranked:
        if doc_id != positive_id and (ceiling <= 0 or score <= ceiling):
            return doc_id
    return None


def add_negatives(rows: list[dict[str, Any]], corpus: dict[str, Document], cfg: NegativesConfig,
                  bm25: BM25Config, seed: int) -> dict[str, Any]:
    """Give every row ``negative_id`` and ``negative`` (in place); return counts for meta.json."""
    queries = {r["query_id"]: Query(r["query_id"], r["query"]) for r in rows}
    scores = MINERS[cfg.source](bm25, corpus, queries)
    rng = random.Random(seed)
    doc_ids = sorted(corpus)
    origin: Counter[str] = Counter()
    for r in rows:
        neg = pick_negative(scores.get(r["query_id"], {}), r["positive_id"], cfg)
        origin[cfg.source if neg else "random_fallback"] += 1
        while neg is None or neg == r["positive_id"]:
            neg = rng.choice(doc_ids)
        r["negative_id"], r["negative"] = neg, corpus[neg].full_text()
    return {"source": cfg.source, "rank_window": list(cfg.rank_window),
            "max_score_ratio": cfg.max_score_ratio, "origin": dict(sorted(origin.items()))}
