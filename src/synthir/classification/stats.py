"""Diversity and fidelity of a labelled training set, the metrics of SynthesizRR (2405.10040,
section 4), each computed against gold examples of the task:

* ``self_bleu``: mean BLEU (1-4-grams, sacrebleu) of each example against the others (a seeded
  sample): lower is more diverse. The paper averages Self-BLEU over 1-5-grams (ProGen's script).
* ``entity_entropy``: Shannon entropy (nats) of the named entities the set mentions (spaCy's
  ``en_core_web_sm`` NER), over all entities and per entity type: higher is more diverse.
* ``mauve``: MAUVE (mauve-text) between gold and set, on the features of the packaged MiniLM
  encoder. The paper's values use gpt2-xl features: these are not comparable with them.
* ``label_preservation``: share of the set an oracle (logistic regression on the same features,
  trained on the gold sample) assigns to the intended label.
* ``label_cosine``: mean cosine similarity of each label's examples to the gold examples of the
  same label, averaged over labels (the paper uses all-mpnet-base-v2 features).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from synthir import self_bleu

from synthir.core import io
from synthir.classification.data import labels as read_labels
from synthir.classification.data import read_examples
from synthir.classification.students import embed
from synthir.core.config import ClassStatsConfig
from synthir.core.provenance import Artifact
from synthir.retrieval.quality import distinct_n


def entropy(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return max(0.0, -sum(c / total * math.log(c / total) for c in counts.values())) if total else 0.0


def entities(texts: list[str], ner: str) -> list[list[str]]:
    """Each text's named entities as ``TYPE:text`` (lower-cased)."""
    import spacy

    nlp = spacy.load(ner, disable=["parser", "lemmatizer"])
    return [[f"{e.label_}:{e.text.lower()}" for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]


def entity_entropy(per_text: list[list[str]]) -> dict[str, Any]:
    every = Counter(e for ents in per_text for e in ents)
    by_type: dict[str, Counter[str]] = {}
    for e, c in every.items():
        by_type.setdefault(e.partition(":")[0], Counter())[e] = c
    return {"entity_entropy": round(entropy(every), 6), "entities": sum(every.values()),
            "entity_entropy_by_type": {k: round(entropy(c), 6) for k, c in sorted(by_type.items())}}


def self_bleu_each(texts: list[str], sample: int, seed: int = 0) -> list[float]:
    """synthir.self_bleu.self_bleu_each rounded: per example, so the report can bootstrap it."""
    return [round(b, 4) for b in self_bleu.self_bleu_each(texts, sample, seed)]


def mauve_score(gold: np.ndarray, synthetic: np.ndarray, buckets: int | None, seed: int = 25) -> float | None:
    """MAUVE of the two feature sets; None below 2 examples a side (no clusters to compare)."""
    import mauve

    if len(gold) < 2 or len(synthetic) < 2:
        return None
    out = mauve.compute_mauve(p_features=gold, q_features=synthetic, num_buckets=buckets or "auto", seed=seed,
                              verbose=False)
    return round(float(out.mauve), 6)


def label_cosine(x: np.ndarray, y: list[str], gx: np.ndarray, gy: list[str]) -> float:
    """Mean over labels of the mean cosine between the set's and gold's examples of the label
    (embeddings are normalised, so it is the dot product of the two means)."""
    sims = []
    for lab in sorted(set(y) & set(gy)):
        a = x[[i for i, v in enumerate(y) if v == lab]].mean(0)
        b = gx[[i for i, v in enumerate(gy) if v == lab]].mean(0)
        sims.append(float(a @ b))
    return float(np.mean(sims)) if sims else 0.0


def class_stats(cfg: ClassStatsConfig, train_path: Path, dataset_dir: Path, encoder_dir: Path, out: Path) -> Artifact:
    """The statistics of one training set (``stats.json`` beside it)."""
    from sklearn.linear_model import LogisticRegression

    names = read_labels(dataset_dir)
    rows = io.read_jsonl(train_path)
    gold = read_examples(dataset_dir, cfg.gold_split)
    gold = random.Random(0).sample(gold, min(cfg.gold_sample, len(gold)))
    texts, y = [r["text"] for r in rows], [r["label"] for r in rows]
    gtexts, gy = [r["text"] for r in gold], [r["label"] for r in gold]
    x = embed(encoder_dir, texts, cfg.max_seq_length, cfg.compute)
    gx = embed(encoder_dir, gtexts, cfg.max_seq_length, cfg.compute)
    oracle = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(gx, [names.index(v) for v in gy])
    preserved = float(np.mean(oracle.predict(x) == np.array([names.index(v) for v in y])))
    bleu, gold_bleu = self_bleu_each(texts, cfg.self_bleu_sample), self_bleu_each(gtexts, cfg.self_bleu_sample)
    ents, gold_ents = entities(texts, cfg.ner), entities(gtexts, cfg.ner)
    stats: dict[str, Any] = {
        "rows": len(rows),
        "words_mean": round(float(np.mean([len(t.split()) for t in texts])), 3),
        "distinct_1": round(distinct_n(texts, 1), 6),
        "distinct_2": round(distinct_n(texts, 2), 6),
        "self_bleu": round(float(np.mean(bleu)), 6) if bleu else None,
        **entity_entropy(ents),
        "mauve": mauve_score(gx, x, cfg.mauve_buckets),
        "label_preservation": round(preserved, 6),
        "label_cosine": round(label_cosine(x, y, gx, gy), 6),
        "gold_reference": {"split": cfg.gold_split, "examples": len(gold),
                           "self_bleu": round(float(np.mean(gold_bleu)), 6) if gold_bleu else None,
                           "entity_entropy": entity_entropy(gold_ents)["entity_entropy"]},
        # per example, for the report's bootstrap intervals
        "per_example": {"self_bleu": bleu, "entities": ents},
    }
    return Artifact(kind="set_stats", meta=out, inputs={"train": train_path, "encoder": encoder_dir / "meta.json",
                                                        "dataset": dataset_dir / "meta.json"},
                    facts={"stats": stats})
