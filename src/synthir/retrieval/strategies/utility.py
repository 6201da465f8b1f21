"""``utility``: LLM utility annotation (2504.05220). For each seed query, BM25 retrieves
``retrieve_k`` candidates from the training corpus; the LLM reads them as a numbered list and
names the ones useful to answer the query (listwise selection). The chosen passages are the
query's positives (possibly several), trained with Disj-InfoNCE. Each record keeps the human
labels among the candidates, so agreement with human annotation is measured, not assumed.

With ``pseudo_answer`` (a prompt name) the LLM first drafts an answer from the query alone; the
selection is then a follow-up call that shows the draft beside the candidates (the paper's
pseudo-answer step). Both calls go through the cache like any other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from synthir.core.config import StrategyConfig
from synthir.generation.strategy import Rejected, Request
from synthir.generation.llm.base import Message
from synthir.generation.strategy import Strategy, check_garbage, item_seed, load_template, truncate_words
from synthir.retrieval.strategies.base import StrategyInputs, seed_queries

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


#: The shortest draft answer kept (words): shorter ones carry nothing to select with.
MIN_ANSWER_WORDS = 3


class Utility(Strategy):
    uses_seed_queries = True
    retrieves = True
    generates_query = False
    allows_negatives = False  # several positives per query
    allows_pseudo_answer = True

    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None:
        if inputs.bm25 is None:
            raise ValueError("utility needs the training corpus's BM25 index")
        self.cfg = cfg
        self.inputs = inputs
        self.template, self.template_sha256 = load_template(cfg.prompt)
        if cfg.pseudo_answer is not None and "{answer}" not in self.template["user"]:
            raise ValueError(f"prompt {cfg.prompt!r} has no {{answer}} slot for the pseudo-answer of {cfg.name!r}")
        self.answer_template = load_template(cfg.pseudo_answer) if cfg.pseudo_answer is not None else None
        # with a pseudo-answer, the selection is the second call: a follow-up of the engine
        self.follow_ups: list[Selection] = [Selection(self)] if self.answer_template is not None else []
        self.seeds = seed_queries(inputs, cfg.seed_queries)
        run = inputs.bm25.search({q: inputs.queries[q].text for q in self.seeds}, cfg.retrieve_k)
        self.candidates = {
            q: [d for d, _ in sorted(run.get(q, {}).items(), key=lambda kv: (-kv[1], kv[0]))] for q in self.seeds
        }

    def provenance(self) -> dict[str, Any]:
        pseudo = {} if self.answer_template is None else {
            "pseudo_answer_template": self.cfg.pseudo_answer, "pseudo_answer_template_sha256": self.answer_template[1]}
        return {"template": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seed_queries": len(self.seeds), "human_queries": len(self.seeds),
                "candidates_per_query": self.cfg.retrieve_k,
                "candidate_retriever": "bm25", "seed_order_seed": self.inputs.seed, **pseudo}

    def requests(self) -> Iterator[Request]:
        for n, qid in enumerate(self.seeds):
            cands = self.candidates[qid]
            if not cands:
                continue
            payload = {"seed_query_id": qid, "candidate_ids": cands}
            seed = item_seed(self.inputs.seed, n)
            if self.answer_template is None:
                yield Request(qid, self.selection_prompt(qid, cands), seed, payload)
            else:
                template = self.answer_template[0]
                user = template["user"].format(query=self.inputs.queries[qid].text)
                yield Request(qid, (Message("system", template["system"]), Message("user", user)), seed, payload)

    def selection_prompt(self, qid: str, cands: list[str], answer: str | None = None) -> tuple[Message, ...]:
        listing = "\n".join(
            f"[{i}] {truncate_words(self.inputs.corpus[d].full_text(), self.cfg.passage_words)}"
            for i, d in enumerate(cands, start=1)
        )
        slots = {"query": self.inputs.queries[qid].text, "passages": listing}
        user = self.template["user"].format(**slots, **({} if answer is None else {"answer": answer}))
        return Message("system", self.template["system"]), Message("user", user)

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        """The selection's record; with a pseudo-answer, the draft's (the selection follows)."""
        qid = request.payload["seed_query_id"]
        if self.answer_template is not None:
            answer = " ".join(raw.split())
            check_garbage(answer)
            if len(answer.split()) < MIN_ANSWER_WORDS:
                raise Rejected("answer_too_short")
            return {"query": self.inputs.queries[qid].text, "pseudo_answer": answer, **request.payload}
        return {"query": self.inputs.queries[qid].text, **self.selected(request.payload, raw), **request.payload}

    def selected(self, payload: dict[str, Any], raw: str) -> dict[str, Any]:
        """Positives named by a selection response, and the human labels among the candidates."""
        cands = payload["candidate_ids"]
        chosen = [cands[i - 1] for i in parse_selection(raw, len(cands))]
        labels = self.inputs.train_qrels.get(payload["seed_query_id"], {})
        human = sorted(d for d in cands if labels.get(d, 0) > 0)
        return {"positive_id": chosen[0], "positive_ids": chosen, "human_positive_ids": human}


class Selection:
    """The listwise selection as a follow-up of the pseudo-answer call (see the module doc)."""

    name = "selection"

    def __init__(self, utility: Utility) -> None:
        self.utility = utility
        self.template_sha256 = utility.template_sha256

    def request(self, request: Request, record: dict[str, Any]) -> Request:
        prompt = self.utility.selection_prompt(record["seed_query_id"], record["candidate_ids"], record["pseudo_answer"])
        return Request(request.source_id, prompt, request.seed, {})

    def apply(self, record: dict[str, Any], raw: str) -> None:
        record.update(self.utility.selected(record, raw))
