"""Where a built study's seconds went: each job's own time (``record.json``: ``job_seconds``,
from the adapter's start to its sidecars) summed by job kind, with the numerics it ran under.

    python benchmarks/job_seconds.py [PROJECT_DIR ...]

One column per project directory (e.g. a portable and a native build of the same study side by
side). Job start-up outside the adapter (Snakemake, the interpreter) is not in these seconds;
the wall time of the whole command is what `time` around it printed.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def job_seconds(root: Path) -> tuple[dict[str, float], dict[str, int], set[str]]:
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    modes: set[str] = set()
    for top in ("data", "models", "results"):
        for record in (root / top).rglob("*record.json"):
            rec = json.loads(record.read_text())
            s = rec.get("volatile", {}).get("job_seconds")
            if s is None:
                continue
            seconds[rec["kind"]] += s
            counts[rec["kind"]] += 1
            meta = record.with_name("meta.json") if record.name == "record.json" else \
                record.with_name(record.name.replace(".record.json", ".json"))
            if meta.is_file():
                compute = json.loads(meta.read_text()).get("config", {}).get("compute")
                if compute:
                    modes.add(f"{compute['numerics']} {compute['platform']}")
    return seconds, counts, modes


def main(dirs: list[str]) -> None:
    builds = {d: job_seconds(Path(d)) for d in dirs}
    kinds = sorted({k for s, _, _ in builds.values() for k in s})
    print("| job kind | " + " | ".join(f"{d} (jobs, s)" for d in dirs) + " |")
    print("|---|" + "---|" * len(dirs))
    for k in kinds:
        print(f"| {k} | " + " | ".join(f"{c.get(k, 0)}, {s.get(k, 0):.0f}" for s, c, _ in builds.values()) + " |")
    print("| **all jobs** | " + " | ".join(f"{sum(c.values())}, {sum(s.values()):.0f}" for s, c, _ in builds.values())
          + " |")
    print("| numerics | " + " | ".join(", ".join(sorted(m)) for _, _, m in builds.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["."])
