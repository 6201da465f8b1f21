"""Quality statistics by hand on small sets."""

import json

import numpy as np
import pytest

from synthir.stats import dispersion, distinct_n, leakage, passage_overlap, self_bleu


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
    from synthir.config import DatasetConfig, LeakageConfig
    from synthir.stats import set_leakage

    train = tmp_path / "train.jsonl"
    rows = ["does aspirin prevent heart attacks daily", "an unjudged query here", "statins and cholesterol"]
    train.write_text("".join(json.dumps({"query": q}) + "\n" for q in rows))
    ds = DatasetConfig(name="tiny", url=None, md5=None, mirror_file="tiny.zip", license="test",
                       eval_split="test", train_split=None, ignore_identical_ids=False)
    out = set_leakage(LeakageConfig(ngram=2, eval_dataset=ds), train, tiny_collection)
    # q3 has no judgments, so "unjudged query" is not held out: one of three queries leaks
    assert out == {"rows": 3, "eval_queries": 2, "leakage": round(1 / 3, 6)}
