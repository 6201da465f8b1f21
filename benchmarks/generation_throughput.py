"""Generation throughput on this machine: synthir's backends against a naive loop.

The same qgen prompts (SciFact passages, the default study's prompt and decoding) go through
  * naive: one prompt at a time through ``model.generate`` (InPars' default loop),
  * transformers: synthir's backend (batches of ``batch_size``, bf16, the batch's shared prompt
    prefix run once), and the same batches with plain left padding, to show what sharing adds,
  * openai: synthir's HTTP backend, if ``--openai-url`` names a running OpenAI-compatible server,
  * vllm: synthir's offline vLLM backend (`backend: vllm`), run by ``--vllm-python`` (the
    environment scripts/setup-vllm.sh builds: vLLM pins its own torch) on the same prompts.
Prints prompts/s, completion tokens/s and the ratio to the naive loop, plus how often the
greedy outputs agree with the naive loop's (padding can change a greedy token in bf16).

    python benchmarks/generation_throughput.py [--llm smollm2-135m] [--prompts 64] \
        [--vllm-python .venv-vllm/bin/python] [--openai-url http://127.0.0.1:8000/v1]

Needs the prepared LLM and the raw data set; it builds them with Snakemake if missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from synthir.core import config as C
from synthir.core import io, numerics, paths
from synthir.workflow import slices
from synthir.generation.llm.hf import TransformersBackend, generate_tokens, render_local
from synthir.generation.strategy import strategy_class
from synthir.retrieval.strategies.base import StrategyInputs

ROOT = Path(__file__).resolve().parents[1]


def naive_loop(backend: TransformersBackend, prompts: list, max_new_tokens: int) -> tuple[float, list[str], int]:
    """One ``generate`` call per prompt, no padding, no batching."""
    import torch

    if backend._model is None:
        backend._model = backend._load()
    tok, model = backend.tokenizer, backend._model
    texts, tokens = [], 0
    start = time.perf_counter()
    for p in prompts:
        enc = tok(render_local(tok, backend.cfg.chat, p), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        n = next((j for j, t in enumerate(new) if t in {tok.eos_token_id, tok.pad_token_id}), len(new))
        texts.append(tok.decode(new[:n], skip_special_tokens=True))
        tokens += n
    return time.perf_counter() - start, texts, tokens


def batched(backend, prompts: list, decoding, batch_size: int) -> tuple[float, list[str], int]:
    texts, tokens = [], 0
    start = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        chunk = prompts[i:i + batch_size]
        outs = backend.generate(chunk, decoding, list(range(i, i + len(chunk))))
        texts += [o.text for o in outs]
        tokens += sum(o.completion_tokens for o in outs)
    return time.perf_counter() - start, texts, tokens


def left_padded(backend: TransformersBackend, prompts: list, decoding, batch_size: int) -> tuple[float, list[str], int]:
    """Batches as synthir forms them, every prompt run in full (no shared prefix)."""
    tok = backend.tokenizer
    texts, tokens = [], 0
    start = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        ids = [tok(backend.render(p), add_special_tokens=False).input_ids for p in prompts[i:i + batch_size]]
        for new in generate_tokens(backend._model, ids, tok.pad_token_id, decoding, share_prefix=False):
            n = next((j for j, t in enumerate(new) if t in {tok.eos_token_id, tok.pad_token_id}), len(new))
            texts.append(tok.decode(new[:n], skip_special_tokens=True))
            tokens += n
    return time.perf_counter() - start, texts, tokens


def run_vllm(python: str, gen, model_dir: Path, compute, prompts: list, batch: int) -> tuple[float, list[str], int]:
    """``batched`` through synthir's VLLMBackend, in the vLLM environment's own process."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"generator": dataclasses.asdict(gen), "compute": dataclasses.asdict(compute),
                                    "model_dir": str(model_dir), "prompts": prompts, "batch": batch}))
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        r = subprocess.run([python, __file__, "--vllm-worker", str(spec)], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"vllm worker failed:\n{r.stderr[-3000:]}")
        out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["seconds"], out["texts"], out["tokens"]


def vllm_worker(spec_path: str) -> None:
    from synthir.generation.llm.base import Message
    from synthir.generation.llm.vllm_offline import VLLMBackend

    spec = json.loads(Path(spec_path).read_text())
    gen = C.from_json(C.GeneratorConfig, spec["generator"])
    backend = VLLMBackend(gen, Path(spec["model_dir"]), C.from_json(C.Compute, spec["compute"]))
    prompts = [tuple(Message(*m) for m in p) for p in spec["prompts"]]
    batched(backend, prompts[:2], gen.decoding, 2)  # warm-up, as for the other backends
    seconds, texts, tokens = batched(backend, prompts, gen.decoding, spec["batch"])
    print(json.dumps({"seconds": seconds, "texts": texts, "tokens": tokens}))


def main() -> None:
    if sys.argv[1:2] == ["--vllm-worker"]:
        return vllm_worker(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llm", default="smollm2-135m")
    ap.add_argument("--dataset", default="scifact")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="default: llms.<llm>.batch_size")
    ap.add_argument("--openai-url", default=None, help="base URL of an OpenAI-compatible server")
    ap.add_argument("--openai-model", default=None)
    ap.add_argument("--vllm-python", default=None, help="python of the vLLM environment (.venv-vllm/bin/python)")
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    manifest = ROOT / paths.cell_dir("data/prepared", model=a.llm)
    data_dir = ROOT / paths.cell_dir("data/raw", dataset=a.dataset)
    if not (manifest / "meta.json").is_file() or not (data_dir / "meta.json").is_file():
        subprocess.run([sys.executable, "-m", "snakemake", "-j2", str(manifest / "meta.json"),
                        str(data_dir / "meta.json")], cwd=ROOT, check=True)
    from synthir.generation.models import llm_weights

    model_dir = llm_weights(manifest, ROOT / params["cache_dir"])  # the transformers folder
    params["study"]["augmenters"] = [a.llm]
    cfg = C.from_json(C.GenerateConfig, slices.identity(params, "generate_pool",
                                                         {"dataset": a.dataset, "augmenter": a.llm, "strategy": "qgen",
                                                          "draw": "0"}))
    # native numerics: the benchmark compares the backends at this CPU's own speed (bf16 where it has it)
    compute = C.Compute(threads=a.threads, device="cpu", gpu=None, numerics="native",
                        platform=numerics.platform("native", "cpu"))
    split = cfg.train_split
    inputs = StrategyInputs(io.read_corpus(data_dir / "corpus.jsonl"), io.read_queries(data_dir / "queries.jsonl"),
                            io.read_split(data_dir, split), cfg.strategy.seed)
    strategy = strategy_class("qgen")(cfg.strategy, inputs)
    prompts = [r.prompt for _, r in zip(range(a.prompts), strategy.requests())]
    gen = cfg.generator
    dec = gen.decoding
    backend = TransformersBackend(gen, model_dir, compute)
    batched(backend, prompts[:2], dec, 2)  # warm-up: load weights, first-call overheads

    rows = []
    seconds, naive_texts, tokens = naive_loop(backend, prompts, dec.max_new_tokens)
    rows.append(("naive loop (1 prompt/call)", seconds, tokens, naive_texts))
    size = a.batch_size or gen.batch_size
    seconds, texts, tokens = batched(backend, prompts, dec, size)
    rows.append((f"synthir transformers (batch {size})", seconds, tokens, texts))
    seconds, texts, tokens = left_padded(backend, prompts, dec, size)
    rows.append(("  same batches, left padding only", seconds, tokens, texts))
    if a.openai_url:
        from synthir.generation.llm.http import OpenAIBackend

        ocfg = dataclasses.replace(gen, backend="openai", openai=C.OpenAIEndpoint(
            base_url=a.openai_url, model=a.openai_model or a.llm, api_key_env=None,
            concurrency=8, timeout_s=120, max_retries=3))
        seconds, texts, tokens = batched(OpenAIBackend(ocfg, None), prompts, dec, len(prompts))
        rows.append(("synthir openai (HTTP, 8 concurrent)", seconds, tokens, texts))
    if a.vllm_python:
        seconds, texts, tokens = run_vllm(a.vllm_python, gen, model_dir, compute, prompts, len(prompts))
        rows.append(("synthir vllm (offline engine)", seconds, tokens, texts))

    base = rows[0][1]
    print(f"\n{len(prompts)} qgen prompts, {a.llm}, {dec.max_new_tokens} new tokens max, greedy, "
          f"{a.threads} threads, {gen.dtype}")
    print(f"{'':38} {'seconds':>8} {'prompts/s':>10} {'tokens/s':>9} {'speed-up':>9} {'= naive':>8}")
    for name, sec, tok, texts in rows:
        same = sum(x == y for x, y in zip(texts, naive_texts)) / len(texts)
        print(f"{name:38} {sec:8.1f} {len(prompts) / sec:10.2f} {tok / sec:9.1f} {base / sec:8.2f}x {same:8.0%}")


if __name__ == "__main__":
    main()
