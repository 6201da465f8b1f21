"""A user's own collection: the `path` source (BEIR or TREC-style folder or zip), the SMART/TREC
importer, corpus-only data sets, and the data checks that stop wrong numbers."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from synthir.core import io

from synthir.workflow import cli, slices
from synthir.core.config import FetchConfig
from synthir.retrieval.data import FetchError, fetch_dataset
from synthir.retrieval.formats import import_collection, read_smart_records, read_trec_topics
from synthir.workflow.params import load, validate_params

from test_fetch import source

ROOT = Path(__file__).resolve().parents[2]
CFG = FetchConfig(dataset="mine", content="path:x")
DOCS = [{"_id": "d1", "title": "Wings", "text": "lift and drag"}, {"_id": "d2", "title": "", "text": "shock waves"},
        {"_id": "d3", "title": "Heat", "text": "transfer in boundary layers"}]


def beir_folder(root: Path, qrels: str = "query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\t1\n",
                queries: bool = True, docs: list[dict] = DOCS) -> Path:
    root.mkdir(parents=True)
    io.write_jsonl(root / "corpus.jsonl", docs)
    if queries:
        io.write_jsonl(root / "queries.jsonl", [{"_id": "1", "text": "lift"}, {"_id": "2", "text": "shocks"}])
    if qrels:
        (root / "qrels").mkdir()
        (root / "qrels/test.tsv").write_text(qrels)
    return root


def fetch(path: Path, out: Path, **kw) -> object:
    return fetch_dataset(CFG, out, out.parent / "dl", source(None, path=path, **kw))


# ------------------------------------------------------------------------------ path source


def test_a_local_folder_and_its_zip_are_the_same_collection(tmp_path):
    folder = beir_folder(tmp_path / "my collection v2")
    a = fetch(folder, tmp_path / "a" / "raw")
    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f"whatever-name/{f.relative_to(folder)}")
    fetch(archive, tmp_path / "b" / "raw")
    for rel in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (tmp_path / "a/raw" / rel).read_bytes() == (tmp_path / "b/raw" / rel).read_bytes()
    assert a.recorded["found"] == {"kind": "path", "path": str(folder)}
    assert a.facts["source"]["sha256"] == io.sha256_tree(folder)
    assert a.facts["stats"]["documents"] == 3 and a.facts["stats"]["splits"]["test"]["judgments"] == 2


def test_a_pinned_path_is_checked_and_its_spelling_is_not_identity(tmp_path, monkeypatch):
    folder = beir_folder(tmp_path / "data" / "mine")
    with pytest.raises(FetchError, match=r"mine: sha256 .* != 1111.* from datasets.mine.sha256"):
        fetch(folder, tmp_path / "raw", sha256="1" * 64)
    fetch(folder, tmp_path / "raw", sha256=io.sha256_tree(folder))
    with pytest.raises(FetchError, match=r"nowhere: no such file or folder \(datasets.mine.path\)"):
        fetch(tmp_path / "nowhere", tmp_path / "raw2")
    monkeypatch.chdir(tmp_path)
    ds = {"sha256": None, "md5": None, "url": None, "mirror_file": None}
    spellings = ["data/mine", "./data/../data/mine", str(folder)]
    assert len({slices._dataset_content({**ds, "path": p}) for p in spellings}) == 1
    pinned = {slices._dataset_content({**ds, "path": p, "sha256": "ab" * 32}) for p in spellings}
    assert pinned == {f"sha256:{'ab' * 32}"}


def test_a_trec_style_folder_is_converted_at_fetch_naming_the_users_file(tmp_path):
    folder = tmp_path / "trec-set"
    folder.mkdir()
    (folder / "corpus.tsv").write_text("D1\tWings\tlift and drag\nD2\tshock waves\n")
    (folder / "topics.401-402.txt").write_text(
        "<top>\n<num> Number: 401\n<title> wing lift\n<desc> Description:\nHow do wings lift?\n</top>\n\n"
        "<top>\n<num> Number: 402\n<title> shocks\n<desc> Description:\nShock waves.\n</top>\n")
    (folder / "qrels.401-402.txt").write_text("401 0 D1 1\n402 0 D2 2\n402 0 D1 0\n")
    fetch(folder, tmp_path / "raw")
    assert io.read_queries(tmp_path / "raw/queries.jsonl")["401"].text == "wing lift"
    assert io.read_qrels(tmp_path / "raw/qrels/test.tsv") == {"401": {"D1": 1}, "402": {"D2": 2, "D1": 0}}
    assert io.read_corpus(tmp_path / "raw/corpus.jsonl")["D1"].title == "Wings"
    (folder / "qrels.401-402.txt").write_text("401 0 D1 1\n402 D2\n")
    with pytest.raises(io.DataFormatError, match=r"trec-set/qrels.401-402.txt:2: expected at least 4"):
        fetch(folder, tmp_path / "raw2")


# ------------------------------------------------------------------------------- importer


def smart_from_beir(beir: Path, out: Path) -> tuple[Path, Path, Path]:
    """Write a BEIR collection back out in SMART format (as the Glasgow archives hold it)."""
    docs, qrys, rel = out / "COLL.ALL", out / "COLL.QRY", out / "COLL.REL"
    out.mkdir()
    with docs.open("w") as f:
        for _, d in io.iter_jsonl(beir / "corpus.jsonl"):
            f.write(f".I {d['_id']}\n.T\n{d['title']}\n.A\nsomebody\n.W\n{d['text']}\n.X\n{d['_id']}\t5\t{d['_id']}\n")
    with qrys.open("w") as f:
        for _, q in io.iter_jsonl(beir / "queries.jsonl"):
            f.write(f".I {q['_id']}\n.W\n{q['text']}\n")
    with rel.open("w") as f:
        for q, docs_ in io.read_qrels(beir / "qrels/test.tsv").items():
            f.writelines(f" {q}\t{d}\t0\t0.000000\n" for d, g in docs_.items() if g > 0)
    return docs, qrys, rel


def test_smart_import_round_trips_a_real_collection(tmp_path, mirror):
    with zipfile.ZipFile(mirror / "beir/adi.zip") as z:
        z.extractall(tmp_path / "beir")
    beir = next(p.parent for p in (tmp_path / "beir").rglob("corpus.jsonl"))
    files = smart_from_beir(beir, tmp_path / "smart")
    counts = import_collection("smart", [files[0]], *files[1:], tmp_path / "adi-imported")
    out = tmp_path / "adi-imported"
    want, got = io.read_corpus(beir / "corpus.jsonl"), io.read_corpus(out / "corpus.jsonl")
    assert got.keys() == want.keys() and counts["documents"] == len(want) == 82
    assert all(" ".join(got[k].text.split()) == " ".join(want[k].text.split()) for k in want)
    assert all(got[k].title == " ".join(want[k].title.split()) for k in want)
    assert {k: " ".join(v.text.split()) for k, v in io.read_queries(out / "queries.jsonl").items()} == {
        k: " ".join(v.text.split()) for k, v in io.read_queries(beir / "queries.jsonl").items()}
    relevant = {q: {d for d, g in ds.items() if g > 0} for q, ds in io.read_qrels(beir / "qrels/test.tsv").items()}
    assert {q: set(ds) for q, ds in io.read_qrels(out / "qrels/test.tsv").items()} == {
        q: ds for q, ds in relevant.items() if ds}
    assert counts["sha256"] == io.sha256_tree(out)


def test_the_import_command_prints_a_params_entry_and_refuses_wrong_qrels(tmp_path, tiny_collection, capsys):
    files = smart_from_beir(tiny_collection, tmp_path / "smart")
    assert cli.main(["import-collection", "--format", "smart", "--docs", str(files[0]), "--queries", str(files[1]),
                     "--qrels", str(files[2]), "--out", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert f"sha256: {io.sha256_tree(tmp_path / 'mine')}" in out and "path: " in out and "eval_split: test" in out
    # a column mix-up: "docid qid" lines
    swapped = tmp_path / "swapped.rel"
    swapped.write_text("".join(f"{d} {q}\n" for q, ds in io.read_qrels(tiny_collection / "qrels/test.tsv").items()
                               for d in ds))
    assert cli.main(["import-collection", "--format", "smart", "--docs", str(files[0]), "--queries", str(files[1]),
                     "--qrels", str(swapped), "--out", str(tmp_path / "mine2")]) == 2
    err = capsys.readouterr().err
    assert "swapped.rel: " in err and "judgments (100.0%) name a document id that is not in the collection" in err
    assert not (tmp_path / "mine2").exists() and not list(tmp_path.glob(".mine2*"))  # nothing left behind
    assert cli.main(["import-collection", "--format", "smart", "--docs", str(files[0]), "--queries", str(files[1]),
                     "--qrels", str(files[2]), "--out", str(tmp_path / "mine2")]) == 0  # so a re-run just works
    assert cli.main(["import-collection", "--format", "smart", "--docs", str(files[0]),
                     "--out", str(tmp_path / "mine")]) == 2
    assert "mine: exists and is not empty" in capsys.readouterr().err


def test_smart_and_trec_readers_name_the_bad_line(tmp_path):
    bad = tmp_path / "COLL.ALL"
    bad.write_text("some header\n.I 1\n.W\ntext\n")
    with pytest.raises(io.DataFormatError, match=r"COLL.ALL:1: expected '.I <id>'"):
        list(read_smart_records(bad))
    bad.write_text(".I 1\n.W\na\n.I 1\n.W\nb\n")  # a repeated id: counted, the first kept (as a fetch does)
    counts = import_collection("smart", [bad], None, None, tmp_path / "o")
    assert counts["documents"] == 1 and counts["duplicate_ids"] == 1
    assert io.read_corpus(tmp_path / "o" / "corpus.jsonl")["1"].text == "a"
    topics = tmp_path / "topics.txt"
    topics.write_text("<top>\n<num> Number: 7\n<desc> Description: only a description\n</top>\n")
    with pytest.raises(io.DataFormatError, match=r"topics.txt:1: topic 7 has no title"):
        read_trec_topics(topics, "title")
    assert read_trec_topics(topics, "description") == {"7": "only a description"}


LISA_DOCS = ["Document  1\nTHE LIBRARY\nCATALOGUE\n\nAn abstract about\ncatalogues.\n" + "*" * 44 + "\n",
             "Document  2\nINDEXING\n\nIndexing of serials.\n" + "*" * 44 + "\n"
             "Document  2\nA REPEAT\n\nkept out\n" + "*" * 44 + "\n"]


def test_lisa_layout_in_several_files_imports_with_its_queries_and_judgments(tmp_path, capsys):
    docs = []
    for i, text in enumerate(LISA_DOCS):
        docs.append(tmp_path / f"LISA{i}.001")
        docs[-1].write_text(text)
    (tmp_path / "LISA.QUE").write_text("1\nI AM INTERESTED IN\nCATALOGUES #\n2\nSERIALS #\n")
    (tmp_path / "LISA.REL").write_text("Query 1\n1 Relevant Refs:\n1 -1\n\nQuery 2\n2 Relevant Refs:\n1 2 -1\n")
    out = tmp_path / "lisa"
    assert cli.main(["import-collection", "--format", "lisa", "--docs", *map(str, docs), "--queries",
                     str(tmp_path / "LISA.QUE"), "--qrels", str(tmp_path / "LISA.REL"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 documents, 2 queries, 3 judgments; 1 duplicate ids (the first record of each id kept)" in printed
    corpus = io.read_corpus(out / "corpus.jsonl")
    assert corpus["1"].title == "THE LIBRARY CATALOGUE" and corpus["1"].text == "An abstract about catalogues."
    assert corpus["2"].title == "INDEXING"
    assert io.read_queries(out / "queries.jsonl")["1"].text == "I AM INTERESTED IN CATALOGUES"
    assert io.read_qrels(out / "qrels/test.tsv") == {"1": {"1": 1}, "2": {"1": 1, "2": 1}}
    bad = tmp_path / "BAD.REL"
    bad.write_text("Query 1\n2 Relevant Refs:\n1 -1\n")
    with pytest.raises(io.DataFormatError, match=r"BAD.REL:1: query 1 says 2 relevant refs, lists 1"):
        import_collection("lisa", docs, tmp_path / "LISA.QUE", bad, tmp_path / "o")


def test_the_printed_licence_placeholder_does_not_validate():
    from synthir.workflow.params import merge

    entry = {"url": None, "md5": None, "mirror_file": None, "path": "data/mine", "sha256": None,
             "license": "<the collection's licence>", "eval_split": "test", "train_split": None,
             "ignore_identical_ids": False}
    base = load(ROOT / "params.yaml")
    with pytest.raises(Exception, match=r"datasets.mine.license: .* is a placeholder"):
        validate_params(merge(base, {"datasets": {"mine": entry}}))


# ------------------------------------------------------------------------ corpus-only sets


def test_a_corpus_alone_is_a_collection_but_qrels_need_their_queries(tmp_path):
    fetch(beir_folder(tmp_path / "c", qrels="", queries=False), tmp_path / "raw", splits=())
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["corpus.jsonl"]
    with pytest.raises(FetchError, match=r"c2/queries.jsonl: missing, but qrels/ judges queries"):
        fetch(beir_folder(tmp_path / "c2", queries=False), tmp_path / "raw2", splits=())


def test_a_corpus_only_training_set_plans_label_free_strategies_only():
    base = load(ROOT / "params.yaml")
    overlay = {"datasets": {"scifact": {"train_split": None}}, "strategies": {"qgen": {"n_examples": 0}}}
    from synthir.workflow.params import merge

    with pytest.raises(Exception, match=r"'qgen' \(qgen\) needs .* \(n_examples 1 few-shot exemplars \(0: zero-shot\)\)"):
        validate_params(merge(base, {"datasets": {"scifact": {"train_split": None}}}))
    p = merge(base, overlay)
    validate_params(p)  # qgen without a labelled split: zero-shot
    p = merge(p, {"study": {"strategies": ["rephrase"]}})
    with pytest.raises(Exception, match=r"'rephrase' \(rephrase\) needs the labelled split of training dataset "
                                        r"'scifact', whose datasets.scifact.train_split is null \(seed queries\)"):
        validate_params(p)


# -------------------------------------------------------------------------------- checks


def test_wrong_qrels_stop_the_fetch_with_file_count_and_examples(tmp_path, capsys):
    folder = beir_folder(tmp_path / "c", qrels="query-id\tcorpus-id\tscore\nd1\t1\t1\nd2\t2\t1\n")
    with pytest.raises(FetchError) as e:
        fetch(folder, tmp_path / "raw")
    assert str(e.value).startswith(f"{folder}/qrels/test.tsv: 2 of 2 judgments (100.0%) name a document id")
    assert "e.g. '1', '2'" in str(e.value) and "max_missing_fraction 0.01" in str(e.value)
    assert not (tmp_path / "raw" / "corpus.jsonl").exists()
    # a few unknown ids within tolerance pass, and are counted (ArguAna's quirk)
    fetch(beir_folder(tmp_path / "c2", qrels="1\td1\t1\n2\tgone\t1\n"), tmp_path / "raw2", max_missing_fraction=0.5)
    meta_stats = io.read_qrels(tmp_path / "raw2/qrels/test.tsv")
    assert meta_stats == {"1": {"d1": 1}, "2": {"gone": 1}}


def test_duplicates_and_empty_texts_are_counted_or_fail_when_asked(tmp_path):
    docs = [*DOCS, {"_id": "d1", "title": "", "text": "a second d1"}, {"_id": "d4", "title": "", "text": ""}]
    qrels = "query-id\tcorpus-id\tscore\n1\td1\t1\n1\td1\t1\n2\td2\t1\n"
    folder = beir_folder(tmp_path / "c", qrels=qrels, docs=docs)
    art = fetch(folder, tmp_path / "raw")
    checks = art.facts["stats"]["checks"]
    assert (checks["duplicate_ids"], checks["duplicate_judgments"], checks["empty_texts"]) == (1, 1, 1)
    assert io.read_corpus(tmp_path / "raw/corpus.jsonl")["d1"].text == "lift and drag"  # the first is kept
    with pytest.raises(FetchError, match=r"c/corpus.jsonl: 1 duplicate ids, 1 empty texts \(data_checks.fail_on\)"):
        fetch(folder, tmp_path / "raw", fail_on=["duplicate_ids", "empty_texts"])
    assert io.read_corpus(tmp_path / "raw/corpus.jsonl")  # the failed re-fetch kept the good copy


def test_a_failed_refetch_keeps_the_earlier_copy(tmp_path):
    folder = beir_folder(tmp_path / "c")
    fetch(folder, tmp_path / "raw")
    before = {p: p.read_bytes() for p in (tmp_path / "raw").rglob("*") if p.is_file()}
    (folder / "qrels/test.tsv").write_text("1\tnope\t1\n")
    with pytest.raises(FetchError):
        fetch(folder, tmp_path / "raw")
    assert {p: p.read_bytes() for p in (tmp_path / "raw").rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".raw")] == []  # no staging left


def test_the_fetch_record_names_the_splits_the_study_reads():
    p = load(ROOT / "params.yaml")
    rec = slices.record(p, "fetch_dataset", {"dataset": "scifact"})
    assert rec["splits"] == ["test", "train"] and rec["checks"] == p["data_checks"]
    assert slices.record(p, "fetch_dataset", {"dataset": "cisi"})["splits"] == ["test"]
    assert json.dumps(rec)  # recorded as JSON by the rule
    assert os.path.isabs(slices._dataset_content({**p["datasets"]["cisi"], "sha256": None, "path": "x"})[5:])


def test_the_report_lists_each_data_sets_counts(tmp_path):
    import pandas as pd

    from synthir.retrieval.report.scaling import datasets_table

    folder = beir_folder(tmp_path / "c", qrels="query-id\tcorpus-id\tscore\n1\td1\t1\n1\td1\t1\n2\td2\t2\n")
    raw = tmp_path / "data/raw/dataset~mine"
    art = fetch(folder, raw)
    from synthir.core import provenance
    provenance.write_sidecars(art, {"dataset": "mine", "content": "x"}, {}, 0.0)
    corpus_only = tmp_path / "data/raw/dataset~bare"
    provenance.write_sidecars(fetch(beir_folder(tmp_path / "b", qrels="", queries=False), corpus_only, splits=()),
                              {"dataset": "bare", "content": "y"}, {}, 0.0)
    table = datasets_table([raw / "meta.json", corpus_only / "meta.json"])
    mine = table[table.dataset == "mine"].iloc[0]
    assert (mine.documents, mine.queries, mine.split, mine.judgments, mine.duplicate_judgments) == (3, 2, "test", 2, 1)
    bare = table[table.dataset == "bare"].iloc[0]
    assert bare.documents == 3 and bare.queries == 0 and pd.isna(bare.split)


def test_an_overlay_that_changes_the_grid_must_name_its_own_reports():
    from synthir.workflow.params import merge, own_reports_problem

    base = load(ROOT / "params.yaml")
    grid = merge(base, {"study": {"train_datasets": ["cisi"]}})
    problem = own_reports_problem(base, grid, ["mine.yaml"])
    assert problem and problem.startswith("study.reports: mine.yaml changes the study grid")
    assert "reports/mine/scaling.csv" in problem
    assert own_reports_problem(base, merge(grid, {"study": {"reports": "reports/mine"}}), ["mine.yaml"]) is None
    assert own_reports_problem(base, merge(base, {"evaluation": {"top_k": 50}}), ["k.yaml"]) is None  # same grid
    assert own_reports_problem(base, grid, []) is None  # params.yaml edited in place is the default study
