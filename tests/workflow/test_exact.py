"""Exact means exact, on the tiny study: native numerics plan another build on another CPU class,
each job imported only code its rule declares, and a change of where data is found (or of a
licence) plans nothing while a change of what a job reads plans exactly its jobs. That a whole
clone rebuilt with other -j and every library capped to AVX2 has dvc.lock's bytes is the slow
suite's (tests/workflow/test_rebuild_anywhere.py); tests/unit/test_numerics.py shows the caps
change the bytes of a native build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from studyrun import ROOT, copy_study, snakemake

from synthir.core import closure, io, numerics, paths, provenance

from synthir.workflow import study
sys.path.insert(0, str(ROOT / "tests"))
from dagdump import dump  # noqa: E402

# the weak base, both towers trained: every weight of the model and of its corpus encoding counts
CELL = dict(dataset="scifact", augmenter="smollm2-135m", strategy="qgen", draw=0, scale=16, base="splade-tiny", seed=0)


def test_native_numerics_plan_another_build_on_another_cpu_class(tiny_study, tmp_path):
    """In native mode the CPU class is the identity: the same study planned under AVX2 caps
    (another class) gives every numeric job another configuration, never the same one."""
    cpu = numerics.cpu_info()
    if numerics.isa_level(cpu["flags"], {}) == "avx2":  # the caps' class is this CPU's own
        pytest.skip(f"this CPU ({cpu['model']}) is of the AVX2 class already: no cap plans another class")
    work, params = tiny_study
    copy = copy_study(work, tmp_path / "native")
    native = {**params, "compute": {**params["compute"], "numerics": "native"}}
    (copy / "params.yaml").unlink()  # a hard link to the study's own params.yaml (copy_study)
    (copy / "params.yaml").write_text(yaml.safe_dump(native, sort_keys=False))

    def configs(env: dict[str, str]) -> set[str]:
        r = snakemake(copy, "-n", "-p", "-F", paths.family_dir("model", **CELL), env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        return {line for line in r.stdout.splitlines() if '"platform"' in line}

    here, capped = configs({}), configs(numerics.AVX2_ONLY_ENV)
    assert here and capped and not here & capped
def _metas_of(params: dict, job: study.Job) -> list[Path]:
    """The sidecars of what ``job`` wrote (an evaluation: one per eval dataset)."""
    out = []
    for path in map(Path, study.job_paths(params, job)):
        if path.name in ("train.jsonl", "metrics.json") or not path.suffix:
            path = path.parent / "meta.json" if path.suffix else path / "meta.json"
        out.append(path)  # stats.json, leakage.json, meta.json: the sidecar itself
    return out


def test_every_module_a_job_imported_is_declared_as_its_code_input(tiny_study):
    work, params = tiny_study
    checked = 0
    for job in dump(work):
        if getattr(study.KINDS.get(job["rule"]), "family", None) is None:  # a report or a target rule
            continue
        declared = {p for p in job["input"] if p.startswith("src/synthir/")}
        for meta in _metas_of(params, study.Job.of(job["rule"], **job["wildcards"])):
            imported = {m for m in io.read_json(provenance.record_path(work / meta))["modules"]}
            files = {closure.module_file(m).relative_to(ROOT).as_posix() for m in imported}
            assert files <= declared, (job["rule"], sorted(files - declared))
            checked += 1
    assert checked > 30


def planned(work: Path, overlay: dict, tmp_path: Path) -> dict[str, int]:
    import re

    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    r = snakemake(work, "reports/scaling.csv", "reports/summary.csv", "-n", "--quiet", "rules",
                  "--configfile", "params.yaml", str(tmp_path / "overlay.yaml"))
    assert r.returncode == 0, r.stderr[-3000:]
    return {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", r.stdout + r.stderr, re.M) if k != "total"}


@pytest.mark.parametrize("change", ["mirror", "license"])
def test_where_data_is_found_and_licences_are_records_not_identity(tiny_study, tmp_path, change):
    work, params = tiny_study
    if change == "mirror":  # the same mirror, spelled another way
        overlay = {"mirror": str(Path(params["mirror"]) / ".." / Path(params["mirror"]).name)}
    else:
        overlay = {"datasets": {"scifact": {"license": "CC BY-NC 2.0 (SciFact terms)"}},
                   "llms": {"smollm2-135m": {"license": "Apache License 2.0"}}}
    assert planned(work, overlay, tmp_path) == {}


def test_a_key_plans_exactly_the_jobs_that_read_it(tiny_study, tmp_path):
    work, params = tiny_study
    jobs = study.jobs(params)
    expected = {rule: sum(j.rule == rule for j in jobs) for rule in ("evaluate_dense", "evaluate_bm25")}
    # the run depth: evaluation only, never generation, subsets or statistics (as before)
    assert planned(work, {"evaluation": {"top_k": 50}}, tmp_path) == {**expected, "aggregate_metrics": 1, "summarise": 1}
