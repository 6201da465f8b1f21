"""The study grid and the jobs it needs.

A study is the product of the configured lists minus explicit exclusions (:func:`study_cells`),
plus, for every training dataset with a labelled split, the human-label arm: the same draws,
scales, bases and seeds trained on human (query, positive) pairs, the positive control that tells "the
recipe cannot learn" from "synthetic data does not help". :func:`jobs` lists every job of the
study's DAG (rule and wildcards), the way Snakemake plans it from an empty directory (a contract
test compares the two); the Snakefile's targets and ``dvc.yaml``'s outputs are built from it, so
the study is defined in one place.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from synthir.core import paths
from synthir.core.config import ConfigError
from synthir.core.paths import HUMAN
from synthir.core.paths import NONE
from synthir.generation.strategy import strategy_class


@dataclass(frozen=True, order=True)
class Cell:
    """One trained (or baseline) retriever of the study; ``scale == 0`` is an untouched base.
    ``draw`` is which draw of the data trained it (:func:`drawn_seed`), ``seed`` the training
    seed: a cell's replicates are its draws x seeds."""

    dataset: str
    augmenter: str
    strategy: str
    draw: int
    scale: int
    base: str
    seed: int

    @property
    def is_baseline(self) -> bool:
        return self.scale == 0

    @property
    def is_human(self) -> bool:
        return self.strategy == HUMAN

    def wildcards(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def report_title(reports: str) -> str:
    """The title of a study's report pages (rules/pages.smk), ``reports`` its reports folder
    as configured (study.reports); ``python -m synthir recheck`` writes the same."""
    return f"synthir study ({reports})"


def drawn_seed(seed: int, draw: int) -> int:
    """The seed a job of ``draw`` uses where the configuration says ``seed`` (a strategy's seed:
    which passages or seed queries a pool starts from and how each call samples; the human arm's
    seed: the order of labelled rows). Draw 0 is the configured seed itself, so a study of one
    draw is the study as configured; any other draw hashes both (not ``seed + draw``, which would
    make draw 1 of seed 0 the data of draw 0 of seed 1)."""
    if draw == 0:
        return seed
    digest = hashlib.sha256(f"synthir-draw:{seed}:{draw}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1  # 31 bits: the schema's seed range


def baseline_cell(base: str) -> Cell:
    """The scale-0 cell of ``base``: no training data, so no dataset, augmenter, strategy or draw."""
    return Cell(NONE, NONE, NONE, 0, 0, base, 0)


def human_cell(dataset: str, draw: int, scale: int, base: str, seed: int) -> Cell:
    return Cell(dataset, NONE, HUMAN, draw, scale, base, seed)


def _excluded(cell: Cell, exclude: list[dict[str, Any]]) -> bool:
    values = cell.wildcards()
    return any(all(values[k] == v for k, v in rule.items()) for rule in exclude)


def task_of(params: dict[str, Any], dataset: str) -> str:
    """``retrieval`` (a BEIR collection) or ``classification`` (labelled texts)."""
    return params["datasets"][dataset].get("task") or "retrieval"


def study_task(params: dict[str, Any]) -> str:
    """The task of a study: that of its training datasets (validation keeps them to one)."""
    first = params["study"]["train_datasets"][:1]
    return task_of(params, first[0]) if first and first[0] in params["datasets"] else "retrieval"


def study_cells(params: dict[str, Any]) -> list[Cell]:
    """Every cell of the study grid: synthetic cells, the human arm, then one baseline per base
    (+ BM25)."""
    # what the grid reads, as a key: planning asks for it once per pool job (max_scale), and a
    # 10,000-cell grid takes a third of a second to build
    datasets = {d: params["datasets"].get(d) for d in params["study"]["train_datasets"]}
    return list(_cells(json.dumps([params["study"], datasets], sort_keys=True, default=str)))


@functools.lru_cache(maxsize=16)
def _cells(key: str) -> tuple[Cell, ...]:
    study, datasets = json.loads(key)
    return tuple(_grid({"study": study, "datasets": {d: m for d, m in datasets.items() if m is not None}}))


def _grid(params: dict[str, Any]) -> list[Cell]:
    s = params["study"]
    trained_scales = [n for n in s["scales"] if n > 0]
    synthetic = {
        Cell(d, a, st, draw, n, b, seed)
        for d, a, st, draw, n, b, seed in itertools.product(
            s["train_datasets"], s["augmenters"], s["strategies"], s["draws"], trained_scales, s["bases"], s["seeds"])
    }
    human = {
        human_cell(d, draw, n, b, seed)
        for d, draw, n, b, seed in itertools.product(
            s["train_datasets"], s["draws"], trained_scales, s["bases"], s["seeds"])
        if s["human_arm"] and params["datasets"][d]["train_split"] is not None
    }
    cells = sorted(c for c in synthetic | human if not _excluded(c, s["exclude"]))
    if study_task(params) == "classification":  # a student has no untrained baseline; no BM25
        return cells
    if 0 in s["scales"]:
        cells += [baseline_cell(b) for b in s["bases"]]
    if s["bm25"]:
        cells.append(baseline_cell("bm25"))
    return cells


def trained_cells(params: dict[str, Any]) -> list[Cell]:
    return [c for c in study_cells(params) if not c.is_baseline]


def max_scale(params: dict[str, Any], dataset: str, augmenter: str, strategy: str, draw: int,
              cells: Iterable[Cell] | None = None) -> int:
    """Largest scale the study asks of one (dataset, augmenter, strategy, draw) pool."""
    pool = (dataset, augmenter, strategy, draw)
    scales = [c.scale for c in (study_cells(params) if cells is None else cells)
              if (c.dataset, c.augmenter, c.strategy, c.draw) == pool]
    if not scales:
        raise ConfigError(f"no cell of the study uses pool {dataset}/{augmenter}/{strategy}, draw {draw}")
    return max(scales)


def training_of(params: dict[str, Any], base: str) -> dict[str, Any]:
    """The `training` section as it applies to ``base``: the alias's own overrides on top."""
    return {**params["training"], **params["encoders"][base].get("training", {})}


def uses_base_index(params: dict[str, Any], cell: Cell) -> bool:
    """A model searches its base's corpus index when its passage tower is the base's: at
    scale 0, and after query-tower fine-tuning (the base alias's own `training` counts)."""
    return cell.is_baseline or training_of(params, cell.base)["tower"] == "query"


# ------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True, order=True)
class Job:
    """One job of the study DAG: a rule and its wildcard values (as strings, like Snakemake's)."""

    rule: str
    wildcards: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, rule: str, **wildcards: object) -> Job:
        return cls(rule, tuple(sorted((k, str(v)) for k, v in wildcards.items())))

    @property
    def wc(self) -> dict[str, str]:
        return dict(self.wildcards)


@dataclass(frozen=True)
class JobKind:
    """How the workflow plans, versions and schedules one rule's jobs: the one place for these
    facts (Snakemake's resources, dvc.yaml's stages and outputs, the study's targets read them).
    What a job computes is declared elsewhere on purpose: its command, function and paths in
    synthir.workflow.cli.JOBS and its identity in synthir.workflow.slices (a function named after the rule), which
    are its code inputs (synthir.core.closure); none of this is, so a memory figure changed here
    reruns nothing."""

    family: str | None  # artifact family (synthir.core.paths.LAYOUT) of its directory; None: a study report
    output: str | None  # the output that stands for the job: a file in that directory, or None: itself
    stage: str  # the DVC stage (dvc.yaml) that versions its outputs
    mem_mb: int  # what a scheduler is asked for (profiles/), sized at 2-4x the default study's peaks
    runtime: int  # minutes
    gpu: bool = False  # runs a model: asks for one GPU when compute.device is cuda
    # one job per model over every eval dataset of the study (its wildcards lack `eval`): one
    # process pays the imports and loads once, and writes one result directory per eval dataset
    per_eval: bool = False

    def resources(self, cuda: bool) -> dict[str, int]:
        return {"mem_mb": self.mem_mb, "runtime": self.runtime, **({"gpu": 1} if cuda and self.gpu else {})}


KINDS: dict[str, JobKind] = {
    "fetch_dataset": JobKind("raw", "meta.json", "data", 2000, 30),
    "prepare_llm": JobKind("prepared", "meta.json", "data", 4000, 60),
    "prepare_encoder": JobKind("prepared", None, "data", 2000, 30),
    "generate_pool": JobKind("pool", "pool", "synthetic", 4000, 240, gpu=True),
    "subset_scale": JobKind("subset", "train.jsonl", "synthetic", 4000, 60, gpu=True),  # dense / ce mining
    "sample_human": JobKind("subset", "train.jsonl", "synthetic", 1000, 10),
    "set_stats": JobKind("subset", "stats.json", "synthetic", 2000, 30, gpu=True),
    "train_reranker": JobKind("reranker", None, "synthetic", 4000, 120, gpu=True),
    "set_leakage": JobKind("leakage", "leakage.json", "results", 1000, 10),
    "train_retriever": JobKind("model", None, "models", 6000, 120, gpu=True),
    "encode_corpus": JobKind("index", None, "results", 3000, 60, gpu=True),
    "evaluate_dense": JobKind("result", "metrics.json", "results", 3000, 60, gpu=True, per_eval=True),
    "evaluate_bm25": JobKind("result", "metrics.json", "results", 2000, 20, per_eval=True),
    "aggregate_metrics": JobKind(None, None, "reports", 2000, 20),
    "summarise": JobKind(None, None, "reports", 2000, 30),
    "track_runs": JobKind(None, None, "reports", 2000, 30),
    "report_pages": JobKind(None, None, "reports", 2000, 10),
    # text classification (synthir.classification)
    "fetch_labelled": JobKind("raw", "meta.json", "data", 2000, 30),
    "generate_examples": JobKind("pool", "pool", "synthetic", 4000, 240, gpu=True),
    "subset_examples": JobKind("subset", "train.jsonl", "synthetic", 1000, 10),
    "sample_gold": JobKind("subset", "train.jsonl", "synthetic", 1000, 10),
    "class_stats": JobKind("subset", "stats.json", "synthetic", 2000, 30, gpu=True),
    "train_student": JobKind("model", None, "models", 6000, 120, gpu=True),
    "evaluate_student": JobKind("result", "metrics.json", "results", 3000, 60, gpu=True),
    "classification_report": JobKind(None, None, "reports", 2000, 30),
}
#: The DVC stages of artifacts, in dependency order (the reports stage comes last).
STAGES = ("data", "synthetic", "models", "results")
#: Rules with one job per study, writing into ``study.reports``.
REPORT_RULES = ("aggregate_metrics", "summarise", "report_pages", "track_runs")
#: The HTML pages of a report (synthir.pages), shown by ``snakemake --report``.
PAGES = ("pages/claims.html", "pages/tables.html", "pages/cards.html")


def _encoder_closure(params: dict[str, Any], aliases: Iterable[str]) -> set[str]:
    """The encoder aliases and every parent they are derived from."""
    out: set[str] = set()
    todo = list(aliases)
    while todo:
        alias = todo.pop()
        if alias in out:
            continue
        out.add(alias)
        m = params["encoders"].get(alias)  # an unknown alias is a validation error, named there
        if m is not None and m["source"] == "derived":
            todo.append(m["derive"]["parent"])
    return out


def classification_jobs(params: dict[str, Any]) -> list[Job]:
    """The jobs of a classification study: labelled data, generated examples (with the content
    corpus SynthesizRR retrieves from), balanced sets and the gold arm, set statistics, students
    and their evaluation on the data set's own eval split."""
    out: set[Job] = set()
    encoders = {params["class_stats"]["encoder"]}
    for c in study_cells(params):
        set_wc = dict(dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy, draw=c.draw, scale=c.scale)
        out.add(Job.of("fetch_labelled", dataset=c.dataset))
        if c.is_human:
            out.add(Job.of("sample_gold", **set_wc))
        else:
            out.add(Job.of("generate_examples", dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy,
                           draw=c.draw))
            out.add(Job.of("subset_examples", **set_wc))
            if params["llms"][c.augmenter]["backend"] != "openai":
                out.add(Job.of("prepare_llm", model=c.augmenter))
            st = params["strategies"][c.strategy]
            if strategy_class(st["kind"]).retrieves:  # from the task's content corpus
                corpus = params["datasets"][c.dataset]["classification"]["corpus"]
                out.add(Job.of("fetch_dataset", dataset=corpus))
                if st["retriever"] != "bm25":
                    encoders.add(st["retriever"])
                    out.add(Job.of("encode_corpus", corpus=corpus, base=st["retriever"]))
        out.add(Job.of("class_stats", **set_wc))
        out.add(Job.of("train_student", **c.wildcards()))
        out.add(Job.of("evaluate_student", eval=c.dataset, **c.wildcards()))
        encoders.add(params["students"][c.base]["encoder"])
    out |= {Job.of("prepare_encoder", model=e) for e in _encoder_closure(params, encoders)}
    out |= {Job.of(rule) for rule in report_rules(params)}
    return sorted(out)


def report_rules(params: dict[str, Any]) -> tuple[str, ...]:
    """The study's one-job report rules: its task's report and the MLflow sync."""
    if study_task(params) == "classification":
        return ("classification_report", "report_pages", "track_runs")
    return REPORT_RULES


def jobs(params: dict[str, Any]) -> list[Job]:
    """Every job of the study's DAG (reports included), sorted."""
    if study_task(params) == "classification":
        return classification_jobs(params)
    s = params["study"]
    cells = study_cells(params)
    trained = [c for c in cells if not c.is_baseline]
    evals = s["eval_datasets"]
    out: set[Job] = set()
    encoders: set[str] = {params["quality"]["encoder"]} if trained else set()
    datasets: set[str] = set(evals)
    for c in trained:
        datasets.add(c.dataset)
        if c.is_human:
            out.add(Job.of("sample_human", dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy,
                           draw=c.draw, scale=c.scale))
        else:
            out.add(Job.of("generate_pool", dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy,
                           draw=c.draw))
            out.add(Job.of("subset_scale", dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy,
                           draw=c.draw, scale=c.scale))
            if params["llms"][c.augmenter]["backend"] != "openai":
                out.add(Job.of("prepare_llm", model=c.augmenter))
            neg = params["strategies"][c.strategy]["negatives"]
            if neg is not None and neg["source"] in ("dense", "ce"):
                encoders.add(neg["encoder"])
                if neg["source"] == "dense":
                    out.add(Job.of("encode_corpus", corpus=c.dataset, base=neg["encoder"]))
                else:
                    out.add(Job.of("train_reranker", model=neg["encoder"], dataset=c.dataset))
        set_wc = dict(dataset=c.dataset, augmenter=c.augmenter, strategy=c.strategy, draw=c.draw, scale=c.scale)
        out.add(Job.of("set_stats", **set_wc))
        out |= {Job.of("set_leakage", eval=e, **set_wc) for e in evals}
        out.add(Job.of("train_retriever", **c.wildcards()))
    for c in cells:
        if c.base == "bm25":
            out.add(Job.of("evaluate_bm25", **c.wildcards()))
            continue
        encoders.add(c.base)
        out.add(Job.of("evaluate_dense", **c.wildcards()))
        if uses_base_index(params, c):
            out |= {Job.of("encode_corpus", corpus=e, base=c.base) for e in evals}
    out |= {Job.of("prepare_encoder", model=e) for e in _encoder_closure(params, encoders)}
    out |= {Job.of("fetch_dataset", dataset=d) for d in datasets}
    out |= {Job.of(rule) for rule in REPORT_RULES}
    return sorted(out)


def artifacts_of(params: dict[str, Any], job: Job) -> list[dict[str, str]]:
    """The wildcards of each artifact ``job`` writes: one per eval dataset of the study for a
    per-eval kind (evaluation), else the job's own."""
    if KINDS[job.rule].per_eval:
        return [{**job.wc, "eval": e} for e in params["study"]["eval_datasets"]]
    return [job.wc]


def job_paths(params: dict[str, Any], job: Job) -> list[str]:
    """The outputs that stand for ``job`` (Snakemake targets; the report rules have none)."""
    kind = KINDS[job.rule]
    assert kind.family is not None, f"{job.rule}: a report rule has no artifact directory"
    roots = [paths.family_dir(kind.family, **wc) for wc in artifacts_of(params, job)]
    return [f"{root}/{kind.output}" if kind.output else root for root in roots]


def job_path(job: Job) -> str:
    """The one output that stands for ``job``, a job of a kind that writes one artifact."""
    assert not KINDS[job.rule].per_eval, f"{job.rule} writes one result per eval dataset: see job_paths"
    return job_paths({}, job)[0]


def stage_outputs(params: dict[str, Any], stage: str) -> list[str]:
    """What a DVC stage versions: each job's directory (a subset directory holds the set,
    its sidecar and its statistics; a result directory the run, metrics and sidecar)."""
    out = set()
    for job in jobs(params):
        kind = KINDS[job.rule]
        if kind.stage != stage or kind.family is None:
            continue
        for wc in artifacts_of(params, job):
            root = paths.family_dir(kind.family, **wc)
            out.add(f"{root}/{kind.output}" if kind.family in ("pool", "leakage") else root)
    return sorted(out)


def report_files(params: dict[str, Any]) -> list[str]:
    """The study's versioned reports (timings and the MLflow receipt are volatile: not listed)."""
    reports = params["study"]["reports"]
    if study_task(params) == "classification":
        return [f"{reports}/{name}" for name in ("classification.csv", "diversity.csv", "claims.md", *PAGES)]
    return [f"{reports}/{name}" for name in ("scaling.csv", "scaling.png", "datasets.csv", "summary.csv",
                                             "summary.png", "claims.md", "per_query.json.gz", *PAGES)]
