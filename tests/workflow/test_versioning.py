"""DVC versioning of the tiny study, as users meet it: real git clones and real servers on
127.0.0.1. The origin (built by `dvc repro`, dvc.lock committed) pushes to S3 (`rclone serve s3`,
credentials only in the environment) and WebDAV; a second clone pulls through `synthir pull`
and Snakemake plans nothing; one changed parameter plans exactly its cells; one cell deleted and
rebuilt comes back byte-identical; a release folder, read as files or over HTTP, skips generation."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import servers
import yaml
from studyrun import dvc, git, snakemake, synthir

from synthir.workflow import study
from synthir.core import io
from synthir.workflow.versioning import committed_md5

# Made up for the throw-away local server; the test checks it never lands in a file or log.
KEY, SECRET = "synthirtestkey", "synthir-test-secret-4b1d9e"
# botocore's CRC check of multipart objects fails about one pull in four against rclone's S3
# (the bytes were intact: DVC's own md5 check, `verify`, passed every time), so it is left to
# DVC, as for any S3-compatible server that is not AWS (see the README).
CREDS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
         "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
         "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"}
POOL_DIR = "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0"


def ok(r) -> str:
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    return r.stdout + r.stderr


def planned(workdir: Path, *extra: str) -> dict[str, int]:
    out = ok(snakemake(workdir, "reports/scaling.csv", "-n", "--quiet", "rules", *extra))
    return {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out, re.M) if k != "total"}


@pytest.fixture(scope="module")
def origin(tiny_study, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The tiny study's checkout with two team remotes committed (no secrets in them), all of
    dvc.lock pushed to S3."""
    work, params = tiny_study
    base = tmp_path_factory.mktemp("remotes")
    (base / "dav" / "store").mkdir(parents=True)  # WebDAV's base folder must exist
    with servers.s3_server(base / "s3", KEY, SECRET) as s3, servers.webdav_server(base / "dav") as dav:
        ok(dvc(work, "remote", "add", "s3", "s3://synthir/store"))
        ok(dvc(work, "remote", "modify", "s3", "endpointurl", s3))
        ok(dvc(work, "remote", "modify", "s3", "verify", "true"))  # md5 of every download
        ok(dvc(work, "remote", "add", "dav", f"webdav{dav.removeprefix('http')}/store"))
        git(work, "add", ".dvc/config")
        git(work, "commit", "-q", "-m", "team remotes")
        pushed = ok(dvc(work, "push", "-r", "s3", env=CREDS))
        yield SimpleNamespace(work=work, params=params, base=base, logs=[pushed])


def clone_and_pull(origin: SimpleNamespace, dest: Path, *args: str) -> Path:
    git(origin.work.parent, "clone", "-q", str(origin.work), str(dest))
    origin.logs.append(ok(synthir(dest, "pull", *args, env=CREDS)))
    return dest


@pytest.fixture(scope="module")
def second_clone(origin, tmp_path_factory) -> Path:
    return clone_and_pull(origin, tmp_path_factory.mktemp("clone") / "repo", "-r", "s3")


def test_second_clone_pulls_everything_and_plans_nothing(second_clone):
    assert json.loads(ok(dvc(second_clone, "status", "--json"))) == {}  # bytes match dvc.lock
    assert "Nothing to be done" in ok(snakemake(second_clone, "-n", "reports/scaling.csv"))
    assert "up to date" in ok(dvc(second_clone, "repro", "--dry"))


def test_one_changed_parameter_plans_exactly_its_cells(second_clone, origin):
    params = yaml.safe_load((second_clone / "params.yaml").read_text())
    # bases with their own learning rate (splade-tiny's recipe) do not read the global one
    own = {b for b, e in params["encoders"].items() if "learning_rate" in (e.get("training") or {})}
    trained = [c for c in study.study_cells(params) if not c.is_baseline and c.base not in own]
    assert trained
    try:
        params["training"]["learning_rate"] *= 2
        (second_clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        assert planned(second_clone) == {"train_retriever": len(trained),
                                         "evaluate_dense": len(trained), "aggregate_metrics": 1}
        # DVC sees the same change, in the models family only.
        status = json.loads(ok(dvc(second_clone, "status", "--json")))
        assert list(status) == ["models"]
    finally:
        git(second_clone, "checkout", "params.yaml")
    assert planned(second_clone) == {}


def test_credentials_stay_out_of_files_and_logs(origin, second_clone):
    for repo in (origin.work, second_clone):
        tracked = git(repo, "ls-files").split()
        assert not [f for f in tracked if SECRET in (repo / f).read_text(errors="replace")]
        assert SECRET not in (repo / ".dvc/config").read_text()
        assert not (repo / ".dvc/config.local").exists()
    assert not [log for log in origin.logs if SECRET in log or KEY in log]


def test_webdav_push_and_pull_round_trip_byte_identical(origin, tmp_path):
    stages = yaml.safe_load((origin.work / "dvc.yaml").read_text())["stages"]
    outs = [next(iter(o)) for s in stages.values() for o in s["outs"]]
    some = [o for o in outs if o.startswith(("data/raw/", "data/synthetic/"))]
    ok(dvc(origin.work, "push", "-r", "dav", *some))
    dest = tmp_path / "repo"
    git(origin.work.parent, "clone", "-q", str(origin.work), str(dest))
    ok(dvc(dest, "pull", "-r", "dav", *some))
    # Every pulled file has the bytes dvc.lock records (what the origin committed).
    committed = {p: h for p, h in committed_md5(origin.work).items() if p.startswith(("data/raw/", "data/synthetic/"))}
    assert len(committed) > 10
    assert {p: io.md5_file(dest / p) for p in committed} == committed


# Slow (~2.5 min: regenerates, retrains and re-evaluates a cell): keeps the default suite under
# its 15-minute limit; `pytest -m slow` and .ci/run run it.
@pytest.mark.slow
def test_exact_rebuild_of_a_deleted_cell(origin, tmp_path):
    """Delete a cell's synthetic data, model and results (and the LLM cache: a fresh clone has
    none), rebuild: the same bytes and the same metrics."""
    repo = clone_and_pull(origin, tmp_path / "repo", "-r", "s3")
    model = "models/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/scale~16/base~minilm-l6/seed~0"
    deleted = [f"{POOL_DIR}/pool", f"{POOL_DIR}/scale~16", model,
               *(str(p.relative_to(repo)) for p in repo.glob("results/*/dataset~scifact/*/*/*/scale~16/base~minilm-l6"))]
    data = {p: p.read_bytes() for d in deleted[:2] for p in sorted((repo / d).glob("*.jsonl"))
            if p.name != "costs.jsonl"}
    metrics = {p: io.read_json(p)["metrics"] for p in repo.glob("results/**/metrics.json")}
    assert data and len(metrics) > 4 and not (repo / ".cache").exists()
    targets = [f"{POOL_DIR}/pool", f"{POOL_DIR}/scale~16/meta.json", model,
               *(str(p.relative_to(repo)) for p in metrics if "scale~16/base~minilm-l6/" in str(p))]
    for d in deleted:
        shutil.rmtree(repo / d)
    # Snakemake rebuilds missing files that are named (a missing intermediate under a present
    # final output is not a reason to rerun), so the cell's outputs are the targets.
    ok(snakemake(repo, "-j8", *targets))
    assert io.read_json(repo / POOL_DIR / "pool/record.json")["volatile"]["calls.llm_calls"] > 0  # really regenerated
    assert {p: p.read_bytes() for p in data} == data
    assert {p: io.read_json(p)["metrics"] for p in metrics} == metrics


@pytest.mark.slow  # a release check (README "Tests")
def test_a_release_folder_pulled_into_a_fresh_clone_skips_generation(origin, second_clone, tmp_path):
    # both draws of qgen (the tiny study's second draw is at 16 only): no pool of it is left to generate
    subsets = [f"{POOL_DIR}/scale~16", f"{POOL_DIR}/scale~32", f"{POOL_DIR[:-1]}1/scale~16"]
    host = tmp_path / "releases"  # the team's release host: a plain folder, served as files or HTTP
    out = ok(synthir(second_clone, "release", "--name", "tiny-smollm", "--out", str(host), *subsets))
    folder = host / "tiny-smollm"
    assert str(folder) in out
    card = (folder / "DATACARD.md").read_text()
    manifest = io.read_json(folder / "release.json")
    assert "licence Apache-2.0" in card and "licence CC BY-NC 2.0" in card  # generator, corpus
    assert f"snakemake -j8 {subsets[0]}/meta.json" in card
    assert "qgen, draw 0" in card and "qgen, draw 1" in card
    assert all(f"`{p}` {h}" in card for p, h in manifest["files"].items())
    assert any(p.endswith("shard~0000.jsonl") for p in manifest["files"])
    # not the generator's weights (its manifest only), not the source corpus (named by digest)
    assert "data/prepared/model~smollm2-135m/meta.json" in manifest["files"]
    assert not [p for p in manifest["files"] if p.startswith("data/raw/") or p.endswith(".safetensors")]
    assert sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) < 2_000_000
    assert list(manifest["datasets"]) == ["scifact"]
    r = synthir(second_clone, "release", "--name", "tiny-smollm", "--out", str(host), *subsets)
    assert r.returncode == 2 and "exists; a release is never overwritten" in r.stderr

    # Users: fresh clones of a repository that has no trace of the release, an empty LLM cache;
    # one reads the folder, one reads it over plain HTTP.
    trained = [c for c in study.study_cells(origin.params) if not c.is_baseline]
    others = [c for c in trained if c.strategy not in ("qgen", "human")]  # pools that were not released
    with servers.http_server(host) as url:
        for where, source in (("dir", str(folder)), ("http", f"{url}/tiny-smollm")):
            dest = tmp_path / where
            git(tmp_path, "clone", "-q", str(origin.work), str(dest))
            ok(synthir(dest, "pull", "--release", source))
            assert not (dest / ".cache/synthir/weights").exists()  # no LLM was prepared
            jobs = planned(dest)
            assert "prepare_llm" not in jobs, jobs
            assert jobs.get("generate_pool", 0) == len({c.strategy for c in others}), jobs
            assert jobs.get("subset_scale", 0) == len({(c.strategy, c.scale) for c in others}), jobs
            assert jobs["train_retriever"] == len(trained)
    # the released qgen cells train and evaluate with zero LLM calls
    model = "models/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/scale~16/base~minilm-l6/seed~0"
    ok(snakemake(dest, "-j2", model))
    assert not (dest / ".cache/synthir/llm").exists() and not (dest / ".cache/synthir/weights").exists()


@pytest.mark.slow  # a release check (README "Tests")
def test_a_release_made_with_other_parameters_is_refused(origin, second_clone, tmp_path):
    host = tmp_path / "releases"
    ok(synthir(second_clone, "release", "--name", "r", "--out", str(host), f"{POOL_DIR}/scale~16"))
    dest = tmp_path / "user"
    git(tmp_path, "clone", "-q", str(origin.work), str(dest))
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["llms"]["smollm2-135m"]["decoding"]["temperature"] = 0.5
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    r = synthir(dest, "pull", "--release", str(host / "r"))
    assert r.returncode == 2
    assert "made with other parameters" in r.stderr and "generator.decoding.temperature" in r.stderr
    assert not (dest / POOL_DIR).exists()  # nothing written
    # the same parameters, but an object altered at the host: refused by its md5
    git(dest, "checkout", "params.yaml")
    manifest = io.read_json(host / "r/release.json")
    path, md5 = next((p, h) for p, h in manifest["files"].items() if p.endswith("train.jsonl"))
    obj = host / "r/files/md5" / md5[:2] / md5[2:]
    obj.write_bytes(obj.read_bytes() + b"\n")
    r = synthir(dest, "pull", "--release", str(host / "r"))
    assert r.returncode == 2 and f"the object of {path} does not match its md5 {md5}" in r.stderr
    assert not (dest / POOL_DIR).exists()  # every object is checked before any file is written


@pytest.mark.slow  # a release check (README "Tests")
def test_release_from_a_checkout_built_by_snakemake_alone(origin, tmp_path):
    """The README's first command builds with Snakemake, so DVC has cached nothing: a release
    caches the outputs that are dvc.lock's bytes (dvc.lock unchanged) and refuses, naming them,
    outputs with other bytes; never a raw errno."""
    dest = tmp_path / "built"
    git(tmp_path, "clone", "-q", str(origin.work), str(dest))
    for top in ("data", "models", "results"):  # the same bytes the lock records, no DVC cache
        shutil.copytree(origin.work / top, dest / top, dirs_exist_ok=True)
    lock = (dest / "dvc.lock").read_text()
    subset = f"{POOL_DIR}/scale~16"
    ok(synthir(dest, "release", "--name", "built", "--out", str(tmp_path / "releases"), subset))
    assert (dest / "dvc.lock").read_text() == lock
    train = dest / subset / "train.jsonl"
    train.write_text(train.read_text() + "\n")
    r = synthir(dest, "release", "--name", "edited", "--out", str(tmp_path / "releases"), subset)
    assert r.returncode == 2 and "Errno" not in r.stderr
    assert "differ from dvc.lock" in r.stderr and "train.jsonl" in r.stderr


def test_pull_refuses_outputs_of_other_params(origin, tmp_path):
    dest = tmp_path / "repo"
    git(origin.work.parent, "clone", "-q", str(origin.work), str(dest))
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["evaluation"]["top_k"] = 50
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    r = synthir(dest, "pull", "-r", "s3", env=CREDS)
    assert r.returncode == 2
    assert "results: params.yaml:evaluation.top_k modified" in r.stderr
    assert not (dest / ".snakemake" / "metadata").exists()  # nothing marked complete
