"""Hard negatives: the rank window, the false-negative guard and its audit, the fallback, BM25
and dense mining (the real packaged MiniLM), and LLM-written negatives' checks."""


from synthir.core import io
from synthir.core.config import BM25Settings, Compute, EncodeConfig, Encoding, NegativesConfig, SubsetConfig
from synthir.generation.strategy import Request
from synthir.retrieval.followups import LLMNegative
from synthir.retrieval.negatives import add_negatives, pick_negative

SCORES = {"pos": 10.0, "a": 12.0, "b": 9.0, "c": 8.0, "d": 1.0}  # ranks: a, pos, b, c, d
BM25 = BM25Settings(k1=0.9, b=0.4, stemmer="english", stopwords="en")
CPU = Compute(threads=1, device="cpu", gpu=None, numerics="portable", platform="x86-64-v3")


def mined(source="bm25", window=(1, 3), ratio=1.0, encoder=None):
    return NegativesConfig(source=source, rank_window=list(window), max_score_ratio=ratio, encoder=encoder, prompt=None)


def subset_cfg(neg, dense=None, reranker_max_length=None):
    return SubsetConfig(scale=2, negatives=neg, bm25=BM25, dense=dense, reranker_max_length=reranker_max_length,
                        human_fraction=0.0, train_split=None, seed=0, compute=CPU)


def test_pick_takes_the_best_ranked_candidate_inside_the_window():
    assert pick_negative(SCORES, "pos", mined(window=(3, 5))) == ("b", 0)  # rank 3
    assert pick_negative(SCORES, "pos", mined(window=(1, 5))) == ("b", 1)  # 'a' outscores the positive: guarded


def test_guard_drops_candidates_too_close_to_the_positive_and_counts_them():
    assert pick_negative(SCORES, "pos", mined(window=(1, 5), ratio=0.85)) == ("c", 2)  # a, b > 8.5
    assert pick_negative(SCORES, "pos", mined(window=(1, 3), ratio=0.5)) == (None, 2)


def test_add_negatives_mines_with_bm25_and_counts_the_fallback(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    rows = [{"query_id": "s1", "query": "aspirin lowers cholesterol", "positive_id": "d1"},
            {"query_id": "s2", "query": "zebra", "positive_id": "d3"}]  # matches nothing
    stats = add_negatives(rows, corpus, subset_cfg(mined()))
    assert rows[0]["negative_id"] == "d2"  # the only other passage BM25 scores
    assert rows[1]["negative_id"] != "d3"
    assert rows[0]["negative"] == corpus[rows[0]["negative_id"]].full_text()
    assert stats["origin"] == {"bm25": 1, "random_fallback": 1}
    assert stats["skipped_by_guard"] == 0


def test_dense_mining_searches_the_encoders_index(tiny_collection, tmp_path, packaged_minilm):
    from synthir.retrieval.evaluate import encode_corpus

    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    enc = Encoding(batch_size=8, max_seq_length=64, dtype="float32", query_prefix="", passage_prefix="")
    artifact = encode_corpus(EncodeConfig(encoding=enc, compute=CPU), packaged_minilm, tiny_collection, tmp_path / "index")
    io.write_json(tmp_path / "index" / "meta.json", artifact.facts)
    rows = [{"query_id": "s1", "query": "heart attack prevention", "positive_id": "d1"}]
    stats = add_negatives(rows, corpus, subset_cfg(mined("dense", (1, 3), 1.0, "minilm"), enc),
                          {"encoder": packaged_minilm, "index": tmp_path / "index"})
    # cosine ranks the cholesterol passage above the sleep one for a cardiology query
    assert rows[0]["negative_id"] == "d2"
    assert stats["origin"] == {"dense": 1} and stats["encoder"] == "minilm"


def test_llm_negative_keeps_good_text_and_flags_garbage(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    neg = LLMNegative("negative-qp", corpus, passage_words=10, max_copy_overlap=0.8)
    rec = {"query": "does aspirin prevent heart attacks", "positive_id": "d1"}
    req = neg.request(Request("d1", (), 7, {}), rec)
    assert req.seed == 7 and "Aspirin lowers" in req.prompt[-1].content and "aspirin prevent" in req.prompt[-1].content
    neg.apply(rec, "Passage: Aspirin is sold in many countries and its price varies across pharmacies and years.")
    assert rec["negative"].startswith("Aspirin is sold")
    bad = {"query": rec["query"], "positive_id": "d1"}
    neg.apply(bad, "I'm sorry, I cannot help with that request.")
    assert "negative" not in bad and bad["negative_status"] == "refusal"
    # SmolLM2 echoed the query as its negative for 186 of 300 SciFact queries: never a negative
    echo = {"query": "does low dose aspirin prevent heart attacks in older adults", "positive_id": "d1"}
    neg.apply(echo, "Does low dose aspirin prevent heart attacks in older adults?")
    assert "negative" not in echo and echo["negative_status"] == "copies_query"
    copy = {"query": rec["query"], "positive_id": "d1"}
    neg.apply(copy, corpus["d1"].full_text())
    assert "negative" not in copy and copy["negative_status"] == "copies_positive"


def test_rows_with_llm_negatives_keep_them_and_the_rest_fall_back(tiny_collection):
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    rows = [{"query_id": "s1", "query": "q", "positive_id": "d1", "negative": "written by the LLM"},
            {"query_id": "s2", "query": "q2", "positive_id": "d2"}]
    cfg = NegativesConfig(source="llm", rank_window=None, max_score_ratio=None, encoder=None, prompt="negative-q")
    stats = add_negatives(rows, corpus, subset_cfg(cfg))
    assert rows[0]["negative"] == "written by the LLM"
    assert rows[1]["negative_id"] in {"d1", "d3"}
    assert stats["origin"] == {"llm": 1, "random_fallback": 1}


def test_ce_mining_rescores_bm25_candidates_with_a_trained_cross_encoder(tiny_collection, tmp_path, packaged_minilm):
    from synthir.core.config import RerankerConfig
    from synthir.retrieval.rerank import train_reranker, training_pairs

    with open(tiny_collection / "corpus.jsonl", "a") as f:
        f.write('{"_id": "d4", "title": "", "text": "Aspirin and heart attack risk in older adults."}\n')
    rcfg = RerankerConfig(encoder="minilm", train_split="test", bm25=BM25, negatives_per_query=1, epochs=1,
                          batch_size=4, learning_rate=2e-5, max_length=32, seed=0, compute=CPU)
    pairs = training_pairs(rcfg, tiny_collection)
    # 3 labelled pairs; one BM25 negative for q1 (d4), none for q2 (BM25 finds only its positive)
    assert sorted(p[2] for p in pairs) == [0.0, 1.0, 1.0, 1.0]
    meta = train_reranker(rcfg, packaged_minilm, tiny_collection, tmp_path / "ce").facts
    assert meta["steps"] == 1 and meta["loss"] == "BinaryCrossEntropyLoss"
    corpus = io.read_corpus(tiny_collection / "corpus.jsonl")
    rows = [{"query_id": "s1", "query": "aspirin heart attack", "positive_id": "d1"}]
    cfg = subset_cfg(mined("ce", (1, 3), 1.0, "minilm"), reranker_max_length=32)
    stats = add_negatives(rows, corpus, cfg, {"reranker": tmp_path / "ce"})
    assert rows[0]["negative_id"] == "d4"  # the only other BM25 candidate, scored by the cross-encoder
    assert stats["origin"] == {"ce": 1}
