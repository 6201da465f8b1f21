"""The LLM cache at the papers' scale: files and seconds for N cached calls, packed (the cache
now) against one file per call (the layout before it, still read).

    python benchmarks/llm_cache.py [--calls 100000] [--dir DIR]

Each entry is shaped as a generation job writes it (a query of ~12 words, token counts,
seconds, the backend's identity). Printed per layout: files on disk, seconds to write every
call, to open the cache in a new process and read one call (the index a resumed job builds),
and to read every call in random order.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from synthir.core import io
from synthir.generation.llm.cache import LLMCache, cache_key

IDENTITY = {"backend": "transformers", "model": "smollm2-135m", "weights_sha256": "0" * 64, "dtype": "float32"}


def entry(i: int) -> dict[str, object]:
    words = " ".join(f"word{(i * 7 + j) % 997}" for j in range(12))
    return {"text": words, "prompt_tokens": 412, "completion_tokens": 18, "seconds": 0.6123, "identity": IDENTITY}


class OneFilePerCall:
    """The earlier layout: ``<dir>/<key[:2]>/<key>.json``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, key: str, value: dict[str, object]) -> None:
        io.write_json(self.directory / key[:2] / f"{key}.json", value)

    def get(self, key: str) -> dict[str, object] | None:
        path = self.directory / key[:2] / f"{key}.json"
        return io.read_json(path) if path.is_file() else None


def run(layout: str, directory: Path, keys: list[str]) -> dict[str, float]:
    make = (lambda: LLMCache(directory)) if layout == "packed" else (lambda: OneFilePerCall(directory))
    t0 = time.perf_counter()
    cache = make()
    for i, k in enumerate(keys):
        cache.put(k, entry(i))
    if isinstance(cache, LLMCache):
        cache.close()
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    fresh = make()
    assert fresh.get(keys[-1]) is not None
    first = time.perf_counter() - t0
    order = random.Random(0).sample(keys, len(keys))
    t0 = time.perf_counter()
    assert all(fresh.get(k) is not None for k in order)
    read_all = time.perf_counter() - t0
    files = sum(1 for p in directory.rglob("*") if p.is_file())
    return {"files": files, "write_s": write, "first_read_s": first, "read_all_s": read_all}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(dir=a.dir, prefix="llm-cache-bench."))
    keys = [cache_key(IDENTITY, f"prompt {i}", {"max_new_tokens": 48}, i) for i in range(a.calls)]
    try:
        print(f"{a.calls:,} cached calls")
        print("| layout | files | write all (s) | new process: first read (s) | read all, random order (s) |")
        print("|---|---|---|---|---|")
        for layout in ("packed", "one file per call"):
            r = run(layout, root / layout.replace(" ", "-"), keys)
            print(f"| {layout} | {r['files']:,} | {r['write_s']:.1f} | {r['first_read_s']:.2f} | {r['read_all_s']:.1f} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
