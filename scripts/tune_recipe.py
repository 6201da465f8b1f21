"""Choose each base's fine-tuning recipe on data the study may look at: a dev split carved from
SciFact's *train* queries, never the test queries the study reports on.

For every base and every (learning rate, epochs) of a small grid, the base is fine-tuned on human
(query, positive) pairs of the remaining train queries (the positive control's data) with the
study's own code (synthir.retrieval.train, synthir.retrieval.evaluate), and scored by nDCG@10 on the dev queries
against the whole corpus. The recipe that moves the base most is the one to put in params.yaml
(``encoders.<alias>.training``); this script prints the table and writes it as CSV.

    python scripts/tune_recipe.py --out reports/tuning/recipe.csv      # ~25 min on 2 cores

Reads the collection from the data mirror (``--mirror``, default ../shared/data) and prepares
the bases from params.yaml's sources; nothing here touches the study's artifacts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from synthir.core import config as C  # noqa: E402
from synthir.core import io  # noqa: E402
from synthir.workflow import slices  # noqa: E402
from synthir.workflow.params import load  # noqa: E402

#: base alias -> the grid of (learning_rate, epochs) tried, with the base's tower
GRID = {
    "splade-tiny": [(2e-4, 3), (1e-3, 3), (1e-3, 10), (3e-3, 10)],
    "glove-50d": [(1e-3, 10), (1e-2, 10), (5e-2, 10), (1e-1, 10), (5e-2, 20)],
    "minilm-l6": [(1e-5, 1), (2e-5, 1), (5e-5, 1), (5e-5, 3), (2e-4, 3)],
}
DEV_QUERIES = 200
DEV_SEED = 1234


def carve(dataset: Path, out: Path) -> tuple[list[str], list[str]]:
    """A copy of the collection whose only split is ``dev`` (DEV_QUERIES train queries, seeded),
    and the remaining train query ids, in a seeded order."""
    qrels = io.read_split(dataset, "train")
    labelled = sorted(q for q, docs in qrels.items() if any(g > 0 for g in docs.values()))
    random.Random(DEV_SEED).shuffle(labelled)
    dev, rest = labelled[:DEV_QUERIES], labelled[DEV_QUERIES:]
    (out / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        (out / name).symlink_to(dataset / name)
    with open(out / "qrels" / "dev.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        f.writelines(f"{q}\t{d}\t{g}\n" for q in sorted(dev) for d, g in sorted(qrels[q].items()))
    io.write_json(out / "meta.json", {"outputs": {}})
    return dev, rest


def human_pairs(dataset: Path, qids: list[str], n: int, path: Path) -> Path:
    corpus, queries = io.read_corpus(dataset / "corpus.jsonl"), io.read_queries(dataset / "queries.jsonl")
    qrels = io.read_split(dataset, "train")
    rows = []
    for q in qids[:n]:
        doc = sorted(d for d, g in qrels[q].items() if g > 0 and d in corpus)[0]
        rows.append({"query": queries[q].text, "positive": corpus[doc].full_text()})
    io.write_jsonl(path, rows)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--scale", type=int, default=300, help="human pairs each candidate recipe trains on")
    ap.add_argument("--bases", nargs="*", default=list(GRID))
    ap.add_argument("--out", default=str(ROOT / "reports" / "tuning" / "recipe.csv"))
    ap.add_argument("--grid", nargs="*", default=None, metavar="LR:EPOCHS",
                    help="the recipes to try for every base given (default: GRID's for each base)")
    ap.add_argument("--numerics", choices=["portable", "native"], default=None,
                    help="compute.numerics of the candidates (default: params.yaml's); native is ~3x faster "
                         "on a CPU with bf16, and a recipe is a choice, not a result")
    ap.add_argument("--tower", choices=["query", "shared"], default=None,
                    help="train this tower setting instead of each base's own (e.g. shared: both towers)")
    ap.add_argument("--synthetic", default=None,
                    help="a synthetic train.jsonl trained and scored beside the human pairs, recipe by recipe "
                         "(e.g. the default study's data/synthetic/.../strategy~qgen/scale~300/train.jsonl)")
    a = ap.parse_args()

    from synthir.workflow.cli import apply_numerics
    from synthir.retrieval.data import fetch_dataset
    from synthir.retrieval.evaluate import encode_corpus, evaluate_dense
    from synthir.generation.models import prepare_encoder
    from synthir.core.provenance import write_sidecars
    from synthir.retrieval.train import train_retriever

    params = load(ROOT / "params.yaml")
    params["mirror"] = a.mirror
    if a.numerics:
        params["compute"]["numerics"] = a.numerics
    grid = {b: [(float(x), int(y)) for x, y in (g.split(":") for g in a.grid)] if a.grid else GRID[b] for b in a.bases}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fetch = {"dataset": "scifact"}
        raw = work / "raw"
        fetch_dataset(C.from_json(C.FetchConfig, slices.identity(params, "fetch_dataset", fetch)), raw, work / "dl",
                      slices.record(params, "fetch_dataset", fetch))
        dev, rest = carve(raw, work / "dev")
        train_path = human_pairs(raw, rest, a.scale, work / "human.jsonl")
        io.write_json(work / "meta.json", {"outputs": {}})
        for base in a.bases:
            prepared = work / "prepared" / base
            parent = None
            if params["encoders"][base]["source"] == "derived":
                parent = work / "prepared" / params["encoders"][base]["derive"]["parent"]
            enc_cfg = C.from_json(C.EncoderConfig, slices.identity(params, "prepare_encoder", {"model": base}))
            cell = {"eval": "scifact", "dataset": "scifact", "augmenter": "none", "strategy": "human",
                    "draw": 0, "scale": a.scale, "base": base, "seed": 0}
            recipe = slices.identity(params, "train_retriever", cell)
            if a.tower:
                recipe["tower"] = a.tower
            apply_numerics(C.from_json(C.TrainConfig, recipe))  # the study's numerics, before torch loads
            write_sidecars(prepare_encoder(enc_cfg, prepared, parent), {})
            tower = recipe["tower"]
            index = None
            if tower == "query":  # every candidate searches the base's own index: encode it once
                index = work / "index" / base
                enc = C.from_json(C.EncodeConfig, slices.identity(params, "encode_corpus", {"corpus": "scifact", "base": base}))
                write_sidecars(encode_corpus(enc, prepared, work / "dev", index), {})

            def score(model: Path, passage_index: str, tag: str) -> float:
                ev = slices.identity(params, "evaluate_dense", {**cell, "scale": 0 if model == prepared else a.scale})
                ev["split"]["split"], ev["passage_index"] = "dev", passage_index
                cfg = C.from_json(C.EvalConfig, ev)
                out = work / "runs" / base / tag
                out.mkdir(parents=True, exist_ok=True)
                evaluate_dense(cfg, model, work / "dev", out / "run.trec", out / "metrics.json",
                               index if passage_index == "base" else None)
                return io.read_json(out / "metrics.json")["metrics"]["ndcg_at_10"]

            untouched = score(prepared, "base" if index else "own", "untouched")
            print(json.dumps({"base": base, "untouched_dev_ndcg_at_10": untouched}), flush=True)
            sets = {"human": train_path, **({"synthetic": Path(a.synthetic)} if a.synthetic else {})}
            for lr, epochs in grid[base]:
                for arm, data in sets.items():
                    t = {**recipe, "learning_rate": lr, "epochs": epochs, "max_steps": None}
                    start = time.perf_counter()
                    model = work / "models" / base / f"{arm}-{lr}-{epochs}"
                    train_retriever(C.from_json(C.TrainConfig, t), prepared, data, model)
                    seconds = time.perf_counter() - start
                    got = score(model, "base" if tower == "query" else "own", f"{arm}-{lr}-{epochs}")
                    row = {"base": base, "tower": tower, "arm": arm, "scale": a.scale, "learning_rate": lr,
                           "epochs": epochs, "dev_ndcg_at_10": round(got, 4), "untouched": round(untouched, 4),
                           "gain": round(got - untouched, 4), "training_seconds": round(seconds, 1)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    import pandas as pd

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"wrote {out} (dev: {DEV_QUERIES} SciFact train queries, seed {DEV_SEED}; {a.scale} human pairs "
          "from the other train queries)")


if __name__ == "__main__":
    main()
