"""The tiny study (tests/config/params.yaml) that the workflow tests share: the real DAG,
real mirror data and the packaged models, run once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from studyrun import make_project, snakemake


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("study")
    params = make_project(work, mirror)
    r = snakemake(work, "-j2", "reports/scaling.csv")
    if r.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in (work / "logs").rglob("*.log"))
        pytest.fail(f"tiny study failed:\n{r.stderr[-5000:]}\n{logs[-15000:]}")
    return work, params
