rule generate_pool:
    input:
        corpus=rules.fetch_dataset.output.corpus,
        meta=rules.fetch_dataset.output.meta,
        model=get_llm_dir,
        code=code(
            "generate.py",
            "synthesis.py",
            "llm/hf.py",
            "llm/http.py",
            "llm/cache.py",
            "strategies/base.py",
            "strategies/qgen.py",
                  "prompts/qgen.json",
        ),
    output:
        pool=directory(f"{POOL}/pool"),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("generate_pool", POOL),
    benchmark:
        benchmark_for("generate_pool", POOL)
    params:
        cfg=lambda w: as_json(
            C.generate_slice(config, w.dataset, w.augmenter, w.strategy)
        ),
        dataset=lambda w, input: dataset_dir(input.corpus),
        model=lambda w, input: f"--model {input.model}" if input.model else "",
    threads: HEAVY
    shell:
        "python -m synthir generate --config {params.cfg:q} --dataset {params.dataset} "
        "{params.model} --out {output.pool} --threads {threads} 2> {log}"


rule subset_scale:
    input:
        pool=rules.generate_pool.output.pool,
        corpus=rules.fetch_dataset.output.corpus,
        code=code("synthesis.py"),
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("subset_scale", SUBSET),
    params:
        dataset=lambda w, input: dataset_dir(input.corpus),
    shell:
        "python -m synthir subset --pool {input.pool} --dataset {params.dataset} "
        "--scale {wildcards.scale} --out {output.train} --meta {output.meta} 2> {log}"
