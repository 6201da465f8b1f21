"""Training-set shapes are validated before training, and every shape trains for real (the
packaged MiniLM, a few steps) with its loss, the query-tower router and the label column."""

import json

import pytest

from synthir.core import io
from synthir.core.config import Compute, TrainConfig
from synthir.retrieval.train import load_training_set, train_retriever


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


P = ["Aspirin lowers the risk of heart attack.", "Statins reduce cholesterol in adults.",
     "Sleep deprivation impairs memory.", "Exercise improves mood.", "Vitamin D supports bones.",
     "Smoking damages the lungs.", "Coffee raises alertness.", "Salt raises blood pressure."]
Q = ["aspirin heart", "statins cholesterol", "sleep memory", "exercise mood", "vitamin d bones",
     "smoking lungs", "coffee alertness", "salt blood pressure"]


@pytest.mark.parametrize("rows, message", [
    ([{"query": "q", "positive": ["a list"]}, {"query": "q", "positive": "p"}], "'positive' must be a non-empty string"),
    ([{"query": "q", "positives": "a string"}, {"query": "q", "positives": ["p"]}], "'positives' must be a non-empty list"),
    ([{"query": "q", "positive": "p"}, {"query": "q", "positive": "p", "negative": "n"}], "a triplets row in a pairs"),
    ([{"query": "q", "positive": "p", "negative": "n", "expansion": "e"}], "cannot be combined"),
    ([{"query": "q", "positive": "p"}], "at least 2 rows"),
])
def test_bad_shapes_are_refused_with_file_and_line(tmp_path, rows, message):
    with pytest.raises(io.DataFormatError, match=message) as e:
        load_training_set(write(tmp_path / "train.jsonl", rows))
    assert "train.jsonl" in str(e.value)


def cfg(**kw):
    base = dict(base="minilm-l6", seed=0, tower="query", epochs=1, max_steps=None, distill_weight=1.0,
                batch_size=4, learning_rate=5e-5, warmup_ratio=0.0, max_seq_length=32, bf16=False,
                query_prefix="", passage_prefix="", compute=Compute(threads=1, device="cpu", gpu=None, numerics="portable", platform="x86-64-v3"))
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("shape, rows, loss", [
    ("multi_positive", [{"query": q, "positives": [p] + ([P[(i + 1) % 8]] if i % 2 else [])}
                        for i, (q, p) in enumerate(zip(Q, P))], "DisjInfoNCELoss"),
    ("expansion", [{"query": q, "positive": p, "expansion": p + " More detail."} for q, p in zip(Q, P)],
     "SoftQELoss"),
    ("triplets", [{"query": q, "positive": p, "negative": P[(i + 3) % 8]} for i, (q, p) in enumerate(zip(Q, P))],
     "MultipleNegativesRankingLoss"),
])
def test_every_shape_trains_with_its_loss(tmp_path, packaged_minilm, shape, rows, loss):
    meta = train_retriever(cfg(), packaged_minilm, write(tmp_path / "train.jsonl", rows), tmp_path / "model").facts
    assert (meta["shape"], meta["loss"]) == (shape, loss)
    assert meta["steps"] == 2 and meta["document_tower_is_base"]
    assert meta["train_loss"] > 0
    assert meta["teacher"] == ("base fine-tuned on query + expansion" if shape == "expansion" else None)


def test_max_steps_fixes_the_optimizer_steps(tmp_path, packaged_minilm):
    rows = [{"query": q, "positive": p} for q, p in zip(Q, P)]
    meta = train_retriever(cfg(max_steps=5), packaged_minilm, write(tmp_path / "t.jsonl", rows), tmp_path / "m").facts
    assert meta["steps"] == 5 and meta["schedule"] == {"max_steps": 5}
