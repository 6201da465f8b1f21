"""qgen's prompt building, parsing and filtering on a hand-made collection."""

import pytest

from synthir import io
from synthir.config import Filters, StrategyConfig
from synthir.generate import Rejected
from synthir.strategies import STRATEGIES, StrategyInputs
from synthir.strategies.base import check_garbage, first_line, longest_common_run


@pytest.fixture
def qgen(tiny_collection):
    inputs = StrategyInputs(
        corpus=io.read_corpus(tiny_collection / "corpus.jsonl"),
        queries=io.read_queries(tiny_collection / "queries.jsonl"),
        train_qrels=io.read_qrels(tiny_collection / "qrels" / "test.tsv"),
        seed=0,
    )
    cfg = StrategyConfig(name="qgen", kind="qgen", prompt="qgen", seed=0, n_examples=1, passage_words=5,
                         shard_size=10, negatives=None,
                         filters=Filters(min_words=2, max_words=8, max_copy_overlap=0.8))
    return STRATEGIES["qgen"](cfg, inputs)


def test_requests_cover_every_non_exemplar_passage_once_in_a_seeded_order(qgen, tiny_collection):
    reqs = list(qgen.requests())
    exemplar_docs = {d for _, d in qgen.exemplars}
    assert len(qgen.exemplars) == 1
    assert sorted(r.source_id for r in reqs) == sorted({"d1", "d2", "d3"} - exemplar_docs)
    assert len({r.seed for r in reqs}) == len(reqs)
    roles = [m.role for m in reqs[0].prompt]
    assert roles == ["system", "user", "assistant", "user"]
    assert reqs[0].prompt[-1].content.endswith("...")  # passage cut to 5 words
    assert [r.source_id for r in reqs] == [r.source_id for r in type(qgen)(qgen.cfg, qgen.inputs).requests()]


def test_first_line_strips_labels_and_quotes():
    assert first_line('\n  Query: "does sleep help memory"\nExplanation: ...') == "does sleep help memory"
    assert first_line("   \n") == ""


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("I'm sorry, I cannot help with that", "refusal"),
    ("memory memory memory memory memory memory", "repetition"),
    ("12345 67890 !!! ???", "not_text"),
    ("睡眠は記憶に影響しますか", "wrong_script"),
])
def test_garbage_is_rejected_with_its_reason(text, reason):
    with pytest.raises(Rejected) as e:
        check_garbage(text)
    assert e.value.reason == reason


def test_parse_accepts_then_rejects_duplicates_copies_and_lengths(qgen):
    req = next(r for r in qgen.requests() if r.source_id == "d3")
    assert qgen.parse(req, "does lack of sleep hurt memory") == {"query": "does lack of sleep hurt memory", "positive_id": "d3"}
    for raw, reason in [
        ("Does lack of sleep hurt memory?", "duplicate"),
        ("memory", "too_short"),
        ("one two three four five six seven eight nine", "too_long"),
        ("sleep deprivation impairs memory", "copies_passage"),
    ]:
        with pytest.raises(Rejected) as e:
            qgen.parse(req, raw)
        assert e.value.reason == reason


def test_longest_common_run():
    assert longest_common_run("a b c d".split(), "x b c d y".split()) == 3
    assert longest_common_run([], ["a"]) == 0


# ---------------------------------------------------------------------------------- rephrase


@pytest.fixture
def rephrase(tiny_collection):
    inputs = StrategyInputs(
        corpus=io.read_corpus(tiny_collection / "corpus.jsonl"),
        queries=io.read_queries(tiny_collection / "queries.jsonl"),
        train_qrels=io.read_qrels(tiny_collection / "qrels" / "test.tsv"),
        seed=0,
    )
    cfg = StrategyConfig(name="rephrase", kind="rephrase", prompt="rephrase", seed=0, n_examples=0,
                         passage_words=5, shard_size=10, negatives=None,
                         filters=Filters(min_words=2, max_words=8, max_copy_overlap=0.8))
    return STRATEGIES["rephrase"](cfg, inputs)


def test_rephrase_asks_once_per_labelled_pair_and_keeps_the_seed_positive(rephrase):
    reqs = list(rephrase.requests())
    assert sorted((r.payload["seed_query_id"], r.payload["positive_id"]) for r in reqs) == sorted(rephrase.seeds)
    assert [m.role for m in reqs[0].prompt] == ["system", "user"]
    seed_text = rephrase.inputs.queries[reqs[0].source_id].text
    assert reqs[0].prompt[-1].content == f"Query: {seed_text}"
    rec = rephrase.parse(reqs[0], "Query: a different wording here\n")
    assert rec == {"query": "a different wording here", **reqs[0].payload}


def test_rephrase_rejects_a_copy_of_the_seed_and_duplicates(rephrase):
    req = next(rephrase.requests())
    seed_text = rephrase.inputs.queries[req.source_id].text
    with pytest.raises(Rejected, match="copies_seed"):
        rephrase.parse(req, seed_text.upper() + "?")
    rephrase.parse(req, "another way to ask it")
    with pytest.raises(Rejected, match="duplicate"):
        rephrase.parse(req, "Another way to ask it!")
