rule prepare_llm:
    input:
        code=code("models.py"),
    output:
        model=directory(PREPARED),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("prepare_llm", PREPARED),
    benchmark:
        benchmark_for("prepare_llm", PREPARED)
    params:
        cfg=lambda w: as_json(C.llm_slice(config, w.model)),
    threads: HEAVY
    wildcard_constraints:
        model=_alternatives(config["llms"]) or "^$",
    shell:
        "python -m synthir prepare-llm --config {params.cfg:q} --out {output.model} 2> {log}"


rule prepare_encoder:
    input:
        parent=get_parent_encoder,
        code=code("models.py"),
    output:
        model=directory(PREPARED),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("prepare_encoder", PREPARED),
    params:
        cfg=lambda w: as_json(C.encoder_slice(config, w.model)),
        parent=lambda w, input: f"--parent {input.parent}" if input.parent else "",
    wildcard_constraints:
        model=_alternatives(config["encoders"]),
    shell:
        "python -m synthir prepare-encoder --config {params.cfg:q} --out {output.model} "
        "{params.parent} 2> {log}"
