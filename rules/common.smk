# Shared helpers of the workflow (config validation, the study grid, path patterns and job
# slices); nothing else defines these.
import json
import os

from synthir import config as C
from synthir import paths

# One gate, before any planning: schema + cross-references, errors name the key.
C.validate_params(config)

CELLS = C.study_cells(config)
EVALS = config["study"]["eval_datasets"]
# Reports directory of this study: configs/*.yaml write their own, never over the default's.
REPORTS = config["study"]["reports"]
# CPU-heavy jobs (generation, training, encoding) ask for all but one of the cores Snakemake
# was given, so with -j8 on a small machine they run one at a time (light jobs beside them)
# instead of oversubscribing; the CLI caps torch's threads at the machine's core count.
HEAVY = max(1, workflow.cores - 1)


def _alternatives(values):
    """A wildcard regex matching exactly these aliases (escaped: `qgen+bm25` has a '+')."""
    import re

    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


# Directory patterns of each artifact family (one grammar: synthir.paths.LAYOUT).
RAW = paths.family_pattern("raw")
PREPARED = paths.family_pattern("prepared")
INDEX = paths.family_pattern("index")
RERANKER = paths.family_pattern("reranker")
POOL = paths.family_pattern("pool")
SUBSET = paths.family_pattern("subset")
LEAKAGE = paths.family_pattern("leakage")
MODEL = paths.family_pattern("model")
RESULT = paths.family_pattern("result")


def code(*modules):
    """Source files a job runs, declared as inputs: editing one reruns exactly its jobs.
    The CLI and provenance modules are wiring and are left out on purpose."""
    return [f"src/synthir/{m}" for m in ("io.py", "config.py", *modules)]


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def dataset_dir(corpus_path):
    return str(paths.PurePosixPath(corpus_path).parent)


def log_for(rule_name, pattern):
    return f"logs/{rule_name}/{pattern}.log"


def benchmark_for(rule_name, pattern):
    return f"logs/{rule_name}/{pattern}.benchmark.tsv"


# ---------------------------------------------------------------- input functions


def get_parent_encoder(wildcards):
    derive = config["encoders"][wildcards.model]["derive"]
    return expand(PREPARED, model=derive["from"]) if derive else []


def strategy_code(strategy):
    """The strategy's module, its prompt and the other prompts (pseudo-answer, judge, LLM negative)."""
    st = config["strategies"][strategy]
    prompts = [st["prompt"], st["pseudo_answer"], st["filters"]["judge"], (st["negatives"] or {}).get("prompt")]
    return [f"strategies/{st['kind'].replace('-', '_')}.py", *(f"prompts/{p}.json" for p in prompts if p)]


def get_negatives_encoder(wildcards):
    """Dense negative mining: the encoder and its index of the training corpus (the one
    evaluation builds when that corpus is also evaluated)."""
    neg = config["strategies"][wildcards.strategy]["negatives"]
    if not neg or neg["source"] != "dense":
        return []
    return [
        *expand(PREPARED, model=neg["encoder"]),
        *expand(rules.encode_corpus.output.index, eval=wildcards.dataset, base=neg["encoder"]),
    ]


def get_reranker(wildcards):
    """`ce` negative mining: the cross-encoder trained from the strategy's encoder."""
    neg = config["strategies"][wildcards.strategy]["negatives"]
    if not neg or neg["source"] != "ce":
        return []
    return expand(RERANKER, model=neg["encoder"], dataset=wildcards.dataset)


def get_llm_dir(wildcards):
    """The prepared model folder, except for an HTTP backend, which needs no local weights."""
    if config["llms"][wildcards.augmenter]["backend"] == "openai":
        return []
    return expand(rules.prepare_llm.output.model, model=wildcards.augmenter)


def get_retriever(wildcards):
    """Scale 0 is the untouched base checkpoint; any other scale a trained model."""
    if int(wildcards.scale) == 0:
        return expand(PREPARED, model=wildcards.base)
    return expand(MODEL, **wildcards)


def uses_base_index(wildcards):
    """A model searches its base's corpus index when its passage tower is the base's:
    at scale 0, and after query-tower fine-tuning."""
    return int(wildcards.scale) == 0 or config["training"]["tower"] == "query"


def get_base_index(wildcards):
    if not uses_base_index(wildcards):
        return []
    return expand(rules.encode_corpus.output.index, eval=wildcards.eval, base=wildcards.base)


def get_eval_corpus(wildcards):
    return expand(rules.fetch_dataset.output.corpus, dataset=wildcards.eval)


def tracking_store():
    """The MLflow store jobs will write to, without credentials (see synthir.track)."""
    from synthir.track import DEFAULT_URI, redact

    return redact(os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI)


def trained_cells():
    return [cell for cell in CELLS if not cell.is_baseline]


def get_all_data(wildcards):
    """Every raw collection and prepared model the study uses."""
    study = config["study"]
    datasets = {*study["train_datasets"], *study["eval_datasets"]}
    return [
        *expand(rules.fetch_dataset.output.meta, dataset=sorted(datasets)),
        *expand(PREPARED, model=sorted({*study["augmenters"], *study["bases"]})),
    ]


def get_all_synthetic(wildcards):
    return sorted(
        {
            path
            for c in trained_cells()
            for path in expand([rules.subset_scale.output.meta, rules.set_stats.output.stats], **c.wildcards())
        }
    )


def get_all_models(wildcards):
    return [expand(MODEL, **c.wildcards())[0] for c in trained_cells()]


def get_all_metrics(wildcards):
    """metrics.json of every cell of the study on every eval dataset."""
    return [
        expand(rules.evaluate_dense.output.metrics, eval=ev, **cell.wildcards())[0]
        for cell in CELLS
        for ev in EVALS
    ]


def get_all_leakage(wildcards):
    """leakage.json of every trained cell's training set on every eval dataset."""
    return sorted(
        {
            expand(rules.set_leakage.output.leakage, eval=ev, **cell.wildcards())[0]
            for cell in trained_cells()
            for ev in EVALS
        }
    )
