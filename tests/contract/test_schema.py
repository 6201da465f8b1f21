"""The schema, the registries and the params files agree with each other."""

import copy
from pathlib import Path

import pytest
import yaml

from synthir import config as C
from synthir.llm import BACKENDS
from synthir.models import DERIVATIONS
from synthir.negatives import SOURCES
from synthir.strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.fixture
def params() -> dict:
    return load("params.yaml")


def test_schema_enums_equal_registries():
    defs = C.load_schema()["$defs"]
    assert set(defs["strategy_kind"]["enum"]) == set(STRATEGIES)
    assert set(defs["negative_source"]["enum"]) == set(SOURCES)
    assert set(defs["backend"]["enum"]) == set(BACKENDS)
    derive = C.load_schema()["properties"]["encoders"]["additionalProperties"]["properties"]["derive"]
    assert set(derive["oneOf"][1]["properties"]["reinit"]["enum"]) == set(DERIVATIONS)


def test_schema_declares_no_defaults():
    assert '"default"' not in (ROOT / "src/synthir/schema/params.schema.json").read_text()


@pytest.mark.parametrize("path", ["params.yaml", "tests/config/params.yaml"])
def test_params_files_validate(path):
    C.validate_params(load(path))


def test_study_grid_is_the_product_minus_exclusions(params):
    s = copy.deepcopy(params)
    s["study"]["exclude"] = []
    cells = C.study_cells(s)
    trained = [c for c in cells if not c.is_baseline]
    st = s["study"]
    assert len(trained) == (len(st["train_datasets"]) * len(st["augmenters"]) * len(st["strategies"])
                            * len([n for n in st["scales"] if n > 0]) * len(st["bases"]) * len(st["seeds"]))
    assert {c.base for c in cells if c.is_baseline} == {*st["bases"], "bm25"}
    s["study"]["exclude"] = [{"augmenter": st["augmenters"][0], "scale": max(st["scales"])}]
    fewer = C.study_cells(s)
    removed = set(cells) - set(fewer)
    assert removed and all(c.augmenter == st["augmenters"][0] and c.scale == max(st["scales"]) for c in removed)
    assert set(fewer) < set(cells)


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["training"].update(epochs="three"), r"training.epochs: 'three' is not of type 'integer'"),
    (lambda p: p["training"].update(epoch=1), r"training: unknown key .*'epoch' was unexpected"),
    (lambda p: p["study"]["augmenters"].append("gpt-9"), r"study.augmenters.2: 'gpt-9' is not defined under llms"),
    (lambda p: p["study"]["strategies"].append("magic"), r"study.strategies.1: 'magic' is not defined under strategies"),
    (lambda p: p["strategies"]["qgen"].update(kind="magic"), r"strategies.qgen.kind: 'magic' is not one of"),
    (lambda p: p["strategies"]["rephrase"].update(n_examples=2), r"strategies.rephrase.n_examples: rephrase is zero-shot"),
    (lambda p: p["study"]["scales"].append(-1), r"study.scales.3: -1 is less than the minimum"),
    (lambda p: p["llms"]["qwen25-05b"].update(backend="ollama"), r"llms.qwen25-05b.backend: 'ollama' is not one of"),
    (lambda p: p["datasets"]["cisi"].update(md5="xyz"), r"datasets.cisi.md5"),
    (lambda p: p["encoders"]["minilm-l6-scratch"]["derive"].update({"from": "nope"}), r"derive.from: unknown encoder 'nope'"),
    (lambda p: p["encoders"]["minilm-l6"].update(training={"max_step": 10}),
     r"encoders.minilm-l6.training: unknown key .*'max_step' was unexpected"),
    (lambda p: p["encoders"]["minilm-l6"].update(training={"max_steps": 0}),
     r"encoders.minilm-l6.training.max_steps: 0 is less than the minimum of 1"),
])
def test_invalid_params_name_the_key(params, mutate, message):
    bad = copy.deepcopy(params)
    mutate(bad)
    with pytest.raises(C.ConfigError, match=message):
        C.validate_params(bad)


def test_from_json_rejects_unknown_and_missing_keys(params):
    good = C.train_slice(params, "minilm-l6", 0)
    assert C.from_json(C.TrainConfig, good).seed == 0
    with pytest.raises(C.ConfigError, match="unknown keys"):
        C.from_json(C.TrainConfig, {**good, "lr": 1})
    with pytest.raises(C.ConfigError, match="missing keys"):
        C.from_json(C.TrainConfig, {k: v for k, v in good.items() if k != "seed"})


def test_a_base_alias_overrides_training_but_not_its_checkpoint(params):
    """The equal-compute twin of a base: same checkpoint, fixed optimizer steps."""
    p = copy.deepcopy(params)
    p["encoders"]["minilm-l6-10steps"] = {**p["encoders"]["minilm-l6"], "training": {"max_steps": 10}}
    C.validate_params(p)
    twin = C.from_json(C.TrainConfig, C.train_slice(p, "minilm-l6-10steps", 0))
    assert twin.max_steps == 10 and twin.epochs == p["training"]["epochs"]
    assert C.from_json(C.TrainConfig, C.train_slice(p, "minilm-l6", 0)).max_steps is None
    checkpoint = C.encoder_slice(p, "minilm-l6-10steps")
    assert "training" not in checkpoint and C.from_json(C.EncoderConfig, checkpoint).pypi is not None


def test_every_job_slice_builds_its_dataclass(params):
    C.from_json(C.FetchConfig, C.fetch_slice(params, "scifact"))
    C.from_json(C.LLMConfig, C.llm_slice(params, "qwen25-05b"))
    C.from_json(C.EncoderConfig, C.encoder_slice(params, "minilm-l6-scratch"))
    g = C.from_json(C.GenerateConfig, C.generate_slice(params, "scifact", "smollm2-135m", "qgen"))
    assert g.max_scale == max(params["study"]["scales"])
    assert isinstance(g.llm.decoding, C.Decoding) and isinstance(g.strategy.filters, C.Filters)
    C.from_json(C.EvalConfig, C.eval_slice(params, "nfcorpus", "minilm-l6"))
    C.from_json(C.BM25Config, C.bm25_slice(params, "cisi"))
    C.from_json(C.StatsConfig, C.stats_slice(params, "scifact"))
    C.from_json(C.LeakageConfig, C.leakage_slice(params, "cranfield"))


def test_every_kind_has_its_module_and_every_named_prompt_exists(params):
    """The workflow declares `strategies/<kind with _>.py` and `prompts/<name>.json` as job inputs."""
    src = ROOT / "src" / "synthir"
    for kind, cls in STRATEGIES.items():
        assert cls.__module__ == f"synthir.strategies.{kind.replace('-', '_')}"
    for path in ["params.yaml", "tests/config/params.yaml", "tests/config/strategies.yaml"]:
        for alias, st in load(path).get("strategies", {}).items():
            # overlay entries (tests/config/strategies.yaml) name only what they change
            for name in [st.get("prompt"), st.get("pseudo_answer"), st.get("filters", {}).get("judge"), (st.get("negatives") or {}).get("prompt")]:
                assert name is None or (src / "prompts" / f"{name}.json").is_file(), f"{path}: {alias} -> {name}"
