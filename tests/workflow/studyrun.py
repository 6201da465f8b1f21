"""Helpers of the workflow tests: a project directory with the real workflow, and Snakemake
and the synthir CLI run in it as subprocesses (the same interpreter, its bin on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Snakefile", "rules", "src", "envs", "profiles")
#: What a clone of the repository holds that the workflow and DVC need.
REPO_FILES = (*PROJECT_FILES, ".dvcignore", ".gitignore", ".dvc/config", ".dvc/.gitignore")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(extra or {})}


def snakemake(workdir: Path, *args: str, timeout: int = 1500,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=_env(env),
                          capture_output=True, text=True, timeout=timeout)


def dvc(workdir: Path, *args: str, timeout: int = 1500,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=workdir, env=_env(env),
                          capture_output=True, text=True, timeout=timeout)


def git(workdir: Path, *args: str) -> str:
    ident = ["-c", "user.name=synthir tests", "-c", "user.email=tests@synthir.invalid"]
    r = subprocess.run(["git", *ident, *args], cwd=workdir, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def make_project(dest: Path, mirror: Path, overlay: str | None = None, **study: object) -> dict:
    """A project directory with the real workflow and the tiny params (mirror made absolute)."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_FILES:
        (dest / item).symlink_to(ROOT / item, target_is_directory=(ROOT / item).is_dir())
    params = tiny_params(mirror, overlay, **study)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def tiny_params(mirror: Path, overlay: str | None = None, **study: object) -> dict:
    """tests/config/params.yaml with the mirror made absolute; ``overlay`` (a file under
    tests/config) defines more strategies, each starting from the tiny ``qgen`` alias."""
    params = yaml.safe_load((ROOT / "tests/config/params.yaml").read_text())
    params["mirror"] = str(mirror)
    if overlay:
        extra = yaml.safe_load((ROOT / "tests/config" / overlay).read_text())
        params["study"].update(extra.get("study", {}))
        for alias, st in extra.get("strategies", {}).items():
            params["strategies"][alias] = {**params["strategies"]["qgen"], **st}
    params["study"].update(study)
    return params


def make_repo(dest: Path, mirror: Path) -> dict:
    """A git repository as a user's checkout holds it (real copies of the workflow and DVC's
    config, dvc.yaml made from the tiny params) with the tiny params, committed."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in REPO_FILES:
        src, dst = ROOT / item, dest / item
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=ignore)
        else:
            shutil.copy2(src, dst)
    params = tiny_params(mirror)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # dvc.yaml versions the study of this checkout's params.yaml, as a user with their own makes it
    r = synthir(dest, "dvc-yaml")
    assert r.returncode == 0, r.stderr
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "tiny study")
    return params


def synthir(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthir", *args], cwd=workdir, env=_env(env),
                          capture_output=True, text=True, timeout=600)


def copy_study(work: Path, dest: Path) -> Path:
    """The built study, its files hard-linked (every job writes new files, never into old ones)
    and Snakemake's metadata copied (Snakemake rewrites it in place)."""
    subprocess.run(["cp", "-al", str(work), str(dest)], check=True)
    shutil.rmtree(dest / ".snakemake")
    shutil.copytree(work / ".snakemake", dest / ".snakemake", symlinks=True)
    return dest
