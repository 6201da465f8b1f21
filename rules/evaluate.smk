rule encode_corpus:
    input:
        model=lambda w: expand(PREPARED, model=w.base),
        dataset=lambda w: expand(rules.fetch_dataset.output.meta, dataset=w.corpus),
        code=code("encode-corpus"),
    output:
        index=directory(INDEX),
    log:
        log_for("encode_corpus", INDEX),
    benchmark:
        benchmark_for("encode_corpus", INDEX)
    wildcard_constraints:
        base=_alternatives(config["encoders"]),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["encode_corpus"],
    params:
        cfg=job_config("encode_corpus"),
        dataset=lambda w, input: dataset_dir(input.dataset[0]),
    shell:
        "python -m synthir encode-corpus --config {params.cfg:q} --model-dir {input.model} "
        "--dataset-dir {params.dataset} --out-dir {output.index} 2> {log}"


rule evaluate_dense:
    input:
        model=get_retriever,
        index=get_base_index,
        dataset=get_eval_dataset,
        code=code("evaluate-dense"),
    output:
        run=f"{RESULT}/run.trec",
        metrics=f"{RESULT}/metrics.json",
        meta=f"{RESULT}/meta.json",
    log:
        log_for("evaluate_dense", RESULT),
    benchmark:
        benchmark_for("evaluate_dense", RESULT)
    wildcard_constraints:
        base=_alternatives(config["encoders"]),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["evaluate_dense"],
    params:
        cfg=job_config("evaluate_dense"),
        dataset=lambda w, input: dataset_dir(input.dataset[0]),
        index=lambda w, input: f"--index-dir {input.index}" if input.index else "",
    shell:
        "python -m synthir evaluate-dense --config {params.cfg:q} --model-dir {input.model} "
        "--dataset-dir {params.dataset} {params.index} --run-path {output.run} "
        "--metrics-path {output.metrics} 2> {log}"


rule evaluate_bm25:
    input:
        dataset=get_eval_dataset,
        code=code("evaluate-bm25"),
    output:
        run=f"{RESULT}/run.trec",
        metrics=f"{RESULT}/metrics.json",
        meta=f"{RESULT}/meta.json",
    log:
        log_for("evaluate_bm25", RESULT),
    wildcard_constraints:
        base="bm25",
        dataset=paths.NONE,
        augmenter=paths.NONE,
        strategy=paths.NONE,
        draw="0",
        scale="0",
        seed="0",
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["evaluate_bm25"],
    params:
        cfg=job_config("evaluate_bm25"),
        dataset=lambda w, input: dataset_dir(input.dataset[0]),
    shell:
        "python -m synthir evaluate-bm25 --config {params.cfg:q} --dataset-dir {params.dataset} "
        "--run-path {output.run} --metrics-path {output.metrics} 2> {log}"
