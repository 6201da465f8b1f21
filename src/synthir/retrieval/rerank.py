"""A cross-encoder for ``ce`` hard negatives (2504.21015 compares cross-encoder-mined negatives
with LLM-written ones). Offline there is no pre-trained MS MARCO cross-encoder, so one is
fine-tuned here from the packaged encoder's transformer on the training dataset's labelled
split: every (query, relevant passage) pair as 1 and BM25-ranked non-relevant passages as 0,
binary cross-entropy, with sentence-transformers' CrossEncoder trainer. Scores are sigmoid
probabilities, so the miner's score-ratio guard compares like with like."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from synthir.core import io
from synthir.retrieval.bm25 import BM25Index
from synthir.core.config import Compute, RerankerConfig
from synthir.core.io import Document
from synthir.core.provenance import Artifact


def training_pairs(cfg: RerankerConfig, dataset_dir: Path) -> list[tuple[str, str, float]]:
    """(query, passage, label) for the labelled split: positives, then BM25 negatives."""
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    queries = io.read_queries(dataset_dir / "queries.jsonl")
    qrels = io.read_split(dataset_dir, cfg.train_split)
    labelled = {q: {d for d, g in docs.items() if g > 0 and d in corpus} for q, docs in sorted(qrels.items())
                if q in queries}
    labelled = {q: docs for q, docs in labelled.items() if docs}
    run = BM25Index(cfg.bm25, corpus).search({q: queries[q].text for q in labelled},
                                             cfg.negatives_per_query + max(map(len, labelled.values())))
    pairs: list[tuple[str, str, float]] = []
    for q, docs in labelled.items():
        pairs += [(queries[q].text, corpus[d].full_text(), 1.0) for d in sorted(docs)]
        ranked = [d for d, _ in sorted(run.get(q, {}).items(), key=lambda kv: (-kv[1], kv[0])) if d not in docs]
        pairs += [(queries[q].text, corpus[d].full_text(), 0.0) for d in ranked[: cfg.negatives_per_query]]
    random.Random(cfg.seed).shuffle(pairs)
    return pairs


def train_reranker(cfg: RerankerConfig, encoder_dir: Path, dataset_dir: Path, out_dir: Path) -> Artifact:
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments, losses,
    )
    from transformers import set_seed

    set_seed(cfg.seed)
    pairs = training_pairs(cfg, dataset_dir)
    model = CrossEncoder(str(encoder_dir), num_labels=1, max_length=cfg.max_length, device=cfg.compute.device)
    data = Dataset.from_dict({"query": [p[0] for p in pairs], "passage": [p[1] for p in pairs],
                              "label": [p[2] for p in pairs]})
    with tempfile.TemporaryDirectory() as tmp:
        args = CrossEncoderTrainingArguments(
            output_dir=tmp, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, warmup_ratio=0.1, seed=cfg.seed, data_seed=cfg.seed,
            save_strategy="no", report_to="none", use_cpu=cfg.compute.device == "cpu",
            logging_steps=max(1, len(pairs) // cfg.batch_size // 5),
        )
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data,
                                      loss=losses.BinaryCrossEntropyLoss(model))
        start = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - start
    # no model card: it records the training time and the Python version (meta.json has the rest)
    model.save(str(out_dir), create_model_card=False)
    return Artifact(
        kind="reranker", meta=out_dir / "meta.json",
        inputs={"encoder": encoder_dir / "meta.json", "dataset": dataset_dir / "meta.json"},
        outputs={"model": out_dir},
        facts={"pairs": len(pairs), "positives": int(sum(p[2] for p in pairs)), "steps": int(result.global_step),
               "train_loss": round(float(result.training_loss), 6), "loss": "BinaryCrossEntropyLoss",
               "torch_threads": torch.get_num_threads(), "weights_sha256": io.sha256_tree(out_dir)},
        volatile={"training_seconds": seconds},
    )


def rerank(reranker_dir: Path, corpus: dict[str, Document], queries: dict[str, str],
           candidates: dict[str, list[str]], max_length: int, compute: Compute) -> dict[str, dict[str, float]]:
    """Sigmoid score of every (query, candidate passage) pair, one query's candidates per batch
    (a query's scores do not depend on the other queries of the set)."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    model = CrossEncoder(str(reranker_dir), max_length=max_length, device=compute.device)
    out: dict[str, dict[str, float]] = {}
    for q, text in queries.items():
        docs = candidates.get(q, [])
        scores = model.predict([(text, corpus[d].full_text()) for d in docs], batch_size=max(1, len(docs)),
                               activation_fn=torch.nn.Sigmoid(), convert_to_numpy=True,
                               show_progress_bar=False) if docs else []
        out[q] = {d: float(s) for d, s in zip(docs, scores)}
    return out
