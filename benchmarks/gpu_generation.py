"""synthir's transformers backend on a GPU: throughput, reproducibility, agreement with the CPU.

Two steps, because the GPU machine may be a bare one without this project's environment:

    # here (the project's venv): the study's qgen prompts, rendered once
    python benchmarks/gpu_generation.py prompts --out prompts.json [--n 512]
    # there (torch, transformers, gguf; PYTHONPATH=src): the prepared SmolLM2 from its GGUF
    python benchmarks/gpu_generation.py run --gguf SmolLM2-135M-Instruct.Q4_1.gguf \
        --prompts prompts.json --manifest data/prepared/model~smollm2-135m/meta.json --out result.json

`run` materialises the GGUF as the study does (synthir.generation.models), checks whether the weights have
the digest the study's manifest records (another transformers version may dequantise
differently), then generates every prompt with the backend on cuda (the study's decoding:
greedy, 32 new tokens) at two batch sizes, twice each, and the first 64 prompts on the CPU too.
It prints and writes completion tokens/s, whether the two GPU runs gave identical texts, and how
many GPU texts equal the CPU's. vLLM's offline engine is not in it: see docs/status.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prompts(a: argparse.Namespace) -> None:
    import yaml

    from synthir.core import config as C
    from synthir.core import io, paths
    from synthir.workflow import slices
    from synthir.generation.strategy import strategy_class
    from synthir.retrieval.strategies.base import StrategyInputs

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    data = ROOT / paths.cell_dir("data/raw", dataset="scifact")
    cfg = C.from_json(C.GenerateConfig, slices.identity(
        params, "generate_pool", {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen", "draw": "0"}))
    inputs = StrategyInputs(io.read_corpus(data / "corpus.jsonl"), io.read_queries(data / "queries.jsonl"),
                            io.read_split(data, cfg.train_split), cfg.strategy.seed)
    requests = strategy_class("qgen")(cfg.strategy, inputs).requests()
    out = [[list(m) for m in r.prompt] for _, r in zip(range(a.n), requests)]
    Path(a.out).write_text(json.dumps({"generator": slices.generator(params, "smollm2-135m"), "prompts": out}))
    print(f"{a.out}: {len(out)} prompts")


def run(a: argparse.Namespace) -> None:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from synthir.core import config as C
    from synthir.core import io
    from synthir.generation.llm.base import Message
    from synthir.generation.llm.hf import TransformersBackend
    from synthir.generation.models import WEIGHTS_FILE, _save_causal_lm, _torch_dtype, _weights_digest

    if a.deterministic:  # PyTorch's reproducibility switches (cuBLAS needs its workspace fixed first)
        import os

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    spec = json.loads(Path(a.prompts).read_text())
    gen = C.from_json(C.GeneratorConfig, spec["generator"])
    prompts = [tuple(Message(*m) for m in p) for p in spec["prompts"]]
    folder = Path(a.work) / "smollm2"
    folder.mkdir(parents=True, exist_ok=True)
    gguf = Path(a.gguf)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=_torch_dtype(gen.dtype))
    _save_causal_lm(model, tok, folder, gen.dtype)
    digest = _weights_digest(folder)
    io.write_json(folder / WEIGHTS_FILE, {"weights_sha256": digest, "alias": gen.alias})
    recorded = io.read_json(a.manifest)["weights_sha256"] if a.manifest else None

    def timed(device: str, batch: int, items: list) -> tuple[float, list[str], int]:
        backend = TransformersBackend(gen, folder, C.Compute(threads=a.threads, device=device))
        backend.generate(items[:2], gen.decoding, [0, 1])  # load the weights, warm the kernels
        if device == "cuda":
            torch.cuda.synchronize()
        start, texts, tokens = time.perf_counter(), [], 0
        for i in range(0, len(items), batch):
            outs = backend.generate(items[i:i + batch], gen.decoding, list(range(i, i + batch)))
            texts += [o.text for o in outs]
            tokens += sum(o.completion_tokens for o in outs)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, texts, tokens

    result = {"deterministic_algorithms": a.deterministic, "gpu": torch.cuda.get_device_name(0) if a.device == "cuda" else None, "torch": torch.__version__,
              "transformers": transformers.__version__, "prompts": len(prompts),
              "max_new_tokens": gen.decoding.max_new_tokens, "dtype": gen.dtype,
              "weights_sha256": digest, "weights_sha256_study": recorded,
              "same_weights_as_study": digest == recorded if recorded else None, "rows": []}
    texts_by_batch = {}
    for batch in (gen.batch_size, a.big_batch):
        runs = [timed(a.device, batch, prompts) for _ in range(2)]
        texts_by_batch[batch] = runs[0][1]
        result["rows"].append({"device": a.device, "batch": batch, "seconds": [round(r[0], 3) for r in runs],
                               "completion_tokens": runs[0][2],
                               "tokens_per_s": round(runs[1][2] / runs[1][0], 1),
                               "identical_across_runs": runs[0][1] == runs[1][1]})
    n_cpu = min(64, len(prompts))
    cpu = timed("cpu", gen.batch_size, prompts[:n_cpu])
    result["rows"].append({"device": "cpu", "batch": gen.batch_size, "prompts": n_cpu, "seconds": round(cpu[0], 3),
                           "tokens_per_s": round(cpu[2] / cpu[0], 1),
                           "texts_equal_to_gpu_same_batch": sum(
                               x == y for x, y in zip(cpu[1], texts_by_batch[gen.batch_size][:n_cpu]))})
    result["gpu_batches_agree"] = sum(x == y for x, y in zip(*texts_by_batch.values()))
    text = json.dumps(result, indent=2)
    print(text)
    Path(a.out).write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prompts")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=512)
    r = sub.add_parser("run")
    r.add_argument("--gguf", required=True)
    r.add_argument("--prompts", required=True)
    r.add_argument("--manifest", default=None)
    r.add_argument("--out", required=True)
    # scratch space for the materialised model; benchmarks/out/ is ignored by git
    r.add_argument("--work", default="benchmarks/out/gpu-generation")
    r.add_argument("--threads", type=int, default=8)
    r.add_argument("--big-batch", type=int, default=256)
    r.add_argument("--device", default="cuda", help="cpu: try the script here")
    r.add_argument("--deterministic", action="store_true", help="torch.use_deterministic_algorithms(True)")
    a = ap.parse_args()
    (prompts if a.cmd == "prompts" else run)(a)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
