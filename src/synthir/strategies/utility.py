"""``utility``: LLM utility annotation (2504.05220). For each seed query, BM25 retrieves
``retrieve_k`` candidates from the training corpus; the LLM reads them as a numbered list and
names the ones useful to answer the query (listwise selection). The chosen passages are the
query's positives (possibly several), trained with Disj-InfoNCE. Each record keeps the human
labels among the candidates, so agreement with human annotation is measured, not assumed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from synthir.config import StrategyConfig
from synthir.generate import Rejected, Request
from synthir.llm.base import Message
from synthir.strategies.base import StrategyInputs, check_garbage, load_template, seed_queries, truncate_words

_NONE = re.compile(r"\bnone\b|\bno passage", re.I)
_NUMBER = re.compile(r"\[?\b(\d{1,3})\b\]?")


def parse_selection(raw: str, k: int) -> list[int]:
    """1-based passage numbers named in ``raw`` (first mention order, in range, unique).
    'none' -> Rejected("none_useful"); no number at all -> Rejected("unparseable")."""
    text = raw.strip()
    picked = list(dict.fromkeys(int(m) for m in _NUMBER.findall(text) if 1 <= int(m) <= k))
    if picked:
        return picked
    if _NONE.search(text):
        raise Rejected("none_useful")
    check_garbage(text)
    raise Rejected("unparseable")


class Utility:
    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        if inputs.bm25 is None:
            raise ValueError("utility needs the training corpus's BM25 index")
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        self.seeds = seed_queries(inputs, cfg.seed_queries)
        run = inputs.bm25.search({q: inputs.queries[q].text for q in self.seeds}, cfg.retrieve_k)
        self.candidates = {
            q: [d for d, _ in sorted(run.get(q, {}).items(), key=lambda kv: (-kv[1], kv[0]))] for q in self.seeds
        }

    def provenance(self) -> dict[str, Any]:
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_queries": len(self.seeds), "candidates_per_query": self.cfg.retrieve_k,
                "candidate_retriever": "bm25", "seed_order_seed": self.inputs.seed}

    def requests(self) -> Iterator[Request]:
        system = Message("system", self.template["system"])
        for n, qid in enumerate(self.seeds):
            cands = self.candidates[qid]
            if not cands:
                continue
            listing = "\n".join(
                f"[{i}] {truncate_words(self.inputs.corpus[d].full_text(), self.cfg.passage_words)}"
                for i, d in enumerate(cands, start=1)
            )
            user = self.template["user"].format(query=self.inputs.queries[qid].text, passages=listing)
            yield Request(qid, (system, Message("user", user)), self.inputs.seed * 1_000_003 + n,
                          {"seed_query_id": qid, "candidate_ids": cands})

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        cands = request.payload["candidate_ids"]
        chosen = [cands[i - 1] for i in parse_selection(raw, len(cands))]
        qid = request.payload["seed_query_id"]
        human = sorted(d for d in cands if self.inputs.train_qrels.get(qid, {}).get(d, 0) > 0)
        return {"query": self.inputs.queries[qid].text, "positive_id": chosen[0], "positive_ids": chosen,
                "human_positive_ids": human, **request.payload}
