"""Jobs of the synthetic-data family: build a pool once, cut nested scale subsets from it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from synthir import io
from synthir.config import GenerateConfig, SubsetConfig
from synthir.generate import CallStats, Rejected, call_cached, read_pool, write_shards
from synthir.llm import make_backend
from synthir.llm.cache import LLMCache
from synthir.negatives import add_negatives
from synthir.strategies import STRATEGIES, StrategyInputs

log = logging.getLogger(__name__)


#: Per-response generation time, beside the shards: timings differ between machines and runs,
#: the shards (the synthetic data) must not.
COSTS = "costs.jsonl"


class PoolTooSmallError(RuntimeError):
    """The corpus ran out of passages before the pool reached the scale the study asks for."""


def build_pool(cfg: GenerateConfig, dataset_dir: Path, model_dir: Path | None, out_dir: Path) -> dict[str, Any]:
    """Generate until ``cfg.max_scale`` examples are accepted; write every response (accepted
    or rejected, with its reason) to shards in generation order. Returns the pool's meta."""
    inputs = StrategyInputs(
        corpus=io.read_corpus(dataset_dir / "corpus.jsonl"),
        queries=io.read_queries(dataset_dir / "queries.jsonl"),
        train_qrels=io.read_qrels(dataset_dir / "qrels" / f"{cfg.train_split}.tsv"),
        seed=cfg.strategy.seed,
    )
    strategy = STRATEGIES[cfg.strategy.kind](cfg.strategy, inputs)
    backend = make_backend(cfg.llm, model_dir)  # type: ignore[arg-type]
    cache = LLMCache(Path(cfg.cache_dir) / "llm")
    stats = CallStats()
    records: list[dict[str, Any]] = []
    seconds: list[float] = []  # wall time per response: cost metadata, kept out of the shards
    accepted = 0
    start = time.perf_counter()
    requests = list(strategy.requests())
    calls = call_cached(
        requests, backend, cache, cfg.llm.decoding, cfg.llm.batch_size, stats,
        progress=f"generate {cfg.dataset}/{cfg.llm.alias}/{cfg.strategy.name}",
    )
    for request, entry, key in calls:
        rec: dict[str, Any] = {
            "n": len(records), "source_id": request.source_id, "raw": entry["text"],
            "cache_key": key, "prompt_tokens": entry["prompt_tokens"],
            "completion_tokens": entry["completion_tokens"],
        }
        seconds.append(entry["seconds"])
        try:
            rec.update(strategy.parse(request, entry["text"]), status="ok")
            accepted += 1
        except Rejected as r:
            rec["status"] = r.reason
            stats.rejected[r.reason] += 1
        records.append(rec)
        if accepted >= cfg.max_scale:
            break
    calls.close()
    if accepted < cfg.max_scale:
        raise PoolTooSmallError(
            f"{cfg.dataset}: only {accepted} of {cfg.max_scale} examples accepted after "
            f"{len(records)} responses; lower the largest scale or relax strategies.{cfg.strategy.name}.filters"
        )
    shards = write_shards(records, out_dir, cfg.strategy.shard_size)
    io.write_jsonl(out_dir / COSTS, ({"n": i, "seconds": t} for i, t in enumerate(seconds)))
    return {
        "accepted": accepted,
        "responses": len(records),
        "calls": stats.as_dict(),
        "seconds": round(time.perf_counter() - start, 2),
        "llm": backend.identity(),
        "strategy": strategy.provenance(),
        "shards": shards,
    }


def subset_scale(cfg: SubsetConfig, pool_dir: Path, dataset_dir: Path, scale: int, out_path: Path) -> dict[str, Any]:
    """The first ``scale`` accepted examples of the pool (nested: 100 is a prefix of 300),
    with a mined hard negative each when the strategy asks for them.

    The cost of the subset is what producing it cost: every response up to and including
    its last example, rejected ones too."""
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    seconds = [c["seconds"] for c in io.read_jsonl(pool_dir / COSTS)]
    rows, cost = [], {"responses": 0, "prompt_tokens": 0, "completion_tokens": 0, "generation_seconds": 0.0}
    for rec in read_pool(pool_dir):
        if len(rows) == scale:
            break
        cost["responses"] += 1
        cost["prompt_tokens"] += rec["prompt_tokens"]
        cost["completion_tokens"] += rec["completion_tokens"]
        cost["generation_seconds"] += seconds[rec["n"]]
        if rec["status"] == "ok":
            doc = corpus[rec["positive_id"]]
            rows.append({"query_id": f"syn-{rec['n']}", "query": rec["query"],
                         "positive_id": doc.id, "positive": doc.full_text()})
    if len(rows) < scale:
        raise PoolTooSmallError(f"{pool_dir}: holds {len(rows)} accepted examples, scale {scale} asked")
    negatives = add_negatives(rows, corpus, cfg.negatives, cfg.bm25, cfg.seed) if cfg.negatives else None
    io.write_jsonl(out_path, rows)
    cost["generation_seconds"] = round(cost["generation_seconds"], 3)
    positives = [r["positive_id"] for r in rows]
    return {
        "scale": scale,
        "cost": cost,
        "negatives": negatives,
        "stats": {
            "unique_queries": len({r["query"].lower() for r in rows}),
            "unique_positives": len(set(positives)),
            "corpus_coverage": round(len(set(positives)) / len(corpus), 6),
            "queries_per_positive": round(len(rows) / max(1, len(set(positives))), 4),
            "mean_query_words": round(sum(len(r["query"].split()) for r in rows) / max(1, len(rows)), 3),
        },
    }
