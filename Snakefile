# synthir: the study DAG. Rules are wiring; the logic lives in src/synthir and runs through
# `python -m synthir <command>`. Targets: `snakemake -j8 reports/scaling.csv` (or `all`).
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


report: "rules/captions/workflow.rst"


include: "rules/common.smk"


# A typo in a wildcard value is a planning error, not a phantom job.
wildcard_constraints:
    dataset=_alternatives([*config["datasets"], paths.NONE]),
    eval=_alternatives(config["datasets"]),
    corpus=_alternatives(config["datasets"]),
    augmenter=_alternatives([*config["llms"], paths.NONE]),
    strategy=_alternatives([*config["strategies"], paths.NONE, paths.HUMAN]),
    base=_alternatives([*config["encoders"], *config.get("students", {}), "bm25"]),
    model=_alternatives([*config["llms"], *config["encoders"]]),
    scale=r"\d+",
    draw=r"\d+",
    seed=r"\d+",


include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/synthetic.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/classification.smk"
include: "rules/pages.smk"


rule all:
    default_target: True
    input:
        get_reports,


# One target per artifact family (the stages of dvc.yaml run these).
rule all_data:
    input:
        get_all_data,


rule all_synthetic:
    input:
        get_all_synthetic,


rule all_models:
    input:
        get_all_models,


rule all_results:
    input:
        get_all_metrics,
        get_all_leakage,
