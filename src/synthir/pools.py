"""Jobs of the synthetic-data family: build a pool once, cut nested scale subsets from it, and
sample the human-label arm (the positive control) from a labelled split.

Nesting is by construction: a subset of scale n is the first n accepted records of its pool, and
everything a subset adds per row (human rows, random fallback negatives, mined negatives) is a
function of that row and the strategy's seed alone, never of the rows around it, so the set of
scale 100 is contained row for row in the set of scale 300 (``tests/unit/test_pools.py``).
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from synthir import io
from synthir.bm25 import BM25Index
from synthir.config import GenerateConfig, HumanConfig, SubsetConfig
from synthir.engine import CallStats, FollowUp, Rejected, Request, call_cached, read_pool, write_shards
from synthir.errors import UserError
from synthir.filters import Judge, round_trip
from synthir.io import Document
from synthir.llm import make_backend
from synthir.llm.cache import LLMCache
from synthir.negatives import LLMNegative, add_negatives
from synthir.provenance import Artifact
from synthir.strategies import StrategyInputs, strategy_class

log = logging.getLogger(__name__)


#: Per-response generation time, beside the shards: timings differ between machines and runs,
#: the shards (the synthetic data) must not (``.dvcignore`` lists it).
COSTS = "costs.jsonl"


class PoolTooSmallError(UserError, RuntimeError):
    """The corpus ran out of passages before the pool reached the scale the study asks for."""


def _follow_ups(cfg: GenerateConfig, corpus: dict[str, Document]) -> list[FollowUp]:
    """Second calls per accepted record: the LLM judge, then an LLM-written negative."""
    out: list[FollowUp] = []
    if cfg.strategy.filters.judge:
        out.append(Judge(cfg.strategy.filters.judge, corpus))
    if cfg.strategy.llm_negative is not None:
        out.append(LLMNegative(cfg.strategy.llm_negative, corpus, cfg.strategy.passage_words,
                               cfg.strategy.filters.max_copy_overlap))
    return out


def build_pool(cfg: GenerateConfig, dataset_dir: Path, model_dir: Path | None, out_dir: Path,
               record: dict[str, Any]) -> Artifact:
    """Generate chunk by chunk until ``cfg.max_scale`` examples are accepted (or the strategy's
    call budget is spent); write every response (accepted or rejected, with its reason) to shards in
    generation order. Every call goes through the cache in ``record["cache_dir"]`` (a location,
    not part of the pool's identity).

    Requests run in fixed chunks of the backend's batch size; each chunk is parsed, then
    round-trip filtered, then its accepted records get their follow-up calls (judge, LLM
    negative), all through the cache: a resumed run redoes exactly the same chunks."""
    st = cfg.strategy
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    index = BM25Index(cfg.bm25, corpus) if cfg.bm25 is not None else None
    labelled = cfg.train_split is not None
    inputs = StrategyInputs(
        corpus=corpus,
        queries=io.read_queries(dataset_dir / "queries.jsonl") if labelled else {},
        train_qrels=io.read_split(dataset_dir, cfg.train_split) if labelled else {},
        seed=st.seed,
        bm25=index,
    )
    strategy = strategy_class(st.kind)(st, inputs)
    # a strategy with a second call of its own (utility's selection after a pseudo-answer)
    # lists it as `follow_ups`; it runs before the judge and the LLM negative
    follow_ups = [*getattr(strategy, "follow_ups", []), *_follow_ups(cfg, corpus)]
    backend = make_backend(cfg.generator, model_dir, cfg.compute)
    cache = LLMCache(Path(record["cache_dir"]) / "llm")
    gen = cfg.generator
    decoding = gen.decoding if st.max_new_tokens is None else replace(gen.decoding, max_new_tokens=st.max_new_tokens)
    stats, follow_stats = CallStats(), CallStats()
    records: list[dict[str, Any]] = []
    seconds: list[float] = []  # wall time per record: cost metadata, kept out of the shards
    accepted = 0
    start = time.perf_counter()
    requests = list(itertools.islice(strategy.requests(), st.budget))
    batch = gen.batch_size
    bar = tqdm(total=len(requests), desc=f"generate {cfg.dataset}/{gen.alias}/{st.name}", unit="prompt")
    for first in range(0, len(requests), batch):
        chunk: list[tuple[Request, dict[str, Any], float]] = []
        for request, entry, key in call_cached(requests[first : first + batch], backend, cache, decoding, batch, stats):
            rec: dict[str, Any] = {
                "n": len(records) + len(chunk), "source_id": request.source_id, "raw": entry["text"],
                "cache_key": key, "prompt_tokens": entry["prompt_tokens"],
                "completion_tokens": entry["completion_tokens"],
            }
            try:
                rec.update(strategy.parse(request, entry["text"]), status="ok")
            except Rejected as r:
                rec["status"] = r.reason
            chunk.append((request, rec, entry["seconds"]))
        bar.update(len(chunk))
        if index is not None and st.filters.round_trip_top_k is not None:
            round_trip([rec for _, rec, _ in chunk if rec["status"] == "ok"], index, st.filters.round_trip_top_k)
        for f in follow_ups:
            ok = [(i, req, rec) for i, (req, rec, _) in enumerate(chunk) if rec["status"] == "ok"]
            calls = call_cached([f.request(req, rec) for _, req, rec in ok], backend, cache, decoding, batch, follow_stats)
            for (i, _, rec), (_, entry, key) in zip(ok, calls):
                rec.setdefault("follow_ups", {})[f.name] = {
                    "raw": entry["text"], "cache_key": key, "prompt_tokens": entry["prompt_tokens"],
                    "completion_tokens": entry["completion_tokens"],
                }
                chunk[i] = (chunk[i][0], rec, chunk[i][2] + entry["seconds"])
                try:
                    f.apply(rec, entry["text"])
                except Rejected as r:
                    rec["status"] = r.reason
                # a follow-up that keeps the example but drops its own output (an LLM negative
                # that copies the query falls back to a random one) says why in <name>_status
                if (reason := rec.get(f"{f.name}_status")) is not None:
                    follow_stats.rejected[reason] += 1
        # the whole chunk is kept, past max_scale too: those calls were made, and subsets are
        # prefixes, so they cost nothing downstream
        for _, rec, secs in chunk:
            records.append(rec)
            seconds.append(secs)
            if rec["status"] == "ok":
                accepted += 1
            else:
                stats.rejected[rec["status"]] += 1
        if accepted >= cfg.max_scale:
            break
    bar.close()
    if accepted < cfg.max_scale:
        limit = f"its budget of {st.budget} calls" if st.budget is not None and len(requests) == st.budget else "its requests"
        raise PoolTooSmallError(
            f"{cfg.dataset}: only {accepted} of {cfg.max_scale} examples accepted after {len(records)} "
            f"responses ({st.name} ran out of {limit}; rejected: {dict(stats.rejected.most_common())}); "
            f"lower the largest scale, raise "
            f"strategies.{st.name}.budget or seed_queries, or relax strategies.{st.name}.filters"
        )
    costs = [{"n": i, "seconds": round(t, 4)} for i, t in enumerate(seconds)]
    shards = write_shards(records, out_dir, st.shard_size, {COSTS: costs})
    return Artifact(
        kind="pool", meta=out_dir / "meta.json",
        inputs={"dataset": dataset_dir / "meta.json", **({"llm": model_dir / "meta.json"} if model_dir else {})},
        outputs={name: out_dir / name for name in shards},
        facts={
            "accepted": accepted,
            "responses": len(records),
            "calls": stats.deterministic(),
            "follow_up_calls": {"kinds": [f.name for f in follow_ups], **follow_stats.deterministic()},
            "llm": backend.identity(),
            "decoding": asdict(decoding),
            "strategy": {**strategy.provenance(),
                         **{f"{f.name}_template_sha256": f.template_sha256 for f in follow_ups}},  # type: ignore[attr-defined]
            "shards": shards,
        },
        volatile={"generation_seconds": time.perf_counter() - start, **stats.volatile("calls"),
                  **follow_stats.volatile("follow_up_calls")},
    )


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
    if "positive_ids" in rec:
        row["positives"] = [corpus[d].full_text() for d in rec["positive_ids"]]
    if "expansion" in rec:
        row["expansion"] = rec["expansion"]
    if "negative" in rec:
        row["negative"] = rec["negative"]
    return row
