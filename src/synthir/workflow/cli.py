"""``python -m synthir <command>``: the one bridge between Snakemake rules and the package.

Every job command has the same shape, so one adapter runs them all (:func:`run_job`): the
job's identity arrives as JSON (``--config``, built by synthir.workflow.slices) and becomes its typed
configuration; what is only recorded arrives as ``--record``; every path is an explicit
option; several jobs of one command can share a process (their options separated by a lone
``+``: an evaluation job runs one per eval dataset). The adapter fixes the thread count the
configuration names before any numeric library loads, calls the job's function, and writes the
artifact's ``meta.json`` and ``record.json``.
Adding a command is one entry in :data:`JOBS` (or, for the commands people type, in
synthir.workflow.commands).

Commands are named by string and imported on use: a job process loads its own module's code
only, which is what its rule declares as code inputs (synthir.core.closure; the workflow tests
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

from synthir.core import config as C
from synthir.core import provenance
from synthir.core.errors import UserError
from synthir.core.plugins import load, module_of

log = logging.getLogger("synthir")


@dataclass(frozen=True)
class Job:
    """A job command: ``target`` ("module:function") is called as ``fn(cfg, **paths)`` (plus
    ``record=`` when ``record``) and returns a synthir.core.provenance.Artifact."""

    target: str
    config: str  # name of the configuration dataclass in synthir.core.config
    paths: tuple[str, ...]  # keyword arguments taking a path; a trailing "?" marks an optional one
    help: str
    record: bool = False  # the function reads the recorded facts (locations)

    @property
    def module(self) -> str:
        return module_of(self.target)


JOBS: dict[str, Job] = {
    "fetch-dataset": Job("synthir.retrieval.data:fetch_dataset", "FetchConfig", ("out_dir", "download_dir"),
                         "fetch and check a BEIR collection", record=True),
    "prepare-llm": Job("synthir.generation.models:prepare_llm", "LLMConfig", ("out_dir",),
                       "materialise an LLM alias into the weights cache; write its manifest", record=True),
    "prepare-encoder": Job("synthir.generation.models:prepare_encoder", "EncoderConfig", ("out_dir", "parent?"),
                           "materialise an encoder alias"),
    "generate-pool": Job("synthir.retrieval.pools:build_pool", "GenerateConfig", ("dataset_dir", "model_dir?", "out_dir"),
                         "generate a synthetic pool", record=True),
    "subset-scale": Job("synthir.retrieval.subsets:subset_scale", "SubsetConfig",
                        ("pool_dir", "dataset_dir", "out_path", "meta_path", "encoder_dir?", "index_dir?",
                         "reranker_dir?"), "cut a scale subset from a pool"),
    "sample-human": Job("synthir.retrieval.subsets:sample_human", "HumanConfig", ("dataset_dir", "out_path", "meta_path"),
                        "sample the human-label arm's training set"),
    "train-reranker": Job("synthir.retrieval.rerank:train_reranker", "RerankerConfig", ("encoder_dir", "dataset_dir", "out_dir"),
                          "fine-tune a cross-encoder on a labelled split"),
    "set-stats": Job("synthir.retrieval.quality:set_stats", "QualityConfig", ("train_path", "dataset_dir", "encoder_dir", "out"),
                     "quality statistics of a training set"),
    "set-leakage": Job("synthir.retrieval.quality:set_leakage", "LeakageConfig", ("train_path", "eval_dir", "out"),
                       "overlap and exposure of a training set with an eval dataset's test queries"),
    "train-retriever": Job("synthir.retrieval.train:train_retriever", "TrainConfig", ("base_dir", "train_path", "out_dir"),
                           "fine-tune a retriever"),
    "encode-corpus": Job("synthir.retrieval.evaluate:encode_corpus", "EncodeConfig", ("model_dir", "dataset_dir", "out_dir"),
                         "encode a corpus with a base encoder"),
    "evaluate-dense": Job("synthir.retrieval.evaluate:evaluate_dense", "EvalConfig",
                          ("model_dir", "dataset_dir", "run_path", "metrics_path", "index_dir?"),
                          "evaluate a dense retriever"),
    "evaluate-bm25": Job("synthir.retrieval.evaluate:evaluate_bm25", "BM25EvalConfig", ("dataset_dir", "run_path", "metrics_path"),
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

#: The commands people type (validate, lineage, pull, ...): a table of its own, loaded by name
#: only when one is run, so that editing a tool's options reruns no job (this module is in every
#: job's code inputs; synthir.core.closure follows imports, not strings).
TOOLS_TABLE = "synthir.workflow.commands:TOOLS"


def tools() -> dict[str, Any]:
    table: dict[str, Any] = load(TOOLS_TABLE)
    return table


def _flag(name: str) -> str:
    return "--" + name.rstrip("?").replace("_", "-")


def job_parser(name: str, job: Job) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"synthir {name}", description=job.help)
    p.add_argument("--config", required=True, help="the job's identity: its slice of params.yaml, as JSON")
    p.add_argument("--record", default="{}", help="facts recorded but not part of the identity, as JSON")
    for path in job.paths:
        p.add_argument(_flag(path), dest=path.rstrip("?"), required=not path.endswith("?"), default=None)
    return p


#: The numerics this process was pinned to (one setting per process: kernel dispatch is fixed
#: when a library loads, so a second job of another setting could not honour its own).
_pinned: tuple[Any, ...] | None = None


def apply_numerics(cfg: Any) -> None:
    """Fix threads and kernel dispatch to the configuration's numerics (its identity) before any
    numeric library loads (synthir.core.numerics). A job without a ``compute`` slice computes
    nothing that dispatches by CPU in a way that shows in its bytes (BM25, subsets, leakage),
    and runs pinned as portable so that stays true."""
    global _pinned
    from synthir.core import numerics
    compute = getattr(cfg, "compute", None)
    if compute is None:
        setting: tuple[Any, ...] = ("portable", "cpu", 1, numerics.PORTABLE)
    else:
        setting = (compute.numerics, compute.device, compute.threads, compute.platform)
    if _pinned is not None and _pinned != setting:
        raise UserError(f"one process computes with one numerics setting: pinned to {_pinned}, a later job asks "
                        f"for {setting}; run it in a process of its own")
    _pinned = setting
    numerics.pin(*setting)
    if compute is None:
        return
    import torch

    torch.set_num_threads(compute.threads)
    if compute.device == "cuda":
        torch.use_deterministic_algorithms(True)


#: Separates the argument lists of several jobs of one command run in one process
#: (``synthir evaluate-dense ARGS + ARGS``): an evaluation per eval dataset of one model pays
#: the imports (~9 s on a 2-core CPU: torch, transformers, scikit-learn) once, not per data set.
JOB_SEPARATOR = "+"


def options(values: dict[str, Any]) -> list[str]:
    """``{"run_path": p}`` as ``["--run-path", "p"]``: a job command's options from their names."""
    return [a for k, v in values.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def per_eval_argv(configs: dict[str, dict[str, Any]], shared: dict[str, Any],
                  each: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The options of a per-eval job's evaluations (synthir.workflow.study.KINDS), one list per
    eval dataset in ``configs``' order: that evaluation's configuration (its identity, from
    synthir.workflow.slices.identity), the paths all share, and its own paths."""
    return [["--config", json.dumps(cfg, sort_keys=True), *options(shared), *options(each[e])]
            for e, cfg in configs.items()]


def join_jobs(argvs: list[list[str]]) -> str:
    """Several jobs' options as one shell-quoted command tail; the inverse of :func:`split_jobs`."""
    import shlex

    return f" {JOB_SEPARATOR} ".join(shlex.join(a) for a in argvs)


def split_jobs(argv: list[str]) -> list[list[str]]:
    """The argument lists of the jobs in ``argv``, split at each lone :data:`JOB_SEPARATOR`."""
    groups: list[list[str]] = [[]]
    for arg in argv:
        if arg == JOB_SEPARATOR:
            groups.append([])
        else:
            groups[-1].append(arg)
    return groups


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


def tool_parser(name: str, tool: Any) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"synthir {name}", description=tool.help)
    for flag, kw in tool.options:
        p.add_argument(flag, **kw)
    return p


def usage() -> str:
    lines = ["usage: python -m synthir <command> [options]   (<command> --help for its options)", "",
             "commands people type:"]
    lines += [f"  {n:<18} {t.help}" for n, t in tools().items()]
    lines += ["", f"job commands (run by the Snakemake rules; a lone '{JOB_SEPARATOR}' between two jobs' options runs both "
              "in one process):"]
    lines += [f"  {n:<18} {j.help}" for n, j in JOBS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv[:1]
    argv = argv[1:] if verbose else argv
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help") or (argv[0] not in JOBS and argv[0] not in tools()):
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    name, rest = argv[0], argv[1:]
    try:
        if name in JOBS:
            for job_argv in split_jobs(rest):  # each job writes its sidecars when it ends
                run_job(name, job_argv)
            return 0
        tool = tools()[name]
        return int(load(tool.target)(tool_parser(name, tool).parse_args(rest)) or 0)
    except (UserError, FileNotFoundError) as e:
        print(f"synthir {name}: error: {e}", file=sys.stderr)
        return 2
