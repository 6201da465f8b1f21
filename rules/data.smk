rule fetch_dataset:
    input:
        code=code("data.py"),
    output:
        corpus=f"{RAW}/corpus.jsonl",
        queries=f"{RAW}/queries.jsonl",
        qrels=directory(f"{RAW}/qrels"),
        meta=f"{RAW}/meta.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("fetch_dataset", RAW),
    params:
        cfg=lambda w: as_json(C.fetch_slice(config, w.dataset)),
        out=lambda w, output: dataset_dir(output.corpus),
    shell:
        "python -m synthir fetch --config {params.cfg:q} --out {params.out} "
        "--download-dir data/downloads 2> {log}"
