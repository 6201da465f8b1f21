"""The Snakemake workflow: its dry run plans exactly the study grid (its lint: test_lint.py)."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from synthir.workflow import slices, study
from synthir.workflow.params import load

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_dry_run_plans_one_evaluation_job_per_model(tmp_path):
    # Plan in an empty copy so existing outputs do not hide jobs.
    for item in ("Snakefile", "rules", "src", "params.yaml"):
        src = ROOT / item
        (tmp_path / item).symlink_to(src, target_is_directory=src.is_dir())
    r = run("-n", "--quiet", "rules", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", r.stdout + r.stderr, re.M))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    cells = study.study_cells(params)
    evals = len(params["study"]["eval_datasets"])
    dense = [c for c in cells if c.base != "bm25"]
    trained = [c for c in cells if not c.is_baseline]
    assert evals > 1  # one job evaluates a model on every eval dataset
    assert int(counts["evaluate_dense"]) == len(dense)
    assert int(counts["evaluate_bm25"]) == 1
    assert int(counts["train_retriever"]) == len(trained)
    assert int(counts["generate_pool"]) == len({(c.dataset, c.augmenter, c.strategy, c.draw)
                                                for c in trained if not c.is_human})
    assert int(counts["sample_human"]) == len({(c.dataset, c.draw, c.scale) for c in trained if c.is_human})


def test_a_draw_redraws_the_data_and_nothing_else():
    """Draw 0 is the configured seeds; another draw re-seeds what picks the data (a pool's
    passages and sampling, negatives' fallbacks, the human arm's order) and keeps the training
    seed, so a draw differs from another by its data alone."""
    params = load(ROOT / "params.yaml")
    params["study"]["draws"] = [0, 1, 2]
    params["strategies"]["qgen+bm25"]["human_fraction"] = 0.2
    cells = study.study_cells(params)
    assert {c.draw for c in cells if not c.is_baseline} == {0, 1, 2}
    assert {c.draw for c in cells if c.is_baseline} == {0}
    pools = [j for j in study.jobs(params) if j.rule == "generate_pool"]
    assert sorted(j.wc["draw"] for j in pools) == ["0", "1", "2"]
    w = {"dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen", "scale": "100", "base": "minilm-l6",
         "seed": "0"}
    seeds = [slices.generate_pool(params, {**w, "draw": d})["strategy"]["seed"] for d in "012"]
    assert seeds[0] == params["strategies"]["qgen"]["seed"] and len(set(seeds)) == 3
    human = [slices.sample_human(params, {**w, "strategy": "human", "draw": d})["seed"] for d in "012"]
    assert human[0] == params["study"]["human_seed"] and len(set(human)) == 3
    mixed = [slices.subset_scale(params, {**w, "strategy": "qgen+bm25", "draw": d})["seed"] for d in "01"]
    assert mixed[0] != mixed[1]
    trained = [slices.train_retriever(params, {**w, "draw": d}) for d in "012"]
    assert trained[0] == trained[1] == trained[2]
    assert study.drawn_seed(7, 1) == study.drawn_seed(7, 1) != study.drawn_seed(8, 0)
    # a pool is as large as its own draw's largest scale
    params["study"]["exclude"] = [{"draw": 2, "scale": 800}]
    sizes = [slices.generate_pool(params, {**w, "draw": d})["max_scale"] for d in "02"]
    assert sizes == [800, 300]


def test_invalid_params_fail_before_planning_and_name_the_key(tmp_path):
    for item in ("Snakefile", "rules", "src"):
        src = ROOT / item
        (tmp_path / item).symlink_to(src, target_is_directory=src.is_dir())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["training"]["batch_size"] = "big"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    r = run("-n", cwd=tmp_path)
    assert r.returncode != 0
    assert "training.batch_size: 'big' is not of type 'integer'" in r.stderr + r.stdout
    assert not (tmp_path / "data").exists()


def test_documented_configs_are_valid_and_write_their_own_reports(tmp_path):
    # Running a documented configuration must never overwrite the default study's reports
    # (DVC versions those): each names its own directory and its dry run plans into it.
    for item in ("Snakefile", "rules", "src", "params.yaml", "configs"):
        src = ROOT / item
        (tmp_path / item).symlink_to(src, target_is_directory=src.is_dir())
    seen = {"reports"}
    plans = {}
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        reports = yaml.safe_load(config.read_text())["study"]["reports"]
        assert reports not in seen, f"{config.name}: study.reports {reports!r} is taken"
        seen.add(reports)
        report = f"{reports}/claims.md"
        assert report in study.report_files(load(ROOT / "params.yaml", [config]))
        # the dry runs side by side (each is one process of a few seconds)
        plans[config.name, report] = subprocess.Popen(
            [*SNAKEMAKE, "-n", report, "--configfile", f"configs/{config.name}"], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for (name, report), plan in plans.items():
        out, _ = plan.communicate(timeout=300)
        assert plan.returncode == 0, f"{name}: {out[-2000:]}"
        assert report in out


def test_documented_configs_share_the_default_studys_artifacts_unchanged():
    """A job a documented config shares with the default study must have the same identity:
    otherwise running one study rewrites the other's artifacts (same paths, other params) and
    each run undoes the other. An evaluation job is one per model over its study's eval
    datasets: what must agree is each evaluation on an eval dataset both studies have (a study
    with another list re-evaluates a shared model, writing the same bytes)."""
    default = load(ROOT / "params.yaml")

    def artifacts(p: dict) -> set[study.Job]:  # a job per artifact (with its eval dataset)
        return {study.Job.of(job.rule, **wc) for job in study.jobs(p) for wc in study.artifacts_of(p, job)}

    for config in sorted((ROOT / "configs").glob("*.yaml")):
        merged = load(ROOT / "params.yaml", [config])
        shared = artifacts(default) & artifacts(merged)
        # the GPU study trains other bases on another device, and paper-shapes-nfcorpus trains on
        # another corpus: they share data, corpus indexes and BM25 only; the classification study
        # and the unlabelled corpus's (ArguAna: no default cell) share the prepared models only
        prepared_only = ("synthesizrr.yaml", "domain-adaptation.yaml")
        no_default_cell = ("gpu.yaml", "paper-shapes-nfcorpus.yaml", *prepared_only)
        assert config.name in no_default_cell or any(j.rule == "train_retriever" for j in shared), config.name
        assert config.name not in prepared_only or {j.rule for j in shared} - {
            "track_runs", "report_pages", *study.REPORT_RULES} == {"prepare_llm", "prepare_encoder"}, config.name
        for job in shared:  # report jobs write into each study's own directory: not shared
            if job.rule in slices.IDENTITY and job.rule not in study.REPORT_RULES:
                assert slices.identity(merged, job.rule, job.wc) == slices.identity(default, job.rule, job.wc), \
                    f"{config.name}: {job}"
