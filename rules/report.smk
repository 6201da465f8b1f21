rule aggregate_metrics:
    input:
        metrics=get_all_metrics,
        # read by path from each trained cell's metrics (synthir.report), declared here
        stats=lambda w: [p for p in get_all_synthetic(w) if p.endswith("stats.json")],
        leakage=get_all_leakage,
        code=code("report.py", "paths.py"),
    output:
        csv=f"{REPORTS}/scaling.csv",
        png=f"{REPORTS}/scaling.png",
    conda:
        "../envs/synthir.yaml"
    log:
        f"logs/aggregate_metrics/{REPORTS}.log",
    shell:
        "python -m synthir aggregate --metrics {input.metrics} --csv {output.csv} "
        "--png {output.png} 2> {log}"


rule summarise:
    input:
        metrics=get_all_metrics,
        scaling=rules.aggregate_metrics.output.csv,
        code=code("summary.py", "claims.py", "report.py", "paths.py"),
    output:
        csv=f"{REPORTS}/summary.csv",
        png=f"{REPORTS}/summary.png",
        claims=f"{REPORTS}/claims.md",
    conda:
        "../envs/synthir.yaml"
    log:
        f"logs/summarise/{REPORTS}.log",
    shell:
        "python -m synthir summary --metrics {input.metrics} --scaling {input.scaling} --csv {output.csv} "
        "--png {output.png} --claims {output.claims} 2> {log}"


# Tracking sits beside the compute path: nothing depends on it. It re-syncs (idempotently)
# when a result changes or when MLFLOW_TRACKING_URI points at another store (the params
# trigger sees the URI, with any credentials redacted).
rule track_runs:
    input:
        metrics=get_all_metrics,
        code=code("track.py", "paths.py"),
    output:
        receipt=f"{REPORTS}/mlflow_runs.json",
    conda:
        "../envs/synthir.yaml"
    log:
        f"logs/track_runs/{REPORTS}.log",
    params:
        store=tracking_store(),
    shell:
        "python -m synthir track --metrics {input.metrics} --receipt {output.receipt} 2> {log}"
