# Shared helpers of the workflow (validation, the study's jobs, path patterns, job slices, code
# inputs); nothing else defines these.
import json
import os

from synthir.core import closure, paths
from synthir.workflow import params as P
from synthir.workflow import slices, study
from synthir.workflow.cli import JOBS
from synthir.workflow.commands import TOOLS
from synthir.generation.llm.registry import backend_module
from synthir.retrieval.negatives import miner_module
from synthir.generation.strategy import strategy_module

# One gate, before any planning: schema + cross-references, errors name the key; an overlay
# (--configfile) that changes the study writes its own reports, never the default study's.
P.validate_params(config)
_OVERLAYS = [f for f in workflow.configfiles if os.path.abspath(f) != os.path.abspath("params.yaml")]
if _problem := P.own_reports_problem(P.load("params.yaml"), config, _OVERLAYS):
    raise P.ConfigError(_problem)

CELLS = study.study_cells(config)
EVALS = config["study"]["eval_datasets"]
# Reports directory of this study: configs/*.yaml write their own, never over the default's.
REPORTS = config["study"]["reports"]
# The threads a numeric job computes with: part of its identity (synthir.workflow.slices), so the same
# floats come out whatever -j says; -j only decides how many jobs run at once.
THREADS = config["compute"]["threads"]
# Scheduling only (never how a job computes): the cores Snakemake books for a numeric job, so that
# no more of them run at once than this machine's CPUs can host at THREADS each. -j8 on a 2-core
# machine with threads 2 runs one numeric job at a time beside light ones (four at once would
# oversubscribe the cores); -j16 on 16 cores runs eight. On a cluster (no local core count:
# `workflow.cores` would raise, hence the attribute it reads) a job books exactly THREADS cpus.
_FIT = max(1, (os.cpu_count() or 1) // THREADS)
_CORES = workflow._cores
BOOKED = max(1, _CORES // _FIT) if _CORES else THREADS


# What each job asks a scheduler for (profiles/slurm requests it; profiles/local caps the sum),
# from synthir.workflow.study.KINDS: memory in MB and runtime in minutes, sized at 2-4x the default
# study's peaks on CPU (logs/*/*.benchmark.tsv: training 1.9 GB and 8 min, encoding 0.8 GB and
# 3 min); raise them for bigger models with a profile's set-resources. Scheduling only.
RESOURCES = {rule: kind.resources(config["compute"]["device"] == "cuda") for rule, kind in study.KINDS.items()}


def _alternatives(values):
    """A wildcard regex matching exactly these aliases (escaped: `qgen+bm25` has a '+'); none:
    a pattern that matches nothing."""
    import re

    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)) or "(?!)"


# Which rules make a file of a task: retrieval and classification share the path grammar, and
# these keep their rules apart (wildcard constraints), so one DAG holds either study.
from synthir.generation.strategy import strategy_class, strategy_task

CLASSIFICATION_DATASETS = [d for d in config["datasets"] if study.task_of(config, d) == "classification"]
RETRIEVAL_DATASETS = [d for d in config["datasets"] if d not in CLASSIFICATION_DATASETS]
CLASSIFICATION_STRATEGIES = [
    a for a, st in config["strategies"].items() if strategy_task(st["kind"]) == "classification"
]
RETRIEVAL_STRATEGIES = [a for a in config["strategies"] if a not in CLASSIFICATION_STRATEGIES]
STUDENTS = list(config.get("students", {}))


# Directory patterns of each artifact family (one grammar: synthir.core.paths.LAYOUT).
RAW = paths.family_pattern("raw")
PREPARED = paths.family_pattern("prepared")
INDEX = paths.family_pattern("index")
RERANKER = paths.family_pattern("reranker")
POOL = paths.family_pattern("pool")
SUBSET = paths.family_pattern("subset")
LEAKAGE = paths.family_pattern("leakage")
MODEL = paths.family_pattern("model")
RESULT = paths.family_pattern("result")
# what an evaluation job (one per model, over every eval dataset) names its log after
MODEL_RESULTS = paths.pattern("results", *(n for n in paths.LAYOUT["result"][1] if n != "eval"))


class Recorded:
    """A value a job is told but that is not part of its identity (a location, a licence).
    Snakemake's params trigger ignores values it cannot serialise (persistence._params), so
    changing one reruns nothing; `{params.x}` still formats it (str)."""

    def __init__(self, value):
        self.value = value

    def __str__(self):
        return self.value if isinstance(self.value, str) else json.dumps(self.value, sort_keys=True)


def job_config(rule):
    """The `--config` of a rule's jobs: their identity (synthir.workflow.slices), what the params trigger sees."""
    return lambda w: json.dumps(slices.identity(config, rule, w), sort_keys=True)


def job_record(rule):
    """The `--record` of a rule's jobs: recorded, never part of their identity."""
    return lambda w: Recorded(slices.record(config, rule, w))


def code(command, *modules):
    """The source files a job of `command` runs, declared as inputs so that editing one reruns
    exactly its jobs: the import closure of the CLI and the command's module, plus `modules`
    (plugins a registry imports by name: a strategy kind, a backend; for a tool, the table of
    its options). See synthir.core.closure."""
    entry = [JOBS[command].module] if command in JOBS else [TOOLS[command].module, "synthir.workflow.commands"]
    return closure.files(["synthir.__main__", "synthir.workflow.cli", *entry, *modules])


def log_for(rule_name, pattern):
    return f"logs/{rule_name}/{pattern}.log"


def benchmark_for(rule_name, pattern):
    return f"logs/{rule_name}/{pattern}.benchmark.tsv"


def dataset_dir(corpus_path):
    """The folder of a file output (a data set's meta.json, an LLM's manifest)."""
    return str(paths.PurePosixPath(corpus_path).parent)


# ---------------------------------------------------------------- input functions


def get_parent_encoder(wildcards):
    m = config["encoders"][wildcards.model]
    return expand(PREPARED, model=m["derive"]["parent"]) if m["source"] == "derived" else []


def get_strategy_code(wildcards):
    """A pool's code: its strategy kind's module, its backend's module, its prompt templates
    (the strategy's, the pseudo-answer's, the judge's, the LLM negative's)."""
    st = config["strategies"][wildcards.strategy]
    prompts = [st["prompt"], st["pseudo_answer"], st["filters"]["judge"], (st["negatives"] or {}).get("prompt")]
    backend = config["llms"][wildcards.augmenter]["backend"]
    return [
        *code("generate-pool", strategy_module(st["kind"]), backend_module(backend)),
        *(f"src/synthir/prompts/{p}.json" for p in prompts if p),
    ]


def get_subset_code(wildcards):
    """A subset's code: the miner of its strategy's negative source, if it mines any."""
    neg = config["strategies"][wildcards.strategy]["negatives"]
    mined = neg is not None and neg["source"] != "llm"
    return code("subset-scale", *([miner_module(neg["source"])] if mined else []))


def get_negatives_encoder(wildcards):
    """Dense negative mining: the encoder and its index of the training corpus."""
    neg = config["strategies"][wildcards.strategy]["negatives"]
    if not neg or neg["source"] != "dense":
        return {}
    return {
        "encoder": expand(PREPARED, model=neg["encoder"])[0],
        "index": expand(rules.encode_corpus.output.index, corpus=wildcards.dataset, base=neg["encoder"])[0],
    }


def get_reranker(wildcards):
    """`ce` negative mining: the cross-encoder trained from the strategy's encoder."""
    neg = config["strategies"][wildcards.strategy]["negatives"]
    if not neg or neg["source"] != "ce":
        return []
    return expand(RERANKER, model=neg["encoder"], dataset=wildcards.dataset)


def get_llm_dir(wildcards):
    """The prepared model folder, except for an HTTP backend, which needs no local weights."""
    if config["llms"][wildcards.augmenter]["backend"] == "openai":
        return []
    return expand(rules.prepare_llm.output.model, model=wildcards.augmenter)


def get_retriever(wildcards):
    """Scale 0 is the untouched base checkpoint; any other scale a trained model."""
    if int(wildcards.scale) == 0:
        return expand(PREPARED, model=wildcards.base)
    return expand(MODEL, **wildcards)


def get_base_indexes(wildcards):
    """The base's index of every eval corpus (EVALS' order), when the model's passage tower is
    the base's."""
    cell = study.Cell(
        wildcards.dataset,
        wildcards.augmenter,
        wildcards.strategy,
        int(wildcards.draw),
        int(wildcards.scale),
        wildcards.base,
        int(wildcards.seed),
    )
    if not study.uses_base_index(config, cell):
        return []
    return expand(rules.encode_corpus.output.index, corpus=EVALS, base=wildcards.base)


def get_eval_dataset(wildcards):
    return expand(rules.fetch_dataset.output.meta, dataset=wildcards.eval)


def get_eval_datasets(wildcards):
    """Every eval dataset of the study, in EVALS' order (a per-eval job evaluates on each)."""
    return expand(rules.fetch_dataset.output.meta, dataset=EVALS)


def per_eval_jobs(rule, wildcards, input, output, **paths_):
    """The arguments of a per-eval job (synthir.workflow.study.KINDS): one evaluation per eval
    dataset, in EVALS' order like its inputs and outputs, each with its own configuration,
    separated by the CLI's job separator. Recorded: the identity is the rule's `cfg`."""
    from synthir.workflow.cli import join_jobs, per_eval_argv

    configs = slices.identity(config, rule, wildcards)
    each = {
        e: {
            "dataset_dir": dataset_dir(input.dataset[i]),
            "run_path": output.run[i],
            "metrics_path": output.metrics[i],
            **({"index_dir": input.index[i]} if input.get("index") else {}),
        }
        for i, e in enumerate(EVALS)
    }
    return Recorded(join_jobs(per_eval_argv({e: configs[e] for e in EVALS}, paths_, each)))


def get_training_set(wildcards):
    return expand(f"{SUBSET}/train.jsonl", **wildcards)


def tracking_store():
    """The MLflow store jobs will write to, without credentials (see synthir.workflow.track)."""
    from synthir.workflow.track import DEFAULT_URI, redact

    return redact(os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI)


# text classification (rules/classification.smk)


def get_content_corpus(wildcards):
    """SynthesizRR retrieves from the task's content corpus (a corpus-only data set)."""
    if not strategy_class(config["strategies"][wildcards.strategy]["kind"]).retrieves:
        return []
    corpus = config["datasets"][wildcards.dataset]["classification"]["corpus"]
    return expand(rules.fetch_dataset.output.meta, dataset=corpus)


def get_examples_retriever(wildcards):
    """SynthesizRR with a dense retriever: the encoder and its index of the content corpus."""
    st = config["strategies"][wildcards.strategy]
    if not strategy_class(st["kind"]).retrieves or st["retriever"] == "bm25":
        return {}
    corpus = config["datasets"][wildcards.dataset]["classification"]["corpus"]
    return {
        "encoder": expand(PREPARED, model=st["retriever"])[0],
        "index": expand(rules.encode_corpus.output.index, corpus=corpus, base=st["retriever"])[0],
    }


def get_examples_code(wildcards):
    """A pool's code: the generation module, the backend's module, the task's prompt template."""
    backend = config["llms"][wildcards.augmenter]["backend"]
    template = config["datasets"][wildcards.dataset]["classification"]["prompts"]
    return [*code("generate-examples", backend_module(backend)), f"src/synthir/prompts/{template}.json"]


def get_student_encoder(wildcards):
    return expand(PREPARED, model=config["students"][wildcards.base]["encoder"])


# ---------------------------------------------------------------- targets (synthir.workflow.study)

JOBS_OF_STUDY = study.jobs(config)


def _job_paths(*rules_):
    return sorted(p for j in JOBS_OF_STUDY if j.rule in rules_ for p in study.job_paths(config, j))


def _stage_paths(stage):
    return sorted(p for j in JOBS_OF_STUDY if study.KINDS[j.rule].stage == stage for p in study.job_paths(config, j))


def get_all_data(wildcards):
    return _stage_paths("data")


def get_all_synthetic(wildcards):
    return _stage_paths("synthetic")


def get_all_models(wildcards):
    return _stage_paths("models")


def get_all_metrics(wildcards):
    """metrics.json of every cell of the study on every eval dataset."""
    return _job_paths("evaluate_dense", "evaluate_bm25", "evaluate_student")


def get_all_leakage(wildcards):
    return _job_paths("set_leakage")


def get_all_stats(wildcards):
    return _job_paths("set_stats", "class_stats")


def get_reports(wildcards):
    """The outputs of the study's report rules (its task's report, the MLflow receipt)."""
    return [f for r in study.report_rules(config) for f in getattr(rules, r).output]
