"""Generating labelled examples: FewGen and SynthesizRR (arXiv 2405.10040), through the cached
engine of the retrieval strategies (synthir.generation.engine: fixed chunks, every call cached, a killed
run resumes with the same bytes).

* ``fewgen``: the LLM writes an example of a label from the label's instruction alone
  (``n_examples: 0``, ZeroGen-like) or after ``n_examples`` fixed gold examples *of that label*
  shown as earlier chat turns (FewGen's k-shot).
* ``synthesizrr``: ``seed_queries`` gold seeds per label each retrieve ``retrieve_k`` documents
  of the task's content corpus (the seed's text as the query; the paper uses Contriever);
  the LLM rewrites each retrieved document into an example of the seed's label, after
  ``n_examples`` in-context (document, seed) pairs of that label (the paper: 0 or 3). The
  retriever is BM25 or a dense encoder (its stored index of the corpus, its query side).

Prompts are label-specific and live in the task's template file (``prompts/<template>.json``,
named by ``datasets.<name>.classification.prompts``); the strategy's ``prompt`` picks the
section. Requests cycle over the labels, and generation stops once every label has
``ceil(max_scale / labels)`` accepted examples, so every scale of a pool is label-balanced.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.retrieval.bm25 import BM25Index
from synthir.classification.data import labels as read_labels
from synthir.classification.data import read_examples
from synthir.core.config import ExamplesConfig, StrategyConfig
from synthir.generation.engine import generate, open_llm, write_pool
from synthir.generation.strategy import Rejected, Request
from synthir.core.errors import PoolTooSmallError
from synthir.core.io import Document, Query, Run
from synthir.generation.llm.base import Message
from synthir.core.provenance import Artifact
from synthir.generation.strategy import (
    Strategy, check_garbage, check_length, item_seed, load_template, longest_common_run, truncate_words, words,
)

log = logging.getLogger(__name__)

#: Requests made at most per example asked for when the strategy sets no budget.
DEFAULT_CALLS_PER_EXAMPLE = 6
_PREAMBLE = re.compile(r"^(sure|here|okay|ok)\b.*:\s*$", re.I)
_LABEL = re.compile(r"^\s*(\w+(\s\w+)?)\s*:\s+")


def example_text(raw: str) -> str:
    """The example in a response: its first line that is not a preamble ("Here is a positive
    review:"), without a leading "Review:"-style label or surrounding quotes."""
    for line in raw.strip().splitlines():
        line = line.strip()
        if not line or _PREAMBLE.match(line) or line.endswith(":"):
            continue
        return _LABEL.sub("", line, count=1).strip().strip('"').strip("'").strip()
    return ""


class LabelledStrategy(Strategy):
    """What the two classification kinds share: the task's template, labels, gold seed split."""

    task = "classification"
    generates_query = False
    allows_negatives = False
    allows_human_mix = False

    @classmethod
    def needs_labels(cls, st: dict[str, Any]) -> bool:
        return cls.uses_seed_queries or st["n_examples"] > 0

    def __init__(self, cfg: StrategyConfig, template: str, labels: list[str], seeds: list[dict[str, Any]],
                 corpus: dict[str, Document] | None, search: Search | None, seed: int) -> None:
        self.cfg = cfg
        self.labels = labels
        self.template_name = template
        full, self.template_sha256 = load_template(template)
        if cfg.prompt not in full:
            raise ValueError(f"prompts/{template}.json has no section {cfg.prompt!r} (strategies.{cfg.name}.prompt)")
        self.prompt = full[cfg.prompt]
        missing = [lab for lab in labels if lab not in full["labels"]]
        if missing:
            raise ValueError(f"prompts/{template}.json: labels {missing} have no text under 'labels'")
        self.label_text: dict[str, str] = full["labels"]
        self.seed = seed
        order = list(seeds)
        random.Random(seed).shuffle(order)
        self.by_label = {lab: [r for r in order if r["label"] == lab] for lab in labels}
        self.corpus = corpus or {}
        self.search = search
        self.seen: set[str] = set()
        self.banned: set[str] = set()

    def rejected(self, request: Request) -> dict[str, Any]:
        return {"label": request.payload["label"]}

    def user(self, label: str, **fields: str) -> Message:
        return Message("user", self.prompt["user"].format(label_text=self.label_text[label], **fields))

    def system(self, label: str) -> Message:
        return Message("system", self.prompt["system"].format(label_text=self.label_text[label]))

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        text = example_text(raw)
        check_garbage(text)
        n = check_length(text, self.cfg.filters.min_words, self.cfg.filters.max_words)
        doc_id = request.payload.get("doc_id")
        if doc_id is not None and n >= 4:
            run = longest_common_run(words(text), words(self.corpus[doc_id].full_text()))
            if run / n >= self.cfg.filters.max_copy_overlap:
                raise Rejected("copies_document")
        key = " ".join(words(text))
        if key in self.banned:
            raise Rejected("copies_exemplar")
        if key in self.seen:
            raise Rejected("duplicate")
        self.seen.add(key)
        return {"text": text, **request.payload}


class FewGen(LabelledStrategy):
    """FewGen: an example of a label from its instruction and ``n_examples`` fixed gold shots
    of that label (0: zero-shot)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shots = {lab: rows[: self.cfg.n_examples] for lab, rows in self.by_label.items()}
        short = [lab for lab, rows in self.shots.items() if len(rows) < self.cfg.n_examples]
        if short:
            raise ValueError(f"fewgen: fewer than {self.cfg.n_examples} gold examples of labels {short}")
        self.banned = {" ".join(words(r["text"])) for rows in self.shots.values() for r in rows}

    def provenance(self) -> dict[str, Any]:
        return {"template": self.template_name, "section": self.cfg.prompt, "template_sha256": self.template_sha256,
                "shots": {lab: [r["id"] for r in rows] for lab, rows in self.shots.items()},
                "human_queries": sum(len(r) for r in self.shots.values())}

    def requests(self) -> Iterator[Request]:
        n = 0
        while True:
            label = self.labels[n % len(self.labels)]
            turns: list[Message] = [self.system(label)]
            for shot in self.shots[label]:
                turns += [self.user(label), Message("assistant", shot["text"])]
            turns.append(self.user(label))
            yield Request(f"{label}-{n}", tuple(turns), item_seed(self.seed, n),
                          {"label": label, "shot_ids": [s["id"] for s in self.shots[label]]})
            n += 1


class SynthesizRR(LabelledStrategy):
    """SynthesizRR: each gold seed retrieves documents of the content corpus; each document is
    rewritten into an example of the seed's label."""

    uses_seed_queries = True
    retrieves = True  # from the task's content corpus (datasets.<name>.classification.corpus)
    retrieves_densely = True

    @classmethod
    def config_problems(cls, st: dict[str, Any]) -> list[str]:
        out = super().config_problems(st)
        if st["seed_queries"] is None:
            out.append("seed_queries: synthesizrr needs the number of gold seeds per label (the paper: 50)")
        return out

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.search is None or not self.corpus:
            raise ValueError("synthesizrr needs the task's content corpus (datasets.<name>.classification.corpus)")
        per_label = self.cfg.seed_queries
        self.seeds = {lab: rows[:per_label] for lab, rows in self.by_label.items()}
        queries = {s["id"]: s["text"] for rows in self.seeds.values() for s in rows}
        run = self.search(queries, self.cfg.retrieve_k)
        self.related = {qid: [d for d, _ in sorted(run.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))]
                        for qid in queries}
        self.banned = {" ".join(words(t)) for t in queries.values()}

    def _document(self, doc_id: str) -> str:
        return truncate_words(self.corpus[doc_id].full_text(), self.cfg.passage_words)

    def provenance(self) -> dict[str, Any]:
        return {"template": self.template_name, "section": self.cfg.prompt, "template_sha256": self.template_sha256,
                "seeds": {lab: [s["id"] for s in rows] for lab, rows in self.seeds.items()},
                "retrieved_per_seed": self.cfg.retrieve_k, "in_context": self.cfg.n_examples,
                "retriever": getattr(self.search, "name", "bm25") + " (seed text as query)",
                "human_queries": sum(len(r) for r in self.seeds.values())}

    def _shots(self, label: str, seed_id: str) -> list[Message]:
        """``n_examples`` (document, seed) pairs of the label: other seeds and their top document."""
        out: list[Message] = []
        for s in [s for s in self.seeds[label] if s["id"] != seed_id][: self.cfg.n_examples]:
            if self.related[s["id"]]:
                out += [self.user(label, document=self._document(self.related[s["id"]][0])),
                        Message("assistant", s["text"])]
        return out

    def requests(self) -> Iterator[Request]:
        """Rank by rank, seed by seed, the labels interleaved: every label's seeds' first
        documents, then their second ones...; a document rewritten for a label once is skipped."""
        done: set[tuple[str, str]] = set()
        depth = max(len(rows) for rows in self.seeds.values())
        n = 0
        for rank in range(self.cfg.retrieve_k):
            for i in range(depth):
                for label in self.labels:
                    if i >= len(self.seeds[label]):
                        continue
                    seed = self.seeds[label][i]
                    related = self.related[seed["id"]]
                    if rank >= len(related) or (label, related[rank]) in done:
                        continue
                    doc = related[rank]
                    done.add((label, doc))
                    prompt = (self.system(label), *self._shots(label, seed["id"]),
                              self.user(label, document=self._document(doc)))
                    yield Request(doc, prompt, item_seed(self.seed, n), {"label": label, "doc_id": doc,
                                                                         "seed_id": seed["id"]})
                    n += 1


#: Retrieval for synthesizrr: queries (id -> text) and a depth -> a run (id -> doc id -> score).
Search = Callable[[dict[str, str], int], Run]


def bm25_search(index: BM25Index) -> Search:
    def search(queries: dict[str, str], k: int) -> Run:
        return index.search(queries, k)

    search.name = "bm25"
    return search


def dense_search(cfg: ExamplesConfig, corpus: dict[str, Document], encoder_dir: Path, index_dir: Path) -> Search:
    """The encoder's stored index of the content corpus (checked: same settings, same passage
    tower, same documents), searched with its query side."""
    from synthir.retrieval.encoders import load_encoder
    from synthir.retrieval.evaluate import dense_search as search_index
    from synthir.retrieval.evaluate import load_index

    assert cfg.dense is not None
    encoder = load_encoder(encoder_dir, cfg.dense.encoding, cfg.compute)
    doc_ids, emb = load_index(index_dir, cfg.dense.encoding, encoder)
    if doc_ids != list(corpus):
        raise ValueError(f"{index_dir}: document ids differ from the content corpus")

    def search(queries: dict[str, str], k: int) -> Run:
        return search_index(encoder.model, doc_ids, emb, {q: Query(q, t) for q, t in queries.items()},
                            cfg.dense.encoding, k)

    search.name = f"dense {cfg.dense.encoder}"
    return search


def per_label_quota(max_scale: int, n_labels: int) -> int:
    return math.ceil(max_scale / n_labels)


class PerLabel:
    """The quota of a classification pool: ``target`` accepted examples of every label."""

    def __init__(self, labels: list[str], target: int) -> None:
        self.labels, self.target = labels, target
        self.accepted: Counter[str] = Counter()

    def add(self, record: dict[str, Any]) -> None:
        self.accepted[record["label"]] += 1

    def met(self) -> bool:
        return min(self.accepted[lab] for lab in self.labels) >= self.target

    def short(self) -> dict[str, int]:
        return {lab: self.accepted[lab] for lab in self.labels if self.accepted[lab] < self.target}

    def __str__(self) -> str:
        return f"per label {dict(self.accepted)}"


def build_examples(cfg: ExamplesConfig, dataset_dir: Path, corpus_dir: Path | None, model_dir: Path | None,
                   out_dir: Path, record: dict[str, Any], encoder_dir: Path | None = None,
                   index_dir: Path | None = None) -> Artifact:
    """Generate chunk by chunk until every label has its share of ``cfg.max_scale`` accepted
    examples; write every response (accepted or rejected, with its reason) to pool shards."""
    from synthir.generation.strategy import strategy_class

    st = cfg.strategy
    names = read_labels(dataset_dir)
    corpus = io.read_corpus(corpus_dir / "corpus.jsonl") if corpus_dir is not None else None
    search: Search | None = None
    if corpus is not None and cfg.bm25 is not None:
        search = bm25_search(BM25Index(cfg.bm25, corpus))
    elif corpus is not None and cfg.dense is not None:
        if encoder_dir is None or index_dir is None:
            raise ValueError(f"strategies.{st.name}.retriever {cfg.dense.encoder}: the job needs --encoder-dir and --index-dir")
        search = dense_search(cfg, corpus, encoder_dir, index_dir)
    kind = strategy_class(st.kind)
    strategy = kind(st, cfg.template, names, read_examples(dataset_dir, cfg.seed_split), corpus, search, st.seed)
    llm = open_llm(cfg.generator, st.max_new_tokens, model_dir, Path(record["cache_dir"]), cfg.compute)
    quota = PerLabel(names, per_label_quota(cfg.max_scale, len(names)))
    budget = st.budget if st.budget is not None else DEFAULT_CALLS_PER_EXAMPLE * cfg.max_scale
    start = time.perf_counter()
    run = generate(strategy.requests(), strategy, quota, llm, budget=budget,
                   progress=f"generate {cfg.dataset}/{cfg.generator.alias}/{st.name}")
    short = quota.short()
    if short:
        raise PoolTooSmallError(
            f"{cfg.dataset}/{cfg.generator.alias}/{st.name}: labels {short} have fewer than {quota.target} accepted "
            f"examples after {len(run.records)} responses (budget {budget}; rejected: "
            f"{dict(run.calls.rejected.most_common())}); lower the largest scale, raise strategies.{st.name}.budget "
            "(or seed_queries / retrieve_k), or relax its filters")
    shards = write_pool(run, out_dir, st.shard_size)
    inputs = {"dataset": dataset_dir / "meta.json", **({"llm": model_dir / "meta.json"} if model_dir else {}),
              **({"corpus": corpus_dir / "meta.json"} if corpus_dir is not None else {}),
              **({"retriever": encoder_dir / "meta.json", "index": index_dir / "meta.json"}
                 if encoder_dir is not None and index_dir is not None else {})}
    return Artifact(
        kind="pool", meta=out_dir / "meta.json", inputs=inputs, outputs={name: out_dir / name for name in shards},
        facts={"accepted": sum(quota.accepted.values()), "accepted_per_label": dict(sorted(quota.accepted.items())),
               "responses": len(run.records), "calls": run.calls.deterministic(), "llm": llm.backend.identity(),
               "decoding": asdict(llm.decoding), "strategy": strategy.provenance(), "shards": shards},
        volatile={"generation_seconds": time.perf_counter() - start, **run.calls.volatile("calls")},
    )
