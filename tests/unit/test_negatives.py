"""Hard-negative mining: the rank window, the false-negative guard and the fallback, by hand."""

from synthir import io
from synthir.config import BM25Config, DatasetConfig, NegativesConfig
from synthir.negatives import add_negatives, pick_negative

SCORES = {"pos": 10.0, "a": 12.0, "b": 9.0, "c": 8.0, "d": 1.0}  # ranks: a, pos, b, c, d


def test_pick_takes_the_best_ranked_candidate_inside_the_window():
    cfg = NegativesConfig(source="bm25", rank_window=[3, 5], max_score_ratio=1.0)
    assert pick_negative(SCORES, "pos", cfg) == "b"  # rank 3
    cfg = NegativesConfig(source="bm25", rank_window=[1, 5], max_score_ratio=1.0)
    assert pick_negative(SCORES, "pos", cfg) == "b"  # 'a' outscores the positive: guarded


def test_guard_drops_candidates_too_close_to_the_positive():
    cfg = NegativesConfig(source="bm25", rank_window=[1, 5], max_score_ratio=0.85)
    assert pick_negative(SCORES, "pos", cfg) == "c"  # 9.0 > 0.85 * 10, 8.0 is not
    cfg = NegativesConfig(source="bm25", rank_window=[1, 3], max_score_ratio=0.5)
    assert pick_negative(SCORES, "pos", cfg) is None


def test_add_negatives_mines_with_bm25_and_counts_the_fallback(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    bm25 = BM25Config(dataset=DatasetConfig(name="tiny", url=None, md5=None, mirror_file=None, license="",
                                            eval_split="test", train_split=None, ignore_identical_ids=False),
                      top_k=10, k1=0.9, b=0.4, stemmer="english", stopwords="en")
    rows = [{"query_id": "s1", "query": "aspirin lowers cholesterol", "positive_id": "d1"},
            {"query_id": "s2", "query": "zebra", "positive_id": "d3"}]  # matches nothing
    cfg = NegativesConfig(source="bm25", rank_window=[1, 3], max_score_ratio=1.0)
    stats = add_negatives(rows, corpus, cfg, bm25, seed=0)
    assert rows[0]["negative_id"] == "d2"  # the only other passage BM25 scores
    assert rows[1]["negative_id"] != "d3"
    assert rows[0]["negative"] == corpus[rows[0]["negative_id"]].full_text()
    assert stats["origin"] == {"bm25": 1, "random_fallback": 1}
