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

A release (:func:`release`) pushes the closure of chosen synthetic sets (the sets, their pool,
the raw corpus and the prepared LLM they were generated from: whatever Snakemake would
otherwise rebuild first) to a remote, and writes a data card and a manifest under
``releases/<name>/`` for git. Credentials stay in DVC's own config (``.dvc/config.local``) or
the environment; nothing here prints or writes a remote URL with its user info.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from synthir.errors import UserError
from synthir import io, paths, provenance, slices
from synthir.track import redact

#: Snakemake targets of a full pull: every family of dvc.yaml (see its stages).
FAMILY_TARGETS = ("all_data", "all_synthetic", "all_models", "all_results", "reports/scaling.csv")
RELEASES_DIR = Path("releases")


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


def pull(root: Path, remote: str | None = None, release: Path | None = None) -> dict[str, Any]:
    """Fetch outputs with DVC and mark them complete for Snakemake (see the module docstring)."""
    root = root.resolve()
    if release is not None:
        manifest = io.read_json(release)
        dvc_paths, targets = manifest["dvc_paths"], manifest["snakemake_targets"]
    else:
        dvc_paths, targets = [], list(FAMILY_TARGETS)
    _dvc(root, "pull", *(["-r", remote] if remote else []), *dvc_paths)
    lock_path = root / "dvc.lock"
    if not lock_path.is_file():
        raise VersioningError(f"{lock_path}: missing; nothing records what the outputs were built from")
    lock = yaml.safe_load(lock_path.read_text(encoding="utf-8"))
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
    out: dict[str, str] = {}
    for stage in lock["stages"].values():
        for o in stage.get("outs", []):
            md5 = o["md5"]
            if not md5.endswith(".dir"):
                out[o["path"]] = md5
                continue
            manifest = cache / "files" / "md5" / md5[:2] / md5[2:]
            for entry in io.read_json(manifest):
                out[f"{o['path']}/{entry['relpath']}"] = entry["md5"]
    return out


def remote_url(root: Path, remote: str) -> str:
    """The URL of a configured DVC remote, without user info."""
    for line in _dvc(root, "remote", "list").splitlines():
        parts = line.split()
        if parts and parts[0] == remote:
            return redact(parts[1])
    raise VersioningError(f"no DVC remote named {remote!r} (see `dvc remote list`)")


def data_card(name: str, params: dict[str, Any], subsets: Sequence[Path], checksums: dict[str, str],
              url: str) -> str:
    """The human-readable card of a release: what was generated, by what, from what, and how
    to get or regenerate it."""
    pools: dict[tuple[str, str, str], list[str]] = {}
    for s in subsets:
        w = paths.parse(s)
        pools.setdefault((w["dataset"], w["augmenter"], w["strategy"]), []).append(w["scale"])
    lines = [f"# Data card: {name}", "",
             "Synthetic retrieval training data generated by synthir. Every file below is "
             "content-addressed in the DVC remote; `synthir pull` verifies each one.", ""]
    for (dataset, augmenter, strategy), scales in sorted(pools.items()):
        llm, ds = params["llms"][augmenter], params["datasets"][dataset]
        origin = llm["hub"]["id"] if llm.get("hub") else "see params.yaml"
        gen = slices.generate_pool(params, {"dataset": dataset, "augmenter": augmenter, "strategy": strategy})
        lines += [
            f"## {dataset} / {augmenter} / {strategy}", "",
            f"- Generator: `{augmenter}` ({origin}), licence {llm['license']}; backend "
            f"`{llm['backend']}`, decoding {json.dumps(llm['decoding'], sort_keys=True)}.",
            f"- Source corpus: `{dataset}`, licence {ds['license']}"
            + (f", {ds['url']}" if ds.get("url") else "") + ". The synthetic data inherits its terms.",
            f"- Scales released: {', '.join(sorted(scales, key=int))}.",
            "- Generation config (the job's slice of params.yaml):", "",
            "```json", json.dumps(gen, indent=2, sort_keys=True), "```", "",
        ]
    lines += [
        "## Get it", "",
        f"Remote: `{url}`", "",
        "```sh", f"synthir pull --release releases/{name}/manifest.json -r <remote name>", "```", "",
        "## Regenerate it", "",
        "```sh", "snakemake -j8 " + " ".join(f"{s}/meta.json" for s in subsets), "```", "",
        "## Checksums (md5, as DVC stores them)", "",
        *(f"- `{path}` {md5}" for path, md5 in sorted(checksums.items())), "",
    ]
    return "\n".join(lines)


def release(root: Path, name: str, remote: str, subsets: Sequence[str]) -> Path:
    """Push the closure of ``subsets`` (synthetic set directories) to ``remote`` and write
    ``releases/<name>/`` (data card + manifest). Returns the card's path."""
    root = root.resolve()
    if not paths.SLUG.match(name):
        raise VersioningError(f"release name {name!r} is not a slug [a-z0-9-]+")
    rel = [Path(s) for s in subsets]
    for s in rel:
        w = paths.parse(s)
        if "scale" not in w or not (root / s / "meta.json").is_file():
            raise VersioningError(f"{s}: not a built synthetic set (data/synthetic/.../scale~N)")
    url = remote_url(root, remote)
    targets = [f"{s.as_posix()}/meta.json" for s in rel]
    files = closure(root, targets)
    committed = committed_md5(root)
    checksums = {p: h for p, h in committed.items() if any(p == f or p.startswith(f"{f}/") for f in files)}
    # Release exactly what dvc.lock records: a file edited or rebuilt since the last
    # `dvc repro`/`dvc commit` would be pushed under its old hash and mislabel the card.
    changed = [p for p, h in sorted(checksums.items()) if io.md5_file(root / p) != h]
    if changed:
        raise VersioningError(f"{', '.join(changed[:5])}: differ from dvc.lock; run `dvc commit` "
                              "(or `dvc repro`) before releasing")
    _dvc(root, "push", "-r", remote, *files)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    out = root / RELEASES_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    io.write_json(out / "manifest.json", {
        "name": name, "remote_url": url, "dvc_paths": files, "snakemake_targets": targets,
        "files_md5": checksums, "packages": provenance.package_versions(), **provenance.code_version(),
    })
    card = out / "DATACARD.md"
    with io.atomic_open(card) as f:
        f.write(data_card(name, params, rel, checksums, url))
    return card
