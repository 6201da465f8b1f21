"""Scoring the training corpus for every query of a subset, for mined hard negatives
(synthir.retrieval.negatives picks from the ranking): BM25, a dense encoder's index, or BM25 candidates
re-scored by a cross-encoder. Each scores a query by itself (see synthir.retrieval.negatives)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthir.core.config import SubsetConfig
from synthir.core.io import Document, Query, Run


def _queries(rows: list[dict[str, Any]]) -> dict[str, Query]:
    return {r["query_id"]: Query(r["query_id"], r["query"]) for r in rows}


def bm25_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
                resources: dict[str, Path]) -> Run:
    """Every passage's BM25 score for every query (the positive's score is needed even when it
    ranks outside the window)."""
    from synthir.retrieval.bm25 import BM25Index

    assert cfg.bm25 is not None
    return BM25Index(cfg.bm25, corpus).search({r["query_id"]: r["query"] for r in rows}, len(corpus))


def dense_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
                 resources: dict[str, Path]) -> Run:
    """Every passage's cosine score under the negatives' encoder: its corpus index (the one
    evaluation builds, reused) and its query route."""
    from dataclasses import replace

    from synthir.retrieval.encoders import load_encoder
    from synthir.retrieval.evaluate import dense_search, load_index

    assert cfg.dense is not None and cfg.compute is not None, "dense mining needs the encoder's settings"
    encoder = load_encoder(resources["encoder"], cfg.dense, cfg.compute)
    doc_ids, emb = load_index(resources["index"], cfg.dense, encoder)
    if doc_ids != list(corpus):
        raise ValueError(f"{resources['index']}: document ids differ from the training corpus")
    one_at_a_time = replace(cfg.dense, batch_size=1)  # one query at a time: see synthir.retrieval.negatives
    return dense_search(encoder.model, doc_ids, emb, _queries(rows), one_at_a_time, top_k=len(corpus))


def ce_scores(cfg: SubsetConfig, corpus: dict[str, Document], rows: list[dict[str, Any]],
              resources: dict[str, Path]) -> Run:
    """BM25's top ``rank_window[1]`` candidates and the positive, re-scored by the reranker
    (synthir.retrieval.rerank): ranks and the guard then use the cross-encoder's probabilities."""
    from synthir.retrieval.bm25 import BM25Index
    from synthir.retrieval.rerank import rerank

    assert cfg.negatives is not None and cfg.negatives.rank_window is not None and cfg.reranker_max_length
    assert cfg.bm25 is not None and cfg.compute is not None
    first = BM25Index(cfg.bm25, corpus).search({r["query_id"]: r["query"] for r in rows}, cfg.negatives.rank_window[1])
    candidates = {r["query_id"]: sorted({*first.get(r["query_id"], {}), r["positive_id"]}) for r in rows}
    return rerank(resources["reranker"], corpus, {r["query_id"]: r["query"] for r in rows}, candidates,
                  cfg.reranker_max_length, cfg.compute)
