"""Content-addressed cache of LLM calls, kept outside Snakemake's outputs.

Snakemake deletes the outputs of a failed job; this cache survives, so a killed generation
resumes where it stopped and a re-run with unchanged inputs makes no call at all. One JSON
file per call under ``<dir>/<key[:2]>/<key>.json``, written atomically, so concurrent jobs and
kills never leave a half-written entry (a reader sees the whole entry or none).

A chunk that misses is generated under a lock (:meth:`LLMCache.claim`): two jobs whose prompts
are the same (qgen and qgen+bm25 share every prompt) used to generate the same chunk at once
when Snakemake ran them side by side; now the second waits and finds the chunk cached.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthir import io


def cache_key(identity: dict[str, Any], request: Any, decoding: dict[str, Any], seed: int,
              batch: str | None = None) -> str:
    """sha256 over everything that determines a completion (see ``Backend.identity``); for a
    backend whose output depends on the batch, ``batch`` digests the batch's composition."""
    key: dict[str, Any] = {"identity": identity, "request": request, "decoding": decoding, "seed": seed}
    if batch is not None:
        key["batch"] = batch
    return io.sha256_json(key)


class LLMCache:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return io.read_json(path)
        except io.DataFormatError:
            return None  # unreadable entry: treat as a miss, it will be rewritten

    def put(self, key: str, entry: dict[str, Any]) -> None:
        io.write_json(self._path(key), entry)

    @contextlib.contextmanager
    def claim(self, keys: list[str]) -> Iterator[None]:
        """Hold an exclusive lock for generating the chunk ``keys``: a job claiming the same chunk
        waits, then reads what this one wrote. Locks are 4,096 stripes by the chunk's digest (a
        bounded number of files; two different chunks rarely share one, and then only wait).
        flock is per host: jobs on other hosts of a shared cache may still both generate."""
        stripe = io.sha256_json(keys)[:3]
        path = self.directory / "locks" / f"{stripe}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
