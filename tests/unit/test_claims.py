"""claims.md verdicts on a hand-made study whose truth is known: a weak base that gains from
synthetic queries and saturates, a tuned base that does not move, two augmenters that are equally
good; three draws of the data, then one draw with three training seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthir.retrieval.report.claims import write_claims
from synthir.retrieval.report.summary import summarise

QUERIES = [f"q{i}" for i in range(80)]
ROLES = {"augmenters": {"small": 100_000_000, "large": 500_000_000}, "bases": {"weak": "weak", "tuned": "retrieval"},
         "strategies": {"qgen": {"kind": "qgen", "negatives": None, "conditioning": None, "human_fraction": 0.0}}}
#: (base, untouched in-domain nDCG, gain per scale of the synthetic lines, of the human arm)
BASES = {"weak": (0.2, {100: 0.10, 300: 0.15, 800: 0.152}, {100: 0.2, 300: 0.25, 800: 0.26}),
         "tuned": (0.6, {100: 0.0, 300: 0.0, 800: 0.0}, {100: 0.0, 300: 0.0, 800: 0.0})}


def study(replicates: list[tuple[int, int]], bases: dict[str, tuple] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cells with these (draw, seed) replicates of these bases (default ``BASES``)."""
    rng = np.random.default_rng(0)
    rows = []

    def add(dataset, ev, aug, strategy, draw, scale, base, seed, scores):
        rows.extend({"train_dataset": dataset, "eval_dataset": ev, "augmenter": aug, "strategy": strategy,
                     "draw": draw, "scale": scale, "base": base, "seed": seed, "metric": "ndcg_at_10", "query": q,
                     "score": s} for q, s in zip(QUERIES, scores))

    for base, (level, synthetic, human) in (bases or BASES).items():
        for ev in ("scifact", "cisi"):
            untouched = np.clip(rng.normal(level, 0.15, len(QUERIES)), 0, 1)
            add("none", ev, "none", "none", 0, 0, base, 0, untouched)
            for draw, seed in replicates:
                noise = rng.normal(0, 0.004, len(QUERIES))
                for scale in (100, 300, 800):
                    for aug in ("small", "large"):
                        jitter = rng.normal(0, 0.002, len(QUERIES))
                        add("scifact", ev, aug, "qgen", draw, scale, base, seed,
                            untouched + synthetic[scale] + noise + jitter)
                    add("scifact", ev, "none", "human", draw, scale, base, seed, untouched + human[scale] + noise)
    per_query = pd.DataFrame(rows)
    return per_query, scaling_of(per_query)


def scaling_of(per_query: pd.DataFrame) -> pd.DataFrame:
    """scaling.csv's rows of these per-query scores: one per replicate of a cell."""
    keys = ["train_dataset", "eval_dataset", "augmenter", "strategy", "draw", "scale", "base", "seed"]
    return per_query.groupby(keys, as_index=False)["score"].mean().rename(columns={"score": "ndcg_at_10"})


def verdicts(text: str) -> dict[str, str]:
    out, title = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:]
        elif line.startswith("**Verdict:") and title:
            out[title] = line.split("**Verdict: ", 1)[1].split(".**", 1)[0]
    return out


@pytest.fixture(scope="module")
def three_seeds() -> str:
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)])  # three draws
    return write_claims(summarise(per_query), scaling, per_query, ROLES)


def test_the_positive_control_says_which_bases_the_recipe_can_move(three_seeds):
    assert "weak on scifact: human labels x800 vs untouched weak" in three_seeds
    assert "**The recipe cannot detect effects for tuned**" in three_seeds
    assert "The recipe cannot detect effects for weak" not in three_seeds


def test_dagr_claims_get_the_verdicts_their_data_supports(three_seeds):
    v = verdicts(three_seeds)
    assert v["DAGR (2509.16442): gains saturate with scale"] == "supported"  # +0.002 from 300 to 800
    assert v["DAGR: small augmenters are competitive with large ones"] == "supported"
    # the tuned base fails its positive control: a gain difference against it measures the recipe
    assert v["DAGR: augmentation helps weakly pre-trained retrievers most"] == "not detectable at this power"
    assert "every test involves a base whose positive control does not pass (tuned" in three_seeds


def test_claims_without_cells_say_so_and_name_where_they_are_measured(three_seeds):
    v = verdicts(three_seeds)
    for title in ("SoftQE (2402.12663): distilled query expansions help out of domain",
                  "SynthesizRR (2405.10040): retrieval-augmented synthesis is more diverse"):
        assert v[title] == "not measured by this study"
    assert "configs/strategies.yaml" in three_seeds
    assert len(v) == 10  # every claim of the five papers has a verdict line
    assert "one family: Holm over all" in three_seeds and "Criterion:" in three_seeds
    # the caveat names the models this study ran, not a fixed list
    assert "(augmenters large (500M), small (100M); trained bases tuned, weak)" in three_seeds


@pytest.mark.parametrize("replicates", [[(0, 0)], [(0, 0), (0, 1), (0, 2)]], ids=["one seed", "three seeds"])
def test_one_draw_is_not_enough_for_any_claim(replicates):
    """Training seeds alone leave the data's variance unmeasured, however many there are."""
    per_query, scaling = study(replicates)
    text = write_claims(summarise(per_query), scaling, per_query, ROLES)
    v = verdicts(text)
    assert {v[t] for t in v if t.startswith("DAGR")} == {"not detectable at this power"}
    assert "have 1 draw(s) of the data; claims need at least 3" in text


def test_a_line_still_rising_contradicts_saturation():
    rising = {"weak": (0.2, {100: 0.05, 300: 0.10, 800: 0.20}, {100: 0.2, 300: 0.25, 800: 0.3}),
              "tuned": BASES["tuned"]}
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)], rising)
    text = write_claims(summarise(per_query), scaling, per_query, ROLES)
    assert verdicts(text)["DAGR (2509.16442): gains saturate with scale"] == "contradicted"


def weak_vs_tuned(bases: dict[str, tuple], pretraining: dict[str, str] | None) -> str:
    """The weak-bases verdict and its reason on a three-draw study of these bases."""
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)], bases)
    roles = {k: v for k, v in ROLES.items() if k != "bases"} | ({"bases": pretraining} if pretraining is not None else {})
    text = write_claims(summarise(per_query), scaling, per_query, roles)
    section = text.split("## DAGR: augmentation helps weakly pre-trained retrievers most", 1)[1].split("\n## ", 1)[0]
    return verdicts(text)["DAGR: augmentation helps weakly pre-trained retrievers most"] + " | " + section


def test_weak_bases_gain_most_when_a_retrieval_trained_base_moves_less():
    moves = {"weak": BASES["weak"], "tuned": (0.6, {100: 0.0, 300: 0.01, 800: 0.01}, {100: 0.03, 300: 0.05, 800: 0.06})}
    out = weak_vs_tuned(moves, {"weak": "weak", "tuned": "retrieval"})
    assert out.startswith("supported") and "gain on weak - gain on tuned, large x800" in out
    # which base is weak is declared, not inferred from scores: declared the other way round, the
    # same cells contradict the claim
    out = weak_vs_tuned(moves, {"weak": "retrieval", "tuned": "weak"})
    assert out.startswith("contradicted") and "gain on tuned - gain on weak" in out


def test_two_weak_bases_do_not_measure_the_weak_vs_tuned_claim():
    """Two weakly pre-trained bases of different untouched quality are not a weak and a tuned one."""
    out = weak_vs_tuned(BASES, {"weak": "weak", "tuned": "weak"})
    assert out.startswith("not measured by this study") and "no retrieval-trained base" in out
    out = weak_vs_tuned(BASES, None)  # evidence written before bases declared their pre-training
    assert out.startswith("not measured by this study") and "does not say which bases are weak" in out


def synthesizrr_claim(sets: dict[tuple[str, str], list[tuple[float, float]]]):
    """The retrieval SynthesizRR claim on sets given as (self_bleu, distinct_2) per draw."""
    from synthir.retrieval.report.claims import adjust, decide
    from synthir.retrieval.report.claims.core import Study
    from synthir.retrieval.report.claims.synthesizrr import claims

    rows = []
    for (ds, strategy), stats in sets.items():
        for draw, (bleu, d2) in enumerate(stats):
            for base in ("a", "b"):  # set statistics repeat on every model of a set
                rows.append({"train_dataset": ds, "eval_dataset": "scifact", "augmenter": "small", "strategy": strategy,
                             "draw": draw, "scale": 100, "base": base, "seed": 0, "self_bleu": bleu, "distinct_2": d2})
    roles = {"strategies": {"qgen": {"kind": "qgen", "negatives": None}, "rag-qgen": {"kind": "rag-qgen", "negatives": None}}}
    per_query = pd.DataFrame([{**r, "metric": "ndcg_at_10", "query": "q0", "score": 0.5} for r in rows])
    study = Study(pd.DataFrame(rows), per_query, roles)
    cs = claims(study)
    adjust(study, cs)
    decide(study, cs)
    (c,) = cs
    return c


def test_retrieval_synthesizrr_is_supported_when_every_corpus_is_more_diverse_over_its_draws():
    """Paired over draws, one test per corpus and statistic, Holm over the four."""
    c = synthesizrr_claim({("scifact", "rag-qgen"): [(0.10, 0.80), (0.12, 0.82), (0.11, 0.81)],
                           ("scifact", "qgen"): [(0.30, 0.60), (0.31, 0.61), (0.29, 0.59)],
                           ("nfcorpus", "rag-qgen"): [(0.20, 0.70), (0.22, 0.71), (0.21, 0.69)],
                           ("nfcorpus", "qgen"): [(0.25, 0.65), (0.27, 0.66), (0.26, 0.64)]})
    assert c.verdict[0] == "supported", c.verdict
    assert len(c.tests) == 4 and all(t.significant() for t in c.tests)
    assert "rag-qgen vs qgen, small x100 on nfcorpus: -self_bleu: +0.0500" in c.verdict[1]
    assert "| nfcorpus | small | rag-qgen | 100 | 3 | 0.21 | 0.700 |" in c.table


def test_retrieval_synthesizrr_does_not_decide_by_one_draw():
    """Draw 1 alone makes rag-qgen's means more diverse (what the comparison by direction called
    supported); over the three draws it is not detectable."""
    c = synthesizrr_claim({("scifact", "rag-qgen"): [(0.40, 0.50), (0.10, 0.80), (0.25, 0.65)],
                           ("scifact", "qgen"): [(0.30, 0.60), (0.30, 0.60), (0.31, 0.61)]})
    assert c.verdict[0] == "not detectable at this power", c.verdict
    assert not any(t.significant() for t in c.tests)


def test_retrieval_synthesizrr_needs_three_common_draws():
    c = synthesizrr_claim({("scifact", "rag-qgen"): [(0.10, 0.80), (0.12, 0.82)],
                           ("scifact", "qgen"): [(0.30, 0.60), (0.31, 0.61)]})
    assert c.verdict == ("not detectable at this power", "no rag-qgen and qgen sets share 3 draws of the data")


def test_cells_of_one_draw_beside_replicated_ones_decide_nothing(three_seeds):
    """A study may hold cells of one draw beside its replicated ones (draw 0's cells it shares
    with the default study): they are left out of the claims, not taken as the study's draws."""
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)])
    extra = per_query[(per_query["scale"] == 800) & (per_query["draw"] == 0)].assign(scale=1600)
    per_query = pd.concat([per_query, extra], ignore_index=True)
    scaling = pd.concat([scaling, scaling[(scaling["scale"] == 800) & (scaling["draw"] == 0)].assign(scale=1600)],
                        ignore_index=True)
    text = write_claims(summarise(per_query), scaling, per_query, ROLES)
    assert verdicts(text) == verdicts(three_seeds)
    assert "x1600" not in text.split("## Cells")[0]  # no test reads the one-draw cells


def test_utility_arms_are_compared_with_the_human_arm_of_no_augmenter():
    """The human-label arm's cells carry augmenter "none": a utility arm of any augmenter meets it."""
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)])
    mix = per_query[per_query["strategy"] == "human"].assign(augmenter="small", strategy="utility+human20")
    per_query = pd.concat([per_query, mix], ignore_index=True)
    scaling = pd.concat([scaling, scaling[scaling["strategy"] == "human"].assign(augmenter="small",
                                                                                  strategy="utility+human20")])
    roles = {**ROLES, "strategies": {**ROLES["strategies"], "utility+human20": {
        "kind": "utility", "negatives": None, "conditioning": None, "human_fraction": 0.2}}}
    text = write_claims(summarise(per_query), scaling, per_query, roles)
    assert "utility+human20 vs human, small x100 on weak, eval scifact" in text


@pytest.mark.parametrize(("small", "large", "verdict"), [(0.05, -0.05, "supported"), (-0.05, 0.05, "contradicted"),
                                                          (0.0, 0.0, "not detectable at this power")])
def test_the_budget_claim_reads_both_ends_of_the_common_scales(small, large, verdict):
    """configs/budget.yaml's shape: answer-aug beside qgen at 100 and 300 over three draws, qgen
    also at 800 in one draw (shared with the default study), which the claim must not take as
    the large budget."""
    per_query, scaling = study([(0, 0), (1, 0), (2, 0)])
    shift = {100: small, 300: large}
    aa = per_query[(per_query["strategy"] == "qgen") & (per_query["augmenter"] == "small")
                   & per_query["scale"].isin(shift)]
    aa = aa.assign(strategy="answer-aug", score=aa["score"] + aa["scale"].map(shift))
    one_draw = (per_query["scale"] == 800) & (per_query["draw"] > 0)
    per_query = pd.concat([per_query[~one_draw], aa], ignore_index=True)
    scaling = scaling_of(per_query)
    roles = {**ROLES, "strategies": {**ROLES["strategies"], "answer-aug": {
        "kind": "answer-aug", "negatives": None, "conditioning": None, "human_fraction": 0.0}}}
    text = write_claims(summarise(per_query), scaling, per_query, roles)
    title = "Cost-effective strategies (2409.19759): answer augmentation at a small budget, new questions at a large one"
    assert verdicts(text)[title] == verdict
    section = text.split(f"## {title}")[1].split("\n## ")[0]
    assert "answer-aug vs qgen x100 on weak (small budget)" in section
    assert "answer-aug vs qgen x300 on weak (large budget)" in section
    assert "x800" not in section
