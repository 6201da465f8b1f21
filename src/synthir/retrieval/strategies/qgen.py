"""``qgen``: few-shot query generation for unlabelled passages ("new question", 2409.19759;
InPars / Promptagator style few-shot prompting, as used by DAGR 2509.16442)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Request
from synthir.generation.llm.base import Message
from synthir.generation.strategy import Strategy, item_seed, load_template, truncate_words
from synthir.retrieval.strategies.base import QueryChecks, StrategyInputs, exemplar_pairs, labelled_pairs


class QGen(Strategy):
    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        rng = random.Random(inputs.seed)
        pairs = labelled_pairs(inputs)
        self.exemplars = exemplar_pairs(rng.sample(pairs, min(cfg.n_examples, len(pairs))), inputs,
                                        cfg.filters.exemplar_copy_overlap)
        used = {did for _, did in self.exemplars}
        self.order = sorted(d for d in inputs.corpus if d not in used and inputs.corpus[d].full_text())
        rng.shuffle(self.order)
        self.check = QueryChecks(cfg, inputs.corpus, {inputs.queries[q].text for q, _ in self.exemplars})
        self.shots: list[Message] = []
        for qid, did in self.exemplars:
            self.shots += [
                Message("user", self._user(did)),
                Message("assistant", self.template["assistant"].format(query=inputs.queries[qid].text)),
            ]

    def _user(self, doc_id: str) -> str:
        passage = truncate_words(self.inputs.corpus[doc_id].full_text(), self.cfg.passage_words)
        return self.template["user"].format(passage=passage)

    def provenance(self) -> dict[str, Any]:
        return {
            "template": self.cfg.prompt,
            "template_sha256": self.template_sha256,
            "exemplars": [{"query_id": q, "doc_id": d} for q, d in self.exemplars],
            "human_queries": len({q for q, _ in self.exemplars}),
            "passage_order_seed": self.inputs.seed,
        }

    def requests(self) -> Iterator[Request]:
        system = [Message("system", self.template["system"])]
        for n, doc_id in enumerate(self.order):
            prompt = (*system, *self.shots, Message("user", self._user(doc_id)))
            yield Request(doc_id, prompt, item_seed(self.inputs.seed, n), {"positive_id": doc_id})

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        doc_id = request.payload["positive_id"]
        return {"query": self.check(raw, doc_id), "positive_id": doc_id}
