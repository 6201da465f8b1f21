"""Fetching from a mirror: checksums, layout, validation, quirk counts, no partial outputs."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from synthir import cli
from synthir.config import DatasetConfig, FetchConfig
from synthir.data import FetchError, fetch_dataset

DOCS = [{"_id": "d1", "title": "T", "text": "alpha beta"}, {"_id": "q1", "title": "", "text": "gamma"}]
QUERIES = [{"_id": "q1", "text": "alpha"}, {"_id": "q2", "text": "beta"}, {"_id": "q3", "text": "never judged"}]


def make_mirror(root: Path, name: str = "toy", corpus: str | None = None, qrels: dict[str, str] | None = None,
                bad_checksum: bool = False) -> Path:
    mirror = root / "mirror"
    (mirror / "beir").mkdir(parents=True)
    archive = mirror / "beir" / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{name}/corpus.jsonl", corpus if corpus is not None else "".join(json.dumps(d) + "\n" for d in DOCS))
        z.writestr(f"{name}/queries.jsonl", "".join(json.dumps(q) + "\n" for q in QUERIES))
        for split, body in (qrels if qrels is not None else {"test": "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td1\t0\n"}).items():
            z.writestr(f"{name}/qrels/{split}.tsv", body)
    digest = "0" * 64 if bad_checksum else hashlib.sha256(archive.read_bytes()).hexdigest()
    (mirror / "SHA256SUMS").write_text(f"{digest}  beir/{name}.zip\n")
    return mirror


def cfg(mirror: Path, name: str = "toy", train_split: str | None = None) -> FetchConfig:
    ds = DatasetConfig(name=name, url=None, md5=None, mirror_file=f"beir/{name}.zip", license="test",
                       eval_split="test", train_split=train_split, ignore_identical_ids=False)
    return FetchConfig(dataset=ds, mirror=str(mirror))


def fetch_cli(mirror: Path, out: Path, train_split: str | None = None) -> int:
    c = cfg(mirror, train_split=train_split)
    blob = json.dumps({"dataset": c.dataset.__dict__, "mirror": c.mirror})
    return cli.main(["fetch", "--config", blob, "--out", str(out), "--download-dir", str(out.parent / "dl")])


def test_fetch_extracts_verifies_and_counts_quirks(tmp_path):
    mirror = make_mirror(tmp_path)
    out = tmp_path / "raw"
    result = fetch_dataset(cfg(mirror), out, tmp_path / "dl")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "corpus.jsonl", "qrels/test.tsv", "queries.jsonl"]
    assert result["source"]["kind"] == "mirror" and result["source"]["file"] == "beir/toy.zip"
    split = result["stats"]["splits"]["test"]
    assert split["judged_queries"] == 1            # q2 has only a grade-0 judgment
    assert split["max_grade"] == 2
    assert split["query_ids_also_doc_ids"] == 1    # q1 is also a document id (ArguAna's quirk)
    assert result["stats"]["queries_without_judgments"] == 2


def test_cli_fetch_writes_meta_with_source_and_file_digests(tmp_path):
    mirror = make_mirror(tmp_path)
    out = tmp_path / "raw"
    assert fetch_cli(mirror, out) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["source"]["sha256"] == hashlib.sha256((mirror / "beir/toy.zip").read_bytes()).hexdigest()
    assert set(meta["outputs"]) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}


def test_checksum_mismatch_is_refused(tmp_path):
    mirror = make_mirror(tmp_path, bad_checksum=True)
    with pytest.raises(FetchError, match=r"toy.zip: sha256 .* != 0000"):
        fetch_dataset(cfg(mirror), tmp_path / "raw", tmp_path / "dl")


def test_malformed_corpus_line_is_named_and_leaves_nothing(tmp_path, capsys):
    mirror = make_mirror(tmp_path, corpus='{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": oops}\n')
    out = tmp_path / "raw"
    assert fetch_cli(mirror, out) == 2
    err = capsys.readouterr().err
    assert "toy.zip!toy/corpus.jsonl:2: invalid JSON" in err
    assert not out.exists() or not any(out.iterdir())


def test_empty_corpus_is_an_error(tmp_path, capsys):
    mirror = make_mirror(tmp_path, corpus="")
    assert fetch_cli(mirror, tmp_path / "raw") == 2
    assert "corpus.jsonl: the corpus is empty" in capsys.readouterr().err


def test_missing_qrels_split_is_named(tmp_path, capsys):
    mirror = make_mirror(tmp_path)
    assert fetch_cli(mirror, tmp_path / "raw", train_split="train") == 2
    assert "split 'train' has no qrels/train.tsv" in capsys.readouterr().err


def test_archive_without_qrels_is_an_error(tmp_path):
    mirror = make_mirror(tmp_path, qrels={})
    with pytest.raises(FetchError, match="no toy/qrels/"):
        fetch_dataset(cfg(mirror), tmp_path / "raw", tmp_path / "dl")
