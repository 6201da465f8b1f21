rule aggregate_metrics:
    input:
        metrics=get_all_metrics,
        code=code("report.py", "paths.py"),
    output:
        csv="reports/scaling.csv",
        png="reports/scaling.png",
    conda:
        "../envs/synthir.yaml"
    log:
        "logs/aggregate_metrics/reports.log",
    shell:
        "python -m synthir aggregate --metrics {input.metrics} --csv {output.csv} "
        "--png {output.png} 2> {log}"
