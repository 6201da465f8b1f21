"""``rag-qgen``: retrieval-augmented query generation in the manner of SynthesizRR
(2405.10040). Each seed pair (labelled query, its passage) retrieves ``retrieve_k`` related
passages with BM25 (the seed passage as the query); the LLM writes a query for each related
passage with the seed pair as its in-prompt example. Retrieval spreads generation over the
neighbourhoods of the human-labelled data, and the example changes with every seed, where
``qgen`` shows the same exemplar for random passages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Request
from synthir.generation.llm.base import Message
from synthir.generation.strategy import Strategy, item_seed, load_template, truncate_words
from synthir.retrieval.strategies.base import QueryChecks, StrategyInputs, labelled_pairs, seed_pairs

#: Words of the seed passage used as the BM25 query.
QUERY_WORDS = 64


class RagQGen(Strategy):
    uses_seed_queries = True
    retrieves = True

    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        if inputs.bm25 is None:
            raise ValueError("rag-qgen needs the training corpus's BM25 index")
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        self.seeds = seed_pairs(inputs, cfg.seed_queries)
        labelled = {d for _, d in labelled_pairs(inputs)}
        run = inputs.bm25.search(
            {f"{q}|{d}": truncate_words(inputs.corpus[d].full_text(), QUERY_WORDS) for q, d in self.seeds},
            cfg.retrieve_k + 1 + 8,  # room for the seed itself and labelled passages, skipped
        )
        self.related: dict[tuple[str, str], list[str]] = {}
        for q, d in self.seeds:
            ranked = sorted(run.get(f"{q}|{d}", {}).items(), key=lambda kv: (-kv[1], kv[0]))
            self.related[(q, d)] = [x for x, _ in ranked if x not in labelled][: cfg.retrieve_k]
        self.check = QueryChecks(cfg, inputs.corpus, {inputs.queries[q].text for q, _ in self.seeds})

    def _passage(self, doc_id: str) -> str:
        return truncate_words(self.inputs.corpus[doc_id].full_text(), self.cfg.passage_words)

    def provenance(self) -> dict[str, Any]:
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_pairs": len(self.seeds), "human_queries": len({q for q, _ in self.seeds}),
                "retrieved_per_seed": self.cfg.retrieve_k,
                "retriever": "bm25 (seed passage as query)", "seed_order_seed": self.inputs.seed}

    def requests(self) -> Iterator[Request]:
        """Round-robin: every seed's first neighbour, then every seed's second...; a passage
        already prompted for (a neighbour of several seeds) is skipped."""
        system = Message("system", self.template["system"])
        done: set[str] = set()
        n = 0
        for rank in range(self.cfg.retrieve_k):
            for qid, did in self.seeds:
                related = self.related[(qid, did)]
                if rank >= len(related) or related[rank] in done:
                    continue
                target = related[rank]
                done.add(target)
                shot = (Message("user", self.template["user"].format(passage=self._passage(did))),
                        Message("assistant", self.template["assistant"].format(query=self.inputs.queries[qid].text)))
                prompt = (system, *shot, Message("user", self.template["user"].format(passage=self._passage(target))))
                yield Request(target, prompt, item_seed(self.inputs.seed, n),
                              {"positive_id": target, "seed_query_id": qid, "seed_doc_id": did})
                n += 1

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        doc_id = request.payload["positive_id"]
        return {"query": self.check(raw, doc_id), **request.payload}
