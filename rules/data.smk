rule fetch_dataset:
    input:
        code=code("fetch-dataset"),
    # Only meta.json is declared: Snakemake deletes a job's declared outputs before it runs, and
    # the collection files beside it (corpus.jsonl, queries.jsonl, qrels/, whichever the data set
    # has) are replaced by the job only after every check passed (synthir.retrieval.data.fetch_dataset),
    # so a failed re-fetch leaves the good copy in place, and meta.json missing makes the next
    # run fetch again. meta.json holds every file's digest: jobs that read the collection take
    # it as their input, and Snakemake's checksum of it spares them a rerun when a re-fetch
    # brings the same bytes.
    output:
        meta=f"{RAW}/meta.json",
    log:
        log_for("fetch_dataset", RAW),
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["fetch_dataset"],
    params:
        cfg=job_config("fetch_dataset"),
        # where the archive is found and what it must match: recorded, not identity
        record=job_record("fetch_dataset"),
        out=lambda w, output: dataset_dir(output.meta),
    shell:
        "python -m synthir fetch-dataset --config {params.cfg:q} --record {params.record:q} "
        "--out-dir {params.out} --download-dir data/downloads 2> {log}"
