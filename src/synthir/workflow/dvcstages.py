"""``dvc.yaml``, derived from the study: what each family versions and which keys it depends on.

One stage per artifact family runs that family's Snakemake target. Its ``outs`` are exactly the
artifacts of the study in ``params.yaml`` (:func:`synthir.workflow.study.stage_outputs`), so artifacts of
documented configurations that share the folders never enter ``dvc.lock``. Its ``params`` are
exactly the leaf keys of ``params.yaml`` whose change changes the identity (synthir.workflow.slices) of
one of its jobs, or the set of its jobs: found by changing each leaf in turn
(:func:`affected_jobs`), so DVC's view of what a key invalidates is Snakemake's.

``python -m synthir dvc-yaml`` writes the file; ``--check`` (and a contract test) says whether
the committed one is current.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import yaml

from synthir.workflow import slices
from synthir.workflow.study import KINDS, STAGES, Job, jobs, report_files, stage_outputs

#: Workflow code every stage depends on: any change hands the family to Snakemake, which
#: reruns only the jobs whose declared code inputs changed.
CODE = ("Snakefile", "rules", "src/synthir")
FAMILIES = (*STAGES, "reports")
Key = tuple[str, ...]


class _Changed:
    """A value no configuration holds: what a null leaf is changed to when no sibling alias
    has a value at the same place."""

    def __repr__(self) -> str:
        return "<changed>"


def leaves(params: dict[str, Any], prefix: Key = ()) -> Iterator[Key]:
    """Every leaf key path of ``params`` (mappings are walked; lists and scalars are leaves)."""
    for key, value in params.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _get(params: dict[str, Any], key: Key) -> Any:
    for part in key:
        params = params[part]
    return params


def _sibling_value(params: dict[str, Any], key: Key) -> Any:
    """For ``section.alias.rest``: the first other alias's non-null value at ``rest``."""
    if len(key) < 3 or not isinstance(params.get(key[0]), dict):
        return None
    for alias, block in params[key[0]].items():
        if alias == key[1]:
            continue
        try:
            value = _get(block, key[2:])
        except (KeyError, TypeError):
            continue
        if value is not None:
            return copy.deepcopy(value)
    return None


@functools.cache
def _schema() -> dict[str, Any]:
    from synthir.workflow.params import load_schema

    return load_schema()


def _schema_node(schema: dict[str, Any], key: Key) -> dict[str, Any] | None:
    """The schema of the value at ``key`` (following properties, additionalProperties, $ref,
    allOf and the object branch of a nullable oneOf)."""
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in node:
                node = defs[node["$ref"].rsplit("/", 1)[-1]]
            elif "allOf" in node:
                node = {k: v for part in node["allOf"] for k, v in resolve(part).items()} | {
                    k: v for k, v in node.items() if k != "allOf"}
            elif "oneOf" in node:
                node = next((o for o in node["oneOf"] if o.get("type") != "null"), node["oneOf"][0])
            else:
                return node

    node: dict[str, Any] | None = resolve(schema)
    for part in key:
        if node is None:
            return None
        props = node.get("properties", {})
        nxt = props.get(part, node.get("additionalProperties"))
        node = resolve(nxt) if isinstance(nxt, dict) else None
    return node


def changed(params: dict[str, Any], key: Key) -> dict[str, Any]:
    """``params`` with the leaf ``key`` set to another value of its kind: another value of its
    enum (from the schema), a number plus one, a string with a suffix, a list without its last
    item, a null replaced by another alias's value at the same place. The copy goes through
    JSON so that YAML aliases (``<<: *qgen``) become separate values: a change in one alias
    must not leak into another."""
    out = json.loads(json.dumps(params))
    *parents, last = key
    holder = _get(out, tuple(parents))
    value = holder[last]
    enum = (_schema_node(_schema(), key) or {}).get("enum")
    if enum and value in enum and len(enum) > 1:
        new: Any = next(v for v in enum if v != value)
    elif isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = value + 1
    elif isinstance(value, float):
        new = value * 2 + 0.5
    elif isinstance(value, str):
        new = f"{value}-changed"
    elif isinstance(value, list):
        new = value[:-1] if value else [{}]  # an empty exclusion list gains one that matches every cell
    else:
        new = _sibling_value(params, key)
        new = _Changed() if new is None else new
    holder[last] = new
    return out


def identities(params: dict[str, Any]) -> dict[Job, Any]:
    """Every job of the study with its identity (report jobs: none). A slice that cannot be
    built from ``params`` (a changed value of the wrong shape) stands for itself: it reads it."""
    out: dict[Job, Any] = {}
    for job in jobs(params):
        if job.rule not in slices.IDENTITY:
            out[job] = None
            continue
        try:
            out[job] = slices.identity(params, job.rule, job.wc)
        except Exception as e:  # noqa: BLE001 - a crash here means the job reads the changed key
            out[job] = f"<unreadable: {type(e).__name__}>"
    return out


def affected_jobs(params: dict[str, Any], key: Key, base: dict[Job, Any] | None = None) -> set[Job] | None:
    """Jobs whose identity changes, or that appear or disappear, when leaf ``key`` changes;
    None when the study cannot even be planned with the changed value (every job counts)."""
    base = identities(params) if base is None else base
    try:
        other = identities(changed(params, key))
    except Exception:  # noqa: BLE001
        return None
    return {j for j in base.keys() | other.keys() if base.get(j, "<absent>") != other.get(j, "<absent>")}


def stage_of(job: Job) -> str:
    return KINDS[job.rule].stage


def stage_params(params: dict[str, Any]) -> dict[str, list[str]]:
    """For each stage, the dotted leaf keys of params.yaml its jobs depend on."""
    base = identities(params)
    out: dict[str, set[str]] = {stage: set() for stage in FAMILIES}
    for key in leaves(params):
        hit = affected_jobs(params, key, base)
        stages = FAMILIES if hit is None else {stage_of(j) for j in hit}
        for stage in stages:
            out[stage].add(".".join(key))
    return {stage: sorted(keys) for stage, keys in out.items()}


def stages(params: dict[str, Any]) -> dict[str, Any]:
    """The ``stages`` mapping of dvc.yaml."""
    keys = stage_params(params)
    outs = {stage: stage_outputs(params, stage) for stage in STAGES}
    outs["reports"] = report_files(params)
    out: dict[str, Any] = {}
    upstream: list[str] = []
    for stage in FAMILIES:
        target = f"all_{stage}" if stage != "reports" else " ".join(outs[stage])
        out[stage] = {
            "cmd": f"snakemake -j8 {target}",
            "deps": [*CODE, *upstream],
            **({"params": keys[stage]} if keys[stage] else {}),
            "outs": [{path: {"persist": True}} for path in outs[stage]],
        }
        upstream = outs[stage]
    return out


HEADER = """\
# Generated from params.yaml by `python -m synthir dvc-yaml` (synthir.workflow.dvcstages); do not edit.
# One stage per artifact family; each runs that family's Snakemake target, so Snakemake decides
# which jobs inside it need rebuilding and DVC versions the result. outs: exactly the default
# study's artifacts (documented configurations write beside them and stay out of dvc.lock),
# persist: true (else DVC deletes what Snakemake would reuse). params: exactly the keys whose
# change changes one of the stage's jobs. Every stage depends on the whole workflow code.
"""


def render(params: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump({"stages": stages(params)}, sort_keys=False, width=120)
