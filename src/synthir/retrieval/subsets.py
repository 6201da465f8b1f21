"""Training sets: the scale subsets cut from a pool, and the human-label arm (the positive
control) sampled from a labelled split.

Nesting is by construction: a subset of scale n is the first n accepted records of its pool, and
everything a subset adds per row (human rows, random fallback negatives, mined negatives) is a
function of that row and the strategy's seed alone, never of the rows around it, so the set of
scale 100 is contained row for row in the set of scale 300 (``tests/unit/test_subsets.py``).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.config import HumanConfig, SubsetConfig
from synthir.core.errors import PoolTooSmallError
from synthir.core.io import COSTS, Document, read_pool
from synthir.retrieval.negatives import add_negatives
from synthir.core.provenance import Artifact


def human_rows(dataset_dir: Path, split: str, corpus: dict[str, Document], n: int, seed: int,
               multi: bool = False) -> list[dict[str, Any]]:
    """The first ``n`` human-labelled queries of ``split`` in a seeded order (one shuffle of all
    labelled queries, so ``n`` rows are a prefix of ``m > n`` rows), each with its first relevant
    passage, or all of them as ``positives`` (``multi``, for Disj-InfoNCE sets)."""
    queries = io.read_queries(dataset_dir / "queries.jsonl")
    qrels = io.read_split(dataset_dir, split)
    labelled = {q: sorted(d for d, g in docs.items() if g > 0 and d in corpus)
                for q, docs in sorted(qrels.items()) if q in queries}
    qids = sorted(q for q, docs in labelled.items() if docs)
    if n > len(qids):
        raise PoolTooSmallError(f"{dataset_dir}/qrels/{split}.tsv: {n} human rows asked, the split has "
                                f"{len(qids)} labelled queries; lower the scale or exclude the cell in study.exclude")
    random.Random(seed).shuffle(qids)
    rows = []
    for qid in qids[:n]:
        docs = labelled[qid]
        row = {"query_id": f"human-{qid}", "query": queries[qid].text, "positive_id": docs[0],
               "positive": corpus[docs[0]].full_text(), "origin": "human"}
        if multi:
            row["positives"] = [corpus[d].full_text() for d in docs]
            row["positive_ids"] = docs
        rows.append(row)
    return rows


def _set_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    positives = [r["positive_id"] for r in rows]
    return {
        "unique_queries": len({r["query"].lower() for r in rows}),
        "unique_positives": len(set(positives)),
        "queries_per_positive": round(len(rows) / max(1, len(set(positives))), 4),
        "mean_query_words": round(sum(len(r["query"].split()) for r in rows) / max(1, len(rows)), 3),
    }


def subset_scale(cfg: SubsetConfig, pool_dir: Path, dataset_dir: Path, out_path: Path, meta_path: Path,
                 encoder_dir: Path | None = None, index_dir: Path | None = None,
                 reranker_dir: Path | None = None) -> Artifact:
    """The first ``scale`` accepted examples of the pool (nested: 100 is a prefix of 300),
    ``human_fraction`` of them replaced by human labels, with a hard negative each when the
    strategy asks for them (dense mining: the encoder and its index of the corpus; ce: the
    reranker).

    The cost of the subset is what producing it cost: every response up to and including its
    last synthetic example, rejected ones too, and their follow-up calls."""
    resources = {role: p for role, p in (("encoder", encoder_dir), ("index", index_dir),
                                         ("reranker", reranker_dir)) if p is not None}
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    costs = pool_dir / COSTS
    seconds = [c["seconds"] for c in io.read_jsonl(costs)] if costs.is_file() else None  # absent after a pull
    n_human = round(cfg.human_fraction * cfg.scale)
    n_synthetic = cfg.scale - n_human
    rows: list[dict[str, Any]] = []
    cost = {"responses": 0, "calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    generation_seconds = 0.0
    multi = False
    for rec in read_pool(pool_dir):
        if len(rows) == n_synthetic:
            break
        cost["responses"] += 1
        cost["calls"] += 1 + len(rec.get("follow_ups", {}))
        cost["prompt_tokens"] += rec["prompt_tokens"] + sum(f["prompt_tokens"] for f in rec.get("follow_ups", {}).values())
        cost["completion_tokens"] += rec["completion_tokens"] + sum(
            f["completion_tokens"] for f in rec.get("follow_ups", {}).values())
        generation_seconds += seconds[rec["n"]] if seconds is not None else 0.0
        if rec["status"] == "ok":
            rows.append(training_row(rec, corpus))
            multi = "positive_ids" in rec
    if len(rows) < n_synthetic:
        raise PoolTooSmallError(f"{pool_dir}: holds {len(rows)} accepted examples, scale {cfg.scale} asked")
    if n_human:
        assert cfg.train_split is not None and cfg.seed is not None
        rows += human_rows(dataset_dir, cfg.train_split, corpus, n_human, cfg.seed, multi)
    negatives = add_negatives(rows, corpus, cfg, resources) if cfg.negatives else None
    io.write_jsonl(out_path, rows)
    return Artifact(
        kind="training_set", meta=meta_path,
        inputs={"pool": pool_dir / "meta.json", "dataset": dataset_dir / "meta.json",
                **{f"negatives_{role}": p / "meta.json" for role, p in resources.items()}},
        outputs={"train": out_path},
        facts={"scale": cfg.scale, "synthetic_rows": n_synthetic, "human_rows": n_human, "cost": cost,
               "negatives": negatives, "stats": _set_stats(rows)},
        volatile={"generation_seconds": generation_seconds} if seconds is not None else {},
    )


def sample_human(cfg: HumanConfig, dataset_dir: Path, out_path: Path, meta_path: Path) -> Artifact:
    """The human-label arm's training set of scale ``cfg.scale`` (see :func:`human_rows`)."""
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    rows = human_rows(dataset_dir, cfg.train_split, corpus, cfg.scale, cfg.seed)
    io.write_jsonl(out_path, rows)
    return Artifact(
        kind="training_set", meta=meta_path, inputs={"dataset": dataset_dir / "meta.json"},
        outputs={"train": out_path},
        facts={"scale": cfg.scale, "synthetic_rows": 0, "human_rows": len(rows),
               "cost": {"responses": 0, "calls": 0, "prompt_tokens": 0, "completion_tokens": 0},
               "negatives": None, "stats": _set_stats(rows)},
    )


def training_row(rec: dict[str, Any], corpus: dict[str, Document]) -> dict[str, Any]:
    """A pool record as a training row: query, positive text (a corpus passage, or the
    generated one for answer-aug), and what the strategy adds (several positives, an
    expansion, an LLM-written negative)."""
    pid = rec["positive_id"]
    row: dict[str, Any] = {"query_id": f"syn-{rec['n']}", "query": rec["query"], "positive_id": pid,
                           "positive": rec["positive"] if "positive" in rec else corpus[pid].full_text(),
                           "origin": "synthetic"}
    if "positive_ids" in rec:  # the ids too: exposure (synthir.retrieval.quality) counts every positive
        row["positives"] = [corpus[d].full_text() for d in rec["positive_ids"]]
        row["positive_ids"] = rec["positive_ids"]
    if "expansion" in rec:
        row["expansion"] = rec["expansion"]
    if "negative" in rec:
        row["negative"] = rec["negative"]
    return row
