"""Retrieval and scoring: dense (FAISS exact inner product) and BM25 (bm25s), pytrec_eval metrics."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from synthir.core import io, numerics
from synthir.retrieval.bm25 import BM25Index
from synthir.core.config import BM25EvalConfig, Encoding, EncodeConfig, EvalConfig, EvalSplit
from synthir.retrieval.encoders import Encoder, load_encoder
from synthir.core.errors import UserError
from synthir.core.io import Document, Qrels, Query, Run
from synthir.core.provenance import Artifact

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


def load_split(dataset_dir: Path, split: str) -> tuple[dict[str, Document], dict[str, Query], Qrels]:
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    qrels = io.read_split(dataset_dir, split)
    queries = eval_queries(io.read_queries(dataset_dir / "queries.jsonl"), qrels)
    return corpus, queries, qrels


def encode_documents(model: Any, corpus: dict[str, Document], enc: Encoding) -> tuple[list[str], np.ndarray]:
    """Passage embeddings (L2-normalised, float32) through the model's document route."""
    doc_ids = list(corpus)
    emb = model.encode_document(
        [enc.passage_prefix + corpus[d].full_text() for d in doc_ids],
        batch_size=enc.batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return doc_ids, emb.astype(np.float32)


def dense_search(model: Any, doc_ids: list[str], doc_emb: np.ndarray, queries: dict[str, Query],
                 enc: Encoding, top_k: int) -> Run:
    """Encode the queries (query route) and search the passages exactly (FAISS inner product
    on normalised vectors = cosine, BEIR's ``cos_sim``)."""
    faiss = numerics.faiss_module()
    q_ids = list(queries)
    q_emb = model.encode_query(
        [enc.query_prefix + queries[q].text for q in q_ids],
        batch_size=enc.batch_size, normalize_embeddings=True, convert_to_numpy=True,
    ).astype(np.float32)
    index = faiss.IndexFlatIP(doc_emb.shape[1])
    index.add(doc_emb)
    scores, idx = index.search(q_emb, min(top_k, len(doc_ids)))
    return {
        q: {doc_ids[j]: float(s) for j, s in zip(idx[i], scores[i]) if j >= 0}
        for i, q in enumerate(q_ids)
    }


def index_settings(enc: Encoding) -> dict[str, Any]:
    """What an index's embeddings depend on besides the passage tower's weights."""
    return {"batch_size": enc.batch_size, "max_seq_length": enc.max_seq_length, "dtype": enc.dtype,
            "passage_prefix": enc.passage_prefix}


def encode_corpus(cfg: EncodeConfig, model_dir: Path, dataset_dir: Path, out_dir: Path) -> Artifact:
    """Encode a corpus once with a base encoder; every model sharing that base's passage tower
    (scale 0, and query-tower fine-tuning) searches this index."""
    start = time.perf_counter()
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    encoder = load_encoder(model_dir, cfg.encoding, cfg.compute)
    doc_ids, emb = encode_documents(encoder.model, corpus, cfg.encoding)
    out_dir.mkdir(parents=True, exist_ok=True)
    with io.atomic_open(out_dir / "embeddings.npy", "wb") as f:
        np.save(f, emb)
    io.write_json(out_dir / "doc_ids.json", doc_ids)
    return Artifact(
        kind="index", meta=out_dir / "meta.json",
        inputs={"model": model_dir / "meta.json", "dataset": dataset_dir / "meta.json"},
        outputs={"embeddings": out_dir / "embeddings.npy", "doc_ids": out_dir / "doc_ids.json"},
        facts={"documents": len(doc_ids), "dimension": int(emb.shape[1]), "settings": index_settings(cfg.encoding),
               "passage_tower_sha256": encoder.passage_tower_sha256},
        volatile={"encoding_seconds": time.perf_counter() - start},
    )


class StaleIndexError(UserError, ValueError):
    """An index built by other passage-tower weights or settings than the model evaluated."""


def load_index(index_dir: Path, enc: Encoding, encoder: Encoder) -> tuple[list[str], np.ndarray]:
    """An index's ids and embeddings, if it was built with ``enc``'s settings by ``encoder``'s
    passage tower (same weights digest); otherwise :class:`StaleIndexError` naming both."""
    meta = io.read_json(index_dir / "meta.json")
    if meta["settings"] != index_settings(enc):
        raise StaleIndexError(f"{index_dir}: built with {meta['settings']}, evaluation asks {index_settings(enc)}")
    built_by, wanted = meta["passage_tower_sha256"], encoder.passage_tower_sha256
    if built_by != wanted:
        raise StaleIndexError(f"{index_dir}: built by passage-tower weights {built_by[:16]}, the model's passage "
                              f"tower is {wanted[:16]}: its corpus must be encoded by the model itself")
    return io.read_json(index_dir / "doc_ids.json"), np.load(index_dir / "embeddings.npy")


def evaluate_dense(cfg: EvalConfig, model_dir: Path, dataset_dir: Path, run_path: Path, metrics_path: Path,
                   index_dir: Path | None = None) -> Artifact:
    """Retrieve with a dense model: passages from its base's index (``passage_index: base``,
    the model's passage tower is the base's, checked by digest), else encoded here."""
    start = time.perf_counter()
    corpus, queries, qrels = load_split(dataset_dir, cfg.split.split)
    encoder = load_encoder(model_dir, cfg.encoding, cfg.compute)
    if cfg.passage_index == "base":
        if index_dir is None:
            raise ValueError("passage_index is base, but no index was given")
        doc_ids, doc_emb = load_index(index_dir, cfg.encoding, encoder)
        if doc_ids != list(corpus):
            raise ValueError(f"{index_dir}: document ids differ from {dataset_dir}/corpus.jsonl")
    else:
        doc_ids, doc_emb = encode_documents(encoder.model, corpus, cfg.encoding)
    extra = 1 if cfg.split.ignore_identical_ids else 0
    run = dense_search(encoder.model, doc_ids, doc_emb, queries, cfg.encoding, cfg.top_k + extra)
    result = _finish(run, qrels, cfg.split, cfg.top_k, run_path, "synthir-dense", {
        "retriever": "dense-faiss-flat-ip", **index_settings(cfg.encoding), "query_prefix": cfg.encoding.query_prefix,
        "passage_index": cfg.passage_index, "passage_tower_sha256": encoder.passage_tower_sha256,
    })
    io.write_json(metrics_path, result)
    inputs = {"model": model_dir / "meta.json", "dataset": dataset_dir / "meta.json"}
    if index_dir is not None:
        inputs["index"] = index_dir / "meta.json"
    return Artifact(kind="evaluation", meta=metrics_path.parent / "meta.json", inputs=inputs,
                    outputs={"run": run_path, "metrics": metrics_path},
                    volatile={"evaluation_seconds": time.perf_counter() - start})


def evaluate_bm25(cfg: BM25EvalConfig, dataset_dir: Path, run_path: Path, metrics_path: Path) -> Artifact:
    start = time.perf_counter()
    corpus, queries, qrels = load_split(dataset_dir, cfg.split.split)
    extra = 1 if cfg.split.ignore_identical_ids else 0
    run = BM25Index(cfg.bm25, corpus).search({q.id: q.text for q in queries.values()}, cfg.top_k + extra)
    result = _finish(run, qrels, cfg.split, cfg.top_k, run_path, "synthir-bm25", {
        "retriever": "bm25s", "k1": cfg.bm25.k1, "b": cfg.bm25.b, "stemmer": cfg.bm25.stemmer,
        "stopwords": cfg.bm25.stopwords,
    })
    io.write_json(metrics_path, result)
    return Artifact(kind="evaluation", meta=metrics_path.parent / "meta.json",
                    inputs={"dataset": dataset_dir / "meta.json"}, outputs={"run": run_path, "metrics": metrics_path},
                    volatile={"evaluation_seconds": time.perf_counter() - start})


def _finish(run: Run, qrels: Qrels, split: EvalSplit, top_k: int, run_path: Path, tag: str,
            settings: dict[str, Any]) -> dict[str, Any]:
    if split.ignore_identical_ids:
        run = drop_identical_ids(run)
    run = cut(run, top_k)
    io.write_trec_run(run_path, run, tag)
    means, per_query = score_run(qrels, run)
    return {
        "metrics": {k: round(v, 6) for k, v in means.items()},
        "per_query": {k: {q: round(s, 6) for q, s in v.items()} for k, v in per_query.items()},
        "queries_evaluated": len(judged_queries(qrels)),
        "settings": {**settings, "split": split.split, "top_k": top_k,
                     "ignore_identical_ids": split.ignore_identical_ids},
        "run_sha256": io.sha256_file(run_path),
    }
