"""Content-addressed cache of LLM calls, kept outside Snakemake's outputs.

Snakemake deletes the outputs of a failed job; this cache survives, so a killed generation
resumes where it stopped and a re-run with unchanged inputs makes no call at all.

Calls are packed: each process that writes appends its calls to a pack of its own,
``<dir>/packs/<host>-<pid>-<random>.pack``, one line per call, ``<key>\\t<entry JSON>\\n``, in one
``write`` each. At the papers' scale one file per call (the earlier layout) means a million
files, which shared file systems serve badly; packs are one file per generation job. A reader
indexes the packs by scanning each line's leading key (no JSON is parsed until a call is read)
and re-scans only what grew when it misses. A process killed mid-write leaves at most one line
without its newline, which is never indexed: the call in flight is lost, nothing else. Entries
of the earlier layout (``<dir>/<key[:2]>/<key>.json``) are still read.

A chunk that misses is generated under a lock (:meth:`LLMCache.claim`): two jobs whose prompts
are the same (qgen and qgen+bm25 share every prompt) used to generate the same chunk at once
when Snakemake ran them side by side; now the second waits and finds the chunk cached.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthir.core import io
KEY_CHARS = 64  # a sha256 in hex


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
        self.packs = self.directory / "packs"
        self._index: dict[str, tuple[Path, int, int]] = {}  # key -> (pack, offset, length)
        self._scanned: dict[Path, int] = {}  # pack -> bytes indexed so far (whole lines only)
        self._fd: int | None = None  # this process's own pack, opened on its first put

    def _scan(self) -> None:
        """Index what the packs gained since the last scan."""
        if not self.packs.is_dir():
            return
        for pack in sorted(self.packs.glob("*.pack")):
            done = self._scanned.get(pack, 0)
            if pack.stat().st_size <= done:
                continue
            with open(pack, "rb") as f:
                f.seek(done)
                blob = f.read()
            end = blob.rfind(b"\n") + 1  # a line without its newline is a write in flight (or killed)
            offset = done
            for line in blob[:end].splitlines(keepends=True):
                if len(line) > KEY_CHARS and line[KEY_CHARS:KEY_CHARS + 1] == b"\t":
                    self._index.setdefault(line[:KEY_CHARS].decode("ascii"), (pack, offset, len(line)))
                offset += len(line)
            self._scanned[pack] = done + end

    def _read(self, key: str) -> dict[str, Any] | None:
        pack, offset, length = self._index[key]
        with open(pack, "rb") as f:
            f.seek(offset)
            line = f.read(length)
        try:
            entry: dict[str, Any] = json.loads(line[KEY_CHARS + 1:])
        except ValueError:
            return None  # unreadable entry: a miss, generated and written again
        return entry

    def get(self, key: str) -> dict[str, Any] | None:
        if key not in self._index:
            self._scan()
        if key in self._index:
            entry = self._read(key)
            if entry is None:
                del self._index[key]  # a damaged line: a miss; the call is made and written again
            return entry
        legacy = self.directory / key[:2] / f"{key}.json"
        if legacy.is_file():
            try:
                return io.read_json(legacy)
            except io.DataFormatError:
                return None
        return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        if self._fd is None:
            self.packs.mkdir(parents=True, exist_ok=True)
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.pack"
            self._own = self.packs / name
            self._fd = os.open(self._own, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        line = f"{key}\t{json.dumps(entry, sort_keys=True, ensure_ascii=False)}\n".encode()
        os.write(self._fd, line)  # one write per call: a kill loses this line or nothing
        self._index[key] = (self._own, os.lseek(self._fd, 0, os.SEEK_CUR) - len(line), len(line))

    def keys(self) -> set[str]:
        """Every cached call's key (packs and the earlier layout)."""
        self._scan()
        legacy = {p.stem for p in self.directory.glob("??/*.json")} if self.directory.is_dir() else set()
        return set(self._index) | legacy

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

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
