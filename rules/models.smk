rule prepare_llm:
    input:
        code=code("prepare-llm"),
    # The weights go to the cache (cache_dir/weights/<sha256>, outside Snakemake's outputs);
    # the declared output is their manifest, which is what generation depends on and what a
    # release carries (synthir.generation.models.prepare_llm).
    output:
        model=f"{PREPARED}/meta.json",
    log:
        log_for("prepare_llm", PREPARED),
    benchmark:
        benchmark_for("prepare_llm", PREPARED)
    wildcard_constraints:
        model=_alternatives(config["llms"]) or "^$",
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["prepare_llm"],
    params:
        cfg=job_config("prepare_llm"),
        record=job_record("prepare_llm"),
    shell:
        "python -m synthir prepare-llm --config {params.cfg:q} --record {params.record:q} "
        "--out-dir $(dirname {output.model}) 2> {log}"


rule prepare_encoder:
    input:
        parent=get_parent_encoder,
        code=code("prepare-encoder"),
    output:
        model=directory(PREPARED),
    log:
        log_for("prepare_encoder", PREPARED),
    wildcard_constraints:
        model=_alternatives(config["encoders"]),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["prepare_encoder"],
    params:
        cfg=job_config("prepare_encoder"),
        record=job_record("prepare_encoder"),
        parent=lambda w, input: f"--parent {input.parent}" if input.parent else "",
    shell:
        "python -m synthir prepare-encoder --config {params.cfg:q} --record {params.record:q} "
        "--out-dir {output.model} {params.parent} 2> {log}"
