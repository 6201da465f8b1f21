"""Kill the generating process at random points and resume: the pool comes out byte-identical
to an uninterrupted run, the cache loses and duplicates nothing, and the calls made before a
kill are not made again. The uninterrupted reference is the tiny study's own pool."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from studyrun import _env

from synthir import config as C
from synthir import io

POOL = "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/pool"


def generate(work: Path, cfg: dict, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synthir", "generate", "--config", json.dumps(cfg),
         "--dataset", str(work / "data/raw/dataset~scifact"),
         "--model", str(work / "data/prepared/model~smollm2-135m"), "--out", str(out), "--threads", "2"],
        cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


def test_killed_generation_resumes_byte_identical_without_repeating_calls(tiny_study, tmp_path):
    work, params = tiny_study
    reference = {p.name: p.read_bytes() for p in (work / POOL).glob("shard~*.jsonl")}
    # Calls an uninterrupted run makes: whole batches up to the one holding the last response
    # kept (a batch with any miss is generated whole; see synthir.generate).
    batch = params["llms"]["smollm2-135m"]["batch_size"]
    reference_calls = -(-io.read_json(work / POOL / "meta.json")["responses"] // batch) * batch
    cfg = C.generate_slice(params, "scifact", "smollm2-135m", "qgen")
    cfg["cache_dir"] = str(tmp_path / "cache")
    cache, out = tmp_path / "cache" / "llm", tmp_path / "pool"

    rng = random.Random(os.getpid())  # different kill points on every run; printed on failure
    kills: list[tuple[float, int]] = []
    while len(kills) < 3:
        proc = generate(work, cfg, out)
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
        assert not out.exists() or not list(out.glob("shard~*.jsonl")), "shards before the pool is complete"
    assert kills, "generation finished before any kill; the test needs a slower pool"
    before = len(entries(cache))
    assert 0 < before < reference_calls, kills

    proc = generate(work, cfg, out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    meta = io.read_json(out / "meta.json")
    # Resumed: only the calls the kills interrupted were made again, nothing twice.
    assert meta["calls"]["llm_calls"] == reference_calls - before, (kills, meta["calls"])
    assert len(entries(cache)) == reference_calls
    # No half-written entry: every one parses (a SIGKILL can leave a stray .tmp, never an entry).
    assert all(io.read_json(p)["text"] is not None for p in entries(cache))
    assert {p.name: p.read_bytes() for p in out.glob("shard~*.jsonl")} == reference
