"""MLflow tracking: one run per cell, synced from the sidecars, never the source of truth.

``sync`` is idempotent: a cell's run is found by its ``synthir.cell`` tag; when the cell's
content digest (the digests of its evaluation outputs, and the version of what a run shows) is
unchanged the run is left alone, when it changed (a rebuilt cell) the old run is deleted and a
new one made, so MLflow shows exactly one live run per cell whatever the number of re-runs. One
job syncs every cell, in one process, so parallel Snakemake jobs never race on the tracking store.

What a reader of the runs table sees: the experiment opens on its runs (not the GenAI traces
overview), each run named by its cell (``smollm2-135m · qgen · 800 · splade-tiny · seed 0``),
lasting from its first job's start to its last job's end (the jobs' records), with the training
recipe as ``train.*`` params, the training set as an MLflow dataset input (name, digest, path),
and tags naming the model's and results' DVC paths.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from synthir.core import io, paths, provenance
log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
CELL_KEYS = ("dataset", "augmenter", "strategy", "draw", "scale", "base", "seed")
#: What a run shows; raising it makes the next sync recreate every run in the new form.
RUN_FORMAT = 3
#: The recipe a reader compares first, from the trained model's meta.json (config, then facts).
RECIPE = ("learning_rate", "epochs", "batch_size", "max_steps", "warmup_ratio", "tower", "max_seq_length")


def run_name(w: dict[str, str]) -> str:
    """A short, readable name: augmenter · strategy · scale · base · draw · seed (``untouched
    <base>`` for a base at scale 0)."""
    if int(w["scale"]) == 0:
        return f"untouched {w['base']}"
    source = [w["strategy"]] if w["augmenter"] == paths.NONE else [w["augmenter"], w["strategy"]]
    return " · ".join([*source, w["scale"], w["base"], f"draw {w['draw']}", f"seed {w['seed']}"])


def _span(record: dict[str, Any]) -> tuple[float, float] | None:
    """(start, end) of a job in unix seconds, from its record.json."""
    end = float(record.get("created_unix", 0.0))
    return (end - float(record.get("volatile", {}).get("job_seconds", 0.0)), end) if end else None


def cell_id(w: dict[str, str]) -> str:
    return "/".join(f"{k}~{w[k]}" for k in CELL_KEYS)


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(value)[:6000]  # MLflow's limit on a param value


def collect(metrics_paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Group evaluation results by cell: metrics per eval dataset, params, tags, digests."""
    cells: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"metrics": {}, "params": {}, "inputs": {}, "spans": [], "tags": {}, "dataset": None})
    for mp in sorted(metrics_paths):
        w = paths.parse(mp.as_posix())
        meta = io.read_json(mp.parent / "meta.json")
        cell = cells[cell_id(w)]
        cell["wildcards"] = {k: w[k] for k in CELL_KEYS}
        cell["name"] = run_name(w)
        for name, value in io.read_json(mp)["metrics"].items():
            cell["metrics"][f"{w['eval']}/{name}"] = float(value)  # no '@' in MLflow keys
        _flatten(f"eval.{w['eval']}", meta["config"], cell["params"])
        for role, rec in meta["inputs"].items():
            cell["inputs"][f"{w['eval']}.{role}"] = rec["sha256"]
        record = provenance.record_path(mp.parent / "meta.json")
        cell["code"] = io.read_json(record) if record.is_file() else {}
        cell["spans"].append(_span(cell["code"]))
        cell["tags"][f"synthir.results.{w['eval']}"] = mp.parent.as_posix()
        cell.setdefault("outputs", {})[w["eval"]] = provenance.artifact_digest(meta)
        model = meta["inputs"].get("model")
        if model is not None and int(w["scale"]) > 0 and "model" not in cell:
            _trained(cell, Path(model["path"]))
    for cell in cells.values():
        cell["content"] = io.sha256_json({"outputs": cell["outputs"], "format": RUN_FORMAT})
    return dict(cells)


def _trained(cell: dict[str, Any], model_meta: Path) -> None:
    """What a trained cell adds: its recipe as ``train.*`` params, its training set as a
    dataset input, its model's DVC path, the training job's span."""
    meta = io.read_json(model_meta)
    cell["model"] = model_meta.parent.as_posix()
    cell["tags"]["synthir.model"] = cell["model"]
    cell["params"].update({f"train.{k}": str(meta["config"][k]) for k in RECIPE if k in meta["config"]})
    cell["params"].update({"train.loss": str(meta.get("loss")), "train.steps": str(meta.get("steps"))})
    train = meta["inputs"].get("train")
    if train is not None:
        folder = Path(train["path"]).parent
        w = paths.parse(folder.as_posix())
        name = "/".join(w[k] for k in ("dataset", "augmenter", "strategy")) + f" x{w['scale']} (draw {w['draw']})"
        cell["dataset"] = {"name": name,
                           "digest": train["sha256"][:16], "source": (folder / "train.jsonl").as_posix()}
    record = provenance.record_path(model_meta)
    cell["spans"].append(_span(io.read_json(record)) if record.is_file() else None)


def sync(metrics_paths: list[Path], tracking_uri: str | None = None, experiment: str = "synthir") -> dict[str, Any]:
    """Make MLflow hold exactly one run per cell; return a receipt (cell -> run id, action)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    # what the experiment is, for MLflow's own reading. The UI of MLflow 3.17 does not follow
    # it: a browser opens every experiment on the GenAI overview until its "GenAI | Model
    # training" switch is set (remembered per browser) or the URL says `workflowType`; so the
    # receipt carries the path that opens on the runs table, and the sync prints it
    client.set_experiment_tag(exp_id, "mlflow.experimentKind", "custom_model_development")
    receipt: dict[str, Any] = {"tracking_uri": redact(uri), "experiment": experiment, "runs": {},
                               "ui_path": f"#/experiments/{exp_id}/runs?workflowType=machine_learning"}
    for cid, cell in sorted(collect(metrics_paths).items()):
        existing = client.search_runs([exp_id], filter_string=f"tags.`synthir.cell` = '{cid}'")
        keep = [r for r in existing if r.data.tags.get("synthir.content") == cell["content"]]
        for r in existing:
            if r not in keep[:1]:
                client.delete_run(r.info.run_id)  # superseded or duplicate
        if keep:
            receipt["runs"][cid] = {"run_id": keep[0].info.run_id, "action": "unchanged"}
            continue
        env = cell["code"]
        tags = {
            "synthir.cell": cid, "synthir.content": cell["content"],
            **{f"synthir.{k}": str(v) for k, v in cell["wildcards"].items()},
            "git_commit": str(env.get("git_commit")), "git_dirty": str(env.get("git_dirty")),
            **{f"input.{k}": v for k, v in cell["inputs"].items()},
            **cell["tags"],
        }
        spans = [s for s in cell["spans"] if s is not None]
        start, end = (min(s for s, _ in spans), max(e for _, e in spans)) if spans else (time.time(),) * 2
        run = client.create_run(exp_id, start_time=int(start * 1000), run_name=cell["name"],
                                tags={"mlflow.runName": cell["name"]})
        # start and end are the cell's first and last job (other jobs ran between them): what
        # the cell cost is its jobs' own seconds
        metrics = {**cell["metrics"], "cost/job_seconds": sum(e - s for s, e in spans)}
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, int(end * 1000), 0) for k, v in sorted(metrics.items())],
            params=[Param(k, v) for k, v in sorted(cell["params"].items())],
            tags=[RunTag(k, v) for k, v in sorted(tags.items())],
        )
        if cell["dataset"] is not None:
            d = cell["dataset"]
            client.log_inputs(run.info.run_id, [DatasetInput(Dataset(d["name"], d["digest"], "local", d["source"]),
                                                             [InputTag("mlflow.data.context", "training")])])
        client.set_terminated(run.info.run_id, end_time=int(end * 1000))
        receipt["runs"][cid] = {"run_id": run.info.run_id, "action": "created"}
    return receipt


def redact(uri: str) -> str:
    """A tracking URI without credentials (user:password@host)."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri
