"""Helpers of the workflow tests: a project directory with the real workflow, and Snakemake
and the synthir CLI run in it as subprocesses (the same interpreter, its bin on PATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Snakefile", "rules", "src", "envs")


def snakemake(workdir: Path, *args: str, timeout: int = 1500,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def make_project(dest: Path, mirror: Path, **study: object) -> dict:
    """A project directory with the real workflow and the tiny params (mirror made absolute)."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_FILES:
        (dest / item).symlink_to(ROOT / item, target_is_directory=(ROOT / item).is_dir())
    params = yaml.safe_load((ROOT / "tests/config/params.yaml").read_text())
    params["mirror"] = str(mirror)
    params["study"].update(study)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def synthir(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthir", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=300)
