rule encode_corpus:
    input:
        model=lambda w: expand(PREPARED, model=w.base),
        corpus=get_eval_corpus,
        code=code("evaluate.py"),
    output:
        index=directory(INDEX),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("encode_corpus", INDEX),
    benchmark:
        benchmark_for("encode_corpus", INDEX)
    params:
        cfg=lambda w: as_json(C.eval_slice(config, w.eval, w.base)),
        dataset=lambda w, input: dataset_dir(input.corpus[0]),
    threads: HEAVY
    wildcard_constraints:
        base=_alternatives(config["encoders"]),
    shell:
        "python -m synthir encode-corpus --config {params.cfg:q} --model {input.model} "
        "--dataset {params.dataset} --out {output.index} --threads {threads} 2> {log}"


rule evaluate_dense:
    input:
        model=get_retriever,
        index=get_base_index,
        corpus=get_eval_corpus,
        code=code("evaluate.py"),
    output:
        run=f"{RESULT}/run.trec",
        metrics=f"{RESULT}/metrics.json",
        meta=f"{RESULT}/meta.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("evaluate_dense", RESULT),
    benchmark:
        benchmark_for("evaluate_dense", RESULT)
    params:
        cfg=lambda w: as_json(C.eval_slice(config, w.eval, w.base)),
        dataset=lambda w, input: dataset_dir(input.corpus[0]),
        index=lambda w, input: f"--index {input.index}" if input.index else "",
    threads: HEAVY
    wildcard_constraints:
        base=_alternatives(config["encoders"]),
    shell:
        "python -m synthir evaluate --config {params.cfg:q} --model {input.model} "
        "--dataset {params.dataset} {params.index} --run {output.run} "
        "--metrics {output.metrics} --threads {threads} 2> {log}"


rule evaluate_bm25:
    input:
        corpus=get_eval_corpus,
        code=code("evaluate.py"),
    output:
        run=f"{RESULT}/run.trec",
        metrics=f"{RESULT}/metrics.json",
        meta=f"{RESULT}/meta.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("evaluate_bm25", RESULT),
    params:
        cfg=lambda w: as_json(C.bm25_slice(config, w.eval)),
        dataset=lambda w, input: dataset_dir(input.corpus[0]),
    wildcard_constraints:
        base="bm25",
        dataset=paths.NONE,
        augmenter=paths.NONE,
        strategy=paths.NONE,
        scale="0",
        seed="0",
    shell:
        "python -m synthir bm25 --config {params.cfg:q} --dataset {params.dataset} "
        "--run {output.run} --metrics {output.metrics} 2> {log}"
