"""Student classifiers, the base checkpoints of a classification study.

* ``logreg``: logistic regression (scikit-learn, lbfgs) on the frozen, L2-normalised sentence
  embeddings of a packaged encoder: seconds to train, deterministic.
* ``finetune``: the encoder with a sequence-classification head (transformers), all weights
  trained with AdamW and a linear warm-up. A plain loop rather than transformers' Trainer: the
  Trainer would add checkpoint and logging I/O to a job that runs for a minute, and this loop
  fixes the example order and the head's initialisation with the cell's seed, nothing else.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from synthir.core import io
from synthir.classification.data import labels as read_labels
from synthir.classification.data import read_examples
from synthir.core.config import Compute, Encoding, StudentConfig, StudentEvalConfig
from synthir.core.provenance import Artifact

STUDENT = "student.json"
BATCH = 64


def embed(encoder_dir: Path, texts: list[str], max_seq_length: int, compute: Compute) -> np.ndarray:
    from synthir.retrieval.encoders import load_encoder

    enc = Encoding(batch_size=BATCH, max_seq_length=max_seq_length, dtype="float32", query_prefix="", passage_prefix="")
    model = load_encoder(encoder_dir, enc, compute).model
    return np.asarray(model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True),
                      dtype=np.float64)


def train_student(cfg: StudentConfig, encoder_dir: Path, train_path: Path, dataset_dir: Path, out_dir: Path) -> Artifact:
    """Fit the student on a training set (``{"text", "label"}`` rows) over the task's labels."""
    names = read_labels(dataset_dir)
    rows = io.read_jsonl(train_path)
    y = np.array([names.index(r["label"]) for r in rows])
    out_dir.mkdir(parents=True, exist_ok=True)
    facts: dict[str, Any] = {"student": cfg.student, "kind": cfg.kind, "labels": names, "examples": len(rows)}
    if cfg.kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        x = embed(encoder_dir, [r["text"] for r in rows], cfg.max_seq_length, cfg.compute)
        clf = LogisticRegression(C=cfg.c, max_iter=2000, random_state=cfg.seed).fit(x, y)
        # every label gets a row, also one the set lacks: predictions index the task's labels
        coef = np.zeros((len(names), x.shape[1]))
        bias = np.full(len(names), -1e9)
        classes = list(clf.classes_)
        if len(classes) == 2 and clf.coef_.shape[0] == 1:
            coef[classes[1]], bias[classes[1]] = clf.coef_[0], clf.intercept_[0]
            coef[classes[0]], bias[classes[0]] = 0.0, 0.0
        else:
            for i, c in enumerate(classes):
                coef[c], bias[c] = clf.coef_[i], clf.intercept_[i]
        np.savez(out_dir / "logreg.npz", coef=coef, bias=bias)
        facts["train_accuracy"] = round(float((clf.predict(x) == y).mean()), 6)
    else:
        facts["loss"] = _finetune(cfg, encoder_dir, [r["text"] for r in rows], y, names, out_dir / "model")
    io.write_json(out_dir / STUDENT, {"kind": cfg.kind, "labels": names, "max_seq_length": cfg.max_seq_length})
    outputs = {p.relative_to(out_dir).as_posix(): p for p in sorted(out_dir.rglob("*"))
               if p.is_file() and p.name not in io.TREE_IGNORED}
    return Artifact(kind="model", meta=out_dir / "meta.json",
                    inputs={"base": encoder_dir / "meta.json", "train": train_path.parent / "meta.json",
                            "dataset": dataset_dir / "meta.json"},
                    outputs=outputs, facts={**facts, "weights_sha256": io.sha256_json(
                        {k: io.sha256_file(v) for k, v in outputs.items()})})


def _finetune(cfg: StudentConfig, encoder_dir: Path, texts: list[str], y: np.ndarray, names: list[str],
              out: Path) -> list[float]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    assert cfg.epochs and cfg.batch_size and cfg.learning_rate is not None and cfg.warmup_ratio is not None
    torch.manual_seed(cfg.seed)  # the head's initialisation
    tok = AutoTokenizer.from_pretrained(encoder_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_dir, num_labels=len(names), id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    model.to(cfg.compute.device).train()
    steps = cfg.epochs * -(-len(texts) // cfg.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * steps), steps)
    order = list(range(len(texts)))
    rng = random.Random(cfg.seed)
    losses: list[float] = []
    for _ in range(cfg.epochs):
        rng.shuffle(order)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            batch = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=cfg.max_seq_length,
                        return_tensors="pt").to(cfg.compute.device)
            loss = model(**batch, labels=torch.tensor(y[idx], device=cfg.compute.device)).loss
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item() * len(idx)
        losses.append(round(total / len(texts), 6))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return losses


def predict(model_dir: Path, encoder_dir: Path | None, texts: list[str], compute: Compute) -> np.ndarray:
    """Label indices the trained student assigns to ``texts``."""
    spec = json.loads((model_dir / STUDENT).read_text())
    if spec["kind"] == "logreg":
        assert encoder_dir is not None
        w = np.load(model_dir / "logreg.npz")
        x = embed(encoder_dir, texts, spec["max_seq_length"], compute)
        return np.argmax(x @ w["coef"].T + w["bias"], axis=1)
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir / "model")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir / "model").to(compute.device).eval()
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, len(texts), BATCH):
            batch = tok(texts[i : i + BATCH], padding=True, truncation=True, max_length=spec["max_seq_length"],
                        return_tensors="pt").to(compute.device)
            out.append(model(**batch).logits.float().argmax(-1).cpu().numpy())
    return np.concatenate(out) if out else np.array([], dtype=int)


def scores(gold: list[int], pred: list[int], n_labels: int) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(gold, pred)), 6),
            "macro_f1": round(float(f1_score(gold, pred, average="macro", labels=list(range(n_labels)),
                                             zero_division=0)), 6)}


def evaluate_student(cfg: StudentEvalConfig, model_dir: Path, dataset_dir: Path, predictions_path: Path,
                     metrics_path: Path, encoder_dir: Path | None = None) -> Artifact:
    """Predict the eval split; accuracy and macro-F1, and every prediction (for paired tests)."""
    names = read_labels(dataset_dir)
    rows = read_examples(dataset_dir, cfg.split)
    pred = predict(model_dir, encoder_dir, [r["text"] for r in rows], cfg.compute)
    gold = [names.index(r["label"]) for r in rows]
    io.write_jsonl(predictions_path, [{"id": r["id"], "label": r["label"], "pred": names[int(p)]}
                                      for r, p in zip(rows, pred)])
    io.write_json(metrics_path, {"metrics": scores(gold, [int(p) for p in pred], len(names)), "examples": len(rows)})
    inputs = {"model": model_dir / "meta.json", "dataset": dataset_dir / "meta.json",
              **({"encoder": encoder_dir / "meta.json"} if encoder_dir is not None else {})}
    return Artifact(kind="evaluation", meta=metrics_path.parent / "meta.json", inputs=inputs,
                    outputs={"predictions": predictions_path, "metrics": metrics_path})
