rule generate_pool:
    input:
        dataset=rules.fetch_dataset.output.meta,
        model=get_llm_dir,
        code=get_strategy_code,
    output:
        pool=directory(f"{POOL}/pool"),
    log:
        log_for("generate_pool", POOL),
    benchmark:
        benchmark_for("generate_pool", POOL)
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
        strategy=_alternatives(RETRIEVAL_STRATEGIES),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["generate_pool"],
    params:
        cfg=job_config("generate_pool"),
        # the LLM cache's location and the generator's licence: recorded, not identity
        record=job_record("generate_pool"),
        dataset=lambda w, input: dataset_dir(input.dataset),
        model=lambda w, input: f"--model-dir {dataset_dir(input.model[0])}" if input.model else "",
    shell:
        "python -m synthir generate-pool --config {params.cfg:q} --record {params.record:q} "
        "--dataset-dir {params.dataset} {params.model} --out-dir {output.pool} 2> {log}"


rule subset_scale:
    input:
        unpack(get_negatives_encoder),
        pool=rules.generate_pool.output.pool,
        dataset=rules.fetch_dataset.output.meta,
        reranker=get_reranker,
        code=get_subset_code,
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    log:
        log_for("subset_scale", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
        strategy=_alternatives(RETRIEVAL_STRATEGIES),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["subset_scale"],
    params:
        cfg=job_config("subset_scale"),
        dataset=lambda w, input: dataset_dir(input.dataset),
        dense=lambda w, input: (
            f"--encoder-dir {input.encoder} --index-dir {input.index}" if "index" in input.keys() else ""
        ),
        reranker=lambda w, input: f"--reranker-dir {input.reranker}" if input.reranker else "",
    shell:
        "python -m synthir subset-scale --config {params.cfg:q} --pool-dir {input.pool} "
        "--dataset-dir {params.dataset} {params.dense} {params.reranker} --out-path {output.train} "
        "--meta-path {output.meta} 2> {log}"


# The human-label arm (the positive control): the same scales from a labelled split, no LLM.
rule sample_human:
    input:
        dataset=rules.fetch_dataset.output.meta,
        code=code("sample-human"),
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    log:
        log_for("sample_human", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
        augmenter=paths.NONE,
        strategy=paths.HUMAN,
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["sample_human"],
    params:
        cfg=job_config("sample_human"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir sample-human --config {params.cfg:q} --dataset-dir {params.dataset} "
        "--out-path {output.train} --meta-path {output.meta} 2> {log}"


rule train_reranker:
    input:
        encoder=lambda w: expand(PREPARED, model=w.model),
        dataset=rules.fetch_dataset.output.meta,
        code=code("train-reranker"),
    output:
        model=directory(RERANKER),
    log:
        log_for("train_reranker", RERANKER),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["train_reranker"],
    params:
        cfg=job_config("train_reranker"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir train-reranker --config {params.cfg:q} --encoder-dir {input.encoder} "
        "--dataset-dir {params.dataset} --out-dir {output.model} 2> {log}"


rule set_stats:
    input:
        train=get_training_set,
        dataset=rules.fetch_dataset.output.meta,
        encoder=expand(PREPARED, model=config["quality"]["encoder"]),
        code=code("set-stats"),
    output:
        stats=f"{SUBSET}/stats.json",
    log:
        log_for("set_stats", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["set_stats"],
    params:
        cfg=job_config("set_stats"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir set-stats --config {params.cfg:q} --train-path {input.train} "
        "--dataset-dir {params.dataset} --encoder-dir {input.encoder} --out {output.stats} 2> {log}"


# Leakage depends on the eval dataset as well as the set, so it lives at the level of results/
# that all bases and seeds of the set share: a study evaluating elsewhere adds files, never
# rewrites one another study made.
rule set_leakage:
    input:
        train=get_training_set,
        dataset=get_eval_dataset,
        code=code("set-leakage"),
    output:
        leakage=f"{LEAKAGE}/leakage.json",
    log:
        log_for("set_leakage", LEAKAGE),
    wildcard_constraints:
        dataset=_alternatives(RETRIEVAL_DATASETS),
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["set_leakage"],
    params:
        cfg=job_config("set_leakage"),
        dataset=lambda w, input: dataset_dir(input.dataset[0]),
    shell:
        "python -m synthir set-leakage --config {params.cfg:q} --train-path {input.train} "
        "--eval-dir {params.dataset} --out {output.leakage} 2> {log}"
