"""The schema, the registries and the params files agree with each other."""

import copy
from pathlib import Path

import pytest
import yaml

from synthir.core import config as C
from synthir.workflow import params as P
from synthir.workflow import slices, study
from synthir.generation.llm import BACKENDS
from synthir.generation.models import DERIVATIONS
from synthir.retrieval.negatives import SOURCES
from synthir.generation.strategy import STRATEGIES, strategy_class, strategy_task

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.fixture
def params() -> dict:
    return load("params.yaml")


def test_schema_enums_equal_registries():
    defs = P.load_schema()["$defs"]
    assert set(defs["strategy_kind"]["enum"]) == set(STRATEGIES)
    assert set(defs["negative_source"]["enum"]) == set(SOURCES)
    assert set(defs["backend"]["enum"]) == set(BACKENDS)
    derive = P.load_schema()["properties"]["encoders"]["additionalProperties"]["properties"]["derive"]
    assert set(derive["oneOf"][1]["properties"]["reinit"]["enum"]) == set(DERIVATIONS)


def test_schema_declares_no_defaults():
    assert '"default"' not in (ROOT / "src/synthir/schema/params.schema.json").read_text()


@pytest.mark.parametrize("path", ["params.yaml", "tests/config/params.yaml"])
def test_params_files_validate(path):
    P.validate_params(load(path))


def test_study_grid_is_the_product_minus_exclusions(params):
    s = copy.deepcopy(params)
    s["study"]["exclude"] = []
    cells = study.study_cells(s)
    trained = [c for c in cells if not c.is_baseline]
    st = s["study"]
    arms = len(st["augmenters"]) * len(st["strategies"]) + (1 if st["human_arm"] else 0)  # + the human arm
    assert len(trained) == (len(st["train_datasets"]) * arms
                            * len([n for n in st["scales"] if n > 0]) * len(st["bases"]) * len(st["seeds"]))
    assert {c.augmenter for c in trained if c.is_human} == {"none"}
    assert {c.base for c in cells if c.is_baseline} == {*st["bases"], "bm25"}
    s["study"]["exclude"] = [{"augmenter": st["augmenters"][0], "scale": max(st["scales"])}]
    fewer = study.study_cells(s)
    removed = set(cells) - set(fewer)
    assert removed and all(c.augmenter == st["augmenters"][0] and c.scale == max(st["scales"]) for c in removed)
    assert set(fewer) < set(cells)


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["training"].update(epochs="three"), r"training.epochs: 'three' is not of type 'integer'"),
    (lambda p: p["training"].update(epoch=1), r"training: unknown key .*'epoch' was unexpected"),
    (lambda p: p["study"]["augmenters"].append("gpt-9"), r"study.augmenters.\d+: 'gpt-9' is not defined under llms"),
    (lambda p: p["study"]["strategies"].append("magic"), r"study.strategies.1: 'magic' is not defined under strategies"),
    (lambda p: p["strategies"]["qgen"].update(kind="magic"), r"strategies.qgen.kind: 'magic' is not one of"),
    (lambda p: p["strategies"]["rephrase"].update(n_examples=2), r"strategies.rephrase.n_examples: rephrase is zero-shot"),
    (lambda p: p["study"]["scales"].append(-1), r"study.scales.\d+: -1 is less than the minimum"),
    (lambda p: p["llms"]["qwen25-05b"].update(backend="ollama"), r"llms.qwen25-05b.backend: 'ollama' is not one of"),
    (lambda p: p["datasets"]["cisi"].update(md5="xyz"), r"datasets.cisi.md5"),
    (lambda p: p["encoders"]["minilm-l6-scratch"]["derive"].update({"parent": "nope"}), r"derive.parent: unknown encoder 'nope'"),
    (lambda p: p["datasets"]["scifact"].update(train_split="test"), r"datasets.scifact.train_split: equals eval_split"),
    (lambda p: p["compute"].update(threads=0), r"compute.threads: 0 is less than the minimum of 1"),
    (lambda p: p["strategies"].update(human=p["strategies"]["qgen"]), r"strategies.human: alias 'human' is reserved"),
    (lambda p: p["datasets"]["scifact"].update(sha256="abc"), r"datasets.scifact.sha256: 'abc' does not match"),
    (lambda p: p["encoders"]["minilm-l6"].update(training={"max_step": 10}),
     r"encoders.minilm-l6.training: unknown key .*'max_step' was unexpected"),
    (lambda p: p["encoders"]["minilm-l6"].update(training={"max_steps": 0}),
     r"encoders.minilm-l6.training.max_steps: 0 is less than the minimum of 1"),
])
def test_invalid_params_name_the_key(params, mutate, message):
    bad = copy.deepcopy(params)
    mutate(bad)
    with pytest.raises(C.ConfigError, match=message):
        P.validate_params(bad)


def test_from_json_rejects_unknown_and_missing_keys(params):
    good = slices.identity(params, "train_retriever", {"base": "minilm-l6", "seed": 0, "strategy": "qgen"})
    assert C.from_json(C.TrainConfig, good).seed == 0
    with pytest.raises(C.ConfigError, match="unknown keys"):
        C.from_json(C.TrainConfig, {**good, "lr": 1})
    with pytest.raises(C.ConfigError, match="missing keys"):
        C.from_json(C.TrainConfig, {k: v for k, v in good.items() if k != "seed"})


def test_a_base_alias_overrides_training_but_not_its_checkpoint(params):
    """The equal-compute twin of a base: same checkpoint, fixed optimizer steps."""
    p = copy.deepcopy(params)
    p["encoders"]["minilm-l6-10steps"] = {**p["encoders"]["minilm-l6"], "training": {"max_steps": 10}}
    P.validate_params(p)

    def train(base):
        return C.from_json(C.TrainConfig, slices.identity(p, "train_retriever", {"base": base, "seed": 0, "strategy": "qgen"}))

    assert train("minilm-l6-10steps").max_steps == 10 and train("minilm-l6-10steps").epochs == p["training"]["epochs"]
    assert train("minilm-l6").max_steps is None
    checkpoint = slices.identity(p, "prepare_encoder", {"model": "minilm-l6-10steps"})
    assert checkpoint == {**slices.identity(p, "prepare_encoder", {"model": "minilm-l6"}), "alias": "minilm-l6-10steps"}


def test_every_job_of_the_studies_builds_its_configuration(params):
    """Every identity slice of every job of the default and the tiny study builds its job's
    typed configuration (the dataclass the command's adapter makes of it)."""
    from synthir.workflow.cli import JOBS

    config_of = {name.replace("-", "_"): getattr(C, job.config) for name, job in JOBS.items()}
    studies = (params, load("tests/config/params.yaml"),  # and the classification studies
               P.load(ROOT / "params.yaml", [ROOT / "configs/synthesizrr.yaml"]),
               P.load(ROOT / "tests/config/params.yaml", [ROOT / "tests/config/classification.yaml"]))
    for p in studies:
        for job in study.jobs(p):
            if job.rule in config_of:
                for wc in study.artifacts_of(p, job):  # an evaluation job: one per eval dataset
                    C.from_json(config_of[job.rule], slices.identity(p, job.rule, wc), job.rule)


def test_every_strategy_kind_states_its_needs_on_its_class():
    for kind in STRATEGIES:
        cls = strategy_class(kind)
        home = ("synthir.classification.generate" if strategy_task(kind) == "classification"
                else f"synthir.retrieval.strategies.{kind.replace('-', '_')}")
        assert cls.__module__ == home
        assert {"uses_seed_queries", "retrieves", "generates_query", "allows_negatives"} <= set(dir(cls))


def test_every_kind_has_its_module_and_every_named_prompt_exists(params):
    """The workflow declares `strategies/<kind with _>.py` and `prompts/<name>.json` as job inputs."""
    src = ROOT / "src" / "synthir"
    for path in ["params.yaml", "tests/config/params.yaml", "tests/config/strategies.yaml"]:
        for alias, st in load(path).get("strategies", {}).items():
            if st.get("kind") in ("fewgen", "synthesizrr"):
                continue  # `prompt` names a section of the task's template (test_classification)
            # overlay entries (tests/config/strategies.yaml) name only what they change
            for name in [st.get("prompt"), st.get("pseudo_answer"), st.get("filters", {}).get("judge"), (st.get("negatives") or {}).get("prompt")]:
                assert name is None or (src / "prompts" / f"{name}.json").is_file(), f"{path}: {alias} -> {name}"


def test_vllm_on_cpu_is_refused_in_portable_numerics_naming_the_keys():
    from synthir.core.config import ConfigError
    from synthir.workflow import params as P

    p = P.load(ROOT / "tests/config/params.yaml")
    p["llms"]["smollm2-135m"]["backend"] = "vllm"
    with pytest.raises(ConfigError) as e:
        P.validate_params(p)
    assert "llms.smollm2-135m.backend" in str(e.value) and "compute.numerics: native" in str(e.value)
    p["compute"]["numerics"] = "native"
    P.validate_params(p)  # vLLM's own kernels: this CPU's bytes, named by the native platform
