"""``answer-aug``: new positive passages for labelled seed queries ("answer augmentation",
2409.19759).

The seed set is the first ``seed_queries`` training queries (seeded order); the teacher budget
is the strategy's ``budget`` (generation calls). Requests go round-robin over the template's
passage styles (one call per seed for the first style, then the next...), so a budget of
``k x seed_queries`` calls gives every seed ``k`` pseudo-passages, in different styles: greedy
decoding of one prompt would repeat itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Rejected, Request
from synthir.generation.llm.base import Message
from synthir.generation.strategy import Strategy, check_garbage, check_length, item_seed, load_template, words
from synthir.retrieval.strategies.base import MIN_PASSAGE_WORDS, StrategyInputs, passage_text, seed_queries


class AnswerAug(Strategy):
    uses_seed_queries = True
    generates_query = False  # the query is the seed; the passage is generated
    allows_negatives = False

    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        self.styles: list[str] = self.template["styles"]
        self.seeds = seed_queries(inputs, cfg.seed_queries)
        self.seen: set[str] = set()

    def provenance(self) -> dict[str, Any]:
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_queries": len(self.seeds), "human_queries": len(self.seeds), "styles": len(self.styles),
                "budget": self.cfg.budget, "seed_order_seed": self.inputs.seed}

    def requests(self) -> Iterator[Request]:
        system = Message("system", self.template["system"])
        n = 0
        for s, style in enumerate(self.styles):
            for qid in self.seeds:
                user = self.template["user"].format(query=self.inputs.queries[qid].text, style=style)
                yield Request(qid, (system, Message("user", user)), item_seed(self.inputs.seed, n),
                              {"seed_query_id": qid, "style": s})
                n += 1

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        passage = passage_text(raw)
        check_garbage(passage)
        check_length(passage, MIN_PASSAGE_WORDS, 10_000)
        qid = request.payload["seed_query_id"]
        query = self.inputs.queries[qid].text
        key = " ".join(words(passage))
        if key == " ".join(words(query)):
            raise Rejected("copies_query")
        if key in self.seen:
            raise Rejected("duplicate")
        self.seen.add(key)
        return {"query": query, "positive": passage,
                "positive_id": f"gen:{qid}:{request.payload['style']}", **request.payload}
