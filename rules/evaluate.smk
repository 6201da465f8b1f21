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


# One evaluation job per model: it searches every eval dataset of the study in one process
# (`python -m synthir evaluate-dense ARGS + ARGS ...`, synthir.workflow.cli), writing one result
# directory per eval dataset, each with the meta.json of its own evaluation.
rule evaluate_dense:
    input:
        model=get_retriever,
        index=get_base_indexes,
        dataset=get_eval_datasets,
        code=code("evaluate-dense"),
    output:
        run=expand(f"{RESULT}/run.trec", eval=EVALS, allow_missing=True),
        metrics=expand(f"{RESULT}/metrics.json", eval=EVALS, allow_missing=True),
        meta=expand(f"{RESULT}/meta.json", eval=EVALS, allow_missing=True),
    log:
        log_for("evaluate_dense", MODEL_RESULTS),
    benchmark:
        benchmark_for("evaluate_dense", MODEL_RESULTS)
    wildcard_constraints:
        base=_alternatives(config["encoders"]),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["evaluate_dense"],
    params:
        cfg=job_config("evaluate_dense"),
        jobs=lambda w, input, output: per_eval_jobs("evaluate_dense", w, input, output, model_dir=input.model),
    shell:
        "python -m synthir evaluate-dense {params.jobs} 2> {log}"


rule evaluate_bm25:
    input:
        dataset=get_eval_datasets,
        code=code("evaluate-bm25"),
    output:
        run=expand(f"{RESULT}/run.trec", eval=EVALS, allow_missing=True),
        metrics=expand(f"{RESULT}/metrics.json", eval=EVALS, allow_missing=True),
        meta=expand(f"{RESULT}/meta.json", eval=EVALS, allow_missing=True),
    log:
        log_for("evaluate_bm25", MODEL_RESULTS),
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
        jobs=lambda w, input, output: per_eval_jobs("evaluate_bm25", w, input, output),
    shell:
        "python -m synthir evaluate-bm25 {params.jobs} 2> {log}"
