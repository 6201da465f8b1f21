"""Retrieval and scoring: dense (FAISS exact inner product) and BM25 (bm25s), pytrec_eval metrics."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from synthir import io
from synthir.bm25 import BM25Index
from synthir.config import BM25Config, DatasetConfig, EvalConfig
from synthir.io import Document, Qrels, Query, Run

log = logging.getLogger(__name__)

#: Report name -> (pytrec_eval measure, key in its output, depth the run is cut to first).
#: MRR@10 is reciprocal rank on the run cut to 10, as BEIR's ``mrr@10``; names carry no '@'
#: (MLflow rejects it).
METRICS: dict[str, tuple[str, str, int | None]] = {
    "ndcg_at_10": ("ndcg_cut.10", "ndcg_cut_10", None),
    "p_at_10": ("P.10", "P_10", None),
    "recall_at_100": ("recall.100", "recall_100", None),
    "mrr_at_10": ("recip_rank", "recip_rank", 10),
}


def judged_queries(qrels: Qrels) -> Qrels:
    """Queries with at least one relevant (grade > 0) judgment: the ones that are evaluated.
    Unjudged queries (CISI, CACM) would otherwise count as zeros."""
    return {q: docs for q, docs in qrels.items() if any(g > 0 for g in docs.values())}


def drop_identical_ids(run: Run) -> Run:
    """BEIR's ``ignore_identical_ids``: a query never retrieves itself (ArguAna, Quora)."""
    return {q: {d: s for d, s in docs.items() if d != q} for q, docs in run.items()}


def cut(run: Run, depth: int) -> Run:
    out: Run = {}
    for q, docs in run.items():
        ranked = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]
        out[q] = dict(ranked)
    return out


def score_run(qrels: Qrels, run: Run) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query metrics of ``run`` over the judged queries of ``qrels``.

    nDCG uses the grade as gain (graded qrels: NFCorpus, Cranfield); recall and precision
    count grade > 0 (pytrec_eval's default relevance level 1). A judged query missing from
    the run scores 0 on every metric.
    """
    import pytrec_eval

    judged = judged_queries(qrels)
    per_query: dict[str, dict[str, float]] = {name: {} for name in METRICS}
    for name, (measure, key, depth) in METRICS.items():
        scored = run if depth is None else cut(run, depth)
        evaluator = pytrec_eval.RelevanceEvaluator(judged, {measure})
        # pytrec_eval wants every query of the run judged and skips judged queries absent
        # from the run; both are handled here so the mean is over all judged queries.
        results = evaluator.evaluate({q: docs for q, docs in scored.items() if q in judged})
        for q in judged:
            per_query[name][q] = float(results.get(q, {}).get(key, 0.0))
    means = {name: float(np.mean(list(v.values()))) for name, v in per_query.items()}
    return means, per_query


def eval_queries(queries: dict[str, Query], qrels: Qrels) -> dict[str, Query]:
    judged = judged_queries(qrels)
    return {q: queries[q] for q in sorted(judged) if q in queries}


def load_split(dataset_dir: Path, ds: DatasetConfig) -> tuple[dict[str, Document], dict[str, Query], Qrels]:
    qrels_path = dataset_dir / "qrels" / f"{ds.eval_split}.tsv"
    if not qrels_path.is_file():
        raise FileNotFoundError(f"{qrels_path}: missing qrels for split {ds.eval_split!r}")
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    qrels = io.read_qrels(qrels_path)
    queries = eval_queries(io.read_queries(dataset_dir / "queries.jsonl"), qrels)
    return corpus, queries, qrels


def encode_documents(model: Any, corpus: dict[str, Document], cfg: EvalConfig) -> tuple[list[str], np.ndarray]:
    """Passage embeddings (L2-normalised, float32) through the model's document route."""
    doc_ids = list(corpus)
    emb = model.encode_document(
        [cfg.passage_prefix + corpus[d].full_text() for d in doc_ids],
        batch_size=cfg.batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=True,
    )
    return doc_ids, emb.astype(np.float32)


def dense_search(model: Any, doc_ids: list[str], doc_emb: np.ndarray, queries: dict[str, Query],
                 cfg: EvalConfig, top_k: int) -> Run:
    """Encode the queries (query route) and search the passages exactly (FAISS inner product
    on normalised vectors = cosine, BEIR's ``cos_sim``)."""
    import faiss

    q_ids = list(queries)
    q_emb = model.encode_query(
        [cfg.query_prefix + queries[q].text for q in q_ids],
        batch_size=cfg.batch_size, normalize_embeddings=True, convert_to_numpy=True,
    ).astype(np.float32)
    index = faiss.IndexFlatIP(doc_emb.shape[1])
    index.add(doc_emb)
    scores, idx = index.search(q_emb, min(top_k, len(doc_ids)))
    return {
        q: {doc_ids[j]: float(s) for j, s in zip(idx[i], scores[i]) if j >= 0}
        for i, q in enumerate(q_ids)
    }


def load_encoder(model_dir: Path, max_seq_length: int, dtype: str) -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cuda" if torch.cuda.is_available() else "cpu")
    model.max_seq_length = max_seq_length
    if dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    return model


#: Settings that change passage embeddings: an index is reused only if they all match.
INDEX_SETTINGS = ("max_seq_length", "dtype", "passage_prefix")


def index_settings(cfg: EvalConfig) -> dict[str, Any]:
    return {k: getattr(cfg, k) for k in INDEX_SETTINGS}


def encode_corpus(cfg: EvalConfig, model_dir: Path, dataset_dir: Path, out_dir: Path, threads: int) -> dict[str, Any]:
    """Encode an eval corpus once with a base encoder; every model sharing that base's
    passage tower (scale 0, and query-tower fine-tuning) searches this index."""
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    model = load_encoder(model_dir, cfg.max_seq_length, cfg.dtype)
    doc_ids, emb = encode_documents(model, corpus, cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    with io.atomic_open(out_dir / "embeddings.npy", "wb") as f:
        np.save(f, emb)
    io.write_json(out_dir / "doc_ids.json", doc_ids)
    return {"documents": len(doc_ids), "dimension": int(emb.shape[1]), "settings": index_settings(cfg),
            "encoding_seconds": round(time.perf_counter() - start, 2)}


def load_index(index_dir: Path, cfg: EvalConfig) -> tuple[list[str], np.ndarray]:
    meta = io.read_json(index_dir / "meta.json")
    if meta["settings"] != index_settings(cfg):
        raise ValueError(f"{index_dir}: built with {meta['settings']}, evaluation asks {index_settings(cfg)}")
    return io.read_json(index_dir / "doc_ids.json"), np.load(index_dir / "embeddings.npy")


def evaluate_dense(cfg: EvalConfig, model_dir: Path, dataset_dir: Path, run_path: Path, threads: int,
                   index_dir: Path | None = None) -> dict[str, Any]:
    """Retrieve with a dense model: passages from its base's index when given (the model's
    passage tower is the base's), else encoded here."""
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    corpus, queries, qrels = load_split(dataset_dir, cfg.dataset)
    model = load_encoder(model_dir, cfg.max_seq_length, cfg.dtype)
    if index_dir is not None:
        doc_ids, doc_emb = load_index(index_dir, cfg)
        if doc_ids != list(corpus):
            raise ValueError(f"{index_dir}: document ids differ from {dataset_dir}/corpus.jsonl")
    else:
        doc_ids, doc_emb = encode_documents(model, corpus, cfg)
    extra = 1 if cfg.dataset.ignore_identical_ids else 0
    run = dense_search(model, doc_ids, doc_emb, queries, cfg, cfg.top_k + extra)
    return _finish(run, qrels, cfg.dataset, cfg.top_k, run_path, "synthir-dense", start, {
        "retriever": "dense-faiss-flat-ip", **index_settings(cfg), "query_prefix": cfg.query_prefix,
        "passage_index": "base index" if index_dir is not None else "encoded in job",
    })


def bm25_search(cfg: BM25Config, corpus: dict[str, Document], queries: dict[str, Query], top_k: int) -> Run:
    return BM25Index(cfg, corpus).search({q.id: q.text for q in queries.values()}, top_k)


def evaluate_bm25(cfg: BM25Config, dataset_dir: Path, run_path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    corpus, queries, qrels = load_split(dataset_dir, cfg.dataset)
    extra = 1 if cfg.dataset.ignore_identical_ids else 0
    run = bm25_search(cfg, corpus, queries, cfg.top_k + extra)
    return _finish(run, qrels, cfg.dataset, cfg.top_k, run_path, "synthir-bm25", start, {
        "retriever": "bm25s", "k1": cfg.k1, "b": cfg.b, "stemmer": cfg.stemmer, "stopwords": cfg.stopwords,
    })


def _finish(run: Run, qrels: Qrels, ds: DatasetConfig, top_k: int, run_path: Path, tag: str,
            start: float, settings: dict[str, Any]) -> dict[str, Any]:
    if ds.ignore_identical_ids:
        run = drop_identical_ids(run)
    run = cut(run, top_k)
    io.write_trec_run(run_path, run, tag)
    means, per_query = score_run(qrels, run)
    return {
        "metrics": {k: round(v, 6) for k, v in means.items()},
        "per_query": {k: {q: round(s, 6) for q, s in v.items()} for k, v in per_query.items()},
        "queries_evaluated": len(judged_queries(qrels)),
        "settings": {**settings, "split": ds.eval_split, "top_k": top_k,
                     "ignore_identical_ids": ds.ignore_identical_ids},
        "run_sha256": io.sha256_file(run_path),
        "evaluation_seconds": round(time.perf_counter() - start, 2),
    }
