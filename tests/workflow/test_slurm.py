"""The study on a real SLURM (single node, started by scripts/slurm-local.sh): part of the tiny
study run through `snakemake --profile profiles/slurm` comes out byte-identical to the local
run; a job that fails on the cluster fails the run naming its log, and the re-run resumes
without redoing finished cells. Slow (~10 min beside the tiny study): `pytest -m slow`; needs root and apt (Debian's
slurm-wlm and munge are installed if missing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from studyrun import ROOT, make_project, snakemake

pytestmark = pytest.mark.slow

CELL = "dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/scale~16/base~minilm-l6/seed~0"
#: A slice of the tiny study: one strategy, one base, its human arm, BM25; evaluated on ADI
#: (and a copy of ADI in the failure test).
SLICE = {"strategies": ["qgen"], "bases": ["minilm-l6"], "scales": [0, 16], "draws": [0], "eval_datasets": ["adi"]}


@pytest.fixture(scope="module")
def slurm() -> Iterator[None]:
    if os.geteuid() != 0 or shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("a single-node SLURM needs root (and apt to install it)")
    script = ROOT / "scripts/slurm-local.sh"
    r = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield
    finally:
        subprocess.run(["bash", str(script), "stop"], capture_output=True, text=True, timeout=120)


def cluster_run(work: Path, *args: str) -> subprocess.CompletedProcess:
    # jobs inherit this environment (--export=ALL): the venv's python and the offline settings
    return snakemake(work, "--profile", "profiles/slurm", "--jobs", "4", *args, timeout=2400)


@pytest.fixture(scope="module")
def cluster_slice(slurm, mirror, tmp_path_factory) -> tuple[Path, dict[str, Any], subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("cluster") / "project"
    params = make_project(work, mirror, **SLICE)
    return work, params, cluster_run(work, "reports/scaling.csv")


def test_a_slice_of_the_study_on_slurm_equals_the_local_run(cluster_slice, tiny_study):
    local, _ = tiny_study
    work, _, r = cluster_slice
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert "slurm" in (r.stdout + r.stderr).lower()
    # every cell's numbers and training data are the local run's bytes
    produced = sorted(p.relative_to(work) for p in (work / "results").rglob("metrics.json"))
    assert len(produced) >= 4
    for rel in produced:
        assert (work / rel).read_bytes() == (local / rel).read_bytes(), rel
    rel = f"data/synthetic/{CELL.rsplit('/base~', 1)[0]}/train.jsonl"
    assert (work / rel).read_bytes() == (local / rel).read_bytes(), rel
    # and the report's rows are the local report's rows for the same cells
    ours = (work / "reports/scaling.csv").read_text().splitlines()
    theirs = set((local / "reports/scaling.csv").read_text().splitlines())
    assert ours[0] in theirs and set(ours[1:]) <= theirs


def test_a_job_failing_on_the_cluster_fails_the_run_and_the_rerun_resumes(cluster_slice):
    work, params, first = cluster_slice
    assert first.returncode == 0
    # A second eval set whose collection points at nothing: its fetch fails on the cluster. It is
    # ADI under another name (82 documents: seconds to index, where CISI took minutes). The
    # overlays change the grid, so they write their own reports (never the slice's own).
    grid = {"eval_datasets": ["adi", "adi-again"], "reports": "reports/again"}
    again = params["datasets"]["adi"]
    (work / "broken.yaml").write_text(yaml.safe_dump(
        {"study": grid, "datasets": {"adi-again": {**again, "path": "no/such/collection"}}}))
    (work / "fixed.yaml").write_text(yaml.safe_dump({"study": grid, "datasets": {"adi-again": again}}))
    target = "reports/again/scaling.csv"
    r = cluster_run(work, target, "--keep-going", "--configfile", "broken.yaml")
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "logs/fetch_dataset/data/raw/dataset~adi-again.log" in out, out[-6000:]
    assert "no/such/collection: no such file or folder (datasets.adi-again.path)" in out  # the log, on the console
    # fixed, the re-run does only what the failure blocked: nothing is generated or trained again
    plan = snakemake(work, target, "-n", "--quiet", "rules", "--configfile", "fixed.yaml")
    assert plan.returncode == 0, plan.stderr
    rules = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.M))
    assert "fetch_dataset" in rules and "evaluate_dense" in rules, rules
    assert not {"generate_pool", "subset_scale", "sample_human", "train_retriever", "prepare_llm"} & set(rules), rules
    r = cluster_run(work, target, "--configfile", "fixed.yaml")
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert any("eval~adi-again" in str(p) for p in (work / "results").rglob("metrics.json"))
