"""summary.csv statistics on hand-made per-query results: seed intervals, the paired test
against the cell's own baseline and against the human arm, power, the multiplicity adjustment
and the saturation scale."""

from pathlib import Path

import numpy as np
import pytest

from synthir.core import io, paths
from synthir.retrieval.report.summary import per_query_table, saturation, summarise
from synthir.stats import benjamini_hochberg, holm, minimum_detectable_effect, paired_randomization

QUERIES = [f"q{i}" for i in range(20)]


def write_cell(root: Path, scale: int, seed: int, scores: list[float], strategy: str = "qgen") -> Path:
    trained = scale > 0
    augmenter = "none" if strategy == "human" or not trained else "smol"
    w = {"eval": "adi", "dataset": "scifact" if trained else "none", "augmenter": augmenter,
         "strategy": strategy if trained else "none", "draw": 0, "scale": scale, "base": "minilm", "seed": seed}
    path = root / paths.family_dir("result", **w) / "metrics.json"
    io.write_json(path, {"per_query": {"ndcg_at_10": dict(zip(QUERIES, scores))}})
    return path.relative_to(root)


def study(tmp_path, seeds, monkeypatch):
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.6, len(QUERIES))
    files = [write_cell(tmp_path, 0, 0, list(base))]
    for seed in seeds:
        noise = np.random.default_rng(seed + 10).normal(0, 0.02, len(QUERIES))
        files.append(write_cell(tmp_path, 30, seed, list(base + 0.02 + noise)))
        files.append(write_cell(tmp_path, 100, seed, list(base + 0.09 + noise)))
        files.append(write_cell(tmp_path, 300, seed, list(base + 0.10 + noise)))
        # the human arm: better than the synthetic cells by 0.05 at every scale
        for scale, lift in ((30, 0.07), (100, 0.14), (300, 0.15)):
            files.append(write_cell(tmp_path, scale, seed, list(base + lift + noise), strategy="human"))
    return summarise(per_query_table(files))


def test_gain_interval_p_value_and_saturation(tmp_path, monkeypatch):
    df = study(tmp_path, [0, 1, 2], monkeypatch)
    row = df[(df["scale"] == 300) & (df["strategy"] == "qgen")].iloc[0]
    assert row["seeds"] == 3
    assert row["ci95_low"] < row["mean"] < row["ci95_high"]
    assert row["gain"] == pytest.approx(0.10, abs=0.02)
    assert row["p_value"] < 0.01  # every query improves; three seeds: their spread counts, 2 degrees of freedom
    assert row["saturation_scale"] == 100  # 0.09 >= 0.9 x 0.10
    assert row["saturation_low"] <= 100 <= row["saturation_high"]
    base = df[df["scale"] == 0].iloc[0]
    assert base["seeds"] == 1 and np.isnan(base["ci95_low"])
    # against the human arm at the same scale: 0.05 worse, every query
    # three seeds a side, each cell's seed spread counted (the arms' seeds are separate trainings)
    assert row["gain_vs_human"] == pytest.approx(-0.05, abs=1e-9) and row["p_vs_human"] < 0.05
    assert row["human_gain"] == pytest.approx(0.15, abs=0.02)
    human = df[(df["scale"] == 300) & (df["strategy"] == "human")].iloc[0]
    assert np.isnan(human["gain_vs_human"]) and human["gain"] == pytest.approx(0.15, abs=0.02)
    # 300 over 100 (+0.01 on every query, but each seed's cell mean moves by ~0.005): with three
    # seeds a side, a step that small is not told from seed noise (the query-only test said p < 0.001)
    assert 0.05 < row["p_vs_previous_scale"] < 0.5
    # adjusted p-values: never below the raw ones, Holm at least as strict as BH
    trained = df[df["scale"] > 0]
    assert (trained["p_holm"] >= trained["p_value"] - 1e-12).all() and (trained["p_holm"] >= trained["p_bh"] - 1e-12).all()
    # the minimum detectable effect comes from the per-query and per-seed spread: these
    # differences are a constant plus seed noise (~0.005 on a cell's mean), at 2 degrees of freedom
    assert 0.01 < row["mde"] < 0.03


def test_saturation_needs_three_trained_scales(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = list(np.linspace(0.2, 0.6, len(QUERIES)))
    files = [write_cell(tmp_path, 0, 0, base), write_cell(tmp_path, 100, 0, [b + 0.05 for b in base]),
             write_cell(tmp_path, 300, 0, [b + 0.06 for b in base])]
    df = summarise(per_query_table(files))
    assert df[df["scale"] > 0]["saturation_scale"].isna().all()


def test_holm_bh_and_the_minimum_detectable_effect_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # Holm: sorted 0.01, 0.03, 0.04, 0.2 times 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> running max 0.09, 0.2
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    # BH: p_(i) * m / i from the top, running min: 0.2, min(0.053, 0.2), min(0.06, ...), 0.04
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2])
    # (1.959964 + 0.841621) * sd / sqrt(n): sd of [-1, 1, -1, 1] is 2/sqrt(3)
    d = np.array([-1.0, 1.0, -1.0, 1.0])
    assert minimum_detectable_effect(d) == pytest.approx(2.801585 * (2 / np.sqrt(3)) / 2, rel=1e-5)


def test_adding_seeds_changes_the_interval_and_the_test(tmp_path, monkeypatch):
    two = study(tmp_path / "a", [0, 1], monkeypatch)
    three = study(tmp_path / "b", [0, 1, 2], monkeypatch)
    pick = lambda df: df[(df["scale"] == 100) & (df["strategy"] == "qgen")].iloc[0]  # noqa: E731
    a, b = pick(two), pick(three)
    assert (a["seeds"], b["seeds"]) == (2, 3)
    assert (a["ci95_high"] - a["ci95_low"]) != pytest.approx(b["ci95_high"] - b["ci95_low"])
    assert a["gain"] != pytest.approx(b["gain"], abs=1e-9)


def test_paired_randomization_and_saturation_by_hand():
    rng = np.random.default_rng(0)
    assert paired_randomization(np.zeros(5), rng) == 1.0
    # 3 differences: 8 equally likely sign patterns, 2 as extreme as observed -> p = (1 + ~2500) / 10001
    p = paired_randomization(np.array([1.0, 1.0, 1.0]), rng)
    assert p == pytest.approx(0.25, abs=0.02)
    assert saturation([100, 300, 1000], np.array([0.05, 0.095, 0.1])) == 300
    # beyond what 10,000 draws resolve: the sign-flip distribution's normal tail, below 1e-4
    far = paired_randomization(np.full(100, 0.5) + np.linspace(-0.01, 0.01, 100), rng)
    assert 0 < far < 1e-20
    assert np.isnan(saturation([100, 300], np.array([-0.01, -0.02])))


def test_the_arms_are_compared_on_the_queries_neither_was_exposed_to(tmp_path, monkeypatch):
    """The human arm's positives answer q0..q9 (exposed: it gains 0.30 there, 0.05 elsewhere); the
    synthetic set's answer q0..q4. On all queries the human arm leads; on the ten queries neither
    saw (q10..q19) both gain 0.05: the comparison is paired on those, not on each arm's own subset."""
    monkeypatch.chdir(tmp_path)
    base = np.random.default_rng(1).uniform(0.2, 0.6, len(QUERIES))
    noise = np.random.default_rng(2).normal(0, 0.01, len(QUERIES))
    exposed_h = np.array([0.30 if i < 10 else 0.05 for i in range(len(QUERIES))])
    cells = {("none", "none", "none", 0): base, ("scifact", "smol", "qgen", 100): base + 0.05 + noise,
             ("scifact", "none", "human", 100): base + exposed_h + noise}
    files = []
    for (dataset, augmenter, strategy, scale), scores in cells.items():
        w = {"eval": "scifact", "dataset": dataset, "augmenter": augmenter, "strategy": strategy, "draw": 0,
             "scale": scale, "base": "minilm", "seed": 0}
        path = Path(paths.family_dir("result", **w)) / "metrics.json"
        io.write_json(path, {"per_query": {"ndcg_at_10": dict(zip(QUERIES, scores))}})
        files.append(path)
        if scale:
            hidden = QUERIES[10:] if strategy == "human" else QUERIES[5:]
            io.write_json(Path(paths.family_dir("leakage", **w), "leakage.json"),
                          {"leakage": 0.0, "exposure": 0.5, "unexposed_queries": hidden})
    from synthir.retrieval.report.summary import unexposed_queries

    unexposed = unexposed_queries(files)
    assert unexposed[("scifact", "scifact", "smol", "qgen", 100)] == QUERIES[5:]
    df = summarise(per_query_table(files), unexposed=unexposed)
    row = df[df["strategy"] == "qgen"].iloc[0]
    assert row["gain_vs_human"] == pytest.approx(-0.125, abs=1e-9) and row["p_vs_human"] < 0.01
    assert row["unexposed_shared"] == 10
    assert row["gain_vs_human_unexposed"] == pytest.approx(0.0, abs=1e-9) and row["p_vs_human_unexposed"] > 0.5
    assert row["p_vs_human_unexposed_holm"] >= row["p_vs_human_unexposed"]
    # what the report keeps beside summary.csv gives back every input, bit for bit, in the same bytes
    from synthir.retrieval.report.summary import read_evidence, write_evidence

    per_query, roles = per_query_table(files), {"strategies": {"qgen": "qgen"}}
    write_evidence(tmp_path / "a.json.gz", per_query, unexposed, roles)
    write_evidence(tmp_path / "b.json.gz", per_query, unexposed, roles)
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    back, unexposed_back, roles_back = read_evidence(tmp_path / "a.json.gz")
    assert back.equals(per_query) and unexposed_back == unexposed and roles_back == roles
    assert summarise(back, unexposed=unexposed_back).equals(df)
