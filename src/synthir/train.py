"""Fine-tuning a dual encoder on a synthetic training set (sentence-transformers trainer)."""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from synthir import io
from synthir.config import TrainConfig

log = logging.getLogger(__name__)

#: Columns of a training set, in the order MultipleNegativesRankingLoss reads them
#: (anchor, positive[, negative]); the order is set here, never inferred from a file (ST #2791).
COLUMNS = ("query", "positive")
OPTIONAL = ("negative",)  # a mined hard negative (strategies with `negatives`)


def load_training_set(path: Path) -> list[dict[str, str]]:
    """Read and validate ``train.jsonl``: every row has non-empty string query and positive.

    Guards against the traps in STYLE.md: a list or a number where a string belongs would be
    silently turned into characters or tokens by the collator.
    """
    rows = []
    columns: tuple[str, ...] | None = None
    for lineno, row in io.iter_jsonl(path):
        present = (*COLUMNS, *(c for c in OPTIONAL if c in row))
        if columns is None:
            columns = present
        elif present != columns:
            raise io.DataFormatError(f"{path}:{lineno}: columns {list(present)} differ from the first row's {list(columns)}")
        for col in columns:
            value = row.get(col)
            if not isinstance(value, str) or not value.strip():
                raise io.DataFormatError(f"{path}:{lineno}: '{col}' must be a non-empty string, got {type(value).__name__}")
        rows.append({col: row[col] for col in columns})
    if len(rows) < 2:
        raise io.DataFormatError(f"{path}: a training set needs at least 2 rows, found {len(rows)}")
    return rows


def duplicate_positive_rate(rows: list[dict[str, str]], batch_size: int) -> float:
    """Fraction of rows whose positive also appears earlier in the same sequential batch:
    what in-batch false negatives would be without duplicate-aware batching."""
    dup = 0
    for i in range(0, len(rows), batch_size):
        counts = Counter(r["positive"] for r in rows[i : i + batch_size])
        dup += sum(c - 1 for c in counts.values())
    return dup / len(rows)


def module_digest(module: Any) -> str:
    """sha256 over a module's parameters and buffers (names, dtypes, shapes, bytes)."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def build_model(base_dir: Path, tower: str, device: str | None) -> tuple[Any, dict[str, str] | None]:
    """The model to train and, for ``tower == "query"``, the router mapping of the columns.

    query: a Router with a trainable query tower and a frozen copy of the base as document
    tower, so the trained model's passage embeddings are exactly the base's (its corpus index
    is reused). shared: the base itself, one encoder for both sides."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    if tower == "shared":
        return SentenceTransformer(str(base_dir), device=device), None
    query = SentenceTransformer(str(base_dir), device=device)
    document = SentenceTransformer(str(base_dir), device=device)
    document.requires_grad_(False)
    router = Router.for_query_document(query_modules=list(query), document_modules=list(document))
    mapping = {"anchor": "query", "positive": "document", "negative": "document"}
    return SentenceTransformer(modules=[router], device=device), mapping


def document_tower(model: Any) -> Any:
    """The module that encodes passages: the Router's document route, or the whole model."""
    from sentence_transformers.sentence_transformer.modules import Router

    first = model[0]
    return first.sub_modules["document"] if isinstance(first, Router) else model


def train_retriever(cfg: TrainConfig, base_dir: Path, train_path: Path, out_dir: Path, threads: int) -> dict[str, Any]:
    """Fine-tune ``base_dir`` with MultipleNegativesRankingLoss (InfoNCE with in-batch
    negatives, van den Oord et al. 2018; the loss DAGR and InPars-style studies use) and the
    no-duplicates batch sampler; save to ``out_dir``."""
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses,
    )
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers import set_seed

    torch.set_num_threads(threads)
    set_seed(cfg.seed)
    rows = load_training_set(train_path)
    data = Dataset.from_dict({
        "anchor": [cfg.query_prefix + r["query"] for r in rows],
        "positive": [cfg.passage_prefix + r["positive"] for r in rows],
        # MultipleNegativesRankingLoss takes a third column as one extra hard negative per anchor
        **({"negative": [cfg.passage_prefix + r["negative"] for r in rows]} if "negative" in rows[0] else {}),
    })
    device = None if torch.cuda.is_available() else "cpu"
    model, router_mapping = build_model(base_dir, cfg.tower, device)
    model.max_seq_length = cfg.max_seq_length
    base_doc_digest = module_digest(SentenceTransformer(str(base_dir), device="cpu"))
    loss = losses.MultipleNegativesRankingLoss(model)
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            num_train_epochs=cfg.epochs,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            warmup_ratio=cfg.warmup_ratio,
            bf16=cfg.bf16,
            use_cpu=not torch.cuda.is_available(),
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            seed=cfg.seed,
            data_seed=cfg.seed,
            save_strategy="no",
            report_to="none",  # tracking is the sync rule's job, never the trainer's
            logging_steps=max(1, len(rows) // cfg.batch_size // 5),
            dataloader_drop_last=False,
            router_mapping={c: t for c, t in (router_mapping or {}).items() if c in data.column_names},
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
        start = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - start
    model.save(str(out_dir))
    doc_digest = module_digest(document_tower(model))
    if cfg.tower == "query" and doc_digest != base_doc_digest:
        raise RuntimeError("the frozen document tower changed during training; its index is stale")
    return {
        "tower": cfg.tower,
        "document_tower_sha256": doc_digest,
        "document_tower_is_base": doc_digest == base_doc_digest,
        "examples": len(rows),
        "steps": int(result.global_step),
        # CPU kernels reduce in a thread-count-dependent order: an exact rebuild needs this value.
        "torch_threads": threads,
        "train_loss": round(float(result.training_loss), 6),
        "training_seconds": round(seconds, 2),
        "loss": "MultipleNegativesRankingLoss",
        "hard_negatives": "negative" in rows[0],
        "batch_sampler": BatchSamplers.NO_DUPLICATES.value,
        "duplicate_positive_rate_sequential": round(duplicate_positive_rate(rows, cfg.batch_size), 6),
        "weights_sha256": io.sha256_tree(out_dir),
    }
