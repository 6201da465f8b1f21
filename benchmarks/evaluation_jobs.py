"""What one evaluation job per model saves: a model's evaluations on every eval dataset run as
one process (what rules/evaluate.smk runs: ``synthir evaluate-dense ARGS + ARGS ...``) against
one process per eval dataset (what it ran before), on a built study, with the bytes compared.

    python benchmarks/evaluation_jobs.py [PROJECT_DIR] [--models 4]

For the first ``--models`` models of the study's evaluation jobs (sorted, so a scale-0 base that
searches its index and trained ones come first), each way is run once into a temporary folder;
it prints the seconds of each and whether every ``metrics.json`` and ``run.trec`` has the bytes
of the study's own result. Run it alone on the machine: the seconds are wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from synthir.core import paths
from synthir.workflow import slices, study
from synthir.workflow.cli import JOB_SEPARATOR, per_eval_argv


def evaluation_args(params: dict, job: study.Job, out: Path) -> list[list[str]]:
    """The arguments of each of ``job``'s evaluations, writing under ``out``."""
    wc = job.wc
    cell = study.Cell(wc["dataset"], wc["augmenter"], wc["strategy"], int(wc["draw"]), int(wc["scale"]),
                      wc["base"], int(wc["seed"]))
    model = paths.family_dir("prepared", model=wc["base"]) if cell.is_baseline else paths.family_dir("model", **wc)
    configs = slices.identity(params, job.rule, wc)
    each = {e: {"dataset_dir": paths.family_dir("raw", dataset=e), "run_path": out / e / "run.trec",
                "metrics_path": out / e / "metrics.json",
                **({"index_dir": paths.family_dir("index", corpus=e, base=wc["base"])}
                   if study.uses_base_index(params, cell) else {})} for e in configs}
    return per_eval_argv(configs, {"model_dir": model}, each)


def timed(argvs: list[list[str]], cwd: Path) -> float:
    start = time.perf_counter()
    for argv in argvs:
        r = subprocess.run([sys.executable, "-m", "synthir", "evaluate-dense", *argv], cwd=cwd,
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(r.stderr[-3000:])
    return time.perf_counter() - start


def same_bytes(params: dict, job: study.Job, out: Path, root: Path) -> bool:
    for e in params["study"]["eval_datasets"]:
        built = root / paths.family_dir("result", eval=e, **job.wc)
        for name in ("metrics.json", "run.trec"):
            if (out / e / name).read_bytes() != (built / name).read_bytes():
                return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project", nargs="?", default=".")
    ap.add_argument("--models", type=int, default=4)
    a = ap.parse_args()
    root = Path(a.project).resolve()
    params = yaml.safe_load((root / "params.yaml").read_text())
    jobs = [j for j in study.jobs(params) if j.rule == "evaluate_dense"][: a.models]
    print("| model | eval datasets | one process per eval dataset (s) | one process (s) | same bytes |")
    print("|---|---|---|---|---|")
    totals = [0.0, 0.0]
    for job in jobs:
        with tempfile.TemporaryDirectory(prefix="synthir-eval-") as tmp:
            apart, together = Path(tmp, "apart"), Path(tmp, "together")
            t_apart = timed(evaluation_args(params, job, apart), root)
            merged = [arg for i, x in enumerate(evaluation_args(params, job, together))
                      for arg in ([JOB_SEPARATOR] if i else []) + x]
            t_together = timed([merged], root)
            same = same_bytes(params, job, apart, root) and same_bytes(params, job, together, root)
        totals[0] += t_apart
        totals[1] += t_together
        w = job.wc
        print(f"| {w['base']} {w['strategy']} x{w['scale']} draw {w['draw']} | {len(params['study']['eval_datasets'])} "
              f"| {t_apart:.1f} | {t_together:.1f} | {'yes' if same else 'NO'} |")
    print(f"| **all {len(jobs)}** | | {totals[0]:.1f} | {totals[1]:.1f} | |")


if __name__ == "__main__":
    main()
