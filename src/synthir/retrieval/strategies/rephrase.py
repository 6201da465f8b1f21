"""``rephrase``: paraphrases of labelled seed queries ("question rephrase", 2409.19759).

Seeds are the (query, relevant passage) pairs of the first ``seed_queries`` training queries,
in a seeded order; each paraphrase keeps its seed's passage as positive. Zero-shot: the
training split has no paraphrase pairs to show, so ``n_examples`` must be 0 and
``passage_words`` is unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Rejected, Request
from synthir.generation.strategy import Strategy, load_template, words
from synthir.retrieval.strategies.base import QueryChecks, StrategyInputs, seed_query_requests, seed_pairs


class Rephrase(Strategy):
    uses_seed_queries = True
    zero_shot = True

    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        self.seeds = seed_pairs(inputs, cfg.seed_queries)
        self.check = QueryChecks(cfg, inputs.corpus)

    def provenance(self) -> dict[str, Any]:
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_pairs": len(self.seeds), "human_queries": len({q for q, _ in self.seeds}),
                "seed_order_seed": self.inputs.seed}

    def requests(self) -> Iterator[Request]:
        return seed_query_requests(self.template, self.seeds, self.inputs)

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        seed = self.inputs.queries[request.payload["seed_query_id"]].text
        query = self.check(raw, None)
        if words(query) == words(seed):
            raise Rejected("copies_seed")
        return {"query": query, **request.payload}
