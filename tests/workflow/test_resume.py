"""Kill the generating process at random points and resume: the pool comes out byte-identical
to an uninterrupted run, the cache loses and duplicates nothing, and the calls made before a
kill are not made again. The uninterrupted reference is the tiny study's own pool. Slow (about
two minutes of generation and four model loads): `pytest -m slow`."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from studyrun import _env

from synthir.workflow import slices
from synthir.core import io
from synthir.generation.llm.cache import LLMCache

pytestmark = pytest.mark.slow
POOL = "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/pool"


def generate(work: Path, cfg: dict, cache: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synthir", "generate-pool", "--config", json.dumps(cfg),
         "--record", json.dumps({"cache_dir": str(cache)}),
         "--dataset-dir", str(work / "data/raw/dataset~scifact"),
         "--model-dir", str(work / "data/prepared/model~smollm2-135m"), "--out-dir", str(out)],
        cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def entries(cache: Path) -> list[str]:
    """The keys of the calls in the cache (its packs, synthir.generation.llm.cache)."""
    return sorted(LLMCache(cache).keys())


def test_killed_generation_resumes_byte_identical_without_repeating_calls(tiny_study, tmp_path):
    work, params = tiny_study
    reference = {p.name: p.read_bytes() for p in (work / POOL).glob("shard~*.jsonl")}
    # Calls an uninterrupted run makes: whole batches up to the one holding the last response
    # kept (a batch with any miss is generated whole; see synthir.generation.engine).
    batch = params["llms"]["smollm2-135m"]["batch_size"]
    reference_calls = -(-io.read_json(work / POOL / "meta.json")["responses"] // batch) * batch
    cfg = slices.identity(params, "generate_pool", {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen",
                                                     "draw": "0"})
    cache, out = tmp_path / "cache" / "llm", tmp_path / "pool"

    rng = random.Random(os.getpid())  # different kill points on every run; printed on failure
    kills: list[tuple[float, int]] = []
    while len(kills) < 3:
        proc = generate(work, cfg, tmp_path / "cache", out)
        # wait for a first entry (the model is loaded), then kill at a random later moment
        deadline = time.monotonic() + 120
        start = len(entries(cache))
        while len(entries(cache)) == start and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 3.0))
        if proc.poll() is not None:
            break  # finished before the kill: nothing left to interrupt
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills.append((round(time.monotonic(), 1), len(entries(cache))))
        # a pool appears whole (one rename) or not at all: never some of its shards
        shards = {p.name for p in out.glob("shard~*.jsonl")} if out.exists() else set()
        assert not shards or shards == set(reference), f"a partial pool: {sorted(shards)}"
    assert kills, "generation finished before any kill; the test needs a slower pool"
    before = len(entries(cache))
    assert 0 < before < reference_calls, kills

    proc = generate(work, cfg, tmp_path / "cache", out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    made = io.read_json(out / "record.json")["volatile"]["calls.llm_calls"]
    # Resumed: only the calls the kills interrupted were made again, nothing twice.
    assert made == reference_calls - before, (kills, made)
    assert len(entries(cache)) == reference_calls
    # No half-written entry: every one parses (a SIGKILL can leave a line without its end, never
    # an indexed entry).
    assert all(LLMCache(cache).get(k)["text"] is not None for k in entries(cache))
    assert {p.name: p.read_bytes() for p in out.glob("shard~*.jsonl")} == reference
