rule train_retriever:
    input:
        base=lambda w: expand(PREPARED, model=w.base),
        train=rules.subset_scale.output.train,
        train_meta=rules.subset_scale.output.meta,
        code=code("train.py"),
    output:
        model=directory(MODEL),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("train_retriever", MODEL),
    benchmark:
        benchmark_for("train_retriever", MODEL)
    params:
        cfg=lambda w: as_json(C.train_slice(config, w.base, w.seed)),
    threads: HEAVY
    wildcard_constraints:
        scale=r"[1-9]\d*",
        base=_alternatives(config["encoders"]),
    shell:
        "python -m synthir train --config {params.cfg:q} --base {input.base} "
        "--train {input.train} --out {output.model} --threads {threads} 2> {log}"
