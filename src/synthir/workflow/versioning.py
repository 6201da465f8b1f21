"""Versioned artifacts: pull without rebuild, and releases of synthetic data with a data card.

DVC stores and moves the bytes (``dvc.yaml`` stages, ``dvc.lock``, remotes); Snakemake decides
what is up to date. After ``dvc pull`` on a fresh clone Snakemake knows nothing of how the
pulled files were made (its metadata lives in ``.snakemake/``, which is not versioned), and their
mtimes follow the order DVC wrote them in. :func:`pull` therefore

1. runs ``dvc pull`` (all of ``dvc.lock``, or the paths of one release);
2. refuses to go on if the pulled outputs were built from other code or params than this
   checkout's (``dvc status`` reports a changed code or params dependency): marking them
   complete would be a lie;
3. marks the pulled jobs complete with ``snakemake --touch --forceall`` on their targets, which
   orders mtimes along the DAG and records this checkout's params and code in Snakemake's
   metadata, so a later parameter change reruns exactly the jobs it affects;
4. checks that ``snakemake -n`` now plans no job for those targets.

A release (:func:`release`) is a folder (served as files or over HTTP) that needs nothing from
the clone that pulls it: the synthetic sets, their pools and the generator's manifest as
content-addressed objects (DVC's remote layout), ``release.json`` saying what each is and which
parameters made it, and a data card. It does not carry the LLM's weights (the manifest names
them by digest; synthir.generation.models.llm_weights rebuilds them only if generation must run again)
nor the source corpus (named by digest: :func:`pull_release` fetches it from the user's own
source and checks it is the same).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from synthir.core.errors import UserError
from synthir.core import io, paths, provenance
from synthir.workflow import slices
from synthir.core.paths import HUMAN
from synthir.workflow.track import redact

log = logging.getLogger(__name__)

#: Snakemake targets of a full pull: every family of dvc.yaml (see its stages).
FAMILY_TARGETS = ("all_data", "all_synthetic", "all_models", "all_results", "reports/scaling.csv")


class VersioningError(UserError):
    """A DVC or Snakemake step of a pull or release failed, or the pulled data is stale."""


def _run(cmd: Sequence[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
        shown = " ".join(cmd[2:6] if cmd[1:2] == ["-m"] else cmd[:4])  # `dvc push -r s3 ...`
        raise VersioningError(f"`{shown} ...` failed (exit {r.returncode}):\n{tail}")
    return r.stdout


def _snakemake(root: Path, *args: str) -> str:
    return _run([sys.executable, "-m", "snakemake", "--cores", "1", *args], root)


def _dvc(root: Path, *args: str) -> str:
    return _run([sys.executable, "-m", "dvc", *args], root)


def stage_outputs(lock: dict[str, Any]) -> set[str]:
    return {out["path"] for stage in lock.get("stages", {}).values() for out in stage.get("outs", [])}


def drift(status: dict[str, Any], outputs: set[str]) -> list[str]:
    """Changed code or params dependencies in ``dvc status --json`` output.

    Changes of a dependency that is itself a stage output are data flow (or a partial pull) and
    are not drift; anything else means the recorded outputs came from other code or params."""
    found: list[str] = []
    for stage, entries in sorted(status.items()):
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for path, change in entry.get("changed deps", {}).items():
                if path in outputs:
                    continue
                if isinstance(change, dict):  # a params file: {key: change}
                    found += [f"{stage}: {path}:{key} {what}" for key, what in sorted(change.items())]
                else:
                    found.append(f"{stage}: {path} {change}")
    return found


def planned_jobs(root: Path, targets: Sequence[str]) -> dict[str, int]:
    """Jobs per rule that ``snakemake -n`` plans for ``targets`` (empty when up to date)."""
    out = _snakemake(root, *targets, "-n", "--quiet", "rules")
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", out, re.M) if rule != "total"}


def pull(root: Path, remote: str | None = None) -> dict[str, Any]:
    """Fetch every output of dvc.lock and mark it complete for Snakemake (see the module docstring)."""
    root = root.resolve()
    dvc_paths: list[str] = []
    targets = list(FAMILY_TARGETS)
    _dvc(root, "pull", *(["-r", remote] if remote else []), *dvc_paths)
    lock_path = root / "dvc.lock"
    if not lock_path.is_file():
        raise VersioningError(f"{lock_path}: missing; nothing records what the outputs were built from")
    lock = yaml.safe_load(lock_path.read_text(encoding="utf-8"))
    _same_numerics_platform(root, stage_outputs(lock))
    stale = drift(json.loads(_dvc(root, "status", "--json") or "{}"), stage_outputs(lock))
    if stale:
        raise VersioningError(
            "the pulled outputs were built from other code or params than this checkout's "
            "(dvc status); they were not marked complete, so Snakemake will rebuild them:\n  "
            + "\n  ".join(stale))
    _snakemake(root, *targets, "--touch", "--forceall")
    left = planned_jobs(root, targets)
    if left:
        raise VersioningError(f"after the pull Snakemake still plans jobs for {targets}: {left}")
    return {"dvc_paths": dvc_paths or ["(all of dvc.lock)"], "snakemake_targets": targets}


def _same_numerics_platform(root: Path, outputs: set[str]) -> None:
    """Refuse pulled outputs computed on another numerics platform than this machine's (a native
    build of another CPU class), naming both: Snakemake would rebuild every one of them."""
    from synthir.workflow.params import load

    here = slices.compute(load(root / "params.yaml"))["platform"]
    built = sorted({meta["config"]["compute"]["platform"] for out in outputs
                    for meta in [_meta(root / out)] if meta and meta["config"].get("compute")})
    other = [p for p in built if p != here]
    if other:
        raise VersioningError(f"the pulled outputs were computed on numerics platform {', '.join(other)}; this "
                              f"machine computes as {here!r}, so Snakemake would rebuild them all. Pull a lock built "
                              "with compute.numerics: portable, or build here")


def _meta(out: Path) -> dict[str, Any] | None:
    path = out / "meta.json" if out.is_dir() else out.with_name("meta.json")
    return io.read_json(path) if path.is_file() else None


# ------------------------------------------------------------------------------- releases


def closure(root: Path, targets: Sequence[str]) -> list[str]:
    """Every output file or directory of the jobs that ``targets`` depend on (Snakemake's
    own view of the DAG: ``--summary``), as paths relative to ``root``."""
    rows = _snakemake(root, *targets, "--summary").splitlines()
    files = [row.split("\t")[0] for row in rows[1:] if row.strip()]
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        raise VersioningError(f"cannot release what is not built; missing: {', '.join(missing[:5])}")
    return sorted(set(files))


def committed_md5(root: Path) -> dict[str, str]:
    """md5 of every file of every output in dvc.lock, as DVC committed it (read from the
    ``.dir`` manifests in the DVC cache): what a push sends and a pull checks out."""
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    cache = Path(_dvc(root, "cache", "dir").strip())
    _cache_built_outputs(root, lock, cache)
    out: dict[str, str] = {}
    for stage in lock["stages"].values():
        for o in stage.get("outs", []):
            md5 = o["md5"]
            if not md5.endswith(".dir"):
                out[o["path"]] = md5
                continue
            for entry in io.read_json(_manifest(cache, md5)):
                out[f"{o['path']}/{entry['relpath']}"] = entry["md5"]
    return out


def _manifest(cache: Path, md5: str) -> Path:
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def _cache_built_outputs(root: Path, lock: dict[str, Any], cache: Path) -> None:
    """A checkout built by Snakemake (the README's first command) holds dvc.lock's outputs
    without DVC having cached them. ``dvc commit --force`` of their stages caches them; where
    the bytes are the lock's it leaves dvc.lock as it was, else the lock is put back and the
    outputs with other bytes are named: they are not what the lock records. (``dvc status``
    cannot tell the two apart without the cache: it says "not in cache" for both.)"""
    uncached = sorted({stage for stage, st in lock["stages"].items() for o in st.get("outs", [])
                       if o["md5"].endswith(".dir") and not _manifest(cache, o["md5"]).is_file()})
    if not uncached:
        return
    lock_path = root / "dvc.lock"
    text = lock_path.read_text(encoding="utf-8")
    log.info("caching the built outputs of stages %s for DVC (dvc commit --force)", ", ".join(uncached))
    _dvc(root, "commit", "--force", *uncached)
    after = yaml.safe_load(lock_path.read_text(encoding="utf-8"))
    if after == lock:
        return
    lock_path.write_text(text, encoding="utf-8")
    md5 = {o["path"]: o["md5"] for st in lock["stages"].values() for o in st.get("outs", [])}
    changed = sorted(o["path"] for st in after["stages"].values() for o in st.get("outs", []) if md5.get(o["path"]) != o["md5"])
    raise VersioningError(
        f"{', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}: built here with other bytes than dvc.lock "
        "records, so there is nothing committed to release (`python -m synthir numerics --check` says whether "
        "another numerics platform built the lock). Release what the lock records (`dvc pull` it first), or "
        "`dvc commit` what you built and release that")


def remote_url(root: Path, remote: str) -> str:
    """The URL of a configured DVC remote, without user info."""
    for line in _dvc(root, "remote", "list").splitlines():
        parts = line.split()
        if parts and parts[0] == remote:
            return redact(parts[1])
    raise VersioningError(f"no DVC remote named {remote!r} (see `dvc remote list`)")


def job_of(meta_path: str) -> tuple[str, dict[str, str]]:
    """The rule that wrote a released ``meta.json`` and its wildcards (the path grammar)."""
    w = paths.parse(meta_path)
    if meta_path.startswith("data/raw/"):
        return "fetch_dataset", w
    if meta_path.startswith("data/prepared/"):
        return "prepare_llm", w
    if meta_path.endswith("/pool/meta.json"):
        return "generate_pool", w
    if "scale" in w and meta_path.startswith("data/synthetic/"):
        return ("sample_human" if w["strategy"] == HUMAN else "subset_scale"), w
    raise VersioningError(f"{meta_path}: not an artifact a release carries")


def data_card(name: str, params: dict[str, Any], subsets: Sequence[Path], checksums: dict[str, str],
              datasets: dict[str, Any]) -> str:
    """The human-readable card of a release: what was generated, by what, from what, and how
    to get or regenerate it."""
    pools: dict[tuple[str, str, str, str], list[str]] = {}
    for s in subsets:
        w = paths.parse(s)
        pools.setdefault((w["dataset"], w["augmenter"], w["strategy"], w["draw"]), []).append(w["scale"])
    lines = [f"# Data card: {name}", "",
             "Synthetic retrieval training data generated by synthir. The release holds the synthetic "
             "sets, their pools and the generator's manifest (its weights digest, not its weights), and "
             "names the source corpus by content digest: `python -m synthir pull --release` fetches the "
             "corpus from your own copy, checks it is the same, and verifies every file below.", ""]
    for (dataset, augmenter, strategy, draw), scales in sorted(pools.items()):
        llm, ds = params["llms"][augmenter], params["datasets"][dataset]
        origin = llm["hub"]["id"] if llm.get("hub") else "see params.yaml"
        gen = slices.generate_pool(params, {"dataset": dataset, "augmenter": augmenter, "strategy": strategy,
                                            "draw": draw})
        lines += [
            f"## {dataset} / {augmenter} / {strategy}, draw {draw}", "",
            f"- Generator: `{augmenter}` ({origin}), licence {llm['license']}; backend "
            f"`{llm['backend']}`, decoding {json.dumps(llm['decoding'], sort_keys=True)}.",
            f"- Source corpus: `{dataset}`, licence {ds['license']}"
            + (f", {ds['url']}" if ds.get("url") else "") + ", not included: "
            f"sha256 {datasets[dataset]['source_sha256']}. The synthetic data inherits its terms.",
            f"- Scales released: {', '.join(sorted(scales, key=int))}.",
            "- Generation config (the job's slice of params.yaml):", "",
            "```json", json.dumps(gen, indent=2, sort_keys=True), "```", "",
        ]
    lines += [
        "## Get it", "",
        "```sh", "python -m synthir pull --release <this folder or its URL>", "```", "",
        "## Regenerate it", "",
        "```sh", "snakemake -j8 " + " ".join(f"{s}/meta.json" for s in subsets), "```", "",
        "## Checksums (md5, as DVC stores them; objects under files/md5/)", "",
        *(f"- `{path}` {md5}" for path, md5 in sorted(checksums.items())), "",
    ]
    return "\n".join(lines)


def _object(folder: Path, md5: str) -> Path:
    """Where DVC's remote layout keeps an object (so a DVC remote pointed here serves it too)."""
    return folder / "files" / "md5" / md5[:2] / md5[2:]


def release(root: Path, name: str, out: Path, subsets: Sequence[str]) -> Path:
    """Write the release ``out/<name>/`` of ``subsets`` (synthetic set directories): the files of
    their closure except the source corpora and the LLM weights, as content-addressed objects,
    with ``release.json`` (what each file is, the corpora by digest, each job's identity) and a
    data card beside them. Everything a clone needs is in that folder. Returns it."""
    root = root.resolve()
    if not paths.SLUG.match(name):
        raise VersioningError(f"release name {name!r} is not a slug [a-z0-9-]+")
    rel = [Path(s) for s in subsets]
    for s in rel:
        w = paths.parse(s)
        if "scale" not in w or not (root / s / "meta.json").is_file():
            raise VersioningError(f"{s}: not a built synthetic set (data/synthetic/.../scale~N)")
    targets = [f"{s.as_posix()}/meta.json" for s in rel]
    files = closure(root, targets)
    corpora = [f for f in files if f.startswith("data/raw/")]
    shipped = [f for f in files if f not in corpora]
    committed = committed_md5(root)
    checksums = {p: h for p, h in committed.items() if any(p == f or p.startswith(f"{f}/") for f in shipped)}
    # Release exactly what dvc.lock records: a file edited or rebuilt since the last
    # `dvc repro`/`dvc commit` would go out under its old hash and mislabel the card.
    changed = [p for p, h in sorted(checksums.items()) if io.md5_file(root / p) != h]
    if changed:
        raise VersioningError(f"{', '.join(changed[:5])}: differ from dvc.lock; run `dvc commit` "
                              "(or `dvc repro`) before releasing")
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    datasets = {}
    for meta_path in corpora:
        meta = io.read_json(root / meta_path)
        datasets[paths.parse(meta_path)["dataset"]] = {
            "meta": meta_path, "files": meta["outputs"], "source_sha256": meta["source"]["sha256"],
            "identity": meta["config"]}
    identity = {p: io.read_json(root / p)["config"] for p in checksums if p.endswith("meta.json")}
    folder = out.resolve() / name
    if folder.exists():
        raise VersioningError(f"{folder}: exists; a release is never overwritten (choose another name)")
    staging = folder.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    for path, md5 in checksums.items():
        target = _object(staging, md5)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / path, target)
    io.write_json(staging / "release.json", {
        "name": name, "files": checksums, "datasets": datasets, "identity": identity,
        "snakemake_targets": targets, "packages": provenance.package_versions(), **provenance.code_version(),
    })
    with io.atomic_open(staging / "DATACARD.md") as f:
        f.write(data_card(name, params, rel, checksums, datasets))
    staging.rename(folder)
    return folder


# ------------------------------------------------------------------------------ pulling one


def _reader(source: str) -> Callable[[str], bytes]:
    """Read a release's files from a folder or over HTTP(S), by relative path."""
    if re.match(r"^https?://", source):
        import requests

        def get(rel: str) -> bytes:
            r = requests.get(f"{source.rstrip('/')}/{rel}", timeout=60)
            if r.status_code != 200:
                raise VersioningError(f"{redact(source)}/{rel}: HTTP {r.status_code}")
            return r.content
        return get
    folder = Path(source)

    def read(rel: str) -> bytes:
        path = folder / rel
        if not path.is_file():
            raise VersioningError(f"{path}: missing (is {folder} a release folder?)")
        return path.read_bytes()
    return read


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{where}.{k}".lstrip("."))]
    return [] if a == b else [f"{where}: release {json.dumps(a)}, here {json.dumps(b)}"]


def pull_release(root: Path, source: str, configfiles: Sequence[str] = ()) -> dict[str, Any]:
    """Bring a release (a folder or URL made by :func:`release`) into this checkout so that
    Snakemake plans no generation for it. Refuses, before writing anything, a release made with
    other parameters than this checkout's; fetches the source corpora from this checkout's own
    sources and checks they are the ones the release names; verifies every file's md5."""
    from synthir.workflow.params import load, validate_params

    root = root.resolve()
    read = _reader(source)
    manifest = json.loads(read("release.json"))
    params = load(root / "params.yaml", [root / c for c in configfiles])
    validate_params(params)
    drifted = []
    for meta_path, cfg in sorted(manifest["identity"].items()):
        rule, w = job_of(meta_path)
        drifted += [f"{meta_path}: {d}" for d in _differences(cfg, slices.identity(params, rule, w))]
    for name, ds in sorted(manifest["datasets"].items()):
        if name not in params["datasets"]:
            drifted.append(f"datasets.{name}: the release's source corpus is not defined here")
            continue
        drifted += [f"{ds['meta']}: {d}" for d in _differences(ds["identity"], slices.identity(
            params, "fetch_dataset", {"dataset": name}))]
    if drifted:
        raise VersioningError("the release was made with other parameters than this checkout's; nothing was "
                              "pulled:\n  " + "\n  ".join(drifted))
    corpora = [ds["meta"] for ds in manifest["datasets"].values()]
    _snakemake(root, *corpora, *(["--configfile", *configfiles] if configfiles else []))
    for name, ds in sorted(manifest["datasets"].items()):
        here = io.read_json(root / ds["meta"])["outputs"]
        if here != ds["files"]:
            raise VersioningError(f"{ds['meta']}: your copy of {name!r} differs from the one the release was "
                                  "generated from (file digests); its queries would not match your corpus")
    # every object is fetched and checked into a staging folder before any file is written, so
    # a bad or missing object leaves the checkout as it was
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".synthir-pull."))
    try:
        for path, md5 in sorted(manifest["files"].items()):
            blob = read(_object(Path(), md5).as_posix())
            if hashlib.md5(blob).hexdigest() != md5:
                raise VersioningError(f"{source}: the object of {path} does not match its md5 {md5}; nothing was "
                                      "written")
            (staging / md5).write_bytes(blob)
        for path, md5 in sorted(manifest["files"].items()):
            with io.atomic_open(root / path, "wb") as f:
                f.write((staging / md5).read_bytes())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    targets = manifest["snakemake_targets"]
    overlay = ["--configfile", *configfiles] if configfiles else []
    _snakemake(root, *targets, "--touch", "--forceall", *overlay)
    left = planned_jobs(root, [*targets, *overlay])
    if left:
        raise VersioningError(f"after the pull Snakemake still plans jobs for {targets}: {left}")
    return {"files": len(manifest["files"]), "snakemake_targets": targets, "name": manifest["name"]}
