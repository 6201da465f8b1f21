"""Building a pool: every LLM response of a strategy, accepted or rejected with its reason, in
generation order, once up to the largest scale its study asks for (synthir.retrieval.subsets cuts the
training sets from it)."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.retrieval.bm25 import BM25Index
from synthir.core.config import GenerateConfig
from synthir.generation.engine import FollowUp, generate, open_llm, write_pool
from synthir.core.errors import PoolTooSmallError
from synthir.retrieval.filters import round_trip
from synthir.retrieval.followups import Judge, LLMNegative
from synthir.core.io import Document
from synthir.core.provenance import Artifact
from synthir.generation.strategy import strategy_class
from synthir.retrieval.strategies.base import StrategyInputs

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


class Accepted:
    """The quota of a retrieval pool: ``n`` accepted records."""

    def __init__(self, target: int) -> None:
        self.target, self.n = target, 0

    def add(self, record: dict[str, Any]) -> None:
        self.n += 1

    def met(self) -> bool:
        return self.n >= self.target

    def __str__(self) -> str:
        return f"{self.n} of {self.target}"


def build_pool(cfg: GenerateConfig, dataset_dir: Path, model_dir: Path | None, out_dir: Path,
               record: dict[str, Any]) -> Artifact:
    """Generate chunk by chunk until ``cfg.max_scale`` examples are accepted (or the strategy's
    call budget is spent); write every response (accepted or rejected, with its reason) to shards in
    generation order. Every call goes through the cache in ``record["cache_dir"]`` (a location,
    not part of the pool's identity).

    Requests run in fixed chunks of the backend's batch size (synthir.generation.engine.generate); each
    chunk is parsed, then round-trip filtered, then its accepted records get their follow-up
    calls (judge, LLM negative), all through the cache: a resumed run redoes exactly the same
    chunks."""
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
    llm = open_llm(cfg.generator, st.max_new_tokens, model_dir, Path(record["cache_dir"]), cfg.compute)
    top_k = st.filters.round_trip_top_k
    start = time.perf_counter()
    quota = Accepted(cfg.max_scale)
    # every request is made before the first response is parsed (a strategy's requests never
    # depend on what it accepted)
    requests = list(itertools.islice(strategy.requests(), st.budget))
    check = (lambda ok: round_trip(ok, index, top_k)) if index is not None and top_k is not None else None
    run = generate(requests, strategy, quota, llm, budget=st.budget, follow_ups=follow_ups, chunk_filter=check,
                   progress=f"generate {cfg.dataset}/{cfg.generator.alias}/{st.name}")
    if not quota.met():
        limit = f"its budget of {st.budget} calls" if len(run.records) == st.budget else "its requests"
        raise PoolTooSmallError(
            f"{cfg.dataset}: only {quota.n} of {cfg.max_scale} examples accepted after {len(run.records)} "
            f"responses ({st.name} ran out of {limit}; rejected: {dict(run.calls.rejected.most_common())}); "
            f"lower the largest scale, raise "
            f"strategies.{st.name}.budget or seed_queries, or relax strategies.{st.name}.filters"
        )
    shards = write_pool(run, out_dir, st.shard_size)
    return Artifact(
        kind="pool", meta=out_dir / "meta.json",
        inputs={"dataset": dataset_dir / "meta.json", **({"llm": model_dir / "meta.json"} if model_dir else {})},
        outputs={name: out_dir / name for name in shards},
        facts={
            "accepted": quota.n,
            "responses": len(run.records),
            "calls": run.calls.deterministic(),
            "follow_up_calls": {"kinds": [f.name for f in follow_ups], **run.follow_up_calls.deterministic()},
            "llm": llm.backend.identity(),
            "decoding": asdict(llm.decoding),
            "strategy": {**strategy.provenance(),
                         **{f"{f.name}_template_sha256": f.template_sha256 for f in follow_ups}},
            "shards": shards,
        },
        volatile={"generation_seconds": time.perf_counter() - start, **run.calls.volatile("calls"),
                  **run.follow_up_calls.volatile("follow_up_calls")},
    )
