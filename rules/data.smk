rule fetch_dataset:
    input:
        code=code("fetch-dataset"),
    # update(): Snakemake keeps the earlier copy while the job runs and restores it if the job
    # fails (the job itself stages and swaps), so a failed re-fetch after a config change never
    # loses good data, nor the mtimes that keep everything built on it up to date.
    output:
        corpus=update(f"{RAW}/corpus.jsonl"),
        meta=update(f"{RAW}/meta.json"),
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
