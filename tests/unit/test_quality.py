"""Quality statistics by hand on small sets."""

import json

import numpy as np
import pytest

from synthir.core import io
from synthir.retrieval.quality import dispersion, distinct_n, leakage, passage_overlap, self_bleu


def test_distinct_n_counts_unique_ngrams_over_all():
    texts = ["a b c", "a b d"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)


def test_self_bleu_is_high_for_copies_and_low_for_disjoint_texts():
    same = ["the effect of aspirin on heart attack risk"] * 3
    disjoint = ["aspirin heart attack risk factors", "sleep memory consolidation studies", "bone density vitamin supplements"]
    assert self_bleu(same, 10) == pytest.approx(100.0)
    assert self_bleu(disjoint, 10) < 5.0


def test_dispersion_is_mean_pairwise_cosine_distance():
    e = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # pairs: (0,1) 1, (0,2) 0, (1,2) 1 -> mean distance 2/3
    assert dispersion(e) == pytest.approx(2 / 3)


def test_passage_overlap_and_leakage():
    assert passage_overlap(["aspirin heart pills"], ["Aspirin protects the heart."]) == pytest.approx(2 / 3)
    evals = ["does aspirin prevent heart attacks", "sleep"]
    assert leakage(["can aspirin prevent heart attacks in men", "aspirin dosing"], evals, n=4) == 0.5
    assert leakage(["Sleep?"], evals, n=4) == 1.0  # a short eval query counts whole


def test_set_leakage_counts_only_judged_test_queries(tiny_collection, tmp_path):
    from synthir.core.config import LeakageConfig
    from synthir.retrieval.quality import set_leakage

    train = tmp_path / "train.jsonl"
    rows = [("does aspirin prevent heart attacks daily", "d3"), ("an unjudged query here", "d3"),
            ("statins and cholesterol", "d2")]
    train.write_text("".join(json.dumps({"query": q, "positive_id": d}) + "\n" for q, d in rows))
    other = set_leakage(LeakageConfig(ngram=2, split="test", same_corpus=False), train, tiny_collection, tmp_path / "l")
    # q3 has no judgments, so "unjudged query" is not held out: one of three queries leaks
    assert other.facts == {"rows": 3, "eval_queries": 2, "leakage": round(1 / 3, 6)}
    # on its own corpus the set's exposure is measured too: d2 is relevant to q1 (1 row of 3),
    # d3 to q2, so no judged query is left unexposed
    same = set_leakage(LeakageConfig(ngram=2, split="test", same_corpus=True), train, tiny_collection, tmp_path / "l")
    assert same.facts["exposure"] == round(3 / 3, 6) and same.facts["unexposed_queries"] == []


def test_exposure_lists_the_queries_whose_relevant_documents_were_never_positives():
    from synthir.retrieval.quality import exposure

    qrels = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}, "q3": {"d4": 0, "d5": 1}}
    rows = [{"positive_id": "d2"}, {"positive_id": "d9"}, {"positive_id": "d4", "positive_ids": ["d4", "d5"]}]
    share, unexposed = exposure(rows, qrels, ["q1", "q2", "q3"])
    # d2 (q1) is relevant, d9 is not, the third row's d4 is a grade-0 judgment but its second
    # positive d5 is relevant to q3: 2 of 3 rows; q2's d3 never appears
    assert share == pytest.approx(2 / 3) and unexposed == ["q2"]


def test_a_multi_positive_training_row_carries_its_positive_ids():
    from synthir.retrieval.subsets import training_row

    corpus = {d: io.Document(d, "", f"text of {d}") for d in ("d1", "d2")}
    row = training_row({"n": 0, "query": "q", "positive_id": "d1", "positive_ids": ["d1", "d2"]}, corpus)
    assert row["positive_ids"] == ["d1", "d2"] and row["positives"] == ["text of d1", "text of d2"]
