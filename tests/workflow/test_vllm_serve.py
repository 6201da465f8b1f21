"""The OpenAI-compatible HTTP backend against a real `vllm serve` (vLLM's CPU build, its own
environment: scripts/setup-vllm.sh) on 127.0.0.1, serving the prepared SmolLM2. Slow (engine
start ~1-2 min): `pytest -m slow`; .ci/run runs it. Skipped, saying why, when .venv-vllm is
absent, so the default suite never needs vLLM."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from servers import free_port, serve
from studyrun import ROOT, _env

from synthir.core import config as C
from synthir.core import io
from synthir.workflow import slices
pytestmark = pytest.mark.slow

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
SECRET = "sk-test-never-written-anywhere"


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not VLLM_PYTHON.is_file():
        pytest.skip("no .venv-vllm: run scripts/setup-vllm.sh (what .ci/run does)")
    work = tmp_path_factory.mktemp("vllm")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    llm_cfg = json.dumps(slices.identity(params, "prepare_llm", {"model": "smollm2-135m"}))
    manifest = work / "smollm2"
    record = json.dumps({"cache_dir": str(work / "cache"), "license": "Apache-2.0"})
    prepared = subprocess.run([sys.executable, "-m", "synthir", "prepare-llm", "--config", llm_cfg,
                               "--record", record, "--out-dir", str(manifest)], env=_env(), capture_output=True,
                              text=True)
    assert prepared.returncode == 0, prepared.stderr[-5000:]
    from synthir.generation.models import llm_weights

    model = llm_weights(manifest, work / "cache")  # the transformers folder vLLM serves
    port = free_port()
    cmd = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
           "--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--dtype", "bfloat16",
           "--max-model-len", "2048",
           # on the CPU backend this is the share of RAM reserved for the KV cache
           "--gpu-memory-utilization", "0.1"]
    # vLLM leaves its ZeroMQ sockets and torch.distributed file behind in the temporary directory:
    # give it the test's own; torch's compile cache stays where it is by default, shared by runs.
    env = {"TMPDIR": str(work), "TORCHINDUCTOR_CACHE_DIR": f"{tempfile.gettempdir()}/torchinductor_{getpass.getuser()}"}
    with serve(cmd, f"http://127.0.0.1:{port}/v1/models", work / "vllm.log", timeout=600, env=env):
        yield f"http://127.0.0.1:{port}/v1"


def generate_config(tmp: Path, url: str, mirror: Path) -> C.GenerateConfig:
    params = yaml.safe_load((ROOT / "tests/config/params.yaml").read_text())
    params["llms"]["smollm2-135m"].update(
        backend="openai", openai={"base_url": url, "model": "smollm2", "api_key_env": "SYNTHIR_TEST_KEY",
                                  "concurrency": 8, "timeout_s": 120, "max_retries": 2})
    cfg = slices.identity(params, "generate_pool", {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen",
                                                     "draw": "0"})
    cfg.update(max_scale=12)
    return C.from_json(C.GenerateConfig, cfg)


@pytest.fixture(scope="module")
def scifact(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    from synthir.retrieval.data import fetch_dataset

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["mirror"] = str(mirror)
    out = tmp_path_factory.mktemp("raw") / "scifact"
    w = {"dataset": "scifact"}
    fetch_dataset(C.from_json(C.FetchConfig, slices.identity(params, "fetch_dataset", w)), out, out.parent / "dl",
                  slices.record(params, "fetch_dataset", w))
    return out


def test_a_pool_generated_over_http_then_regenerated_with_zero_calls(vllm_url, scifact, tmp_path, mirror, monkeypatch):
    from synthir.retrieval.pools import build_pool

    monkeypatch.setenv("SYNTHIR_TEST_KEY", SECRET)
    cfg = generate_config(tmp_path, vllm_url, mirror)
    record = {"cache_dir": str(tmp_path / "cache")}
    pool1 = build_pool(cfg, scifact, None, tmp_path / "pool1", record)
    first = pool1.facts
    assert first["accepted"] >= 12 and pool1.volatile["calls.llm_calls"] == first["responses"]
    assert first["llm"]["backend"] == "openai" and first["llm"]["base_url"] == vllm_url
    again = build_pool(cfg, scifact, None, tmp_path / "pool2", record)
    assert again.volatile["calls.llm_calls"] == 0  # every call answered from the cache
    for name in first["shards"]:
        assert (tmp_path / "pool1" / name).read_bytes() == (tmp_path / "pool2" / name).read_bytes()
    # the key went out in the Authorization header only: never into the cache or the pool
    stored = [p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    stored += [p.read_text() for p in (tmp_path / "pool1").iterdir()]
    assert stored and not any(SECRET in s for s in stored)
    recs = io.read_jsonl(tmp_path / "pool1" / first["shards"][0])
    assert all(r["completion_tokens"] > 0 for r in recs)


def test_an_unreachable_endpoint_fails_after_retries_naming_the_url_not_the_key(tmp_path, mirror, monkeypatch):
    from synthir.generation.llm import make_backend
    from synthir.generation.llm.base import Message
    from synthir.generation.llm.http import HTTPBackendError

    monkeypatch.setenv("SYNTHIR_TEST_KEY", SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"
    cfg = generate_config(tmp_path, url, mirror)
    backend = make_backend(cfg.generator, None, cfg.compute)
    with pytest.raises(HTTPBackendError) as e:
        backend.generate([(Message("user", "hi"),)], cfg.generator.decoding, [0])
    assert url in str(e.value) and SECRET not in str(e.value)
