"""The two sidecars of every artifact: ``meta.json`` (identity) and ``record.json`` (record).

``meta.json`` holds what the artifact's bytes are a function of, and nothing else: the job's
configuration, its inputs and outputs with their digests, the package versions (fixed by the
lock) and the job's deterministic results (counts, losses, settings). Rebuilt anywhere from the
same inputs, code and configuration it comes out byte-identical, so DVC's hash of a directory is
a proof, not a guess.

``record.json`` beside it holds what differs between two builds of the same artifact: when,
how long, on which machine and Python, from which git commit, which synthir modules the job
imported (with their digests), where its inputs were read from, licences. DVC does not hash it
(``.dvcignore``), lineage shows it, and the report's timings come from it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthir.core import closure, io, numerics
#: Packages whose versions can change a result; recorded in every meta.json.
TRACKED_PACKAGES = (
    "synthir", "torch", "transformers", "sentence-transformers", "faiss-cpu", "bm25s",
    "pytrec-eval-terrier", "numpy", "gguf",
)
#: The name of the record beside an artifact's sidecar (``.dvcignore`` lists it).
RECORD = "record.json"


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


@functools.cache
def code_version() -> dict[str, Any]:
    """Git commit and dirty flag of the working tree (None outside a checkout). ``dvc.lock`` is
    left out of the dirty check: ``dvc repro`` rewrites it while the jobs run."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)dvc.lock")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def record_path(meta_path: str | os.PathLike[str]) -> Path:
    """``dir/meta.json`` -> ``dir/record.json``; ``dir/stats.json`` -> ``dir/stats.record.json``."""
    p = Path(meta_path)
    return p.with_name(RECORD) if p.name == "meta.json" else p.with_name(f"{p.stem}.{RECORD}")


def loaded_modules() -> dict[str, str]:
    """The synthir modules this process has imported, with the sha256 of their source."""
    names = sorted(m for m in sys.modules if m == closure.PACKAGE or m.startswith(f"{closure.PACKAGE}."))
    return closure.digests(m for m in names if not m.endswith("__main__"))


def artifact_digest(meta: dict[str, Any]) -> str:
    """Digest of an artifact's content: over the digests of the outputs its sidecar lists."""
    return io.sha256_json({role: rec["sha256"] for role, rec in meta["outputs"].items()})


def input_digest(path: str | os.PathLike[str]) -> dict[str, str]:
    """Path and content digest of an input. Jobs name an upstream artifact by its
    ``meta.json``: the digest is then :func:`artifact_digest` of it, so re-creating the
    artifact with identical bytes is no change. Any other path is hashed as it is."""
    p = Path(path)
    if p.name == "meta.json":
        return {"path": p.as_posix(), "sha256": artifact_digest(io.read_json(p))}
    return {"path": p.as_posix(), "sha256": io.sha256_tree(p)}


@dataclass
class Artifact:
    """What a job made, as its sidecars describe it.

    ``inputs`` and ``outputs`` map a role to a path (an upstream artifact by its meta.json);
    ``facts`` are deterministic results (meta.json); ``volatile`` are what differs between
    builds of the same bytes: seconds, and the calls a warm or cold LLM cache made (record.json)."""

    kind: str
    meta: Path
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    volatile: dict[str, float] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)  # where inputs were found (record.json)


def write_sidecars(artifact: Artifact, config: dict[str, Any], recorded: dict[str, Any] | None = None,
                   started: float | None = None) -> dict[str, Any]:
    """Write ``meta.json`` (identity) and ``record.json`` (record) of ``artifact``; return the meta."""
    meta = {
        "kind": artifact.kind,
        "config": config,
        "inputs": {role: input_digest(p) for role, p in sorted(artifact.inputs.items())},
        "outputs": {role: input_digest(p) for role, p in sorted(artifact.outputs.items())},
        "packages": package_versions(),
        **artifact.facts,
    }
    io.write_json(artifact.meta, meta)
    io.write_json(record_path(artifact.meta), {
        "kind": artifact.kind,
        "created_unix": int(time.time()),
        "volatile": {k: round(v, 3) for k, v in artifact.volatile.items()}
        | ({"job_seconds": round(time.perf_counter() - started, 3)} if started is not None else {}),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "numerics": numerics.describe(),  # the CPU and the dispatch caps this build ran under
        **code_version(),
        "modules": loaded_modules(),
        "recorded": {**(recorded or {}), **artifact.recorded},
    })
    return meta
