"""Nested scales: a subset of scale n is contained, row for row, in the subset of scale m > n of
the same pool, for every strategy kind's record shape, with human rows and negatives; and the
human-label arm's sets are prefixes of each other. Pools here are written in the engine's
shard format by hand (the records each kind's parser produces), so the subset code runs as in
the study."""

from __future__ import annotations

import json

import pytest

from synthir.core import io
from synthir.core.config import BM25Settings, HumanConfig, NegativesConfig, SubsetConfig
from synthir.core.io import write_shards
from synthir.retrieval.subsets import sample_human, subset_scale

BM25 = BM25Settings(k1=0.9, b=0.4, stemmer="english", stopwords="en")
DOCS = [f"d{i}" for i in range(40)]
WORDS = "aspirin heart statin sleep memory cholesterol insulin liver kidney brain".split()


@pytest.fixture
def collection(tmp_path):
    """40 passages and 30 labelled training queries, two relevant passages each."""
    d = tmp_path / "col"
    (d / "qrels").mkdir(parents=True)
    corpus = [{"_id": doc, "title": "", "text": f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} study number {i}"}
              for i, doc in enumerate(DOCS)]
    queries = [{"_id": f"q{i}", "text": f"what about {WORDS[i % 10]} and {WORDS[(i + 1) % 10]} {i}"} for i in range(30)]
    (d / "corpus.jsonl").write_text("".join(json.dumps(x) + "\n" for x in corpus))
    (d / "queries.jsonl").write_text("".join(json.dumps(x) + "\n" for x in queries))
    lines = ["query-id\tcorpus-id\tscore"] + [f"q{i}\td{(i + k) % 40}\t1" for i in range(30) for k in (0, 7)]
    (d / "qrels" / "train.tsv").write_text("\n".join(lines) + "\n")
    return d


def record(kind: str, n: int) -> dict:
    """A pool record as each kind's parser leaves it (rejections interleaved)."""
    base = {"n": n, "source_id": f"s{n}", "raw": "...", "cache_key": f"k{n}", "prompt_tokens": 10,
            "completion_tokens": 5, "status": "ok" if n % 4 else "too_short"}
    doc = DOCS[n % 40]
    if kind in ("qgen", "rephrase", "rag-qgen"):
        return {**base, "query": f"generated query {n} about {WORDS[n % 10]}", "positive_id": doc,
                **({"negative": f"an llm written negative {n}"} if n % 3 else {})}
    if kind == "answer-aug":
        return {**base, "query": f"seed {n % 7}", "positive": f"a generated passage {n}", "positive_id": f"gen:{n}:0"}
    if kind == "utility":
        return {**base, "query": f"seed {n}", "positive_id": doc, "positive_ids": [doc, DOCS[(n + 1) % 40]]}
    if kind == "q2d":
        return {**base, "query": f"seed {n}", "positive_id": doc, "expansion": f"a pseudo document {n}"}
    raise ValueError(kind)


CASES = {  # kind -> (negatives, human_fraction) the kind allows
    # a guard no candidate passes: every row, human ones too, gets a random fallback negative
    "qgen": (NegativesConfig("bm25", [1, 5], 0.01, None, None), 0.25),
    "rephrase": (NegativesConfig("llm", None, None, None, "negative-q"), 0.0),
    "rag-qgen": (None, 0.25),
    "answer-aug": (None, 0.25),
    "utility": (None, 0.25),
    "q2d": (None, 0.0),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_smaller_scale_is_contained_row_for_row_in_a_larger_one(kind, collection, tmp_path):
    negatives, human_fraction = CASES[kind]
    pool = tmp_path / "pool"
    write_shards([record(kind, n) for n in range(60)], pool, shard_size=16)
    sets = {}
    for scale in (8, 20, 40):
        cfg = SubsetConfig(scale=scale, negatives=negatives, bm25=BM25 if negatives else None, dense=None,
                           reranker_max_length=None, human_fraction=human_fraction,
                           train_split="train" if human_fraction else None,
                           seed=3 if human_fraction or negatives else None, compute=None)
        out = tmp_path / f"scale{scale}.jsonl"
        subset_scale(cfg, pool, collection, out, tmp_path / f"meta{scale}.json")
        sets[scale] = io.read_jsonl(out)
    for small, large in ((8, 20), (20, 40)):
        for origin in ("synthetic", "human"):
            a = [r for r in sets[small] if r["origin"] == origin]
            b = [r for r in sets[large] if r["origin"] == origin]
            assert b[: len(a)] == a, (kind, origin, small, large)  # negatives included
        assert sum(r["origin"] == "human" for r in sets[large]) == round(human_fraction * large)


def test_the_human_arm_takes_prefixes_of_one_seeded_order(collection, tmp_path):
    rows = {}
    for scale in (5, 12, 30):
        out = tmp_path / f"h{scale}.jsonl"
        sample_human(HumanConfig(scale=scale, train_split="train", seed=0), collection, out, tmp_path / f"m{scale}.json")
        rows[scale] = io.read_jsonl(out)
    assert rows[12][:5] == rows[5] and rows[30][:12] == rows[12]
    assert len({r["query_id"] for r in rows[30]}) == 30  # one row per labelled query
    assert [r["query_id"] for r in rows[12]] != sorted(r["query_id"] for r in rows[12])  # shuffled, seeded
    other = tmp_path / "other.jsonl"
    sample_human(HumanConfig(scale=12, train_split="train", seed=1), collection, other, tmp_path / "mo.json")
    assert io.read_jsonl(other) != rows[12]


def test_the_human_arm_names_the_split_when_it_is_too_small(collection, tmp_path):
    from synthir.core.errors import PoolTooSmallError

    with pytest.raises(PoolTooSmallError, match=r"qrels/train.tsv: 31 human rows asked, the split has 30"):
        sample_human(HumanConfig(scale=31, train_split="train", seed=0), collection, tmp_path / "h.jsonl",
                     tmp_path / "m.json")
