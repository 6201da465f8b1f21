"""A collection the project has never seen, through the real workflow: imported from SMART, used as
evaluation and corpus-only training data by an overlay; wrong qrels and a failed re-fetch seen
the way a user sees them (the console), with nothing good lost."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import yaml
from studyrun import _env, make_project, snakemake

from synthir.core import io
RAW = "data/raw/dataset~mine"


def synthir(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthir", *args], cwd=work, env=_env(), capture_output=True,
                          text=True, timeout=300)


def smart_files(mirror: Path, dest: Path, swap: bool = False) -> list[str]:
    """CISI written back out in SMART format (documents, queries, 'qid docid' relevance lines)."""
    with zipfile.ZipFile(mirror / "beir/cisi.zip") as z:
        z.extractall(dest / "beir")
    beir = next(p.parent for p in (dest / "beir").rglob("corpus.jsonl"))
    files = [dest / "CISI.ALL", dest / "CISI.QRY", dest / "CISI.REL"]
    files[0].write_text("".join(f".I {d['_id']}\n.T\n{d['title']}\n.W\n{d['text']}\n"
                                for _, d in io.iter_jsonl(beir / "corpus.jsonl")))
    files[1].write_text("".join(f".I {q['_id']}\n.W\n{q['text']}\n" for _, q in io.iter_jsonl(beir / "queries.jsonl")))
    pairs = [(q, d) for q, ds in io.read_qrels(beir / "qrels/test.tsv").items() for d, g in ds.items() if g > 0]
    files[2].write_text("".join(f"{d} {q} 0 0.0\n" if swap else f"{q} {d} 0 0.0\n" for q, d in pairs))
    return [str(f) for f in files]


def overlay(work: Path, folder: str, **entry: object) -> Path:
    """The user's overlay: `mine` evaluated, and the training corpus of zero-shot qgen."""
    ds = {"url": None, "md5": None, "mirror_file": None, "path": folder, "sha256": None, "license": "research use",
          "eval_split": "test", "train_split": None, "ignore_identical_ids": False, **entry}
    body = {"datasets": {"mine": ds},
            "study": {"train_datasets": ["mine"], "eval_datasets": ["mine"], "strategies": ["qgen"],
                      "scales": [0, 16], "bases": ["minilm-l6"], "reports": "reports/mine"},
            "strategies": {"qgen": {"n_examples": 0}}}
    path = work / "mine.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_an_imported_collection_plans_checks_and_keeps_good_data(tmp_path, mirror):
    work = tmp_path / "project"
    make_project(work, mirror)
    docs, queries, qrels = smart_files(mirror, tmp_path / "smart")
    r = synthir(work, "import-collection", "--format", "smart", "--docs", docs, "--queries", queries,
                "--qrels", qrels, "--out", "collections/mine")
    assert r.returncode == 0, r.stderr
    assert "1460 documents, 112 queries, 3114 judgments" in r.stdout
    pinned = next(line.split()[1] for line in r.stdout.splitlines() if line.strip().startswith("sha256:"))

    cfg = overlay(work, "collections/mine")
    r = synthir(work, "validate", "--configfile", str(cfg))
    assert r.returncode == 0 and "valid" in r.stdout, r.stderr
    plan = snakemake(work, "reports/mine/claims.md", "-n", "--quiet", "rules", "--configfile", str(cfg))
    assert plan.returncode == 0, plan.stderr
    for rule in ("fetch_dataset", "generate_pool", "train_retriever", "evaluate_dense"):
        assert rule in plan.stdout
    assert "sample_human" not in plan.stdout  # corpus-only: no human arm to sample

    r = snakemake(work, f"{RAW}/meta.json", "-j1", "--configfile", str(cfg))
    assert r.returncode == 0, r.stderr
    kept = {p: p.read_bytes() for p in (work / RAW).rglob("*") if p.is_file() and p.name != "record.json"}
    assert io.read_json(work / RAW / "meta.json")["stats"]["splits"]["test"]["judgments"] == 3114

    # the same folder spelt another way is the same data set: nothing to do
    cfg = overlay(work, f"{work}/collections/../collections/mine")
    r = snakemake(work, f"{RAW}/meta.json", "-n", "--configfile", str(cfg))
    assert "Nothing to be done" in r.stdout + r.stderr

    # a wrong pin: the run fails, the console says why, the earlier copy is still there untouched
    cfg = overlay(work, "collections/mine", sha256="0" * 64)
    r = snakemake(work, f"{RAW}/meta.json", "-j1", "--configfile", str(cfg))
    assert r.returncode != 0
    assert f"collections/mine: sha256 {pinned} != {'0' * 64} from datasets.mine.sha256" in r.stdout + r.stderr
    assert {p: p.read_bytes() for p in (work / RAW).rglob("*") if p.is_file() and p.suffix != ".json"} == {
        p: b for p, b in kept.items() if p.suffix != ".json"}
    # the next run fetches again (meta.json, the declared output, went with the failed job);
    # back to the good config, it brings the same bytes
    cfg = overlay(work, "collections/mine")
    assert snakemake(work, f"{RAW}/meta.json", "-j1", "--configfile", str(cfg)).returncode == 0
    assert {p: p.read_bytes() for p in (work / RAW).rglob("*") if p.is_file() and p.name != "record.json"} == kept

    # qrels with their columns swapped: stopped at fetch, with the file, the count and examples
    docs, queries, swapped = smart_files(mirror, tmp_path / "swapped", swap=True)
    r = synthir(work, "import-collection", "--format", "smart", "--docs", docs, "--queries", queries,
                "--qrels", swapped, "--out", "collections/swapped", "--max-missing-fraction", "1")
    assert r.returncode == 0, r.stderr
    cfg = overlay(work, "collections/swapped")
    r = snakemake(work, f"{RAW}/meta.json", "-j1", "--configfile", str(cfg))
    assert r.returncode != 0
    console = r.stdout + r.stderr
    assert "collections/swapped/qrels/test.tsv: " in console
    # CISI's query ids are document ids too, so the swapped file is caught on its query column
    assert "of 3114 judgments" in console and "name a query id that is not in the collection, e.g." in console
