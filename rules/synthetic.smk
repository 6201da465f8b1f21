rule generate_pool:
    input:
        corpus=rules.fetch_dataset.output.corpus,
        meta=rules.fetch_dataset.output.meta,
        model=get_llm_dir,
        code=lambda w: code(
            "generate.py",
            "synthesis.py",
            "filters.py",
            "negatives.py",
            "bm25.py",
            "llm/hf.py",
            "llm/http.py",
            "llm/cache.py",
            "strategies/base.py",
            *strategy_code(w.strategy),
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
        dense=get_negatives_encoder,
        reranker=get_reranker,
        # mining negatives runs retrieval from evaluate.py; other subsets do not
        code=lambda w: code(
            "synthesis.py",
            "negatives.py",
            "generate.py",
            *(["evaluate.py", "bm25.py", "rerank.py"] if config["strategies"][w.strategy]["negatives"] else []),
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
        dense=lambda w, input: (
            f"--dense-model {input.dense[0]} --dense-index {input.dense[1]}" if input.dense else ""
        ),
        reranker=lambda w, input: f"--reranker {input.reranker}" if input.reranker else "",
    threads: lambda w: HEAVY if get_negatives_encoder(w) or get_reranker(w) else 1
    shell:
        "python -m synthir subset --config {params.cfg:q} --pool {input.pool} --dataset {params.dataset} "
        "--scale {wildcards.scale} {params.dense} {params.reranker} --out {output.train} "
        "--meta {output.meta} 2> {log}"


rule train_reranker:
    input:
        encoder=lambda w: expand(PREPARED, model=w.model),
        corpus=rules.fetch_dataset.output.corpus,
        code=code("rerank.py", "bm25.py"),
    output:
        model=directory(RERANKER),
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("train_reranker", RERANKER),
    params:
        cfg=lambda w: as_json(C.reranker_slice(config, w.dataset, w.model)),
        dataset=lambda w, input: dataset_dir(input.corpus),
    threads: HEAVY
    shell:
        "python -m synthir train-reranker --config {params.cfg:q} --encoder {input.encoder} "
        "--dataset {params.dataset} --out {output.model} --threads {threads} 2> {log}"


rule set_stats:
    input:
        train=rules.subset_scale.output.train,
        corpus=rules.fetch_dataset.output.corpus,
        encoder=expand(PREPARED, model=config["quality"]["encoder"]),
        code=code("stats.py", "evaluate.py"),
    output:
        stats=f"{SUBSET}/stats.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("set_stats", SUBSET),
    params:
        cfg=lambda w: as_json(C.stats_slice(config, w.dataset)),
        dataset=lambda w, input: dataset_dir(input.corpus),
    threads: HEAVY
    shell:
        "python -m synthir stats --config {params.cfg:q} --train {input.train} --dataset {params.dataset} "
        "--encoder {input.encoder} --out {output.stats} --threads {threads} 2> {log}"


# Leakage depends on the eval dataset as well as the set, so it lives at the level of results/
# that all bases and seeds of the set share: a study evaluating elsewhere adds files, never
# rewrites one another study made.
rule set_leakage:
    input:
        train=rules.subset_scale.output.train,
        corpus=get_eval_corpus,
        code=code("stats.py", "evaluate.py"),
    output:
        leakage=f"{LEAKAGE}/leakage.json",
    conda:
        "../envs/synthir.yaml"
    log:
        log_for("set_leakage", LEAKAGE),
    params:
        cfg=lambda w: as_json(C.leakage_slice(config, w.eval)),
        dataset=lambda w, input: dataset_dir(input.corpus[0]),
    shell:
        "python -m synthir leakage --config {params.cfg:q} --train {input.train} --dataset {params.dataset} "
        "--out {output.leakage} 2> {log}"
