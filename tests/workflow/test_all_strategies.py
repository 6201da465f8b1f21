"""Every strategy of the five papers, end to end on the tiny study (real SmolLM2, MiniLM,
Snakemake): tests/config/strategies.yaml over tests/config/params.yaml. Long (12 to 25 minutes
on 2 cores: twelve pools generated, twelve models trained), so outside .ci/run's budget:
`pytest -m long` after a change to generation, strategies or training, and before a release."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from studyrun import make_project, snakemake

from synthir.core import io
pytestmark = [pytest.mark.slow, pytest.mark.long]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("all-strategies")
    params = make_project(work, mirror, "strategies.yaml")
    r = snakemake(work, "-j2", "reports/scaling.csv", timeout=3000)
    if r.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in (work / "logs").rglob("*.log"))
        pytest.fail(f"all-strategies study failed:\n{r.stderr[-4000:]}\n{logs[-15000:]}")
    return work, params


def subset_meta(work: Path, strategy: str, name: str = "meta.json") -> dict:
    (path,) = (work / "data" / "synthetic").glob(f"*/*/strategy~{strategy}/draw~0/scale~16/{name}")
    return io.read_json(path)


def model_meta(work: Path, strategy: str) -> dict:
    (path,) = (work / "models").glob(f"*/*/strategy~{strategy}/draw~0/scale~16/*/*/meta.json")
    return io.read_json(path)


def test_every_strategy_is_a_row_of_the_report_with_its_statistics(study):
    work, params = study
    df = pd.read_csv(work / "reports" / "scaling.csv")
    trained = df[df["scale"] == 16]
    assert sorted(trained["strategy"]) == sorted(params["study"]["strategies"])
    for col in ["distinct_1", "distinct_2", "self_bleu", "embedding_dispersion", "passage_overlap",
                "corpus_coverage", "duplicate_rate", "leakage", "llm_calls", "loss"]:
        assert trained[col].notna().all(), col
    assert (trained["llm_calls"] > 0).all()


def test_objectives_follow_the_data_shape(study):
    work, _ = study
    assert model_meta(work, "utility")["loss"] == "DisjInfoNCELoss"
    assert model_meta(work, "utility+answer")["loss"] == "DisjInfoNCELoss"
    assert model_meta(work, "q2d")["loss"] == "SoftQELoss"
    assert model_meta(work, "qgen+llm-qp")["shape"] == "triplets"
    assert model_meta(work, "qgen")["shape"] == "pairs"


def test_negative_sources_share_the_queries_and_record_their_origin(study):
    work, _ = study
    queries = {}
    for strategy in ["qgen", "qgen+dense", "qgen+ce", "qgen+llm-q", "qgen+llm-qp"]:
        (path,) = (work / "data" / "synthetic").glob(f"*/*/strategy~{strategy}/draw~0/scale~16/train.jsonl")
        queries[strategy] = [r["query"] for r in io.read_jsonl(path)]
    assert len({tuple(q) for q in queries.values()}) == 1  # same queries, different negatives
    dense = subset_meta(work, "qgen+dense")["negatives"]
    assert sum(dense["origin"].values()) == 16 and dense["origin"].get("dense", 0) > 0
    ce = subset_meta(work, "qgen+ce")["negatives"]
    assert sum(ce["origin"].values()) == 16 and ce["origin"].get("ce", 0) > 0
    for strategy in ["qgen+llm-q", "qgen+llm-qp"]:
        neg = subset_meta(work, strategy)["negatives"]
        assert neg["origin"].get("llm", 0) > 0 and sum(neg["origin"].values()) == 16
        # every fallback of the subset is a rejection counted, by reason, in its pool's meta
        (pool,) = (work / "data" / "synthetic").glob(f"*/*/strategy~{strategy}/draw~0/pool/meta.json")
        follow = io.read_json(pool)["follow_up_calls"]
        assert sum(follow["rejected"].values()) >= neg["origin"].get("random_fallback", 0)
        made = io.read_json(pool.with_name("record.json"))["volatile"]
        assert made["follow_up_calls.cached"] + made["follow_up_calls.llm_calls"] == follow["requests"]
        # the follow-up calls are part of the cost: one negative per accepted query
        assert subset_meta(work, strategy)["cost"]["calls"] > subset_meta(work, "qgen")["cost"]["calls"]


def test_human_label_mix_and_budgets_are_honoured(study):
    work, _ = study
    mixed = subset_meta(work, "utility+human20")
    assert (mixed["human_rows"], mixed["synthetic_rows"]) == (3, 13)  # round(0.2 x 16)
    (pool,) = (work / "data" / "synthetic").glob("*/*/strategy~answer-aug/draw~0/pool/meta.json")
    assert io.read_json(pool)["calls"]["requests"] <= 20  # the teacher budget


def test_filters_count_their_rejections(study):
    work, _ = study
    (pool,) = (work / "data" / "synthetic").glob("*/*/strategy~qgen+filtered/draw~0/pool/meta.json")
    rejected = io.read_json(pool)["calls"]["rejected"]
    assert rejected.get("round_trip", 0) > 0, rejected


def test_pseudo_answer_comes_first_and_the_selection_follows_it(study):
    work, _ = study
    (pool,) = (work / "data" / "synthetic").glob("*/*/strategy~utility+answer/draw~0/pool/meta.json")
    meta = io.read_json(pool)
    assert meta["follow_up_calls"]["kinds"] == ["selection"]
    assert meta["strategy"]["pseudo_answer_template"] == "pseudo-answer"
    # every draft that parsed got its selection call; drafts and selections are both counted
    assert 0 < meta["follow_up_calls"]["requests"] <= meta["calls"]["requests"]
    assert subset_meta(work, "utility+answer")["cost"]["calls"] > 16
