"""Quality statistics of a synthetic training set: diversity, faithfulness, coverage, leakage.

Computed on the rows a model is trained on (a scale subset) by their own jobs, so changing a
statistic never retrains a model; the report joins them to every cell. ``stats.json`` beside the
set holds what depends on the set alone; leakage, which depends on an eval dataset too, gets one
``leakage.json`` per (set, eval dataset) under ``results/`` (so studies evaluating on different
datasets share both and never rewrite each other's). Definitions:

- ``distinct_1`` / ``distinct_2``: distinct word uni/bigrams over all n-grams of the queries
  (Li et al. 2016).
- ``self_bleu``: mean sentence BLEU (sacrebleu, effective order) of each query against all other
  queries of a seeded sample (Zhu et al. 2018); lower = more diverse.
- ``embedding_dispersion``: mean pairwise cosine distance of the query embeddings.
- ``passage_overlap``: mean share of a query's words that occur in its positive passage.
- ``corpus_coverage``: distinct corpus passages used as positives / corpus size.
- ``duplicate_rate``: 1 - distinct normalised queries / rows.
- ``leakage`` (against one eval dataset): share of queries sharing a word n-gram
  (``leakage_ngram``; a shorter query counts as its own n-gram) with a test query of that dataset.
- ``exposure`` (against the eval split of the training corpus itself): share of the set's
  positives that are relevant documents of an evaluated test query; the test queries none of
  whose relevant documents is a positive of the set are listed (``unexposed_queries``) so the
  report can score the in-domain cells on them alone (in-domain gains without that exposure).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from synthir.core import io
from synthir.core.config import Encoding, LeakageConfig, QualityConfig
from synthir.core.provenance import Artifact
from synthir.self_bleu import self_bleu_each

_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_n(texts: list[str], n: int) -> float:
    grams = [tuple(t[i : i + n]) for t in map(tokens, texts) for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: list[str], sample: int, seed: int = 0) -> float:
    each = self_bleu_each(texts, sample, seed)
    return float(np.mean(each)) if each else 0.0


def dispersion(embeddings: np.ndarray) -> float:
    """Mean pairwise cosine distance (embeddings L2-normalised), diagonal excluded."""
    n = len(embeddings)
    if n < 2:
        return 0.0
    sims = embeddings @ embeddings.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))


def passage_overlap(queries: list[str], passages: list[str]) -> float:
    shares = [len(set(tokens(q)) & set(tokens(p))) / max(1, len(set(tokens(q)))) for q, p in zip(queries, passages)]
    return float(np.mean(shares)) if shares else 0.0


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    t = tokens(text)
    return {tuple(t)} if len(t) < n else {tuple(t[i : i + n]) for i in range(len(t) - n + 1)}


def leakage(queries: list[str], eval_queries: list[str], n: int) -> float:
    held = set().union(*(ngrams(q, n) for q in eval_queries)) if eval_queries else set()
    return sum(bool(ngrams(q, n) & held) for q in queries) / max(1, len(queries))


#: Queries embedded per batch for the dispersion statistic (float32; not a study setting).
BATCH_SIZE = 64


def set_stats(cfg: QualityConfig, train_path: Path, dataset_dir: Path, encoder_dir: Path, out: Path) -> Artifact:
    from synthir.retrieval.encoders import load_encoder

    rows = io.read_jsonl(train_path)
    queries = [r["query"] for r in rows]
    corpus_ids = set(io.read_corpus(dataset_dir / "corpus.jsonl"))
    enc = Encoding(batch_size=BATCH_SIZE, max_seq_length=cfg.max_seq_length, dtype="float32",
                   query_prefix=cfg.query_prefix, passage_prefix=None)
    model = load_encoder(encoder_dir, enc, cfg.compute).model
    emb = model.encode_query([cfg.query_prefix + q for q in queries], batch_size=BATCH_SIZE,
                             normalize_embeddings=True, convert_to_numpy=True)
    stats: dict[str, Any] = {
        "rows": len(rows),
        "distinct_1": distinct_n(queries, 1),
        "distinct_2": distinct_n(queries, 2),
        "self_bleu": self_bleu(queries, cfg.self_bleu_sample),
        "embedding_dispersion": dispersion(np.asarray(emb, dtype=np.float64)),
        "passage_overlap": passage_overlap(queries, [r["positive"] for r in rows]),
        "corpus_coverage": len({r["positive_id"] for r in rows} & corpus_ids) / max(1, len(corpus_ids)),
        "duplicate_rate": 1.0 - len({" ".join(tokens(q)) for q in queries}) / max(1, len(rows)),
    }
    return Artifact(kind="set_stats", meta=out, inputs={"train": train_path, "encoder": encoder_dir / "meta.json"},
                    facts={"stats": {k: round(v, 6) if isinstance(v, float) else v for k, v in stats.items()}})


def exposure(rows: list[dict[str, Any]], qrels: dict[str, dict[str, int]], judged: list[str]) -> tuple[float, list[str]]:
    """Share of the rows with a positive relevant to a judged eval query, and the judged queries
    none of whose relevant documents is a positive of the set. A multi-positive row (utility
    labels, Disj-InfoNCE) counts every one of its ``positive_ids``."""
    def ids(r: dict[str, Any]) -> list[str]:
        return r.get("positive_ids", [r["positive_id"]])

    positives = {d for r in rows for d in ids(r)}
    relevant = {d for q in judged for d, g in qrels[q].items() if g > 0}
    share = sum(any(d in relevant for d in ids(r)) for r in rows) / max(1, len(rows))
    unexposed = [q for q in judged if not any(g > 0 and d in positives for d, g in qrels[q].items())]
    return share, unexposed


def set_leakage(cfg: LeakageConfig, train_path: Path, eval_dir: Path, out: Path) -> Artifact:
    """Leakage of the training set at ``train_path`` into the test queries of ``eval_dir``, and
    (when ``eval_dir`` is the training corpus) the set's exposure to their relevant documents."""
    from synthir.retrieval.evaluate import eval_queries

    rows = io.read_jsonl(train_path)
    queries = [r["query"] for r in rows]
    qrels = io.read_split(eval_dir, cfg.split)
    judged = eval_queries(io.read_queries(eval_dir / "queries.jsonl"), qrels)
    facts: dict[str, Any] = {"rows": len(queries), "eval_queries": len(judged),
                             "leakage": round(leakage(queries, [q.text for q in judged.values()], cfg.ngram), 6)}
    if cfg.same_corpus:
        share, unexposed = exposure(rows, qrels, list(judged))
        facts.update(exposure=round(share, 6), unexposed_queries=unexposed)
    return Artifact(kind="leakage", meta=out, inputs={"train": train_path, "eval": eval_dir / "meta.json"}, facts=facts)
