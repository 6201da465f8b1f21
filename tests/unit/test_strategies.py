"""Every strategy's prompt building, parsing and filtering on a hand-made collection."""

import dataclasses

import pytest

from synthir.core import io
from synthir.retrieval.bm25 import BM25Index
from synthir.core.config import BM25Settings, Filters, StrategyConfig
from synthir.retrieval.filters import round_trip
from synthir.retrieval.followups import Judge
from synthir.generation.strategy import Rejected, Request
from synthir.generation.strategy import strategy_class
from synthir.retrieval.strategies.base import StrategyInputs, exemplar_pairs
from synthir.generation.strategy import check_garbage, first_line, longest_common_run
from synthir.retrieval.strategies.utility import parse_selection

BM25 = BM25Settings(k1=0.9, b=0.4, stemmer="english", stopwords="en")


def make(kind, collection, **overrides):
    """A strategy of ``kind`` on the tiny collection (its test qrels as the labelled split)."""
    corpus = io.read_corpus(collection / "corpus.jsonl")
    inputs = StrategyInputs(
        corpus=corpus,
        queries=io.read_queries(collection / "queries.jsonl"),
        train_qrels=io.read_qrels(collection / "qrels" / "test.tsv"),
        seed=0,
        bm25=BM25Index(BM25, corpus),
    )
    cfg = StrategyConfig(name=kind, kind=kind, prompt=kind, seed=0, n_examples=0, passage_words=5,
                         seed_queries=None, budget=None, retrieve_k=0, pseudo_answer=None,
                         max_new_tokens=None, shard_size=10, llm_negative=None,
                         filters=Filters(min_words=2, max_words=8, max_copy_overlap=0.8, zero_shot_copy_overlap=0.6,
                                         exemplar_copy_overlap=None, round_trip_top_k=None, judge=None))
    return strategy_class(kind)(dataclasses.replace(cfg, **overrides), inputs)


@pytest.fixture
def qgen(tiny_collection):
    return make("qgen", tiny_collection, n_examples=1)


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


def test_an_exemplar_that_restates_its_passage_is_replaced_by_the_next_pair_that_does_not(tiny_collection):
    # run shared with the passage / query words: (q1, d1) 1/5 ("aspirin"), (q1, d2) 0, (q2, d3) 1/3 ("sleep")
    inputs = make("qgen", tiny_collection).inputs
    assert exemplar_pairs([("q2", "d3")], inputs, 0.3) == [("q1", "d1")]  # the next pair, wrapping round
    assert exemplar_pairs([("q2", "d3"), ("q1", "d1")], inputs, 0.3) == [("q1", "d1"), ("q1", "d2")]  # no repeat
    assert exemplar_pairs([("q1", "d2")], inputs, 0.3) == [("q1", "d2")]  # a passing draw is kept
    assert exemplar_pairs([("q2", "d3")], inputs, 0.34) == [("q2", "d3")]
    assert exemplar_pairs([("q2", "d3")], inputs, None) == [("q2", "d3")]
    with pytest.raises(ValueError, match="exemplar_copy_overlap 0.0"):
        exemplar_pairs([("q1", "d1")], inputs, 0.0)
    # the strategy shows the replacement, and the replaced pair's passage gets a query instead
    strict = dataclasses.replace(make("qgen", tiny_collection).cfg.filters, exemplar_copy_overlap=0.2)
    qgen = make("qgen", tiny_collection, n_examples=1, filters=strict)
    assert qgen.exemplars == [("q1", "d2")]
    assert sorted(r.source_id for r in qgen.requests()) == ["d1", "d3"]


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


def test_a_zero_shot_prompt_copies_its_passage_under_the_stricter_threshold(tiny_collection):
    """3 of 5 words in one run with the passage: a copy for a prompt without exemplars (0.6),
    not for a few-shot one (0.8), and counted as the same rejection."""
    copying = {"d1": "when aspirin lowers the chance", "d2": "how statins reduce cholesterol levels"}
    nulled = Filters(min_words=2, max_words=8, max_copy_overlap=0.8, zero_shot_copy_overlap=None, exemplar_copy_overlap=None,
                     round_trip_top_k=None, judge=None)
    for overrides, copies in (({"n_examples": 0}, True), ({"n_examples": 1}, False), ({"filters": nulled}, False)):
        qgen = make("qgen", tiny_collection, **overrides)
        req = next(r for r in qgen.requests() if r.source_id in copying)  # the exemplar's passage is not asked
        raw = copying[req.source_id]
        if copies:
            with pytest.raises(Rejected) as e:
                qgen.parse(req, raw)
            assert e.value.reason == "copies_passage"
        else:  # few-shot, or zero-shot with the stricter threshold off (null)
            assert qgen.parse(req, raw)["query"] == raw


def test_longest_common_run():
    assert longest_common_run("a b c d".split(), "x b c d y".split()) == 3
    assert longest_common_run([], ["a"]) == 0


# ---------------------------------------------------------------------------------- rephrase


@pytest.fixture
def rephrase(tiny_collection):
    return make("rephrase", tiny_collection)


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


# -------------------------------------------------------------------------------- answer-aug


LONG = "Aspirin irreversibly inhibits platelet cyclooxygenase, which lowers the rate of heart attacks in trials."


def test_answer_aug_goes_round_robin_over_styles_and_seeds(tiny_collection):
    aug = make("answer-aug", tiny_collection, seed_queries=2)
    reqs = list(aug.requests())
    assert len(aug.seeds) == 2 and len(reqs) == 2 * len(aug.styles)
    assert [r.payload["style"] for r in reqs[:2]] == [0, 0]  # every seed once before any second style
    assert {r.payload["seed_query_id"] for r in reqs[:2]} == set(aug.seeds)
    assert aug.styles[0] in reqs[0].prompt[-1].content
    rec = aug.parse(reqs[0], "Passage: " + LONG)
    assert rec["positive"] == LONG and rec["query"] == aug.inputs.queries[rec["seed_query_id"]].text
    assert rec["positive_id"] == f"gen:{rec['seed_query_id']}:0"
    for raw, reason in [(LONG, "duplicate"), ("Aspirin helps.", "too_short"),
                        ("I'm sorry, but as an AI I cannot write medical passages for you today.", "refusal")]:
        with pytest.raises(Rejected, match=reason):
            aug.parse(reqs[1], raw)


def test_answer_aug_seed_set_size_limits_the_seeds(tiny_collection):
    assert len(make("answer-aug", tiny_collection, seed_queries=1).seeds) == 1
    assert len(make("answer-aug", tiny_collection).seeds) == 2  # q1, q2: the labelled queries


# ----------------------------------------------------------------------------------- utility


def test_parse_selection_reads_numbers_none_and_garbage():
    assert parse_selection("[2], [1] and 9", 3) == [2, 1]  # out of range ignored, first-mention order
    assert parse_selection("Passages 3, 3 and 1 are useful.", 3) == [3, 1]
    with pytest.raises(Rejected, match="none_useful"):
        parse_selection("None of them.", 3)
    with pytest.raises(Rejected, match="unparseable"):
        parse_selection("They are all quite interesting passages to read", 3)
    with pytest.raises(Rejected, match="refusal"):
        parse_selection("I'm sorry, I cannot judge this", 3)


def add_unlabelled(collection):
    with open(collection / "corpus.jsonl", "a") as f:
        f.write('{"_id": "d4", "title": "", "text": "Low dose aspirin and heart attack risk in older adults."}\n')
        f.write('{"_id": "d5", "title": "", "text": "Memory consolidation happens during deep sleep."}\n')


def test_utility_lists_bm25_candidates_and_keeps_several_positives(tiny_collection):
    add_unlabelled(tiny_collection)
    util = make("utility", tiny_collection, retrieve_k=2, passage_words=20)
    reqs = {r.payload["seed_query_id"]: r for r in util.requests()}
    q1 = reqs["q1"]
    assert sorted(q1.payload["candidate_ids"]) == ["d1", "d4"]  # BM25's two aspirin passages
    assert "[1] " in q1.prompt[-1].content and "[2] " in q1.prompt[-1].content and "does aspirin prevent heart attacks" in q1.prompt[-1].content
    rec = util.parse(q1, "2, 1")
    assert rec["positive_ids"] == q1.payload["candidate_ids"][::-1] and rec["positive_id"] == rec["positive_ids"][0]
    assert rec["human_positive_ids"] == ["d1"]  # the labelled one among the candidates


def test_utility_with_a_pseudo_answer_drafts_first_then_selects_with_the_draft_in_view(tiny_collection):
    add_unlabelled(tiny_collection)
    util = make("utility", tiny_collection, retrieve_k=2, passage_words=20, prompt="utility-answer",
                pseudo_answer="pseudo-answer")
    q1 = next(r for r in util.requests() if r.payload["seed_query_id"] == "q1")
    assert "does aspirin prevent heart attacks" in q1.prompt[-1].content and "[1] " not in q1.prompt[-1].content
    with pytest.raises(Rejected, match="answer_too_short"):
        util.parse(q1, "Yes.")
    rec = util.parse(q1, "  Yes, low-dose aspirin\n lowers the risk. ")
    assert rec["pseudo_answer"] == "Yes, low-dose aspirin lowers the risk." and "positive_ids" not in rec
    [selection] = util.follow_ups
    second = selection.request(q1, rec)
    assert "Draft answer (may be wrong): Yes, low-dose aspirin lowers the risk." in second.prompt[-1].content
    assert "[2] " in second.prompt[-1].content and second.seed == q1.seed
    selection.apply(rec, "2")
    assert rec["positive_ids"] == [q1.payload["candidate_ids"][1]] and rec["human_positive_ids"] == ["d1"]
    with pytest.raises(Rejected, match="none_useful"):
        selection.apply(dict(rec), "none")
    assert make("utility", tiny_collection, retrieve_k=2).follow_ups == []  # one call without it
    with pytest.raises(ValueError, match="no {answer} slot"):
        make("utility", tiny_collection, retrieve_k=2, pseudo_answer="pseudo-answer")  # prompt `utility`


# ---------------------------------------------------------------------------------- rag-qgen


def test_rag_qgen_prompts_retrieved_neighbours_with_the_seed_as_example(tiny_collection):
    add_unlabelled(tiny_collection)  # passages for the seeds to retrieve
    rag = make("rag-qgen", tiny_collection, retrieve_k=1, prompt="qgen", passage_words=20)
    reqs = list(rag.requests())
    targets = {r.payload["seed_query_id"]: r.payload["positive_id"] for r in reqs}
    assert targets["q1"] == "d4" and targets["q2"] == "d5"  # labelled passages are never targets
    assert len({r.payload["positive_id"] for r in reqs}) == len(reqs)  # a passage is prompted for once
    r = next(x for x in reqs if x.payload["seed_query_id"] == "q1")
    assert [m.role for m in r.prompt] == ["system", "user", "assistant", "user"]
    assert r.prompt[2].content == rag.inputs.queries["q1"].text  # the seed pair is the example
    assert rag.parse(r, "aspirin dose for older people")["positive_id"] == "d4"
    with pytest.raises(Rejected, match="copies_exemplar"):
        rag.parse(r, "does aspirin prevent heart attacks")


# --------------------------------------------------------------------------------------- q2d


def test_q2d_expands_each_seed_query_once(tiny_collection):
    q2d = make("q2d", tiny_collection)
    reqs = list(q2d.requests())
    assert sorted(r.payload["seed_query_id"] for r in reqs) == ["q1", "q2"]
    q1 = next(r for r in reqs if r.payload["seed_query_id"] == "q1")
    assert q1.payload["positive_id"] == "d1"  # its first labelled passage
    rec = q2d.parse(q1, LONG)
    assert rec == {"query": "does aspirin prevent heart attacks", "expansion": LONG, **q1.payload}


# ---------------------------------------------------------------------- round trip and judge


def test_round_trip_rejects_queries_that_do_not_find_their_passage(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    recs = [{"n": 0, "query": "aspirin heart attack", "positive_id": "d1", "status": "ok"},
            {"n": 1, "query": "aspirin heart attack", "positive_id": "d3", "status": "ok"}]
    round_trip(recs, BM25Index(BM25, corpus), top_k=1)
    assert [r["status"] for r in recs] == ["ok", "round_trip"]


def test_judge_asks_about_the_pair_and_rejects_no_and_noise(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    judge = Judge("judge", corpus)
    rec = {"query": "aspirin and heart attacks", "positive_id": "d1"}
    req = judge.request(Request("d1", (), 3, {}), rec)
    assert "aspirin and heart attacks" in req.prompt[-1].content and "Aspirin lowers" in req.prompt[-1].content
    judge.apply(rec, "Yes, it does.")
    for raw, reason in [("No.", "judge_no"), ("Maybe", "judge_unparseable")]:
        with pytest.raises(Rejected, match=reason):
            judge.apply(rec, raw)
