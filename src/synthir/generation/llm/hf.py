"""transformers backend: batched generation on CPU or GPU from a prepared model folder."""

from __future__ import annotations

import importlib.metadata
import os
import time
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.config import Compute, Decoding, GeneratorConfig
from synthir.generation.llm.base import Completion, Prompt
from synthir.generation.models import WEIGHTS_FILE


def render_plain(prompt: Prompt) -> str:
    """Completion-style rendering for models without a chat template (e.g. base models)."""
    return "\n\n".join(m.content for m in prompt)


def render_local(tokenizer: Any, chat: bool, prompt: Prompt) -> str:
    """The exact text a local backend feeds the model: the model's own chat template, or
    plain completion text when the alias has none. This text is what the cache key hashes."""
    if not chat:
        return render_plain(prompt)
    messages = [{"role": m.role, "content": m.content} for m in prompt]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def batch_layout(ids: list[list[int]], pad_id: int, share_prefix: bool = True) -> tuple[int, list[list[int]], list[list[int]]]:
    """Padded batch whose rows can share one key/value cache of their common prompt prefix.

    Returns ``(p, input_ids, attention_mask)``: ``p`` is the number of leading tokens every row
    shares (each row keeps at least one token of its own; 0 without ``share_prefix``), and each
    row is ``prefix + pads + rest``: padded after the shared prefix instead of in front of it.
    Position ids follow the attention mask (``generate`` takes its cumulative sum), so every
    real token keeps its unpadded position; with ``p == 0`` this is plain left padding.
    """
    p = min(len(os.path.commonprefix(ids)), min(map(len, ids)) - 1) if share_prefix else 0
    width = max(map(len, ids))
    rows = [x[:p] + [pad_id] * (width - len(x)) + x[p:] for x in ids]
    masks = [[1] * p + [0] * (width - len(x)) + [1] * (len(x) - p) for x in ids]
    return p, rows, masks


def generate_tokens(
    model: Any, ids: list[list[int]], pad_id: int, decoding: Decoding, device: str = "cpu", share_prefix: bool = True
) -> list[list[int]]:
    """New token ids for each prompt (up to ``max_new_tokens``, pads after an early stop)."""
    import torch

    shared, rows, masks = batch_layout(ids, pad_id, share_prefix)
    input_ids = torch.tensor(rows, device=device)
    sample = decoding.temperature > 0
    with torch.inference_mode():
        cache = None
        if shared:
            cache = model(input_ids[:1, :shared], use_cache=True).past_key_values
            cache.batch_repeat_interleave(len(ids))
        out = model.generate(
            input_ids=input_ids,
            attention_mask=torch.tensor(masks, device=device),
            past_key_values=cache,
            max_new_tokens=decoding.max_new_tokens,
            do_sample=sample,
            temperature=decoding.temperature if sample else None,
            top_p=decoding.top_p if sample else None,
            top_k=None,
            pad_token_id=pad_id,
        )
    return out[:, input_ids.shape[1]:].tolist()


class TransformersBackend:
    """Batched ``generate`` that computes the batch's shared prompt prefix once.

    Prompts of one strategy share their system message and few-shot exemplars (129 of ~205
    tokens in the default qgen prompt), and on CPU the prompt's forward pass is most of the
    time (measured: 13.7 of 18.4 s for 64 prompts). The shared prefix is run once per batch at
    batch size 1 and its key/value cache repeated over the rows; only the rest of each prompt
    is run batched (transformers' documented prefix-cache reuse, with a batch). In float32 the
    outputs equal those of plain left padding; bf16 weights on CPU halve the time of fp32.
    """

    #: in bf16 a batch's padding and shape change some greedy tokens (docs/benchmarks.md)
    batch_invariant = False

    def __init__(self, cfg: GeneratorConfig, model_dir: Path, compute: Compute) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.cfg = cfg
        dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[cfg.dtype]
        self.device = compute.device
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # Loaded on the first cache miss: a fully cached re-run needs only the tokenizer.
        self._load = lambda: AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(self.device).eval()
        self._model: Any = None
        meta = io.read_json(model_dir / WEIGHTS_FILE)  # synthir.generation.models.llm_weights' folder
        self._identity = {
            "backend": "transformers",
            "backend_version": importlib.metadata.version("transformers"),
            "torch": importlib.metadata.version("torch"),
            "model": cfg.alias,
            "weights_sha256": meta["weights_sha256"],
            "dtype": cfg.dtype,
            "device": self.device,
            # the kernels that computed it: x86-64-v3 for every portable build, else the CPU
            # class or GPU model (synthir.core.numerics); a cache shared by two CPUs never mixes them
            "platform": compute.platform,
            # a batch's outputs depend on its composition in bf16: the batch size and the
            # layout that forms batches are part of what produced a cached completion
            "batch_size": cfg.batch_size,
            "batching": "shared-prefix-kv",
        }

    def identity(self) -> dict[str, Any]:
        return self._identity

    def render(self, prompt: Prompt) -> str:
        return render_local(self.tokenizer, self.cfg.chat, prompt)

    def generate(self, prompts: list[Prompt], decoding: Decoding, seeds: list[int]) -> list[Completion]:
        import torch

        ids = [self.tokenizer(self.render(p), add_special_tokens=False).input_ids for p in prompts]
        start = time.perf_counter()
        if decoding.temperature > 0:
            # transformers samples from one generator per batch: seed it from the items' seeds
            # so a batch is reproducible (batches are fixed chunks, see synthir.generation.engine).
            torch.manual_seed(int(io.sha256_json(seeds)[:8], 16))
        if self._model is None:
            self._model = self._load()
        new = generate_tokens(self._model, ids, self.tokenizer.pad_token_id, decoding, self.device)
        per_item = (time.perf_counter() - start) / len(prompts)
        eos = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        results = []
        for i in range(len(prompts)):
            tokens = new[i]
            n = next((j for j, t in enumerate(tokens) if t in eos), len(tokens))
            results.append(
                Completion(
                    text=self.tokenizer.decode(tokens[:n], skip_special_tokens=True),
                    prompt_tokens=len(ids[i]),
                    completion_tokens=n,
                    seconds=per_item,
                )
            )
        return results
