"""Building a pool: every LLM response of a strategy, accepted or rejected with its reason, in
generation order, once up to the largest scale its study asks for (synthir.subsets cuts the
training sets from it)."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from synthir import io
from synthir.bm25 import BM25Index
from synthir.config import GenerateConfig
from synthir.engine import CallStats, FollowUp, Rejected, Request, call_cached
from synthir.errors import PoolTooSmallError
from synthir.filters import round_trip
from synthir.followups import Judge, LLMNegative
from synthir.io import COSTS, Document, write_shards
from synthir.llm import make_backend
from synthir.llm.cache import LLMCache
from synthir.models import llm_weights
from synthir.provenance import Artifact
from synthir.strategies import StrategyInputs, strategy_class

log = logging.getLogger(__name__)


__all__ = ["PoolTooSmallError", "build_pool"]


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
    weights = llm_weights(model_dir, Path(record["cache_dir"])) if model_dir is not None else None
    backend = make_backend(cfg.generator, weights, cfg.compute)
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
