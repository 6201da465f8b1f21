"""MLflow tracking: one run per cell, synced from the sidecars, never the source of truth.

``sync`` is idempotent: a cell's run is found by its ``synthir.cell`` tag; when the cell's
content digest (the digests of its evaluation outputs) is unchanged the run is left alone,
when it changed (a rebuilt cell) the old run is deleted and a new one made, so MLflow shows
exactly one live run per cell whatever the number of re-runs. One job syncs every cell, in
one process, so parallel Snakemake jobs never race on the tracking store.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from synthir import io, paths, provenance

log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
CELL_KEYS = ("dataset", "augmenter", "strategy", "scale", "base", "seed")


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
    cells: dict[str, dict[str, Any]] = defaultdict(lambda: {"metrics": {}, "params": {}, "inputs": {}})
    for mp in sorted(metrics_paths):
        w = paths.parse(mp.as_posix())
        meta = io.read_json(mp.parent / "meta.json")
        cell = cells[cell_id(w)]
        cell["wildcards"] = {k: w[k] for k in CELL_KEYS}
        for name, value in io.read_json(mp)["metrics"].items():
            cell["metrics"][f"{w['eval']}/{name}"] = float(value)  # no '@' in MLflow keys
        _flatten(f"eval.{w['eval']}", meta["config"], cell["params"])
        for role, rec in meta["inputs"].items():
            cell["inputs"][f"{w['eval']}.{role}"] = rec["sha256"]
        record = provenance.record_path(mp.parent / "meta.json")
        cell["code"] = io.read_json(record) if record.is_file() else {}
        cell.setdefault("outputs", {})[w["eval"]] = provenance.artifact_digest(meta)
    for cell in cells.values():
        cell["content"] = io.sha256_json(cell["outputs"])
    return dict(cells)


def sync(metrics_paths: list[Path], tracking_uri: str | None = None, experiment: str = "synthir") -> dict[str, Any]:
    """Make MLflow hold exactly one run per cell; return a receipt (cell -> run id, action)."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    receipt: dict[str, Any] = {"tracking_uri": redact(uri), "experiment": experiment, "runs": {}}
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
        }
        run = client.create_run(exp_id, run_name=cid, tags={"mlflow.runName": cid})
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in sorted(cell["metrics"].items())],
            params=[Param(k, v) for k, v in sorted(cell["params"].items())],
            tags=[RunTag(k, v) for k, v in sorted(tags.items())],
        )
        client.set_terminated(run.info.run_id)
        receipt["runs"][cid] = {"run_id": run.info.run_id, "action": "created"}
    return receipt


def redact(uri: str) -> str:
    """A tracking URI without credentials (user:password@host)."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri
