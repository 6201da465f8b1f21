"""Fine-tuning a dual encoder on a synthetic training set (sentence-transformers trainer)."""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.config import TrainConfig
from synthir.retrieval.encoders import document_tower, module_digest
from synthir.core.provenance import Artifact

log = logging.getLogger(__name__)

#: The shapes a training set can take, by the optional field its rows carry, and the loss each
#: shape trains with. Column order is set here, never inferred from a file (ST #2791).
SHAPES: dict[str, tuple[tuple[str, ...], str]] = {
    "pairs": (("query", "positive"), "MultipleNegativesRankingLoss"),  # InfoNCE, in-batch negatives
    "triplets": (("query", "positive", "negative"), "MultipleNegativesRankingLoss"),  # + a hard negative
    "multi_positive": (("query", "positives"), "DisjInfoNCELoss"),  # utility labels (2504.05220)
    "expansion": (("query", "positive", "expansion"), "SoftQELoss"),  # q2d sets (2402.12663)
}


def shape_of(row: dict[str, object], where: str = "row") -> str:
    extra = {"negative", "positives", "expansion"} & set(row)
    if not extra:
        return "pairs"
    if len(extra) > 1:
        raise io.DataFormatError(f"{where}: fields {sorted(extra)} cannot be combined in one training set")
    return {"negative": "triplets", "positives": "multi_positive", "expansion": "expansion"}[extra.pop()]


def _check_text(value: object, where: str, col: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise io.DataFormatError(f"{where}: '{col}' must be a non-empty string, got {type(value).__name__}")


def load_training_set(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Read and validate ``train.jsonl``: its shape (see SHAPES) and every row's fields of it.

    Guards against two known traps (sentence-transformers #2791, FlagEmbedding #1388): a list or a number where a string belongs would be
    silently turned into characters or tokens by the collator, and a string where a list of
    positives belongs would be iterated character by character.
    """
    rows: list[dict[str, Any]] = []
    shape: str | None = None
    for lineno, row in io.iter_jsonl(path):
        where = f"{path}:{lineno}"
        here = shape_of(row, where)
        if shape is None:
            shape = here
        elif here != shape:
            raise io.DataFormatError(f"{where}: a {here} row in a {shape} training set (the first row's)")
        columns = SHAPES[shape][0]
        for col in columns:
            if col == "positives":
                value = row.get(col)
                if not isinstance(value, list) or not value:
                    raise io.DataFormatError(f"{where}: 'positives' must be a non-empty list of strings, "
                                             f"got {type(value).__name__}")
                for item in value:
                    _check_text(item, where, "positives[]")
            else:
                _check_text(row.get(col), where, col)
        rows.append({col: row[col] for col in columns})
    if len(rows) < 2:
        raise io.DataFormatError(f"{path}: a training set needs at least 2 rows, found {len(rows)}")
    assert shape is not None
    return shape, rows


def duplicate_positive_rate(rows: list[dict[str, str]], batch_size: int) -> float:
    """Fraction of rows whose positive also appears earlier in the same sequential batch:
    what in-batch false negatives would be without duplicate-aware batching."""
    dup = 0
    for i in range(0, len(rows), batch_size):
        counts = Counter(p for r in rows[i : i + batch_size] for p in (r["positives"] if "positives" in r else [r["positive"]]))
        dup += sum(c - 1 for c in counts.values())
    return dup / len(rows)


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
    return SentenceTransformer(modules=[router], device=device), {"anchor": "query"}


def training_columns(shape: str, rows: list[dict[str, Any]], cfg: TrainConfig,
                     teacher: Any | None) -> dict[str, list[Any]]:
    """The trainer's dataset columns for a shape: anchor first, candidates next, ``label`` last
    (the positive count for Disj-InfoNCE, the teacher embedding for SoftQE)."""
    q, p = cfg.query_prefix, cfg.passage_prefix
    cols: dict[str, list[Any]] = {"anchor": [q + r["query"] for r in rows]}
    if shape == "multi_positive":
        width = max(len(r["positives"]) for r in rows)
        for j in range(width):
            # padding repeats the row's first positive: masked by the loss, and the
            # no-duplicates sampler only compares texts across rows
            cols[f"positive_{j}"] = [p + (r["positives"][j] if j < len(r["positives"]) else r["positives"][0])
                                     for r in rows]
        cols["label"] = [len(r["positives"]) for r in rows]
        return cols
    cols["positive"] = [p + r["positive"] for r in rows]
    if shape == "triplets":
        cols["negative"] = [p + r["negative"] for r in rows]
    if shape == "expansion":
        assert teacher is not None
        expanded = [q + r["query"] + " " + r["expansion"] for r in rows]
        cols["label"] = teacher.encode_query(expanded, batch_size=64, convert_to_numpy=True).tolist()
    return cols


def make_loss(shape: str, model: Any, cfg: TrainConfig) -> Any:
    from sentence_transformers.sentence_transformer import losses

    from synthir.retrieval.losses import DisjInfoNCELoss, SoftQELoss

    name = SHAPES[shape][1]
    if name == "DisjInfoNCELoss":
        return DisjInfoNCELoss(model)
    if name == "SoftQELoss":
        if cfg.distill_weight is None:
            raise ValueError("an expansion (q2d) training set needs training.distill_weight")
        return SoftQELoss(model, weight=cfg.distill_weight)
    return losses.MultipleNegativesRankingLoss(model)


def fit(model: Any, data: Any, loss: Any, cfg: TrainConfig, router_mapping: dict[str, str] | None) -> tuple[Any, float]:
    """Run sentence-transformers' trainer with the recipe in ``cfg``; (its result, seconds)."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers import set_seed

    set_seed(cfg.seed)
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            num_train_epochs=cfg.epochs,
            max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            warmup_ratio=cfg.warmup_ratio,
            bf16=cfg.bf16,
            use_cpu=cfg.compute.device == "cpu",
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            seed=cfg.seed,
            data_seed=cfg.seed,
            save_strategy="no",
            report_to="none",  # tracking is the sync rule's job, never the trainer's
            logging_steps=max(1, len(data) // cfg.batch_size // 5),
            dataloader_drop_last=False,
            # the anchor takes the query route; every other text column the document route
            router_mapping=(
                {c: ("query" if c == "anchor" else "document") for c in data.column_names if c != "label"}
                if router_mapping else {}
            ),
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
        start = time.perf_counter()
        result = trainer.train()
        return result, time.perf_counter() - start


def expansion_teacher(cfg: TrainConfig, base_dir: Path, rows: list[dict[str, Any]]) -> tuple[Any, float]:
    """SoftQE's teacher (2402.12663): the base fine-tuned by the same recipe to find each
    positive from its query followed by its expansion (query2doc's training). The student then
    learns to place the bare query where this teacher places the expanded one. (The untouched
    base as teacher pulled a weak base's queries back to where it started.)"""
    from datasets import Dataset
    from sentence_transformers.sentence_transformer import losses

    teacher, router_mapping = build_model(base_dir, cfg.tower, cfg.compute.device)
    teacher.max_seq_length = cfg.max_seq_length
    expanded = [{"query": r["query"] + " " + r["expansion"], "positive": r["positive"]} for r in rows]
    data = Dataset.from_dict(training_columns("pairs", expanded, cfg, teacher=None))
    _, seconds = fit(teacher, data, losses.MultipleNegativesRankingLoss(teacher), cfg, router_mapping)
    return teacher, seconds


def train_retriever(cfg: TrainConfig, base_dir: Path, train_path: Path, out_dir: Path) -> Artifact:
    """Fine-tune ``base_dir`` on a training set with its shape's loss (SHAPES: InfoNCE with
    in-batch and optional hard negatives, the loss of DAGR and InPars-style studies;
    Disj-InfoNCE; SoftQE with a teacher trained on the expanded queries first) and the
    no-duplicates batch sampler; save to ``out_dir``. ``max_steps`` (when set) fixes the
    optimizer steps instead of epochs."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers import set_seed

    set_seed(cfg.seed)
    shape, rows = load_training_set(train_path)
    device = cfg.compute.device
    base = SentenceTransformer(str(base_dir), device=device)  # the untouched base: its document tower's digest
    base_doc_digest = module_digest(base)
    teacher, teacher_seconds = expansion_teacher(cfg, base_dir, rows) if shape == "expansion" else (None, 0.0)
    model, router_mapping = build_model(base_dir, cfg.tower, device)
    model.max_seq_length = cfg.max_seq_length
    data = Dataset.from_dict(training_columns(shape, rows, cfg, teacher=teacher))
    loss = make_loss(shape, model, cfg)
    result, seconds = fit(model, data, loss, cfg, router_mapping)
    # no model card: it records the training time and the Python version (meta.json has the rest)
    model.save(str(out_dir), create_model_card=False)
    doc_digest = module_digest(document_tower(model))
    if cfg.tower == "query" and doc_digest != base_doc_digest:
        raise RuntimeError("the frozen document tower changed during training; its index is stale")
    return Artifact(
        kind="model", meta=out_dir / "meta.json",
        inputs={"base": base_dir / "meta.json", "train": train_path.parent / "meta.json"},
        outputs={"model": out_dir},
        facts={
            "tower": cfg.tower,
            "document_tower_sha256": doc_digest,
            "document_tower_is_base": doc_digest == base_doc_digest,
            "examples": len(rows),
            "steps": int(result.global_step),
            "schedule": {"epochs": cfg.epochs} if cfg.max_steps is None else {"max_steps": cfg.max_steps},
            # CPU kernels reduce in a thread-count-dependent order: an exact rebuild needs this value
            "torch_threads": torch.get_num_threads(),
            "train_loss": round(float(result.training_loss), 6),
            "shape": shape,
            "loss": SHAPES[shape][1],
            "loss_config": loss.get_config_dict(),
            # SoftQE: whose embeddings of the expanded queries the student was distilled towards
            "teacher": "base fine-tuned on query + expansion" if teacher is not None else None,
            "hard_negatives": shape == "triplets",
            "columns": list(data.column_names),
            "batch_sampler": BatchSamplers.NO_DUPLICATES.value,
            "duplicate_positive_rate_sequential": round(duplicate_positive_rate(rows, cfg.batch_size), 6),
            "weights_sha256": io.sha256_tree(out_dir),
        },
        volatile={"training_seconds": seconds, "teacher_training_seconds": teacher_seconds},
    )
