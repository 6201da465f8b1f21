"""Labelled text classification sets: ``<name>/{split}.jsonl`` (``{"id", "text", "label"}`` a
line) and ``<name>/labels.json`` (the label names), fetched and checked like a collection."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from synthir.core import io
from synthir.core.config import FetchSource, LabelledFetchConfig, from_json
from synthir.retrieval.data import FetchError, Members, locate_source
from synthir.core.provenance import Artifact

LABELS = "labels.json"


def labels(dataset_dir: Path) -> list[str]:
    """The label names, in the data set's order."""
    return list(io.read_json(dataset_dir / LABELS))


def read_examples(dataset_dir: Path, split: str) -> list[dict[str, Any]]:
    """The examples of ``split`` in file order."""
    return io.read_jsonl(dataset_dir / f"{split}.jsonl")


def _check(rows: list[dict[str, Any]], names: list[str], label: str) -> dict[str, int]:
    """Every line is an object with a unique ``id``, a non-empty ``text`` and a known ``label``."""
    seen: set[str] = set()
    per_label = {n: 0 for n in names}
    for i, row in enumerate(rows, start=1):
        missing = [k for k in ("id", "text", "label") if k not in row]
        if missing:
            raise io.DataFormatError(f"{label}:{i}: missing {', '.join(missing)}")
        if row["label"] not in per_label:
            raise io.DataFormatError(f"{label}:{i}: label {row['label']!r} is not in labels.json ({', '.join(names)})")
        if str(row["id"]) in seen:
            raise io.DataFormatError(f"{label}:{i}: duplicate id {row['id']!r}")
        if not str(row["text"]).strip():
            raise io.DataFormatError(f"{label}:{i}: empty text")
        seen.add(str(row["id"]))
        per_label[row["label"]] += 1
    return per_label


def _read_member(members: Members, name: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "x.jsonl"
        members.copy(name, local)
        try:
            return io.read_jsonl(local)
        except io.DataFormatError as e:
            raise io.DataFormatError(str(e).replace(str(local), members.label(name))) from e


def fetch_labelled(cfg: LabelledFetchConfig, out_dir: Path, download_dir: Path, record: dict[str, Any]) -> Artifact:
    """Fetch, verify and check a classification set into ``out_dir`` (``labels.json`` and one
    ``<split>.jsonl`` per split; with ``carve``, ``train`` and ``test`` cut from one split)."""
    src = from_json(FetchSource, record, "fetch-labelled --record")
    source, where = locate_source(cfg.dataset, src, download_dir)
    members = Members(source)
    found = [m for m in members.names if PurePosixPath(m).name == LABELS]
    if len(found) != 1:
        raise FetchError(f"{source}: expected one labels.json (classification layout), found {len(found)}")
    root = PurePosixPath(found[0]).parent
    with tempfile.TemporaryDirectory() as tmp:
        members.copy(found[0], Path(tmp) / LABELS)
        names = json.loads((Path(tmp) / LABELS).read_text())
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise io.DataFormatError(f"{members.label(found[0])}: expected a JSON list of label names")
    splits = {PurePosixPath(m).stem: m for m in members.names
              if PurePosixPath(m).parent == root and m.endswith(".jsonl")}
    rows = {s: _read_member(members, m) for s, m in sorted(splits.items())}
    counts = {s: _check(r, names, members.label(splits[s])) for s, r in rows.items()}
    if cfg.carve is not None:
        c = cfg.carve
        if c.source not in rows:
            raise FetchError(f"{source}: carve.source {c.source!r} is not a split ({', '.join(rows)})")
        pool = list(rows[c.source])
        if c.train + c.test > len(pool):
            raise FetchError(f"{members.label(splits[c.source])}: carve asks {c.train} + {c.test} examples of {len(pool)}")
        random.Random(c.seed).shuffle(pool)
        rows = {"train": pool[: c.train], "test": pool[c.train : c.train + c.test]}
        counts = {s: _check(r, names, f"carved {s}") for s, r in rows.items()}
    for split in src.splits:
        if split not in rows:
            raise FetchError(f"{source}: the study reads split {split!r}, which this set lacks "
                             f"(splits: {', '.join(rows)}; see datasets.{cfg.dataset}.eval_split/train_split)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging = Path(tmp)
        io.write_json(staging / LABELS, names)
        for split, r in rows.items():
            io.write_jsonl(staging / f"{split}.jsonl", r)
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("*.jsonl"):
            old.unlink()
        for item in staging.iterdir():
            shutil.move(str(item), out_dir / item.name)
    files = {p.name: p for p in sorted(out_dir.iterdir()) if p.is_file() and p.name not in io.TREE_IGNORED}
    return Artifact(kind="dataset", meta=out_dir / "meta.json", outputs=files,
                    facts={"source": {"sha256": io.sha256_tree(source)}, "task": "classification",
                           "stats": {"labels": names, "splits": counts}},
                    recorded={"found": where})
