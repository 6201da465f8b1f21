"""Lint in the default suite: ruff over the Python (pyproject.toml [tool.ruff]: pyflakes,
pycodestyle errors, bugbear), snakefmt over the workflow, Snakemake's own linter. Seconds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    r = _run(str(BIN / "ruff"), "check", "--output-format", "concise", "src", "tests", "benchmarks", "scripts")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_the_workflow_is_formatted_as_snakefmt_writes_it():
    r = _run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:] + "\n(run `snakefmt Snakefile rules`)"


@pytest.mark.filterwarnings("ignore")
def test_snakemake_lint_is_clean():
    r = _run(sys.executable, "-m", "snakemake", "--lint")
    assert r.returncode == 0 and "good condition" in r.stdout + r.stderr, r.stdout[-4000:] + r.stderr[-2000:]


def test_every_type_ignore_says_why():
    """No type checker runs on this code (ruff does not check types), so a `# type: ignore`
    must say which error and why, beside it: `# type: ignore[code]: reason`."""
    bare = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "src").rglob("*.py"))
            for n, line in enumerate(p.read_text().splitlines(), 1)
            if "# type: ignore" in line and not re.search(r"# type: ignore\[[\w, -]+\]: \S", line)]
    assert not bare, bare
