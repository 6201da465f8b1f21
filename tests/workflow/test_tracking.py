"""MLflow tracking of the tiny study: one run per cell, tagged, idempotent under -j8, against
the embedded SQLite store and a real `mlflow server` on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
from studyrun import snakemake

from synthir.workflow import study
@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    with servers.mlflow_server(tmp_path) as url:
        yield url


def runs_per_cell(uri: str) -> dict[str, list]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("synthir")
    out: dict[str, list] = {}
    for run in client.search_runs([exp.experiment_id], max_results=1000):
        out.setdefault(run.data.tags["synthir.cell"], []).append(run)
    return out


def check_tracking(work: Path, params: dict, uri: str) -> None:
    r = snakemake(work, "-j8", "reports/mlflow_runs.json", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0, r.stderr[-3000:]
    runs = runs_per_cell(uri)
    cells = study.study_cells(params)
    assert len(runs) == len(cells) and all(len(v) == 1 for v in runs.values())
    run = next(v[0] for k, v in runs.items() if "scale~16" in k and "base~minilm-l6/" in k and "strategy~qgen/draw~0/" in k)
    tags, data = run.data.tags, run.data
    assert tags["synthir.augmenter"] == "smollm2-135m" and tags["synthir.scale"] == "16"
    assert tags["git_commit"] and tags["git_dirty"] in ("True", "False", "None")
    assert any(k.startswith("input.") for k in tags)
    assert {"adi/ndcg_at_10", "adi/recall_at_100"} <= set(data.metrics)
    assert not any("@" in k for k in data.metrics)
    assert data.params["eval.adi.split.split"] == "test"
    # what a reader of the runs table sees: a short name, the recipe, the training set, the
    # jobs' own times, the model's DVC path; the experiment opens on its runs
    assert run.info.run_name == "smollm2-135m · qgen · 16 · minilm-l6 · draw 0 · seed 0"
    assert {"train.learning_rate", "train.epochs", "train.tower", "train.loss"} <= set(data.params)
    (dataset,) = [d.dataset for d in run.inputs.dataset_inputs]
    assert dataset.name == "scifact/smollm2-135m/qgen x16 (draw 0)" and dataset.source.endswith("scale~16/train.jsonl")
    assert run.info.end_time - run.info.start_time > 1000 and data.metrics["cost/job_seconds"] > 1
    assert tags["synthir.model"].startswith("models/") and (work / tags["synthir.model"]).is_dir()
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(tracking_uri=uri).get_experiment_by_name("synthir")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    # forced re-run: nothing is duplicated or lost
    r = snakemake(work, "-j8", "-R", "track_runs", "reports/mlflow_runs.json", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0, r.stderr[-3000:]
    again = runs_per_cell(uri)
    assert {k: [x.info.run_id for x in v] for k, v in again.items()} == {k: [x.info.run_id for x in v] for k, v in runs.items()}
    receipt = json.loads((work / "reports/mlflow_runs.json").read_text())
    assert {v["action"] for v in receipt["runs"].values()} == {"unchanged"}
    # MLflow 3.17's UI follows its per-browser switch, not the tag: the receipt names the runs table
    assert receipt["ui_path"] == f"#/experiments/{exp.experiment_id}/runs?workflowType=machine_learning"


def test_tracking_to_sqlite_is_one_run_per_cell_and_idempotent(tiny_study, tmp_path):
    work, params = tiny_study
    check_tracking(work, params, f"sqlite:///{tmp_path}/mlflow.db")


def test_tracking_to_a_real_mlflow_server(tiny_study, mlflow_server):
    work, params = tiny_study
    check_tracking(work, params, mlflow_server)
