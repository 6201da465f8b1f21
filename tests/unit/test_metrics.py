"""Metrics checked against values worked out by hand.

qrels: q1 -> d1 (grade 2), d2 (grade 1); q2 -> d3 (grade 1); q3 has no judgment.
run:   q1 -> d2 0.9, d3 0.8, d1 0.7;   q2 -> d1 0.9, d3 0.5

nDCG@10 (gain = grade, discount log2(rank + 1)):
  q1: DCG = 1/log2(2) + 0 + 2/log2(4) = 2;  IDCG = 2/1 + 1/log2(3) = 2.6309298  -> 0.7601875
  q2: DCG = 1/log2(3) = 0.6309298;          IDCG = 1                           -> 0.6309298
  mean 0.6955587
P@10: q1 2/10, q2 1/10 -> 0.15.  R@100: 1 and 1 -> 1.  MRR@10: 1/1 and 1/2 -> 0.75.
"""

import pytest

from synthir.retrieval.evaluate import cut, drop_identical_ids, judged_queries, score_run

QRELS = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}}
RUN = {"q1": {"d2": 0.9, "d3": 0.8, "d1": 0.7}, "q2": {"d1": 0.9, "d3": 0.5}}


def test_score_run_matches_hand_computed_values():
    means, per_query = score_run(QRELS, RUN)
    assert per_query["ndcg_at_10"]["q1"] == pytest.approx(0.7601875, abs=1e-6)
    assert per_query["ndcg_at_10"]["q2"] == pytest.approx(0.6309298, abs=1e-6)
    assert means["ndcg_at_10"] == pytest.approx(0.6955587, abs=1e-6)
    assert means["p_at_10"] == pytest.approx(0.15)
    assert means["recall_at_100"] == pytest.approx(1.0)
    assert means["mrr_at_10"] == pytest.approx(0.75)


def test_judged_query_missing_from_run_scores_zero():
    means, per_query = score_run(QRELS, {"q1": RUN["q1"]})
    assert per_query["ndcg_at_10"]["q2"] == 0.0
    assert means["ndcg_at_10"] == pytest.approx(0.7601875 / 2, abs=1e-6)


def test_unjudged_and_zero_grade_queries_are_not_evaluated():
    qrels = {**QRELS, "q4": {"d1": 0}}
    means, per_query = score_run(qrels, {**RUN, "q3": {"d1": 1.0}})
    assert set(per_query["ndcg_at_10"]) == {"q1", "q2"}
    assert set(judged_queries(qrels)) == {"q1", "q2"}
    assert means["ndcg_at_10"] == pytest.approx(0.6955587, abs=1e-6)


def test_mrr_is_cut_at_ten():
    run = {"q2": {f"x{i}": 1.0 - i / 100 for i in range(10)} | {"d3": 0.0}}
    _, per_query = score_run({"q2": {"d3": 1}}, run)
    assert per_query["mrr_at_10"]["q2"] == 0.0  # relevant document at rank 11


def test_drop_identical_ids_removes_the_query_itself():
    assert drop_identical_ids({"a": {"a": 1.0, "b": 0.5}}) == {"a": {"b": 0.5}}


def test_cut_keeps_top_by_score_then_id():
    assert cut({"q": {"b": 1.0, "a": 1.0, "c": 2.0}}, 2) == {"q": {"c": 2.0, "a": 1.0}}
