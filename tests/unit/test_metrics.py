"""Metrics checked against values worked out by hand.

qrels: q1 -> d1 (grade 2), d2 (grade 1); q2 -> d3 (grade 1); q3 has no judgment.
run:   q1 -> d2 0.9, d3 0.8, d1 0.7;   q2 -> d1 0.9, d3 0.5

nDCG@10 (gain = grade, discount log2(rank + 1)):
  q1: DCG = 1/log2(2) + 0 + 2/log2(4) = 2;  IDCG = 2/1 + 1/log2(3) = 2.6309298  -> 0.7601875
  q2: DCG = 1/log2(3) = 0.6309298;          IDCG = 1                           -> 0.6309298
  mean 0.6955587
P@10: q1 2/10, q2 1/10 -> 0.15.  R@100: 1 and 1 -> 1.  MRR@10: 1/1 and 1/2 -> 0.75.
"""

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from synthir.core import numerics
from synthir.core.errors import UserError
from synthir.workflow import cli
from synthir.retrieval.evaluate import cut, drop_identical_ids, judged_queries, score_run

QRELS = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}}
RUN = {"q1": {"d2": 0.9, "d3": 0.8, "d1": 0.7}, "q2": {"d1": 0.9, "d3": 0.5}}


def test_score_run_matches_hand_computed_values():
    means, per_query = score_run(QRELS, RUN)
    assert per_query["ndcg_at_10"]["q1"] == pytest.approx(0.7601875, abs=1e-6)
    assert per_query["ndcg_at_10"]["q2"] == pytest.approx(0.6309298, abs=1e-6)
    assert means["ndcg_at_10"] == pytest.approx(0.6955587, abs=1e-6)
    assert means["p_at_10"] == pytest.approx(0.15)
    assert means["recall_at_100"] == pytest.approx(1.0)
    assert means["mrr_at_10"] == pytest.approx(0.75)


def test_judged_query_missing_from_run_scores_zero():
    means, per_query = score_run(QRELS, {"q1": RUN["q1"]})
    assert per_query["ndcg_at_10"]["q2"] == 0.0
    assert means["ndcg_at_10"] == pytest.approx(0.7601875 / 2, abs=1e-6)


def test_unjudged_and_zero_grade_queries_are_not_evaluated():
    qrels = {**QRELS, "q4": {"d1": 0}}
    means, per_query = score_run(qrels, {**RUN, "q3": {"d1": 1.0}})
    assert set(per_query["ndcg_at_10"]) == {"q1", "q2"}
    assert set(judged_queries(qrels)) == {"q1", "q2"}
    assert means["ndcg_at_10"] == pytest.approx(0.6955587, abs=1e-6)


def test_mrr_is_cut_at_ten():
    run = {"q2": {f"x{i}": 1.0 - i / 100 for i in range(10)} | {"d3": 0.0}}
    _, per_query = score_run({"q2": {"d3": 1}}, run)
    assert per_query["mrr_at_10"]["q2"] == 0.0  # relevant document at rank 11


def test_drop_identical_ids_removes_the_query_itself():
    assert drop_identical_ids({"a": {"a": 1.0, "b": 0.5}}) == {"a": {"b": 0.5}}


def test_cut_keeps_top_by_score_then_id():
    assert cut({"q": {"b": 1.0, "a": 1.0, "c": 2.0}}, 2) == {"q": {"c": 2.0, "a": 1.0}}


def _bm25_args(dataset, out, split="test"):
    cfg = {"bm25": {"b": 0.4, "k1": 0.9, "stemmer": "english", "stopwords": "en"}, "top_k": 10,
           "split": {"ignore_identical_ids": False, "split": split}}
    return ["--config", json.dumps(cfg), "--dataset-dir", str(dataset), "--run-path", str(out / "run.trec"),
            "--metrics-path", str(out / "metrics.json")]


def test_one_process_runs_an_evaluation_per_eval_dataset_each_with_its_own_sidecar(tiny_collection, tmp_path):
    """What an evaluation job runs (rules/evaluate.smk): several jobs of one command, separated
    by a lone '+', each writing its own result and meta.json; a failing one stops the process
    with the previous ones' results written."""
    other = tmp_path / "other"
    shutil.copytree(tiny_collection, other)
    (other / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq2\td3\t1\n")
    for d in (tiny_collection, other):
        (d / "meta.json").write_text(json.dumps({"kind": "dataset", "outputs": {}}))
    argv = [*_bm25_args(tiny_collection, tmp_path / "a"), cli.JOB_SEPARATOR, *_bm25_args(other, tmp_path / "b", "dev")]
    r = subprocess.run([sys.executable, "-m", "synthir", "evaluate-bm25", *argv], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    a, b = (json.loads((tmp_path / x / "metrics.json").read_text()) for x in "ab")
    assert (a["queries_evaluated"], b["queries_evaluated"]) == (2, 1)
    metas = [json.loads((tmp_path / x / "meta.json").read_text()) for x in "ab"]
    assert [m["config"]["split"]["split"] for m in metas] == ["test", "dev"]

    argv = [*_bm25_args(tiny_collection, tmp_path / "c"), cli.JOB_SEPARATOR, *_bm25_args(tmp_path / "nowhere", tmp_path / "d")]
    r = subprocess.run([sys.executable, "-m", "synthir", "evaluate-bm25", *argv], capture_output=True, text=True)
    assert r.returncode == 2 and "nowhere" in r.stderr, r.stderr
    assert (tmp_path / "c" / "metrics.json").is_file() and not (tmp_path / "d").exists()


def test_one_process_refuses_a_second_numerics_setting(monkeypatch):
    """Kernel dispatch is fixed when a library loads: a later job of another setting is refused."""
    monkeypatch.setattr(cli, "_pinned", None)
    monkeypatch.setattr(numerics, "pin", lambda *a: None)
    cli.apply_numerics(SimpleNamespace())  # BM25: no compute slice, pinned as portable
    native = SimpleNamespace(compute=SimpleNamespace(numerics="native", device="cpu", threads=2, platform="x"))
    with pytest.raises(UserError, match="one numerics setting"):
        cli.apply_numerics(native)
    assert cli.split_jobs(["--a", "1", "+", "--b", "2"]) == [["--a", "1"], ["--b", "2"]]


def test_per_eval_options_travel_through_one_shell_command_and_split_back():
    """What rules/evaluate.smk passes (join_jobs of per_eval_argv) is what each evaluation parses:
    a configuration with spaces, quotes and a '+' survives the shell and the split."""
    import shlex

    configs = {"scifact": {"name": "a b", "q": "it's + more"}, "cisi": {"name": "c"}}
    each = {e: {"run_path": f"out/{e}/run.trec", "index_dir": f"idx/{e}"} for e in configs}
    argvs = cli.per_eval_argv(configs, {"model_dir": "models/m x"}, each)
    assert argvs[1] == ["--config", '{"name": "c"}', "--model-dir", "models/m x", "--run-path", "out/cisi/run.trec",
                        "--index-dir", "idx/cisi"]
    assert cli.split_jobs(shlex.split(cli.join_jobs(argvs))) == argvs
