rule train_retriever:
    input:
        base=lambda w: expand(PREPARED, model=w.base),
        train=get_training_set,
        code=code("train-retriever"),
    output:
        model=directory(MODEL),
    log:
        log_for("train_retriever", MODEL),
    benchmark:
        benchmark_for("train_retriever", MODEL)
    wildcard_constraints:
        scale=r"[1-9]\d*",
        base=_alternatives(config["encoders"]),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["train_retriever"],
    params:
        cfg=job_config("train_retriever"),
    shell:
        "python -m synthir train-retriever --config {params.cfg:q} --base-dir {input.base} "
        "--train-path {input.train} --out-dir {output.model} 2> {log}"
