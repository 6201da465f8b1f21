"""Provenance recorded in every artifact's ``meta.json``: code version, package versions, inputs."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from synthir import io

#: Packages whose versions can change a result; recorded in every sidecar.
TRACKED_PACKAGES = (
    "synthir", "torch", "transformers", "sentence-transformers", "faiss-cpu", "bm25s",
    "pytrec-eval-terrier", "numpy", "gguf",
)


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
    """Git commit and dirty flag of the working tree (None outside a checkout)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        **code_version(),
    }


def artifact_digest(meta: dict[str, Any]) -> str:
    """Digest of an artifact's content: over the digests of the outputs its sidecar lists
    (not over the sidecar itself, which also holds timings and dates)."""
    return io.sha256_json({role: rec["sha256"] for role, rec in meta["outputs"].items()})


def input_digest(path: str | os.PathLike[str]) -> dict[str, str]:
    """Path and content digest of an input. Jobs name an upstream artifact by its
    ``meta.json``: the digest is then :func:`artifact_digest` of it, so re-creating the
    artifact with identical bytes is no change. Any other path is hashed as it is."""
    p = Path(path)
    if p.name == "meta.json":
        return {"path": p.as_posix(), "sha256": artifact_digest(io.read_json(p))}
    return {"path": p.as_posix(), "sha256": io.sha256_tree(p)}


def write_meta(
    path: str | os.PathLike[str],
    *,
    kind: str,
    config: dict[str, Any],
    inputs: dict[str, str | os.PathLike[str]],
    outputs: dict[str, str | os.PathLike[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write the sidecar of an artifact and return it.

    ``inputs`` and ``outputs`` map a role to a path; each is recorded with its sha256 so that
    ``synthir lineage --verify`` can recompute and compare.
    """
    meta = {
        "kind": kind,
        "config": config,
        "inputs": {role: input_digest(p) for role, p in sorted(inputs.items())},
        "outputs": {role: input_digest(p) for role, p in sorted((outputs or {}).items())},
        "environment": environment(),
        "created_unix": int(time.time()),
        **extra,
    }
    io.write_json(path, meta)
    return meta
