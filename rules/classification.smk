# Text classification (SynthesizRR's own tasks, synthir.classification): the same families and
# wildcards as retrieval, other rules. Which rule makes a file is decided by the data set's task
# (dataset), the strategy's kind (strategy) and the base being a student (base): see the
# constraints here and on the retrieval rules (rules/common.smk: RETRIEVAL_DATASETS...).


rule fetch_labelled:
    input:
        code=code("fetch-labelled"),
    output:
        meta=f"{RAW}/meta.json",
    log:
        log_for("fetch_labelled", RAW),
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["fetch_labelled"],
    params:
        cfg=job_config("fetch_labelled"),
        record=job_record("fetch_labelled"),
        out=lambda w, output: dataset_dir(output.meta),
    shell:
        "python -m synthir fetch-labelled --config {params.cfg:q} --record {params.record:q} "
        "--out-dir {params.out} --download-dir data/downloads 2> {log}"


rule generate_examples:
    input:
        unpack(get_examples_retriever),
        dataset=rules.fetch_labelled.output.meta,
        corpus=get_content_corpus,
        model=get_llm_dir,
        code=get_examples_code,
    output:
        pool=directory(f"{POOL}/pool"),
    log:
        log_for("generate_examples", POOL),
    benchmark:
        benchmark_for("generate_examples", POOL)
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
        strategy=_alternatives(CLASSIFICATION_STRATEGIES),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["generate_examples"],
    params:
        cfg=job_config("generate_examples"),
        record=job_record("generate_examples"),
        dataset=lambda w, input: dataset_dir(input.dataset),
        corpus=lambda w, input: f"--corpus-dir {dataset_dir(input.corpus[0])}" if input.corpus else "",
        model=lambda w, input: f"--model-dir {dataset_dir(input.model[0])}" if input.model else "",
        dense=lambda w, input: (
            f"--encoder-dir {input.encoder} --index-dir {input.index}" if "index" in input.keys() else ""
        ),
    shell:
        "python -m synthir generate-examples --config {params.cfg:q} --record {params.record:q} "
        "--dataset-dir {params.dataset} {params.corpus} {params.model} {params.dense} --out-dir {output.pool} 2> {log}"


rule subset_examples:
    input:
        pool=rules.generate_examples.output.pool,
        dataset=rules.fetch_labelled.output.meta,
        code=code("subset-examples"),
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    log:
        log_for("subset_examples", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
        strategy=_alternatives(CLASSIFICATION_STRATEGIES),
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["subset_examples"],
    params:
        cfg=job_config("subset_examples"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir subset-examples --config {params.cfg:q} --pool-dir {input.pool} "
        "--dataset-dir {params.dataset} --out-path {output.train} --meta-path {output.meta} 2> {log}"


# The gold arm (the positive control): the same scales of real labelled examples, no LLM.
rule sample_gold:
    input:
        dataset=rules.fetch_labelled.output.meta,
        code=code("sample-gold"),
    output:
        train=f"{SUBSET}/train.jsonl",
        meta=f"{SUBSET}/meta.json",
    log:
        log_for("sample_gold", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
        augmenter=paths.NONE,
        strategy=paths.HUMAN,
    conda:
        "../envs/synthir.yaml"
    resources:
        **RESOURCES["sample_gold"],
    params:
        cfg=job_config("sample_gold"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir sample-gold --config {params.cfg:q} --dataset-dir {params.dataset} "
        "--out-path {output.train} --meta-path {output.meta} 2> {log}"


rule class_stats:
    input:
        train=get_training_set,
        dataset=rules.fetch_labelled.output.meta,
        encoder=lambda w: expand(PREPARED, model=config["class_stats"]["encoder"]),
        code=code("class-stats"),
    output:
        stats=f"{SUBSET}/stats.json",
    log:
        log_for("class_stats", SUBSET),
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["class_stats"],
    params:
        cfg=job_config("class_stats"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir class-stats --config {params.cfg:q} --train-path {input.train} "
        "--dataset-dir {params.dataset} --encoder-dir {input.encoder} --out {output.stats} 2> {log}"


rule train_student:
    input:
        encoder=get_student_encoder,
        train=get_training_set,
        dataset=rules.fetch_labelled.output.meta,
        code=code("train-student"),
    output:
        model=directory(MODEL),
    log:
        log_for("train_student", MODEL),
    benchmark:
        benchmark_for("train_student", MODEL)
    wildcard_constraints:
        dataset=_alternatives(CLASSIFICATION_DATASETS),
        base=_alternatives(STUDENTS),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["train_student"],
    params:
        cfg=job_config("train_student"),
        dataset=lambda w, input: dataset_dir(input.dataset),
    shell:
        "python -m synthir train-student --config {params.cfg:q} --encoder-dir {input.encoder} "
        "--train-path {input.train} --dataset-dir {params.dataset} --out-dir {output.model} 2> {log}"


rule evaluate_student:
    input:
        model=lambda w: expand(MODEL, **{k: v for k, v in w.items() if k != "eval"}),
        encoder=get_student_encoder,
        dataset=lambda w: expand(rules.fetch_labelled.output.meta, dataset=w.eval),
        code=code("evaluate-student"),
    output:
        predictions=f"{RESULT}/predictions.jsonl",
        metrics=f"{RESULT}/metrics.json",
        meta=f"{RESULT}/meta.json",
    log:
        log_for("evaluate_student", RESULT),
    wildcard_constraints:
        eval=_alternatives(CLASSIFICATION_DATASETS),
        base=_alternatives(STUDENTS),
    conda:
        "../envs/synthir.yaml"
    threads: BOOKED
    resources:
        **RESOURCES["evaluate_student"],
    params:
        cfg=job_config("evaluate_student"),
        dataset=lambda w, input: dataset_dir(input.dataset[0]),
    shell:
        "python -m synthir evaluate-student --config {params.cfg:q} --model-dir {input.model} "
        "--dataset-dir {params.dataset} --encoder-dir {input.encoder} --predictions-path {output.predictions} "
        "--metrics-path {output.metrics} 2> {log}"


if study.study_task(config) == "classification":

    rule classification_report:
        input:
            metrics=get_all_metrics,
            stats=get_all_stats,
            code=code("classification-report"),
        output:
            csv=f"{REPORTS}/classification.csv",
            diversity=f"{REPORTS}/diversity.csv",
            claims=f"{REPORTS}/claims.md",
        log:
            f"logs/classification_report/{REPORTS}.log",
        conda:
            "../envs/synthir.yaml"
        resources:
            **RESOURCES["classification_report"],
        params:
            cfg=job_config("classification_report"),
        shell:
            "python -m synthir classification-report --config {params.cfg:q} --metrics {input.metrics} "
            "--stats {input.stats} --csv {output.csv} --diversity {output.diversity} --claims {output.claims} 2> {log}"
