"""Snakemake's own view of a study's DAG, for the contract tests: every job with its rule,
wildcards, inputs and params, as Snakemake plans them from an empty directory.

Run as a script in the project directory (``python dagdump.py [--configfile F]``), it prints one
JSON object a job. It uses Snakemake's Python API and DAG internals (``Workflow._prepare_dag``,
``dag.jobs``), which no command-line option exposes for jobs that have not run; a change there
breaks these tests loudly, not silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main(configfiles: list[str]) -> None:
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(f) for f in configfiles]),
            snakefile=Path("Snakefile"),
            workdir=Path.cwd(),
        )
        dag_api = workflow_api.dag(DAGSettings(forceall=True))
        workflow = dag_api.workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        for job in workflow.dag.jobs:
            params = {name: (value if isinstance(value, str | int | float | bool | type(None)) else
                             {"unrepresentable": str(value)}) for name, value in job.params.items()}
            # what Snakemake's params trigger compares for this job (values it cannot serialise,
            # and params derived from input or output paths, are not part of it)
            trigger = workflow.persistence._params(job)
            print(json.dumps({"rule": job.rule.name, "wildcards": dict(job.wildcards_dict), "input": list(job.input),
                              "params": params, "trigger": trigger, "shellcmd": job.rule.shellcmd}))


def dump(project: Path, *configfiles: str) -> list[dict]:
    """The jobs of the study in ``project`` (a directory with the workflow and params.yaml)."""
    r = subprocess.run([sys.executable, __file__, *configfiles], cwd=project, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


if __name__ == "__main__":
    main(sys.argv[1:])
