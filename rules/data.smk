rule fetch_dataset:
    input:
        code=code("fetch-dataset"),
    output:
        corpus=f"{RAW}/corpus.jsonl",
        queries=f"{RAW}/queries.jsonl",
        qrels=directory(f"{RAW}/qrels"),
        meta=f"{RAW}/meta.json",
    log:
        log_for("fetch_dataset", RAW),
    params:
        cfg=job_config("fetch_dataset"),
        # where the archive is found and what it must match: recorded, not identity
        record=job_record("fetch_dataset"),
        out=lambda w, output: dataset_dir(output.corpus),
    conda:
        "../envs/synthir.yaml"
    shell:
        "python -m synthir fetch-dataset --config {params.cfg:q} --record {params.record:q} "
        "--out-dir {params.out} --download-dir data/downloads 2> {log}"
