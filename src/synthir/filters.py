"""Generation filters that need more than the response itself: round-trip consistency (a
retriever must find the source passage for the generated query) and an LLM judge. Both run on
the accepted records of a chunk, after parsing; rejections are counted by reason like the
parser's."""

from __future__ import annotations

import re
from typing import Any

from synthir.bm25 import BM25Index
from synthir.engine import Rejected, Request
from synthir.io import Document
from synthir.llm.base import Message
from synthir.strategies.base import load_template, truncate_words


def round_trip(records: list[dict[str, Any]], index: BM25Index, top_k: int) -> None:
    """Mark ``status = "round_trip"`` on every record whose query does not retrieve its
    positive passage within BM25's ``top_k`` (Alberti et al. 2019; the InPars/Promptagator
    consistency filter, with BM25 as the configured retriever)."""
    run = index.search({str(r["n"]): r["query"] for r in records}, top_k)
    for r in records:
        if r["positive_id"] not in run.get(str(r["n"]), {}):
            r["status"] = "round_trip"


_YES = re.compile(r"^\W*(yes|no)\b", re.I)

#: Words of the passage shown to the judge.
JUDGE_PASSAGE_WORDS = 96


class Judge:
    """An LLM yes/no check of each accepted (query, positive passage); "no" rejects it."""

    name = "judge"

    def __init__(self, prompt: str, corpus: dict[str, Document]) -> None:
        self.template, self.template_sha256 = load_template(prompt)
        self.corpus = corpus

    def request(self, request: Request, record: dict[str, Any]) -> Request:
        passage = truncate_words(self.corpus[record["positive_id"]].full_text(), JUDGE_PASSAGE_WORDS)
        user = self.template["user"].format(query=record["query"], passage=passage)
        prompt = (Message("system", self.template["system"]), Message("user", user))
        return Request(request.source_id, prompt, request.seed, {})

    def apply(self, record: dict[str, Any], raw: str) -> None:
        m = _YES.match(raw.strip())
        if m is None:
            raise Rejected("judge_unparseable")
        if m.group(1).lower() == "no":
            raise Rejected("judge_no")
