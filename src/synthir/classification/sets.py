"""Label-balanced training sets: scale ``n`` holds the first ``n / labels`` accepted examples of
each label (a pool's generation order, or the gold arm's seeded order of the labelled split),
so every smaller scale is a prefix of a larger one, label by label."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.classification.data import labels as read_labels
from synthir.classification.data import read_examples
from synthir.core.config import ExamplesSubsetConfig
from synthir.core.errors import PoolTooSmallError
from synthir.core.provenance import Artifact


def balanced(rows: list[dict[str, Any]], names: list[str], scale: int, where: str) -> list[dict[str, Any]]:
    """The first ``scale / len(names)`` rows of each label, in the rows' order (labels
    interleaved); ``scale`` must divide evenly, so every label has the same share."""
    if scale % len(names):
        raise PoolTooSmallError(f"{where}: scale {scale} does not split evenly over {len(names)} labels")
    share = scale // len(names)
    by_label = {lab: [r for r in rows if r["label"] == lab][:share] for lab in names}
    short = {lab: len(r) for lab, r in by_label.items() if len(r) < share}
    if short:
        raise PoolTooSmallError(f"{where}: labels {short} have fewer than {share} examples for scale {scale}")
    return [by_label[lab][i] for i in range(share) for lab in names]


def _stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows per label, and the corpus documents and gold seeds that conditioned them (each
    row of train.jsonl names its own: ``doc_id``, ``seed_id``; fewgen rows their ``shot_ids``)."""
    per_label = Counter(r["label"] for r in rows)
    return {"rows": len(rows), "per_label": dict(sorted(per_label.items())),
            "corpus_documents": len({r["doc_id"] for r in rows if r.get("doc_id")}),
            "gold_seeds": len({r["seed_id"] for r in rows if r.get("seed_id")}
                              | {s for r in rows for s in r.get("shot_ids", [])})}


def subset_examples(cfg: ExamplesSubsetConfig, pool_dir: Path, dataset_dir: Path, out_path: Path,
                    meta_path: Path) -> Artifact:
    """Scale ``cfg.scale`` of a generated pool: each row keeps what conditioned it (the corpus
    document and the gold seed for synthesizrr, the shots for fewgen)."""
    names = read_labels(dataset_dir)
    ok = [r for r in io.read_pool(pool_dir) if r["status"] == "ok"]
    picked = balanced(ok, names, cfg.scale, str(pool_dir))
    rows = [{"id": f"syn-{r['n']}", "text": r["text"], "label": r["label"], "origin": "synthetic",
             **{k: r[k] for k in ("doc_id", "seed_id", "shot_ids") if k in r}} for r in picked]
    io.write_jsonl(out_path, rows)
    calls = max(r["n"] for r in picked) + 1  # responses generated until the set was complete
    return Artifact(kind="training_set", meta=meta_path,
                    inputs={"pool": pool_dir / "meta.json", "dataset": dataset_dir / "meta.json"},
                    outputs={"train": out_path},
                    facts={"scale": cfg.scale, "synthetic_rows": len(rows), "human_rows": 0,
                           "cost": {"responses": calls}, "stats": _stats(rows)})


def sample_gold(cfg: ExamplesSubsetConfig, dataset_dir: Path, out_path: Path, meta_path: Path) -> Artifact:
    """The gold arm (the positive control): ``cfg.scale`` real examples of the labelled split,
    balanced, in a seeded order."""
    assert cfg.split is not None and cfg.seed is not None
    names = read_labels(dataset_dir)
    pool = read_examples(dataset_dir, cfg.split)
    random.Random(cfg.seed).shuffle(pool)
    rows = [{"id": r["id"], "text": r["text"], "label": r["label"], "origin": "gold"}
            for r in balanced(pool, names, cfg.scale, f"{dataset_dir}/{cfg.split}.jsonl")]
    io.write_jsonl(out_path, rows)
    return Artifact(kind="training_set", meta=meta_path, inputs={"dataset": dataset_dir / "meta.json"},
                    outputs={"train": out_path},
                    facts={"scale": cfg.scale, "synthetic_rows": 0, "human_rows": len(rows),
                           "cost": {"responses": 0}, "stats": _stats(rows)})
