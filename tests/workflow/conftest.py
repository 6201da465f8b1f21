"""The tiny study (tests/config/params.yaml) that the workflow tests share: the real DAG,
real mirror data and the packaged models, built once per session the way a user builds it
(`dvc repro` in a git checkout, which runs each family's Snakemake target), dvc.lock committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from studyrun import dvc, git, make_repo


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("study")
    params = make_repo(work, mirror)
    r = dvc(work, "repro")
    if r.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in (work / "logs").rglob("*.log"))
        pytest.fail(f"tiny study failed:\n{r.stdout[-3000:]}{r.stderr[-5000:]}\n{logs[-15000:]}")
    git(work, "add", "dvc.lock")
    git(work, "commit", "-q", "-m", "dvc.lock of the tiny study")
    return work, params
