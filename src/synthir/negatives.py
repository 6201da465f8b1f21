"""Hard negatives for a training set: the values of a strategy's ``negatives.source``.

A miner (``bm25``, ``dense``, ``ce``: BM25 candidates re-scored by a cross-encoder) ranks the training corpus for every query of a scale subset and
picks one negative per example from a rank window, skipping the positive and, as a
false-negative guard, any candidate whose score exceeds ``max_score_ratio`` times the positive's
own score (positive-aware mining, as NV-Retriever; 2504.21015 compares such mined negatives with
LLM-written ones). Candidates the guard skips are counted: the false-negative audit. An example
with no candidate left gets a random passage instead, drawn from a generator seeded by the
strategy's seed and the row's query id, also counted. ``llm`` negatives are written during
generation (:class:`LLMNegative`) and only checked here.

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

from synthir.config import NegativesConfig, SubsetConfig
from synthir.engine import Rejected, Request
from synthir.io import Document, Query, Run
from synthir.llm.base import Message
from synthir.strategies.base import (
    MIN_PASSAGE_WORDS, check_garbage, check_length, load_template, longest_common_run, passage_text, truncate_words,
    words,
)


def _queries(rows: list[dict[str, Any]]) -> dict[str, Query]:
    return {r["query_id"]: Query(r["query_id"], r["query"]) for r in rows}


def bm25_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
                resources: dict[str, Path]) -> Run:
    """Every passage's BM25 score for every query (the positive's score is needed even when it
    ranks outside the window)."""
    from synthir.bm25 import BM25Index

    assert cfg.bm25 is not None
    return BM25Index(cfg.bm25, corpus).search({r["query_id"]: r["query"] for r in rows}, len(corpus))


def dense_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
                 resources: dict[str, Path]) -> Run:
    """Every passage's cosine score under the negatives' encoder: its corpus index (the one
    evaluation builds, reused) and its query route."""
    from dataclasses import replace

    from synthir.encoders import load_encoder
    from synthir.evaluate import dense_search, load_index

    assert cfg.dense is not None and cfg.compute is not None, "dense mining needs the encoder's settings"
    encoder = load_encoder(resources["encoder"], cfg.dense, cfg.compute)
    doc_ids, emb = load_index(resources["index"], cfg.dense, encoder)
    if doc_ids != list(corpus):
        raise ValueError(f"{resources['index']}: document ids differ from the training corpus")
    one_at_a_time = replace(cfg.dense, batch_size=1)  # see the module docstring
    return dense_search(encoder.model, doc_ids, emb, _queries(rows), one_at_a_time, top_k=len(corpus))


def ce_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
              resources: dict[str, Path]) -> Run:
    """BM25's top ``rank_window[1]`` candidates and the positive, re-scored by the reranker
    (synthir.rerank): ranks and the guard then use the cross-encoder's probabilities."""
    from synthir.bm25 import BM25Index
    from synthir.rerank import rerank

    assert cfg.negatives is not None and cfg.negatives.rank_window is not None and cfg.reranker_max_length
    assert cfg.bm25 is not None and cfg.compute is not None
    first = BM25Index(cfg.bm25, corpus).search({r["query_id"]: r["query"] for r in rows}, cfg.negatives.rank_window[1])
    candidates = {r["query_id"]: sorted({*first.get(r["query_id"], {}), r["positive_id"]}) for r in rows}
    return rerank(resources["reranker"], corpus, {r["query_id"]: r["query"] for r in rows}, candidates,
                  cfg.reranker_max_length, cfg.compute)


Miner = Callable[[SubsetConfig, dict[str, Document], list[dict[str, Any]], dict[str, Path]], Run]

#: mined negative source -> scorer; these plus "llm" (LLMNegative) are the schema's enum.
MINERS: dict[str, Miner] = {"bm25": bm25_scores, "dense": dense_scores, "ce": ce_scores}
SOURCES = (*MINERS, "llm")


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
        scores = MINERS[neg.source](cfg, corpus, rows, resources or {})
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


class LLMNegative:
    """A hard negative written by the augmenter for each accepted record (2504.21015): from the
    query alone or from query and positive, as the template's fields say. A response that
    fails the checks leaves the record without a negative (``negative_status`` says why); the
    subset then gives it a seeded random passage, counted, so every alias of a pool keeps the
    same queries."""

    name = "negative"

    def __init__(self, prompt: str, corpus: dict[str, Document], passage_words: int, max_copy_overlap: float) -> None:
        self.template, self.template_sha256 = load_template(prompt)
        self.corpus = corpus
        self.passage_words = passage_words
        self.max_copy_overlap = max_copy_overlap  # the strategy's filter, applied to the negative

    def request(self, request: Request, record: dict[str, Any]) -> Request:
        positive = truncate_words(self.corpus[record["positive_id"]].full_text(), self.passage_words)
        user = self.template["user"].format(query=record["query"], positive=positive)
        return Request(request.source_id, (Message("system", self.template["system"]), Message("user", user)),
                       request.seed, {})

    def apply(self, record: dict[str, Any], raw: str) -> None:
        text = passage_text(raw)
        try:
            check_garbage(text)
            check_length(text, MIN_PASSAGE_WORDS // 2, 10_000)
            # a small LLM often echoes the query (or the positive) as its "negative", alone or
            # with more text after it: training would then push a query away from itself
            neg = words(text)
            for what, ref in (("query", record["query"]), ("positive", self.corpus[record["positive_id"]].full_text())):
                other = words(ref)
                if longest_common_run(neg, other) / max(1, min(len(neg), len(other))) >= self.max_copy_overlap:
                    raise Rejected(f"copies_{what}")
        except Rejected as r:
            record["negative_status"] = r.reason
            return
        record["negative"] = text
