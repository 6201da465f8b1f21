# The retrieval study's reports; a classification study has its own (rules/classification.smk).
if study.study_task(config) == "retrieval":

    rule aggregate_metrics:
        input:
            metrics=get_all_metrics,
            # read by path from each trained cell's metrics (synthir.retrieval.report.scaling), declared here
            stats=get_all_stats,
            leakage=get_all_leakage,
            datasets=lambda w: _job_paths("fetch_dataset"),
            code=code("aggregate-metrics"),
        output:
            csv=f"{REPORTS}/scaling.csv",
            png=report(f"{REPORTS}/scaling.png", caption="captions/scaling.rst", category="2. Figures"),
            # what each data set holds (documents, queries, judgments) and what its fetch counted
            datasets=f"{REPORTS}/datasets.csv",
            # seconds per cell from each artifact's record.json: volatile, not versioned by DVC
            timings=f"{REPORTS}/timings.csv",
            # the numerics identities and CPUs behind the report (`synthir numerics --check`):
            # committed with the report, so a rebuild elsewhere can say why its bytes differ
            numerics=f"{REPORTS}/numerics.json",
        log:
            f"logs/aggregate_metrics/{REPORTS}.log",
        conda:
            "../envs/synthir.yaml"
        resources:
            **RESOURCES["aggregate_metrics"],
        shell:
            "python -m synthir aggregate-metrics --metrics {input.metrics} --csv {output.csv} "
            "--png {output.png} --timings {output.timings} --numerics {output.numerics} --dataset-metas {input.datasets} "
            "--datasets {output.datasets} 2> {log}"

    rule summarise:
        input:
            metrics=get_all_metrics,
            # read by the report (the unexposed comparison), found beside each cell's results
            leakage=get_all_leakage,
            scaling=rules.aggregate_metrics.output.csv,
            code=code("summarise"),
        output:
            csv=f"{REPORTS}/summary.csv",
            png=report(f"{REPORTS}/summary.png", caption="captions/summary.rst", category="2. Figures"),
            claims=f"{REPORTS}/claims.md",
            # the per-query scores both are computed from (python -m synthir recheck)
            evidence=f"{REPORTS}/per_query.json.gz",
        log:
            f"logs/summarise/{REPORTS}.log",
        conda:
            "../envs/synthir.yaml"
        resources:
            **RESOURCES["summarise"],
        params:
            # which alias plays which role in the claims: sizes, kinds, negative sources
            cfg=job_config("summarise"),
        shell:
            "python -m synthir summarise --config {params.cfg:q} --metrics {input.metrics} --scaling {input.scaling} "
            "--csv {output.csv} --png {output.png} --claims {output.claims} --evidence {output.evidence} 2> {log}"


# Tracking sits beside the compute path: nothing depends on it. It re-syncs (idempotently)
# when a result changes or when MLFLOW_TRACKING_URI points at another store (the params
# trigger sees the URI, with any credentials redacted).
rule track_runs:
    input:
        metrics=get_all_metrics,
        code=code("track-runs"),
    output:
        receipt=f"{REPORTS}/mlflow_runs.json",
    log:
        f"logs/track_runs/{REPORTS}.log",
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["track_runs"],
    params:
        store=tracking_store(),
    shell:
        "python -m synthir track-runs --metrics {input.metrics} --receipt {output.receipt} 2> {log}"
