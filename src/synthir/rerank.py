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
from typing import Any

from synthir import io
from synthir.bm25 import BM25Index
from synthir.config import RerankerConfig
from synthir.io import Document


def training_pairs(cfg: RerankerConfig, dataset_dir: Path) -> list[tuple[str, str, float]]:
    """(query, passage, label) for the labelled split: positives, then BM25 negatives."""
    corpus = io.read_corpus(dataset_dir / "corpus.jsonl")
    queries = io.read_queries(dataset_dir / "queries.jsonl")
    qrels = io.read_qrels(dataset_dir / "qrels" / f"{cfg.train_split}.tsv")
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


def train_reranker(cfg: RerankerConfig, encoder_dir: Path, dataset_dir: Path, out_dir: Path, threads: int) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments, losses,
    )
    from transformers import set_seed

    torch.set_num_threads(threads)
    set_seed(cfg.seed)
    pairs = training_pairs(cfg, dataset_dir)
    model = CrossEncoder(str(encoder_dir), num_labels=1, max_length=cfg.max_length, device="cpu"
                         if not torch.cuda.is_available() else None)
    data = Dataset.from_dict({"query": [p[0] for p in pairs], "passage": [p[1] for p in pairs],
                              "label": [p[2] for p in pairs]})
    with tempfile.TemporaryDirectory() as tmp:
        args = CrossEncoderTrainingArguments(
            output_dir=tmp, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, warmup_ratio=0.1, seed=cfg.seed, data_seed=cfg.seed,
            save_strategy="no", report_to="none", use_cpu=not torch.cuda.is_available(),
            logging_steps=max(1, len(pairs) // cfg.batch_size // 5),
        )
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data,
                                      loss=losses.BinaryCrossEntropyLoss(model))
        start = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - start
    model.save(str(out_dir))
    return {"pairs": len(pairs), "positives": int(sum(p[2] for p in pairs)), "steps": int(result.global_step),
            "train_loss": round(float(result.training_loss), 6), "training_seconds": round(seconds, 2),
            "torch_threads": threads, "loss": "BinaryCrossEntropyLoss", "weights_sha256": io.sha256_tree(out_dir)}


def rerank(reranker_dir: Path, corpus: dict[str, Document], queries: dict[str, str],
           candidates: dict[str, list[str]], max_length: int, batch_size: int = 64) -> dict[str, dict[str, float]]:
    """Sigmoid score of every (query, candidate passage) pair."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    model = CrossEncoder(str(reranker_dir), max_length=max_length, device="cuda" if torch.cuda.is_available() else "cpu")
    pairs = [(q, d) for q in queries for d in candidates.get(q, [])]
    scores = model.predict([(queries[q], corpus[d].full_text()) for q, d in pairs], batch_size=batch_size,
                           activation_fn=torch.nn.Sigmoid(), convert_to_numpy=True, show_progress_bar=False)
    out: dict[str, dict[str, float]] = {q: {} for q in queries}
    for (q, d), s in zip(pairs, scores):
        out[q][d] = float(s)
    return out
