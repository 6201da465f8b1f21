"""Slow: the tiny study rebuilt from nothing in a fresh clone (no DVC cache, no LLM cache, another
directory, another -j, every library capped to AVX2 as a CPU without AVX-512 or AMX runs it)
matches the dvc.lock its origin committed, and a pool rebuilt from the LLM cache after a filter
change equals the same pool built from nothing with the real model (in bf16 a recomposed batch
changes greedy tokens: the cache key covers the batch).

`pytest -m slow tests/workflow/test_rebuild_anywhere.py` (~8 min on 2 cores)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from studyrun import _env, dvc, git, snakemake

from synthir import io, numerics, slices

pytestmark = pytest.mark.slow
FAMILIES = ("data/raw", "data/synthetic", "models", "results", "data/index", "data/prepared")


def test_a_fresh_clone_on_an_avx2_cpu_rebuilds_what_dvc_lock_records(tiny_study, tmp_path):
    """Portable numerics, the whole study: built by `dvc repro` (stages run snakemake -j8)
    dispatching as this CPU does, rebuilt with -j2 and AVX2 caps set from outside, every pool
    generated again by SmolLM2, every model trained and every corpus encoded again."""
    work, params = tiny_study
    assert params["compute"]["numerics"] == "portable"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(work), str(clone))
    r = snakemake(clone, "-j2", "reports/scaling.csv", "reports/summary.csv", timeout=3000,
                  env=numerics.AVX2_ONLY_ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    assert all((clone / f).is_dir() for f in FAMILIES)  # the clone really rebuilt them
    pools = [io.read_json(p)["volatile"] for p in (clone / "data/synthetic").glob("*/*/*/pool/record.json")]
    assert pools and all(v["calls.llm_calls"] > 0 and v["calls.cached"] == 0 for v in pools)
    model = io.read_json(next((clone / "models").glob("*/*/*/scale~16/base~splade-tiny/*/meta.json")))
    assert model["torch_threads"] == params["compute"]["threads"]  # configured, not what -j gave
    assert model["config"]["compute"]["platform"] == numerics.PORTABLE
    # With an empty cache DVC reports an output "not in cache" before it compares its hash, which
    # would hide a modified one: the clone reads the origin's cache, and nothing may differ.
    assert dvc(clone, "cache", "dir", "--local", str(work / ".dvc/cache")).returncode == 0
    status = dvc(clone, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout or "{}") == {}  # every output and dependency has dvc.lock's bytes


def _generate(work: Path, params: dict, cache: Path, out: Path) -> dict:
    cfg = slices.identity(params, "generate_pool", {"dataset": "scifact", "augmenter": "smollm2-135m",
                                                     "strategy": "neg"})
    r = subprocess.run([sys.executable, "-m", "synthir", "generate-pool", "--config", json.dumps(cfg),
                        "--record", json.dumps({"cache_dir": str(cache)}),
                        "--dataset-dir", str(work / "data/raw/dataset~scifact"),
                        "--model-dir", str(work / "data/prepared/model~smollm2-135m"), "--out-dir", str(out)],
                       cwd=work, env=_env(), capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard~*.jsonl"))}


def test_a_pool_regenerated_from_the_cache_after_a_filter_change_equals_one_built_from_nothing(tiny_study, tmp_path):
    work, params = tiny_study
    params = json.loads(json.dumps(params))
    # LLM-written negatives are follow-up calls for the records a chunk accepted: a stricter
    # filter recomposes their batches
    params["strategies"]["neg"] = {**params["strategies"]["qgen"], "negatives": {
        "source": "llm", "rank_window": None, "max_score_ratio": None, "encoder": None, "prompt": "negative-q"}}
    params["study"]["strategies"] = ["neg"]
    params["llms"]["smollm2-135m"]["batch_size"] = 8
    warm = tmp_path / "warm"
    _generate(work, params, warm, tmp_path / "before")
    # a filter that rejects about half of the accepted queries (the median length), so the
    # follow-up batches of the regenerated pool really are composed anew
    words = sorted(len(json.loads(line)["query"].split()) for f in sorted((tmp_path / "before").glob("shard~*.jsonl"))
                   for line in f.read_text().splitlines() if json.loads(line)["status"] == "ok")
    params["strategies"]["neg"]["filters"] = {**params["strategies"]["neg"]["filters"],
                                              "min_words": words[len(words) // 2]}
    from_cache = _generate(work, params, warm, tmp_path / "from-cache")
    from_nothing = _generate(work, params, tmp_path / "cold", tmp_path / "from-nothing")
    assert from_cache == from_nothing
    made = io.read_json(tmp_path / "from-cache" / "record.json")["volatile"]
    assert made["follow_up_calls.llm_calls"] > 0  # recomposed follow-up batches were generated
