"""Follow-ups: second LLM calls for every record a chunk accepted, run by the engine through the
same cache (synthir.generation.engine.FollowUp): an LLM judge of each (query, passage), and a hard negative
the augmenter writes. Their own module, so a generation job's code is generation's alone."""

from __future__ import annotations

import re
from typing import Any

from synthir.generation.strategy import Rejected, Request
from synthir.core.io import Document
from synthir.generation.llm.base import Message
from synthir.generation.strategy import (
    check_garbage, check_length, load_template, longest_common_run, truncate_words, words,
)
from synthir.retrieval.strategies.base import MIN_PASSAGE_WORDS, passage_text

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


class LLMNegative:
    """A hard negative written by the augmenter for each accepted record (2504.21015): from the
    query alone or from query and positive, as the template's fields say. A response that
    fails the checks leaves the record without a negative (``negative_status`` says why); the
    subset then gives it a seeded random passage, counted, so every alias of a pool keeps the
    same queries."""

    name = "negative"

    def __init__(self, prompt: str, corpus: dict[str, Document], passage_words: int, max_copy_overlap: float) -> None:
        self.template, self.template_sha256 = load_template(prompt)
        self.corpus = corpus
        self.passage_words = passage_words
        self.max_copy_overlap = max_copy_overlap  # the strategy's filter, applied to the negative

    def request(self, request: Request, record: dict[str, Any]) -> Request:
        positive = truncate_words(self.corpus[record["positive_id"]].full_text(), self.passage_words)
        user = self.template["user"].format(query=record["query"], positive=positive)
        return Request(request.source_id, (Message("system", self.template["system"]), Message("user", user)),
                       request.seed, {})

    def apply(self, record: dict[str, Any], raw: str) -> None:
        text = passage_text(raw)
        try:
            check_garbage(text)
            check_length(text, MIN_PASSAGE_WORDS // 2, 10_000)
            # a small LLM often echoes the query (or the positive) as its "negative", alone or
            # with more text after it: training would then push a query away from itself
            neg = words(text)
            for what, ref in (("query", record["query"]), ("positive", self.corpus[record["positive_id"]].full_text())):
                other = words(ref)
                if longest_common_run(neg, other) / max(1, min(len(neg), len(other))) >= self.max_copy_overlap:
                    raise Rejected(f"copies_{what}")
        except Rejected as r:
            record["negative_status"] = r.reason
            return
        record["negative"] = text
