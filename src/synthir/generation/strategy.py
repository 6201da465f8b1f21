"""What a strategy kind is, for both tasks: the requests it makes and the records it parses
(:class:`Strategy`, :class:`Request`, :class:`Rejected`), the text checks every kind shares, the
prompt templates, and the registry of kinds.

The registry names each kind's class by string and imports only the one a job uses, so a
generation job's code inputs hold its own strategy's module, not every strategy's (see
synthir.core.closure). Its keys equal the schema's ``strategy_kind`` enum (a contract test
checks it). Retrieval kinds live in :mod:`synthir.retrieval.strategies`, classification kinds
in :mod:`synthir.classification.generate`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any, ClassVar, NamedTuple

from synthir.core import io
from synthir.core.plugins import load, module_of
from synthir.generation.llm.base import Prompt


class Request(NamedTuple):
    """One LLM call a strategy asks for; ``payload`` travels to the parsed record."""

    source_id: str
    prompt: Prompt
    seed: int
    payload: dict[str, Any]


class Rejected(Exception):
    """A response was parsed or filtered out; ``reason`` is counted in meta.json."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


STRATEGIES: dict[str, str] = {
    "qgen": "synthir.retrieval.strategies.qgen:QGen",
    "rephrase": "synthir.retrieval.strategies.rephrase:Rephrase",
    "answer-aug": "synthir.retrieval.strategies.answer_aug:AnswerAug",
    "utility": "synthir.retrieval.strategies.utility:Utility",
    "rag-qgen": "synthir.retrieval.strategies.rag_qgen:RagQGen",
    "q2d": "synthir.retrieval.strategies.q2d:Q2D",
    # text classification (a data set with task: classification; synthir.classification)
    "fewgen": "synthir.classification.generate:FewGen",
    "synthesizrr": "synthir.classification.generate:SynthesizRR",
}


def strategy_module(kind: str) -> str:
    return module_of(STRATEGIES[kind])


def strategy_task(kind: str) -> str:
    """The task a kind generates for: ``classification`` or ``retrieval``."""
    return strategy_class(kind).task


def strategy_class(kind: str) -> type[Strategy]:
    cls: type[Strategy] = load(STRATEGIES[kind])
    return cls


#: What each negative source needs set (the rest must be null, so nothing is silently ignored).
NEGATIVE_KEYS = {"bm25": {"rank_window", "max_score_ratio"}, "dense": {"rank_window", "max_score_ratio", "encoder"},
                 "ce": {"rank_window", "max_score_ratio", "encoder"}, "llm": {"prompt"}}


def item_seed(seed: int, n: int) -> int:
    """The seed of a strategy's ``n``-th request: distinct per item and per strategy seed."""
    return seed * 1_000_003 + n


class Strategy:
    """Base of every strategy kind. The class attributes say what a kind needs and allows; they
    are checked against a strategy alias at planning time (:meth:`config_problems`), before any
    job runs. Subclasses implement the engine's side: ``provenance``, ``requests``, ``parse``,
    and may list ``follow_ups`` (second calls per accepted record, see synthir.generation.engine.FollowUp)
    that the engine runs before the configured ones."""

    #: the task whose training data the kind writes (``retrieval`` or ``classification``)
    task: ClassVar[str] = "retrieval"
    #: draws seed queries (and their passages) from the labelled split
    uses_seed_queries: ClassVar[bool] = False
    #: retrieves ``retrieve_k`` passages per seed with BM25 over the training corpus
    retrieves: ClassVar[bool] = False
    #: may retrieve with an encoder alias (``retriever``) instead of BM25
    retrieves_densely: ClassVar[bool] = False
    #: records are query expansions, trained by distillation (SoftQE, ``training.distill_weight``)
    expands_queries: ClassVar[bool] = False
    #: records carry a generated query, which the round-trip filter can check
    generates_query: ClassVar[bool] = True
    #: records have a single corpus passage as positive, so a hard negative can be added
    allows_negatives: ClassVar[bool] = True
    #: some rows of a subset may be human-labelled pairs instead (``human_fraction``)
    allows_human_mix: ClassVar[bool] = True
    #: the LLM may draft an answer before it selects (``pseudo_answer``)
    allows_pseudo_answer: ClassVar[bool] = False
    #: no few-shot exemplars exist for this kind (``n_examples`` must be 0)
    zero_shot: ClassVar[bool] = False

    follow_ups: list[Any]

    @classmethod
    def needs_labels(cls, st: dict[str, Any]) -> bool:
        """Whether an alias of this kind reads the training dataset's labelled split."""
        return cls.uses_seed_queries or st["n_examples"] > 0 or st["human_fraction"] > 0

    @classmethod
    def config_problems(cls, st: dict[str, Any]) -> list[str]:
        """Problems of a strategy alias (its params.yaml block) for this kind, each naming the key."""
        kind = st["kind"]
        out: list[str] = []
        if cls.zero_shot and st["n_examples"] != 0:
            out.append(f"n_examples: {kind} is zero-shot (there are no exemplars to show); set 0")
        if cls.retrieves and st["retrieve_k"] < 1:
            out.append(f"retrieve_k: {kind} retrieves passages per seed; set at least 1")
        if not cls.retrieves and st["retrieve_k"] != 0:
            out.append(f"retrieve_k: {kind} retrieves nothing; set 0")
        if st["pseudo_answer"] is not None and not cls.allows_pseudo_answer:
            out.append(f"pseudo_answer: {kind} drafts no answer before selecting; set null")
        if not cls.uses_seed_queries and st["seed_queries"] is not None:
            out.append(f"seed_queries: {kind} uses no seed queries; set null")
        if st["human_fraction"] > 0 and not cls.allows_human_mix:
            out.append(f"human_fraction: human-labelled rows have no {kind} output; set 0")
        if st["filters"]["round_trip_top_k"] is not None and not cls.generates_query:
            out.append(f"filters.round_trip_top_k: {kind} records have no generated query to check")
        neg = st["negatives"]
        if neg is None:
            return out
        if not cls.allows_negatives:
            out.append(f"negatives: {kind} sets have no single corpus positive to add a negative to")
        needed = NEGATIVE_KEYS[neg["source"]]
        for key in ("rank_window", "max_score_ratio", "encoder", "prompt"):
            if key in needed and neg[key] is None:
                out.append(f"negatives.{key}: source {neg['source']} needs it")
            if key not in needed and neg[key] is not None:
                out.append(f"negatives.{key}: unused by source {neg['source']}; set null")
        if neg["rank_window"] is not None and neg["rank_window"][0] > neg["rank_window"][1]:
            out.append("negatives.rank_window: first rank is after the last")
        if neg["source"] == "llm" and st["human_fraction"] > 0:
            out.append("human_fraction: human-labelled rows have no LLM-written negative")
        return out

    def provenance(self) -> dict[str, Any]:
        """Template digest, exemplars and anything else that shaped the prompts; ``human_queries``
        counts the labelled queries the prompts use (exemplars or seeds), for the report."""
        raise NotImplementedError

    def requests(self) -> Iterator[Request]:
        raise NotImplementedError

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        """A training record from a raw response, or raise :class:`Rejected`."""
        raise NotImplementedError

    def rejected(self, request: Request) -> dict[str, Any]:
        """What a rejected response's record keeps of its request, beside its status."""
        return {}


def load_template(name: str) -> tuple[dict[str, str], str]:
    """The prompt template ``prompts/<name>.json`` and the sha256 of its bytes."""
    blob = resources.files("synthir").joinpath(f"prompts/{name}.json").read_bytes()
    return json.loads(blob), io.sha256_json(json.loads(blob))


def truncate_words(text: str, n: int) -> str:
    parts = text.split()
    return " ".join(parts[:n]) + (" ..." if len(parts) > n else "")



_WORD = re.compile(r"\w+", re.UNICODE)
_REFUSAL = re.compile(r"\b(i('| a)m sorry|i cannot|i can't|as an ai|i'm unable|cannot assist)\b", re.I)
_LABEL = re.compile(r"^\s*(search\s+)?(query|question)\s*\d*\s*[:\-]\s*", re.I)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def first_line(raw: str) -> str:
    """The first non-empty line, without a leading 'Query:' label or surrounding quotes."""
    for line in raw.strip().splitlines():
        line = _LABEL.sub("", line.strip()).strip().strip('"').strip("'").strip()
        if line:
            return line
    return ""


def check_garbage(text: str) -> None:
    """Reject refusals, repetition loops and text that is mostly not letters."""
    if not text:
        raise Rejected("empty")
    if _REFUSAL.search(text):
        raise Rejected("refusal")
    toks = words(text)
    if len(toks) >= 6 and max(toks.count(t) for t in set(toks)) / len(toks) > 0.4:
        raise Rejected("repetition")
    letters = sum(c.isalpha() for c in text)
    if letters / max(1, len(text)) < 0.5:
        raise Rejected("not_text")
    if sum(c.isascii() for c in text if c.isalpha()) / max(1, letters) < 0.8:
        raise Rejected("wrong_script")


def check_length(text: str, lo: int, hi: int) -> int:
    n = len(words(text))
    if n < lo:
        raise Rejected("too_short")
    if n > hi:
        raise Rejected("too_long")
    return n


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest contiguous word sequence shared by ``a`` and ``b``."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best
