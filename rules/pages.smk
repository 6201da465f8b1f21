# The report as pages a person opens: `snakemake --report report.html` (same targets and
# --configfile as the study) writes one self-contained HTML of every output marked report()
# here and in rules/report.smk, captioned by rules/captions/. Check it in a browser:
# `python -m synthir check-report report.html --screenshots <folder>`.
if study.study_task(config) == "classification":
    _REPORT = rules.classification_report.output
    _PAGE_INPUTS = {"claims": _REPORT.claims, "tables": [_REPORT.csv, _REPORT.diversity]}
else:
    _PAGE_INPUTS = {
        "claims": rules.summarise.output.claims,
        "tables": [rules.summarise.output.csv, rules.aggregate_metrics.output.csv],
        "datasets": rules.aggregate_metrics.output.datasets,
    }


rule report_pages:
    input:
        **_PAGE_INPUTS,
        # each set's meta.json beside it is read too: an output of the job that wrote its rows,
        # upstream of its stats.json
        stats=get_all_stats,
        code=code("report-pages"),
    output:
        claims=report(f"{REPORTS}/pages/claims.html", caption="captions/claims.rst", category="1. Claims"),
        tables=report(f"{REPORTS}/pages/tables.html", caption="captions/tables.rst", category="3. Tables"),
        cards=report(f"{REPORTS}/pages/cards.html", caption="captions/cards.rst", category="4. Data cards"),
    log:
        f"logs/report_pages/{REPORTS}.log",
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["report_pages"],
    params:
        title=study.report_title(REPORTS),
        datasets=lambda w, input: f"--datasets {input.datasets}" if "datasets" in input.keys() else "",
    shell:
        "python -m synthir report-pages --title {params.title:q} --claims {input.claims} --tables {input.tables} "
        "--stats {input.stats} {params.datasets} --claims-html {output.claims} --tables-html {output.tables} "
        "--cards-html {output.cards} 2> {log}"
