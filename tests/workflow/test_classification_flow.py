"""The tiny classification study (tests/config/classification.yaml over the tiny params): SST-2
with the movie-review corpus, FewGen and SynthesizRR written by the packaged SmolLM2, both
students, the gold arm, scales 4 and 8, run by Snakemake as a user runs it. About 6 minutes on
2 cores: in the slow suite, since the default suite is already past its 15 minutes here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from studyrun import ROOT, PROJECT_FILES, snakemake, synthir

from synthir.core import closure, io, paths, provenance

from synthir.workflow import study
from synthir.workflow import params as P
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dagdump import dump  # noqa: E402

REPORTS = "reports/classification"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_classification(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("classification")
    for item in PROJECT_FILES:
        (work / item).symlink_to(ROOT / item, target_is_directory=(ROOT / item).is_dir())
    params = P.load(ROOT / "tests/config/params.yaml", [ROOT / "tests/config/classification.yaml"])
    params["mirror"] = str(mirror)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    r = snakemake(work, "-j2")
    if r.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in (work / "logs").rglob("*.log"))
        pytest.fail(f"tiny classification study failed:\n{r.stderr[-5000:]}\n{logs[-15000:]}")
    return work, params


def test_the_report_has_every_cell_with_its_gold_comparison(tiny_classification):
    work, params = tiny_classification
    table = pd.read_csv(work / REPORTS / "classification.csv")
    cells = study.study_cells(params)
    assert len(table) == len(cells) == 2 * 2 * 3  # scales x students x (fewgen, synthesizrr, gold)
    synthetic = table[table.strategy != "human"]
    assert synthetic.delta_lo.notna().all() and (synthetic.delta_lo <= synthetic.delta_hi).all()
    assert table.accuracy.between(0, 1).all() and (table.examples == 200).all()
    div = pd.read_csv(work / REPORTS / "diversity.csv")
    assert len(div) == 6 and div.self_bleu.notna().all() and div.label_preservation.between(0, 1).all()
    claims = (work / REPORTS / "claims.md").read_text()
    for section in ("## SynthesizRR (2405.10040), classification: retrieval-augmented synthesis",
                    "## SynthesizRR, classification: students trained on SynthesizRR",
                    "## Positive control"):
        assert section in claims
    receipt = io.read_json(work / REPORTS / "mlflow_runs.json")  # one MLflow run per cell
    assert len(receipt["runs"]) == len(cells)


def test_sets_are_balanced_nested_and_carry_what_conditioned_them(tiny_classification):
    work, _ = tiny_classification
    sub = lambda st, n: io.read_jsonl(work / paths.family_dir(  # noqa: E731
        "subset", dataset="sst2", augmenter="smollm2-135m", strategy=st, draw=0, scale=n) / "train.jsonl")
    corpus = io.read_corpus(work / "data/raw/dataset~movie-reviews/corpus.jsonl")
    gold_ids = {r["id"] for r in io.read_jsonl(work / "data/raw/dataset~sst2/train.jsonl")}
    for st in ("fewgen-2shot", "synthesizrr"):
        small, large = sub(st, 4), sub(st, 8)
        for lab in ("negative", "positive"):
            assert [r for r in small if r["label"] == lab] == [r for r in large if r["label"] == lab][:2]
        assert sum(r["label"] == "negative" for r in large) == 4
    assert all(r["doc_id"] in corpus and r["seed_id"] in gold_ids for r in sub("synthesizrr", 8))
    assert all(set(r["shot_ids"]) <= gold_ids and len(r["shot_ids"]) == 2 for r in sub("fewgen-2shot", 8))


def test_lineage_reaches_the_document_behind_an_example(tiny_classification):
    work, _ = tiny_classification
    table = pd.read_csv(work / REPORTS / "classification.csv")
    row = 1 + int(table.index[(table.strategy == "synthesizrr") & (table.scale == 8)][0])
    r = synthir(work, "lineage", f"{REPORTS}/classification.csv:{row}", "--json", "--verify")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    text = r.stdout
    assert "data/raw/dataset~movie-reviews" in text and "data/prepared/model~smollm2-135m" in text
    assert json.loads(text)["drift"] == []
    example = io.read_jsonl(work / paths.family_dir(
        "subset", dataset="sst2", augmenter="smollm2-135m", strategy="synthesizrr", draw=0, scale=8) / "train.jsonl")[0]
    r = synthir(work, "lineage", f"{REPORTS}/classification.csv:{row}", "--example", example["id"])
    assert r.returncode == 0, r.stderr[-2000:]
    origin = json.loads(r.stdout)
    corpus = io.read_corpus(work / "data/raw/dataset~movie-reviews/corpus.jsonl")
    assert origin["example"] == example
    assert origin["document"]["id"] == example["doc_id"] and origin["document"]["dataset"] == "movie-reviews"
    assert origin["document"]["text"] == corpus[example["doc_id"]].full_text()


def test_a_rerun_does_nothing_and_jobs_declare_the_code_they_ran(tiny_classification):
    work, _ = tiny_classification
    r = snakemake(work, "-j2", "-n")
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr, r.stdout[-2000:]
    checked = 0
    for job in dump(work):
        if getattr(study.KINDS.get(job["rule"]), "family", None) is None:  # a report or a target rule
            continue
        path = Path(study.job_path(study.Job.of(job["rule"], **job["wildcards"])))
        meta = path if path.name.endswith(("meta.json", "stats.json")) else (
            path.parent / "meta.json" if path.suffix else path / "meta.json")
        imported = set(io.read_json(provenance.record_path(work / meta))["modules"])
        declared = {p for p in job["input"] if p.startswith("src/synthir/")}
        files = {closure.module_file(m).relative_to(ROOT).as_posix() for m in imported}
        assert files <= declared, (job["rule"], sorted(files - declared))
        checked += 1
    assert checked > 30
