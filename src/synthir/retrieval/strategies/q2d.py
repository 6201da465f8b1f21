"""``q2d``: a pseudo-document for every seed query (query2doc), the input of SoftQE
(2402.12663): a teacher encodes "query + pseudo-document", the student learns to embed the
bare query like that, so no LLM runs at query time. Records keep the seed's labelled passage
as positive for the contrastive term."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Rejected, Request
from synthir.generation.strategy import Strategy, check_garbage, check_length, load_template, words
from synthir.retrieval.strategies.base import (
    MIN_PASSAGE_WORDS, StrategyInputs, seed_query_requests, passage_text, seed_pairs,
)


class Q2D(Strategy):
    uses_seed_queries = True
    generates_query = False
    allows_negatives = False  # an expansion set cannot also carry a negative
    allows_human_mix = False  # human rows have no expansion
    expands_queries = True

    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        # one request per seed query; its first labelled passage (sorted) is the positive
        first: dict[str, str] = {}
        for qid, did in seed_pairs(inputs, cfg.seed_queries):
            first.setdefault(qid, did)
        self.seeds = list(first.items())

    def provenance(self) -> dict[str, Any]:
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_queries": len(self.seeds), "human_queries": len(self.seeds),
                "seed_order_seed": self.inputs.seed}

    def requests(self) -> Iterator[Request]:
        return seed_query_requests(self.template, self.seeds, self.inputs)

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        expansion = passage_text(raw)
        check_garbage(expansion)
        check_length(expansion, MIN_PASSAGE_WORDS, 10_000)
        query = self.inputs.queries[request.payload["seed_query_id"]].text
        if words(expansion) == words(query):
            raise Rejected("copies_query")
        return {"query": query, "expansion": expansion, **request.payload}
