"""How long Snakemake takes to plan a large study, and how much memory it needs.

A throw-away project (this checkout's workflow, linked) plans, with `configs/strategies.yaml`'s
settings, every retrieval strategy params.yaml defines (fourteen: taking that file's own list, cut
to six, had shrunk this grid to 4,320 cells unnoticed) over a grid sized by the options (by
default 2 augmenters x 14 strategies x 6 trained scales x 4 bases x 15 seeds x 1 draw x 3 eval
sets: 10,080 synthetic cells, each trained and evaluated, plus the human arm and the untouched
bases) with `snakemake -n`, and prints the trained cells, the jobs, the wall time and the peak
memory of the planning process. Nothing is built; the data mirror need not be present (planning
reads no data).

    python benchmarks/planning.py                      # the 10,000-cell grid
    python benchmarks/planning.py --seeds 2            # a smaller one
    python benchmarks/planning.py --profile plan.prof  # and where the time goes (cProfile)
    python benchmarks/planning.py --batch 4            # planned in four parts (Snakemake --batch)

With ``--batch N`` the grid is planned as Snakemake's ``--batch aggregate_metrics=i/N`` runs
(each plans the jobs behind a 1/N share of the report's inputs). Snakemake plans the last part
only once the others are built (it runs the report), so parts 1 to N-1 are measured: the
slowest part's seconds and peak memory, and their total.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("Snakefile", "rules", "src", "envs", "profiles", "params.yaml", "configs")


def retrieval_strategies() -> list[str]:
    """Every strategy of params.yaml whose kind generates retrieval data, in its order."""
    sys.path.insert(0, str(ROOT / "src"))
    from synthir.generation.strategy import strategy_task

    defined = yaml.safe_load((ROOT / "params.yaml").read_text())["strategies"]
    return [name for name, s in defined.items() if strategy_task(s["kind"]) == "retrieval"]


def plan(args: argparse.Namespace, part: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="synthir-planning-") as tmp:
        work = Path(tmp)
        for item in LINKED:
            (work / item).symlink_to(ROOT / item, target_is_directory=(ROOT / item).is_dir())
        strategies = retrieval_strategies()
        study = {"augmenters": args.augmenters, "strategies": strategies[: args.strategies],
                 "scales": [0, *args.scales], "bases": args.bases, "seeds": list(range(args.seeds)),
                 "draws": list(range(args.draws)),
                 "eval_datasets": args.evals, "exclude": [], "reports": "reports/planning"}
        (work / "grid.yaml").write_text(yaml.safe_dump({"study": study}))
        profile = ["-m", "cProfile", "-o", str(Path(args.profile).resolve())] if args.profile else []
        cmd = [sys.executable, *profile, "-m", "snakemake", "reports/planning/scaling.csv", "-n", "--quiet", "rules",
               "--configfile", "configs/strategies.yaml", "grid.yaml", *(["--batch", part] if part else [])]
        start = time.perf_counter()
        r = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        seconds = time.perf_counter() - start
        rules = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", r.stdout + r.stderr, re.M)}
        if r.returncode != 0 or "total" not in rules:
            sys.exit(f"planning failed:\n{(r.stdout + r.stderr)[-4000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux; the largest so far
    trained = len(args.augmenters) * min(args.strategies, len(strategies)) * len(args.scales) * len(args.bases) * args.seeds * args.draws
    return {"synthetic cells": trained, "trained models": rules.get("train_retriever", 0),
            "jobs": rules.get("total", 0), "seconds": round(seconds, 1), "peak GB": round(peak_kb / 2**20, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--augmenters", nargs="+", default=["smollm2-135m", "qwen25-05b"])
    ap.add_argument("--strategies", type=int, default=14, help="the first N of params.yaml's retrieval strategies")
    ap.add_argument("--scales", nargs="+", type=int, default=[100, 200, 300, 400, 600, 800], help="trained scales")
    ap.add_argument("--bases", nargs="+", default=["minilm-l6", "splade-tiny", "glove-50d", "minilm-l6-scratch"])
    ap.add_argument("--seeds", type=int, default=15)
    ap.add_argument("--draws", type=int, default=1,
                    help="draws of the data (configs/strategies.yaml asks for 3; the 10^4 grid counts them as seeds)")
    ap.add_argument("--evals", nargs="+", default=["scifact", "cisi", "cranfield"])
    ap.add_argument("--profile", help="write the planning process's cProfile here")
    ap.add_argument("--batch", type=int, default=1, help="plan in this many parts (Snakemake --batch); at least 2")
    args = ap.parse_args()
    if args.batch == 1:
        figures = plan(args)
    else:
        parts = [plan(args, f"aggregate_metrics={i}/{args.batch}") for i in range(1, args.batch)]
        figures = {"synthetic cells": parts[0]["synthetic cells"], "parts planned": f"{len(parts)} of {args.batch}",
                   "jobs summed over parts": sum(p["jobs"] for p in parts), "slowest part s": max(p["seconds"] for p in parts),
                   "total s": round(sum(p["seconds"] for p in parts), 1), "peak GB": max(p["peak GB"] for p in parts)}
    print("| " + " | ".join(figures) + " |")
    print("|" + "---|" * len(figures))
    print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in figures.values()) + " |")


if __name__ == "__main__":
    main()
