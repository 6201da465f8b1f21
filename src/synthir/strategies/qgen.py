"""``qgen``: few-shot query generation for unlabelled passages ("new question", 2409.19759;
InPars / Promptagator style few-shot prompting, as used by DAGR 2509.16442)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from synthir.config import StrategyConfig
from synthir.generate import Rejected, Request
from synthir.llm.base import Message
from synthir.strategies.base import (
    StrategyInputs, check_garbage, first_line, load_template, longest_common_run, words,
)


def truncate_words(text: str, n: int) -> str:
    parts = text.split()
    return " ".join(parts[:n]) + (" ..." if len(parts) > n else "")


class QGen:
    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        rng = random.Random(inputs.seed)
        pairs = sorted(
            (qid, did)
            for qid, docs in inputs.train_qrels.items()
            for did, grade in docs.items()
            if grade > 0 and qid in inputs.queries and did in inputs.corpus
        )
        self.exemplars = rng.sample(pairs, min(cfg.n_examples, len(pairs)))
        used = {did for _, did in self.exemplars}
        self.order = sorted(d for d in inputs.corpus if d not in used and inputs.corpus[d].full_text())
        rng.shuffle(self.order)
        self.exemplar_queries = {inputs.queries[q].text.lower() for q, _ in self.exemplars}
        self.seen: set[str] = set()
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
            "passage_order_seed": self.inputs.seed,
        }

    def requests(self) -> Iterator[Request]:
        system = [Message("system", self.template["system"])]
        for n, doc_id in enumerate(self.order):
            prompt = (*system, *self.shots, Message("user", self._user(doc_id)))
            yield Request(doc_id, prompt, self.inputs.seed * 1_000_003 + n, {"positive_id": doc_id})

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        query = first_line(raw)
        check_garbage(query)
        n = len(words(query))
        f = self.cfg.filters
        if n < f.min_words:
            raise Rejected("too_short")
        if n > f.max_words:
            raise Rejected("too_long")
        doc_id = request.payload["positive_id"]
        passage = words(self.inputs.corpus[doc_id].full_text())
        if n >= 4 and longest_common_run(words(query), passage) / n >= f.max_copy_overlap:
            raise Rejected("copies_passage")
        key = " ".join(words(query))
        if query.lower() in self.exemplar_queries:
            raise Rejected("copies_exemplar")
        if key in self.seen:
            raise Rejected("duplicate")
        self.seen.add(key)
        return {"query": query, "positive_id": doc_id}
