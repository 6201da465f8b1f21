"""Fetching from a mirror: checksums, layout, validation, quirk counts, no partial outputs."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from synthir.core import io

from synthir.workflow import cli
from synthir.core.config import FetchConfig
from synthir.retrieval.data import FetchError, fetch_dataset

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


CFG = FetchConfig(dataset="toy", content="mirror-file:beir/toy.zip")


CHECKS = {"max_missing_fraction": 0.01, "fail_on": []}


def source(mirror: Path | None, name: str = "toy", sha256: str | None = None, path: Path | None = None,
           splits: tuple[str, ...] = ("test",), **checks) -> dict:
    """What the rule passes as --record: where the data is, what it must match, what is read."""
    return {"mirror": str(mirror) if mirror else None, "mirror_file": f"beir/{name}.zip" if mirror else None,
            "url": None, "md5": None, "path": str(path) if path else None, "member": None, "sha256": sha256,
            "license": "test",
            "splits": list(splits), "checks": {**CHECKS, **checks}}


def fetch_cli(mirror: Path, out: Path) -> int:
    return cli.main(["fetch-dataset", "--config", json.dumps(CFG.__dict__), "--record", json.dumps(source(mirror)),
                     "--out-dir", str(out), "--download-dir", str(out.parent / "dl")])


def test_fetch_extracts_verifies_and_counts_quirks(tmp_path):
    mirror = make_mirror(tmp_path)
    out = tmp_path / "raw"
    result = fetch_dataset(CFG, out, tmp_path / "dl", source(mirror))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "corpus.jsonl", "qrels/test.tsv", "queries.jsonl"]
    assert result.recorded["found"] == {"kind": "mirror", "mirror": str(mirror), "file": "beir/toy.zip"}
    assert result.facts["source"] == {"sha256": hashlib.sha256((mirror / "beir/toy.zip").read_bytes()).hexdigest()}
    split = result.facts["stats"]["splits"]["test"]
    assert split["judged_queries"] == 1            # q2 has only a grade-0 judgment
    assert split["max_grade"] == 2
    assert split["query_ids_also_doc_ids"] == 1    # q1 is also a document id (ArguAna's quirk)
    assert result.facts["stats"]["queries_without_judgments"] == 2


def test_the_same_bytes_from_another_mirror_path_give_the_same_meta(tmp_path):
    # The location is recorded (record.json), never part of the artifact: a data set read from
    # a mirror spelled differently, or moved, is the same data set.
    mirror = make_mirror(tmp_path)
    a, b = tmp_path / "a" / "raw", tmp_path / "b" / "raw"
    assert fetch_cli(mirror, a) == 0
    moved = tmp_path / "elsewhere"
    mirror.rename(moved)
    assert fetch_cli(Path(str(moved) + "/../elsewhere"), b) == 0
    assert (a / "meta.json").read_bytes().replace(b"/a/raw", b"/b/raw") == (b / "meta.json").read_bytes()
    assert json.loads((b / "record.json").read_text())["recorded"]["mirror"].endswith("/../elsewhere")


def test_a_pinned_sha256_is_checked_even_without_the_mirrors_list(tmp_path):
    mirror = make_mirror(tmp_path)
    (mirror / "SHA256SUMS").unlink()
    with pytest.raises(FetchError, match="neither datasets.toy.sha256 nor"):
        fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror))
    with pytest.raises(FetchError, match=r"sha256 .* != 1111.* from datasets.toy.sha256"):
        fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror, sha256="1" * 64))
    digest = hashlib.sha256((mirror / "beir/toy.zip").read_bytes()).hexdigest()
    fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror, sha256=digest))


def test_any_inner_folder_name_is_a_beir_collection(tmp_path):
    mirror = make_mirror(tmp_path, name="toy")
    with zipfile.ZipFile(mirror / "beir/toy.zip") as z, zipfile.ZipFile(tmp_path / "renamed.zip", "w") as out:
        for item in z.infolist():
            out.writestr(item.filename.replace("toy/", "my-collection-v2/"), z.read(item))
    (mirror / "beir/toy.zip").write_bytes((tmp_path / "renamed.zip").read_bytes())
    (mirror / "SHA256SUMS").write_text(f"{hashlib.sha256((mirror / 'beir/toy.zip').read_bytes()).hexdigest()}  beir/toy.zip\n")
    fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror))
    assert (tmp_path / "raw/corpus.jsonl").is_file()


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
        fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror))


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


def test_a_missing_split_is_named_with_the_ones_there(tmp_path):
    mirror = make_mirror(tmp_path)
    fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror))
    with pytest.raises(io.DataFormatError, match=r"qrels/train.tsv: no split 'train' .*found: test"):
        io.read_split(tmp_path / "raw", "train")


def test_a_split_the_study_reads_must_exist(tmp_path):
    mirror = make_mirror(tmp_path, qrels={})
    with pytest.raises(FetchError, match=r"toy.zip!toy/corpus.jsonl: the study reads qrels split 'test', which "
                                         r"this collection lacks \(splits: none"):
        fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror))
    fetch_dataset(CFG, tmp_path / "raw", tmp_path / "dl", source(mirror, splits=()))  # not read: fine
