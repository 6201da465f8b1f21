"""The tiny study (tests/config/params.yaml) that the workflow tests share: the real DAG,
real mirror data and the packaged models, built once per session the way a user builds it
(`dvc repro` in a git checkout, which runs each family's Snakemake target), dvc.lock committed.

With ``SYNTHIR_TINY_STUDY=<folder>`` (.ci/run sets it) the build is kept there, keyed by the
code and the tiny params, and a second session (`pytest -m slow` after `pytest`) starts from a
copy of it instead of building it again; pytest-xdist's workers share one build of a run the same
way (the first to need it builds it under a lock, the others wait and copy). Each session works on
its own copy, so nothing one session's tests write reaches another's."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from studyrun import REPO_FILES, ROOT, dvc, git, make_repo, tiny_params


def study_key(mirror: Path) -> str:
    """What the tiny study's bytes depend on besides the installed packages: the workflow and
    the code (every file a clone holds), and the tiny params."""
    h = hashlib.sha256(yaml.safe_dump(tiny_params(mirror), sort_keys=True).encode())
    for item in REPO_FILES:  # the project's files and DVC's
        top = ROOT / item
        for p in sorted([top] if top.is_file() else top.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def build(work: Path, mirror: Path) -> dict:
    params = make_repo(work, mirror)
    r = dvc(work, "repro")
    if r.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in (work / "logs").rglob("*.log"))
        pytest.fail(f"tiny study failed:\n{r.stdout[-3000:]}{r.stderr[-5000:]}\n{logs[-15000:]}")
    git(work, "add", "dvc.lock")
    git(work, "commit", "-q", "-m", "dvc.lock of the tiny study")
    return params


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("study") / "tiny"
    store = kept_build(tmp_path_factory)
    if store is None:
        return work, build(work, mirror)
    store.mkdir(parents=True, exist_ok=True)
    key = study_key(mirror)
    with (store / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one session builds, the others wait for it
        if not ((store / "key").is_file() and (store / "key").read_text() == key):
            shutil.rmtree(store / "tiny", ignore_errors=True)
            (store / "key").unlink(missing_ok=True)
            build(work, mirror)
            subprocess.run(["cp", "-a", str(work), str(store / "tiny")], check=True)
            (store / "key").write_text(key)
            return work, tiny_params(mirror)
    subprocess.run(["cp", "-a", str(store / "tiny"), str(work)], check=True)  # mtimes kept: nothing replans
    return work, tiny_params(mirror)


def kept_build(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Where the tiny study's build is kept for other sessions: ``$SYNTHIR_TINY_STUDY``, else,
    under pytest-xdist, beside the workers' temporary folders (one build per run), else nowhere."""
    if kept := os.environ.get("SYNTHIR_TINY_STUDY"):
        return Path(kept)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.getbasetemp().parent / "tiny-study"
    return None
