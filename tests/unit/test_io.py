import json

import pytest

from synthir.core import io
def test_read_corpus_parses_and_joins_title(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    assert list(corpus) == ["d1", "d2", "d3"]
    assert corpus["d1"].full_text() == "Aspirin Aspirin lowers the risk of heart attack."
    assert corpus["d2"].full_text() == "Statins reduce cholesterol in adults."


def test_malformed_jsonl_line_is_named(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_text('{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n')
    with pytest.raises(io.DataFormatError, match=r"corpus.jsonl:2: invalid JSON"):
        io.read_corpus(f)


def test_a_json_error_shows_pythons_whole_reason(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_text('{"_id": "a", "text": "tab\there"}\n')  # a raw control character inside a string
    with pytest.raises(io.DataFormatError, match=r"corpus.jsonl:1: invalid JSON: Invalid control character at column 26 \(char 25\)$"):
        io.read_corpus(f)


@pytest.mark.parametrize("line, msg", [
    ('{"text": "no id"}', "missing or empty '_id'"),
    ('{"_id": "a", "text": 3}', "must be strings"),
    ('["not", "an", "object"]', "expected a JSON object"),
])
def test_corpus_schema_errors_name_the_line(tmp_path, line, msg):
    f = tmp_path / "corpus.jsonl"
    f.write_text('{"_id": "ok", "text": "fine"}\n' + line + "\n")
    with pytest.raises(io.DataFormatError, match=rf"corpus.jsonl:2: .*{msg}"):
        io.read_corpus(f)


def test_duplicate_ids_and_empty_files_are_errors(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(io.DataFormatError, match="duplicate document id"):
        io.read_corpus(f)
    f.write_text("\n")
    with pytest.raises(io.DataFormatError, match="corpus is empty"):
        io.read_corpus(f)


def test_read_qrels_skips_header_and_names_bad_lines(tmp_path):
    f = tmp_path / "q.tsv"
    f.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n")
    assert io.read_qrels(f) == {"q1": {"d1": 2, "d2": 0}}
    f.write_text("q1\td1\t1\nq1\td2\n")
    with pytest.raises(io.DataFormatError, match=r"q.tsv:2: expected 3 tab-separated fields"):
        io.read_qrels(f)
    f.write_text("q1\td1\thigh\n")
    with pytest.raises(io.DataFormatError, match="not a number"):
        io.read_qrels(f)


def test_trec_run_round_trip_ranks_by_score_then_id(tmp_path):
    run = {"q1": {"b": 0.5, "a": 0.5, "c": 0.9}}
    io.write_trec_run(tmp_path / "run.trec", run, "t")
    lines = (tmp_path / "run.trec").read_text().splitlines()
    assert [line.split()[2] for line in lines] == ["c", "a", "b"]
    assert [line.split()[3] for line in lines] == ["1", "2", "3"]
    assert io.read_trec_run(tmp_path / "run.trec") == run


def test_atomic_open_leaves_old_file_on_failure(tmp_path):
    f = tmp_path / "x.json"
    io.write_json(f, {"v": 1})
    with pytest.raises(RuntimeError):
        with io.atomic_open(f) as h:
            h.write("partial")
            raise RuntimeError("crash mid-write")
    assert json.loads(f.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_an_atomically_written_file_has_the_mode_a_plain_open_gives(tmp_path):
    # a temporary file is created 0600; the outputs a user shares (a DVC remote, a release)
    # must be readable by the others a plain open() would let read them
    io.write_json(tmp_path / "x.json", {"v": 1})
    (tmp_path / "y.json").write_text("{}")
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == (tmp_path / "y.json").stat().st_mode & 0o777


def test_sha256_tree_changes_with_content_and_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("one")
    first = io.sha256_tree(tmp_path / "a")
    (tmp_path / "a" / "f.txt").write_text("two")
    second = io.sha256_tree(tmp_path / "a")
    (tmp_path / "a" / "f.txt").rename(tmp_path / "a" / "g.txt")
    assert len({first, second, io.sha256_tree(tmp_path / "a")}) == 3
