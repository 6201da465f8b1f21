"""What the retrieval kinds share: the collection they read (:class:`StrategyInputs`), seed
pairs from its labelled split, and the checks a generated query or passage goes through."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from synthir.core.config import StrategyConfig
from synthir.core.io import Document, Qrels, Query
from synthir.generation.llm.base import Message
from synthir.generation.strategy import (
    Rejected, Request, check_garbage, check_length, first_line, item_seed, longest_common_run, words,
)
from synthir.retrieval.bm25 import BM25Index


@dataclass(frozen=True)
class StrategyInputs:
    corpus: dict[str, Document]
    queries: dict[str, Query]
    train_qrels: Qrels
    seed: int
    bm25: BM25Index | None = None  # the training corpus's index, for kinds that retrieve


def labelled_pairs(inputs: StrategyInputs) -> list[tuple[str, str]]:
    """(query id, relevant passage id) pairs of the labelled split, sorted."""
    return sorted(
        (qid, did)
        for qid, docs in inputs.train_qrels.items()
        for did, grade in docs.items()
        if grade > 0 and qid in inputs.queries and did in inputs.corpus
    )


def exemplar_pairs(drawn: list[tuple[str, str]], inputs: StrategyInputs, limit: float | None) -> list[tuple[str, str]]:
    """The drawn few-shot exemplars, each whose query shares ``limit`` or more of its words in one
    run with its passage replaced by the next labelled pair in sorted order that does not (and is
    not chosen already). An exemplar that restates its passage teaches the augmenter to copy:
    shown SciFact query 615, which restates its passage's title (0.47), Qwen2.5-Coder-0.5B wrote
    a query passing the copy check for 0 of 16 passages, 12 of 16 after query 945 (0.11)
    (benchmarks/exemplars.py). Replacing instead of drawing again leaves the seeded stream alone,
    so a draw whose exemplars pass keeps its prompts and its passage order."""
    if limit is None:
        return drawn

    def shows_no_copy(pair: tuple[str, str]) -> bool:
        query = words(inputs.queries[pair[0]].text)
        return longest_common_run(query, words(inputs.corpus[pair[1]].full_text())) < limit * len(query)

    pairs, out = labelled_pairs(inputs), []
    for pair in drawn:
        at = pairs.index(pair)
        pick = next((p for p in pairs[at:] + pairs[:at] if p not in out and shows_no_copy(p)), None)
        if pick is None:
            raise ValueError(f"filters.exemplar_copy_overlap {limit}: no labelled pair's query shares less "
                             f"than that share of its words with its passage; raise it or set null")
        out.append(pick)
    return out


def seed_pairs(inputs: StrategyInputs, limit: int | None) -> list[tuple[str, str]]:
    """The labelled pairs of the first ``limit`` seed queries (seeded order): the seed set.
    Pairs keep that order, so a budget cut spreads over seeds."""
    qids = sorted({q for q, _ in labelled_pairs(inputs)})
    random.Random(inputs.seed).shuffle(qids)
    chosen = {q: i for i, q in enumerate(qids[:limit])}
    return sorted((p for p in labelled_pairs(inputs) if p[0] in chosen), key=lambda p: (chosen[p[0]], p[1]))


def seed_queries(inputs: StrategyInputs, limit: int | None) -> list[str]:
    """Seed query ids in seeded order, each once."""
    return list(dict.fromkeys(q for q, _ in seed_pairs(inputs, limit)))


def seed_query_requests(template: dict[str, str], seeds: list[tuple[str, str]], inputs: StrategyInputs) -> Iterator[Request]:
    """One request per (seed query, its passage) pair: the template's system turn, then its user
    turn with the seed query's text; the pair travels as ``seed_query_id`` and ``positive_id``."""
    system = Message("system", template["system"])
    for n, (qid, did) in enumerate(seeds):
        user = Message("user", template["user"].format(query=inputs.queries[qid].text))
        yield Request(qid, (system, user), item_seed(inputs.seed, n), {"positive_id": did, "seed_query_id": qid})


def passage_text(raw: str) -> str:
    """A generated passage: the whole response on one line, without a leading label."""
    text = " ".join(line.strip() for line in raw.strip().splitlines() if line.strip())
    return re.sub(r"^\s*(passage|answer|document)\s*[:\-]\s*", "", text, flags=re.I).strip().strip('"').strip()


#: A generated passage shorter than this is not a passage (the prompts ask for a paragraph).
MIN_PASSAGE_WORDS = 12


class QueryChecks:
    """The checks every generated query goes through, with the set of queries seen so far."""

    def __init__(self, cfg: StrategyConfig, corpus: dict[str, Document], banned: set[str] = frozenset()) -> None:
        self.filters = cfg.filters
        # a prompt without exemplars has only the passage to imitate: a zero-shot qgen copied its
        # passage's opening words into 116 of 800 queries at overlap 0.69 on an unlabelled corpus,
        # under the few-shot threshold of 0.8
        zero_shot = cfg.n_examples == 0 and cfg.filters.zero_shot_copy_overlap is not None
        self.max_copy_overlap = cfg.filters.zero_shot_copy_overlap if zero_shot else cfg.filters.max_copy_overlap
        self.corpus = corpus
        self.banned = {b.lower() for b in banned}  # exemplar queries: copies are rejected
        self.seen: set[str] = set()

    def __call__(self, raw: str, passage_id: str | None) -> str:
        """The query in ``raw``, or raise :class:`Rejected` with the reason."""
        query = first_line(raw)
        check_garbage(query)
        f = self.filters
        n = check_length(query, f.min_words, f.max_words)
        if passage_id is not None:
            passage = words(self.corpus[passage_id].full_text())
            if n >= 4 and longest_common_run(words(query), passage) / n >= self.max_copy_overlap:
                raise Rejected("copies_passage")
        key = " ".join(words(query))
        if query.lower() in self.banned:
            raise Rejected("copies_exemplar")
        if key in self.seen:
            raise Rejected("duplicate")
        self.seen.add(key)
        return query


