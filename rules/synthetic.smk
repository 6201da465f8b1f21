rule generate_pool:
    input:
        corpus=rules.fetch_dataset.output.corpus,
        meta=rules.fetch_dataset.output.meta,
        model=get_llm_dir,
        code=lambda w: code(
            "generate.py",
            "synthesis.py",
            "negatives.py",
            "llm/hf.py",
            "llm/http.py",
            "llm/cache.py",
            "strategies/base.py",
            f"strategies/{config['strategies'][w.strategy]['kind']}.py",
            f"prompts/{config['strategies'][w.strategy]['prompt']}.json",
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
        # mining negatives runs BM25 from evaluate.py; plain subsets do not
        code=lambda w: code(
            "synthesis.py",
            "negatives.py",
            *(["evaluate.py"] if config["strategies"][w.strategy]["negatives"] else []),
        ),
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("subset_scale", SUBSET),
    params:
        cfg=lambda w: as_json(C.subset_slice(config, w.dataset, w.strategy)),
        dataset=lambda w, input: dataset_dir(input.corpus),
    shell:
        "python -m synthir subset --config {params.cfg:q} --pool {input.pool} --dataset {params.dataset} "
        "--scale {wildcards.scale} --out {output.train} --meta {output.meta} 2> {log}"
