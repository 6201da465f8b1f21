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
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np

from synthir import io
from synthir.config import LeakageConfig, StatsConfig

_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_n(texts: list[str], n: int) -> float:
    grams = [tuple(t[i : i + n]) for t in map(tokens, texts) for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: list[str], sample: int, seed: int = 0) -> float:
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return 0.0
    picked = random.Random(seed).sample(texts, min(sample, len(texts)))
    bleu = BLEU(effective_order=True)
    return float(np.mean([bleu.sentence_score(h, picked[:i] + picked[i + 1 :]).score for i, h in enumerate(picked)]))


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


def set_stats(cfg: StatsConfig, train_path: Path, dataset_dir: Path, encoder_dir: Path,
              threads: int) -> dict[str, Any]:
    import torch

    from synthir.evaluate import load_encoder

    torch.set_num_threads(threads)
    rows = io.read_jsonl(train_path)
    queries = [r["query"] for r in rows]
    corpus_ids = set(io.read_corpus(dataset_dir / "corpus.jsonl"))
    model = load_encoder(encoder_dir, cfg.encoder.max_seq_length, "float32")
    emb = model.encode_query([cfg.encoder.query_prefix + q for q in queries], batch_size=cfg.encoder.batch_size,
                             normalize_embeddings=True, convert_to_numpy=True)
    out: dict[str, Any] = {
        "rows": len(rows),
        "distinct_1": distinct_n(queries, 1),
        "distinct_2": distinct_n(queries, 2),
        "self_bleu": self_bleu(queries, cfg.self_bleu_sample),
        "embedding_dispersion": dispersion(np.asarray(emb, dtype=np.float64)),
        "passage_overlap": passage_overlap(queries, [r["positive"] for r in rows]),
        "corpus_coverage": len({r["positive_id"] for r in rows} & corpus_ids) / max(1, len(corpus_ids)),
        "duplicate_rate": 1.0 - len({" ".join(tokens(q)) for q in queries}) / max(1, len(rows)),
    }
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in out.items()}


def set_leakage(cfg: LeakageConfig, train_path: Path, eval_dir: Path) -> dict[str, Any]:
    """Leakage of the training set at ``train_path`` into the test queries of ``eval_dir``."""
    from synthir.evaluate import eval_queries

    queries = [r["query"] for r in io.read_jsonl(train_path)]
    qrels = io.read_qrels(eval_dir / "qrels" / f"{cfg.eval_dataset.eval_split}.tsv")
    held = [q.text for q in eval_queries(io.read_queries(eval_dir / "queries.jsonl"), qrels).values()]
    return {"rows": len(queries), "eval_queries": len(held), "leakage": round(leakage(queries, held, cfg.ngram), 6)}
