"""Hard negatives for a training set: the values of a strategy's ``negatives.source``.

A miner (``bm25``, ``dense``, ``ce``: BM25 candidates re-scored by a cross-encoder) ranks the training corpus for every query of a scale subset and
picks one negative per example from a rank window, skipping the positive and, as a
false-negative guard, any candidate whose score exceeds ``max_score_ratio`` times the positive's
own score (positive-aware mining, as NV-Retriever; 2504.21015 compares such mined negatives with
LLM-written ones). Candidates the guard skips are counted: the false-negative audit. An example
with no candidate left gets a random passage instead, drawn from a generator seeded by the
strategy's seed and the row's query id, also counted. ``llm`` negatives are written during
generation (synthir.retrieval.followups.LLMNegative) and only checked here.

A row's negative depends on that row alone (BM25 scores each query by itself, the dense miner
encodes one query at a time, the reranker scores one query's candidates as one batch), so the
negatives of a subset are a prefix of those of a larger one: in bf16, the padding of a batch
shared with other queries would change an embedding.

The subsets of one pool share their queries, so ``qgen`` and ``qgen+bm25`` (same prompts, same
cache entries) train on the same queries and differ only by the negatives.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthir.core.config import NegativesConfig, SubsetConfig
from synthir.core.io import Document, Run
from synthir.core.plugins import load, module_of


#: mined negative source -> its scorer ("module:function"), imported on use so that a subset
#: without mined negatives does not depend on the retrieval code (synthir.core.closure); these plus
#: "llm" (synthir.retrieval.followups.LLMNegative) are the schema's enum.
MINERS: dict[str, str] = {"bm25": "synthir.retrieval.mining:bm25_scores", "dense": "synthir.retrieval.mining:dense_scores",
                          "ce": "synthir.retrieval.mining:ce_scores"}
SOURCES = (*MINERS, "llm")


def miner_module(source: str) -> str:
    return module_of(MINERS[source])


def _miner(source: str) -> Callable[..., Run]:
    miner: Callable[..., Run] = load(MINERS[source])
    return miner


def pick_negative(scores: dict[str, float], positive_id: str, cfg: NegativesConfig) -> tuple[str | None, int]:
    """The best-ranked passage inside the rank window that passes the false-negative guard,
    and how many candidates the guard skipped before it."""
    assert cfg.rank_window is not None and cfg.max_score_ratio is not None
    first, last = cfg.rank_window
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[first - 1 : last]
    ceiling = cfg.max_score_ratio * scores.get(positive_id, 0.0)
    guarded = 0
    for doc_id, score in ranked:
        if doc_id == positive_id:
            continue
        if ceiling <= 0 or score <= ceiling:
            return doc_id, guarded
        guarded += 1
    return None, guarded


def add_negatives(rows: list[dict[str, Any]], corpus: dict[str, Document], cfg: SubsetConfig,
                  resources: dict[str, Path] | None = None) -> dict[str, Any]:
    """Give every row ``negative_id`` and ``negative`` (in place); return counts for meta.json.
    Rows that already carry an LLM-written ``negative`` keep it."""
    neg = cfg.negatives
    assert neg is not None
    scores: Run = {}
    if neg.source in MINERS:
        scores = _miner(neg.source)(cfg, corpus, rows, resources or {})
    doc_ids = sorted(corpus)
    origin: Counter[str] = Counter()
    guarded = 0
    for r in rows:
        if neg.source == "llm" and r.get("negative"):
            r["negative_id"] = None
            origin["llm"] += 1
            continue
        pick, skipped = (pick_negative(scores.get(r["query_id"], {}), r["positive_id"], neg)
                         if neg.source in MINERS else (None, 0))
        guarded += skipped
        origin[neg.source if pick else "random_fallback"] += 1
        rng = random.Random(f"{cfg.seed}:{r['query_id']}")  # this row's own draws (module docstring)
        while pick is None or pick == r["positive_id"]:
            pick = rng.choice(doc_ids)
        r["negative_id"], r["negative"] = pick, corpus[pick].full_text()
    return {"source": neg.source, "rank_window": neg.rank_window, "max_score_ratio": neg.max_score_ratio,
            "encoder": neg.encoder, "prompt": neg.prompt, "origin": dict(sorted(origin.items())),
            # false-negative audit: candidates inside the window that scored too close to the positive
            "skipped_by_guard": guarded}
