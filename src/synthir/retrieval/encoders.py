"""Loading a sentence-transformers encoder the one way every job does, and naming its towers.

A trained model with ``tower: query`` is a ``Router``: a trainable query tower and the base's
frozen passage tower. A corpus index is the passage tower's embeddings of a corpus, so an index
is only valid for a model whose passage tower has the weights that built it: every index
records the digest of that tower (:func:`module_digest` over its parameters), and evaluation
refuses an index built by other weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, NamedTuple

from synthir.core.config import Compute, Encoding


class Encoder(NamedTuple):
    model: Any  # a SentenceTransformer, cast to the encoding's dtype
    passage_tower_sha256: str  # of its passage tower's weights as stored (before the cast)


def module_digest(module: Any) -> str:
    """sha256 over a module's parameters and buffers (names, dtypes, shapes, bytes)."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def document_tower(model: Any) -> Any:
    """The module that encodes passages: the Router's document route, or the whole model."""
    from sentence_transformers.sentence_transformer.modules import Router

    first = model[0]
    return first.sub_modules["document"] if isinstance(first, Router) else model


def load_encoder(model_dir: Path, encoding: Encoding, compute: Compute) -> Encoder:
    """The encoder in ``model_dir`` on the configured device, truncating at the encoding's
    length, in its dtype; with the digest of its passage tower."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device=compute.device)
    model.max_seq_length = encoding.max_seq_length
    digest = module_digest(document_tower(model))
    if encoding.dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    return Encoder(model, digest)
