"""Lineage: from a number in the report down to every input that produced it.

Every artifact's ``meta.json`` records its inputs (upstream sidecars) and outputs with their
sha256. Walking the inputs from an evaluation result reaches the trained model, its training
set, the pool and its shards, the prompt template, the LLM (origin and weights digest) and
the raw data set with its source. ``verify`` recomputes every recorded digest on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthir.core.errors import UserError
from synthir.core import io, paths, provenance
class LineageError(UserError, ValueError):
    """The target is not an artifact with a sidecar, or a sidecar is missing."""


@dataclass
class Node:
    """One artifact: its sidecar, the facts worth showing, and its upstream artifacts."""

    kind: str
    meta_path: Path
    facts: dict[str, Any]
    outputs: dict[str, dict[str, str]]
    inputs: dict[str, "Node | dict[str, str]"] = field(default_factory=dict)
    recorded_inputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "meta": self.meta_path.as_posix(), "facts": self.facts,
            "outputs": self.outputs,
            "inputs": {r: (n.as_dict() if isinstance(n, Node) else n) for r, n in self.inputs.items()},
        }


def _facts(meta: dict[str, Any], record: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """What a reader auditing a number wants to see of each kind of artifact: from its identity
    (meta.json) and its record (record.json: code version, where inputs were found, licences)."""
    recorded = record.get("recorded", {})
    common = {"packages": meta.get("packages"), "git_commit": record.get("git_commit"),
              "git_dirty": record.get("git_dirty"), "code": record.get("modules")}
    kind = meta["kind"]
    cfg = meta.get("config", {})
    if kind == "dataset":
        specific = {"dataset": cfg.get("dataset"), "content": cfg.get("content"), "source": meta.get("source"),
                    "found": recorded.get("found"), "license": recorded.get("license")}
    elif kind in ("llm", "encoder"):
        specific = {"alias": cfg.get("alias"), "origin": meta.get("origin"),
                    "weights_sha256": meta.get("weights_sha256"), "license": recorded.get("license")}
    elif kind == "pool":
        specific = {"llm": meta.get("llm"), "prompt": meta.get("strategy"), "decoding": meta.get("decoding"),
                    "seed": cfg.get("strategy", {}).get("seed"), "accepted": meta.get("accepted"),
                    "calls": meta.get("calls"), "license": recorded.get("license")}
    elif kind == "training_set":
        specific = {"scale": meta.get("scale"), "cost": meta.get("cost"), "stats": meta.get("stats")}
    elif kind == "model":
        specific = {"base": cfg.get("base"), "seed": cfg.get("seed"), "tower": meta.get("tower"),
                    "steps": meta.get("steps"), "loss": meta.get("loss"),
                    "weights_sha256": meta.get("weights_sha256")}
    elif kind == "index":
        specific = {"settings": meta.get("settings"), "passage_tower_sha256": meta.get("passage_tower_sha256")}
    elif kind == "evaluation":
        metrics_path = Path(meta.get("outputs", {}).get("metrics", {}).get("path", ""))
        specific = {"eval_dataset": paths.parse(meta_path.as_posix()).get("eval"),
                    "metrics": io.read_json(metrics_path)["metrics"] if metrics_path.is_file() else None,
                    "settings": cfg}
    else:
        specific = {}
    return {**specific, **common}


def sidecar_of(target: Path) -> Path:
    """The ``meta.json`` describing ``target`` (a folder artifact, or a file beside one)."""
    if target.name == "meta.json":
        return target
    candidate = target / "meta.json" if target.is_dir() else target.parent / "meta.json"
    if not candidate.is_file():
        raise LineageError(f"{target}: no meta.json describes it (is it a synthir artifact?)")
    return candidate


def resolve(target: str) -> Path:
    """An artifact path, or ``reports/scaling.csv:N`` for the N-th data row of a report."""
    path, _, row = target.partition(".csv:")
    if row:
        import pandas as pd

        report = Path(path + ".csv")
        df = pd.read_csv(report)
        n = int(row)
        if not 1 <= n <= len(df):
            raise LineageError(f"{report}: row {n} out of range 1..{len(df)}")
        r = df.iloc[n - 1]
        result = paths.family_dir(
            "result", eval=r["eval_dataset"], dataset=r["train_dataset"], augmenter=r["augmenter"],
            strategy=r["strategy"], draw=int(r["draw"]), scale=int(r["scale"]), base=r["base"], seed=int(r["seed"]),
        )
        return Path(result, "meta.json")
    return sidecar_of(Path(target))


def walk(meta_path: Path, _seen: dict[Path, Node] | None = None) -> Node:
    """The lineage tree rooted at ``meta_path`` (shared upstream artifacts are walked once)."""
    seen = {} if _seen is None else _seen
    if meta_path in seen:
        return seen[meta_path]
    if not meta_path.is_file():
        raise LineageError(f"{meta_path}: sidecar missing; rebuild the artifact or `dvc pull` it")
    meta = io.read_json(meta_path)
    record_file = provenance.record_path(meta_path)
    record = io.read_json(record_file) if record_file.is_file() else {}  # absent after a pull
    node = Node(kind=meta["kind"], meta_path=meta_path, facts=_facts(meta, record, meta_path),
                outputs=meta.get("outputs", {}), recorded_inputs=meta.get("inputs", {}))
    seen[meta_path] = node
    for role, rec in meta.get("inputs", {}).items():
        p = Path(rec["path"])
        node.inputs[role] = walk(p, seen) if p.name == "meta.json" else rec
    return node


@dataclass(frozen=True)
class Drift:
    path: str
    recorded: str
    actual: str | None  # None: the file is gone

    def __str__(self) -> str:
        now = "missing" if self.actual is None else self.actual[:16]
        return f"DRIFT {self.path}: recorded {self.recorded[:16]}, now {now}"


def verify(root: Node) -> list[Drift]:
    """Recompute every digest the tree records (inputs and outputs of every artifact), and
    the prompt template of every pool; return what differs."""
    from synthir.generation.strategy import load_template

    drifts: list[Drift] = []
    checked: set[str] = set()

    def check(rec: dict[str, str]) -> None:
        if rec["path"] in checked:
            return
        checked.add(rec["path"])
        p = Path(rec["path"])
        actual = provenance.input_digest(p)["sha256"] if p.exists() else None
        if actual != rec["sha256"]:
            drifts.append(Drift(rec["path"], rec["sha256"], actual))

    def visit(node: Node, done: set[Path]) -> None:
        if node.meta_path in done:
            return
        done.add(node.meta_path)
        for rec in node.outputs.values():
            check(rec)
        for rec in node.recorded_inputs.values():
            check(rec)
        prompt = node.facts.get("prompt") if node.kind == "pool" else None
        if prompt:
            _, digest = load_template(prompt["template"])
            if digest != prompt["template_sha256"]:
                drifts.append(Drift(f"prompts/{prompt['template']}.json", prompt["template_sha256"], digest))
        for child in node.inputs.values():
            if isinstance(child, Node):
                visit(child, done)

    visit(root, set())
    return drifts


def render(node: Node, indent: str = "", role: str = "artifact", _shown: set[Path] | None = None) -> list[str]:
    """A readable tree: one block per artifact, its key facts and every digest."""
    shown = set() if _shown is None else _shown
    head = f"{indent}{role}: {node.kind}  {node.meta_path.parent.as_posix()}"
    if node.meta_path in shown:
        return [head + "  (shown above)"]
    shown.add(node.meta_path)
    lines = [head]
    pad = indent + "    "
    for key, value in node.facts.items():
        if key == "packages" or value in (None, {}, []):
            continue
        lines.append(f"{pad}{key}: {json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value}")
    for name, rec in node.outputs.items():
        lines.append(f"{pad}output {name}: sha256 {rec['sha256']}")
    for r, child in node.inputs.items():
        if isinstance(child, Node):
            lines += render(child, pad, r, shown)
        else:
            lines.append(f"{pad}{r}: {child['path']}  sha256 {child['sha256']}")
    return lines


def example_origin(root: Node, example_id: str) -> dict[str, Any]:
    """What conditioned one training example of the tree: its row of the training set, and for
    a retrieval-augmented example the corpus document it was rewritten from (id, data set, text),
    its gold seed and the pool's LLM."""
    def nodes(n: Node) -> list[Node]:
        return [n, *(m for child in n.inputs.values() if isinstance(child, Node) for m in nodes(child))]

    for node in nodes(root):
        train = node.outputs.get("train")
        if node.kind != "training_set" or train is None:
            continue
        row = next((r for r in io.read_jsonl(train["path"]) if str(r.get("id")) == example_id), None)
        if row is None:
            raise LineageError(f"{train['path']}: no example with id {example_id!r}")
        out: dict[str, Any] = {"training_set": train["path"], "example": row}
        pool = node.inputs.get("pool")
        if isinstance(pool, Node):
            out["llm"] = pool.facts.get("llm")
            corpus = pool.inputs.get("corpus")
            if isinstance(corpus, Node) and row.get("doc_id") is not None:
                docs = io.read_corpus(corpus.outputs["corpus.jsonl"]["path"])
                doc = docs[row["doc_id"]]
                out["document"] = {"id": doc.id, "dataset": corpus.facts.get("dataset"),
                                   "corpus_sha256": corpus.outputs["corpus.jsonl"]["sha256"], "text": doc.full_text()}
        return out
    raise LineageError(f"{root.meta_path}: its lineage holds no training set")
