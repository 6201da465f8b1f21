"""Benchmark: synthir's dense evaluation against BEIR's own, and BM25 against reference values.

1. SciFact test, one sentence-transformers model (the packaged all-MiniLM-L6-v2), identical
   settings: synthir (encode -> FAISS flat IP -> pytrec_eval) and BEIR 2.2
   (``EvaluateRetrieval`` + ``DenseRetrievalExactSearch``, cos_sim). Prints both wall times
   (encoding + search + scoring, model loading excluded; after a warm-up, best of alternating
   rounds) and both metric sets.
   Targets: ours at least as fast; metrics equal to 1e-4.
2. BM25 (bm25s, the study's settings) nDCG@10 / R@100 on every BEIR-format collection of the
   mirror, next to the values the mirror's README reports. Target: within 0.01.

Run from the project root after scripts/setup.sh:
    python benchmarks/eval_vs_beir.py [--params params.yaml] [--max-seq-length 128]
Inputs are fetched into benchmarks/out/ (ignored by git) through synthir's own fetch code.
"""

from __future__ import annotations

import argparse
import json
import dataclasses
import time
from pathlib import Path

import yaml

from synthir.core import config as C
from synthir.generation import models
from synthir.retrieval import data, evaluate
from synthir.workflow import slices
from synthir.retrieval.encoders import load_encoder
from synthir.workflow.params import validate_params

OUT = Path("benchmarks/out")
#: BM25 nDCG@10 and R@100 on the mirror as its README reports them (bm25s, k1=0.9, b=0.4,
#: stemmed), with the Anserini "flat" nDCG@10 where BEIR publishes the collection.
REFERENCE = {
    "scifact": (0.676, 0.913, 0.679),
    "nfcorpus": (0.318, 0.247, 0.322),
    "arguana": (0.409, 0.938, 0.397),
    "cisi": (0.367, 0.418, None),
    "cranfield": (0.351, 0.726, None),
    "cacm": (0.487, 0.646, None),
    "adi": (0.477, 0.973, None),
}


def fetch(params: dict, name: str) -> Path:
    out = OUT / "raw" / name
    if not (out / "corpus.jsonl").is_file():
        w = {"dataset": name}
        data.fetch_dataset(C.from_json(C.FetchConfig, slices.identity(params, "fetch_dataset", w)), out,
                           OUT / "downloads", slices.record(params, "fetch_dataset", w))
    return out


def dense_comparison(params: dict, max_seq_length: int, dtype: str, rounds: int) -> None:
    import torch
    from beir.retrieval import models as beir_models
    from beir.retrieval.evaluation import EvaluateRetrieval
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    torch.set_num_threads(2)
    ds_dir = fetch(params, "scifact")
    enc_dir = OUT / "prepared" / "minilm-l6"
    if not (enc_dir / "config.json").is_file():
        models.prepare_encoder(C.from_json(C.EncoderConfig, slices.identity(params, "prepare_encoder",
                                                                             {"model": "minilm-l6"})), enc_dir, None)
    enc = C.from_json(C.EvalConfig, slices.identity(params, "evaluate_dense", {
        "eval": "scifact", "dataset": "none", "augmenter": "none", "strategy": "none", "draw": 0, "scale": 0,
        "base": "minilm-l6", "seed": 0}))
    cfg = dataclasses.replace(enc.encoding, max_seq_length=max_seq_length, dtype=dtype)
    top_k = enc.top_k
    corpus, queries, qrels = evaluate.load_split(ds_dir, enc.split.split)

    model = load_encoder(enc_dir, cfg, enc.compute).model
    sbert = beir_models.SentenceBERT(str(enc_dir))  # BEIR's wrapper, same weights and settings
    for m in (sbert.q_model, sbert.doc_model):
        m.max_seq_length = cfg.max_seq_length
    if cfg.dtype == "bfloat16":
        sbert.q_model = sbert.doc_model = sbert.q_model.to(torch.bfloat16)
    retriever = EvaluateRetrieval(DenseRetrievalExactSearch(sbert, batch_size=cfg.batch_size),
                                  score_function="cos_sim", k_values=[10, 100])
    beir_corpus = {d.id: {"title": d.title, "text": d.text} for d in corpus.values()}
    beir_queries = {q.id: q.text for q in queries.values()}

    def run_ours() -> dict[str, float]:
        doc_ids, doc_emb = evaluate.encode_documents(model, corpus, cfg)
        run = evaluate.dense_search(model, doc_ids, doc_emb, queries, cfg, top_k)
        return evaluate.score_run(qrels, evaluate.cut(run, top_k))[0]

    def run_beir() -> dict[str, float]:
        results = retriever.retrieve(beir_corpus, beir_queries)
        ndcg, _, recall, precision = retriever.evaluate(qrels, results, [10, 100], ignore_identical_ids=False)
        mrr = retriever.evaluate_custom(qrels, results, [10], metric="mrr")
        return {"ndcg_at_10": ndcg["NDCG@10"], "p_at_10": precision["P@10"],
                "recall_at_100": recall["Recall@100"], "mrr_at_10": mrr["MRR@10"]}

    # Warm both models up, then alternate the two implementations and keep each one's best
    # time, so neither pays for running first (allocator, caches, CPU clocks).
    warm = [corpus[d].full_text() for d in list(corpus)[:256]]
    model.encode_document(warm, batch_size=cfg.batch_size)
    sbert.doc_model.encode(warm, batch_size=cfg.batch_size)
    times: dict[str, list[float]] = {"ours": [], "beir": []}
    for order in (("ours", "beir"), ("beir", "ours"))[:rounds]:
        for name in order:
            start = time.perf_counter()
            result = run_ours() if name == "ours" else run_beir()
            times[name].append(time.perf_counter() - start)
            if name == "ours":
                ours = result
            else:
                theirs = result
    t_ours, t_beir = min(times["ours"]), min(times["beir"])

    print(f"\n== dense evaluation, SciFact test ({len(queries)} queries, {len(corpus)} docs), "
          f"all-MiniLM-L6-v2, max_seq_length={cfg.max_seq_length}, {cfg.dtype}")
    print(f"{'metric':<16}{'synthir':>10}{'BEIR':>10}{'|diff|':>10}")
    worst = 0.0
    for k in ours:
        # BEIR rounds its metrics to 5 decimals
        diff = abs(ours[k] - theirs[k])
        worst = max(worst, diff)
        print(f"{k:<16}{ours[k]:>10.5f}{theirs[k]:>10.5f}{diff:>10.1e}")
    print(f"{'seconds (best)':<16}{t_ours:>10.1f}{t_beir:>10.1f}   all runs: synthir {[round(t, 1) for t in times['ours']]}, BEIR {[round(t, 1) for t in times['beir']]}")
    print(f"speed ratio BEIR/synthir: {t_beir / t_ours:.2f}x (target >= 1); "
          f"max |metric diff| {worst:.1e} (target <= 1e-4): {'OK' if worst <= 1e-4 and t_ours <= t_beir else 'MISSED'}")


def bm25_table(params: dict) -> None:
    print("\n== BM25 (bm25s, k1=%.1f, b=%.1f, stemmer=%s) on the mirror" %
          (params["bm25"]["k1"], params["bm25"]["b"], params["bm25"]["stemmer"]))
    print(f"{'collection':<12}{'nDCG@10':>9}{'README':>9}{'|diff|':>8}{'R@100':>8}{'README':>9}{'Anserini':>10}{'seconds':>9}")
    worst = 0.0
    for name, (ref_ndcg, ref_r100, anserini) in REFERENCE.items():
        ds_dir = fetch(params, name)
        w = {"eval": name, "dataset": "none", "augmenter": "none", "strategy": "none", "scale": 0, "base": "bm25",
             "seed": 0}
        cfg = C.from_json(C.BM25EvalConfig, slices.identity(params, "evaluate_bm25", w))
        res = evaluate.evaluate_bm25(cfg, ds_dir, OUT / f"bm25-{name}.trec", OUT / f"bm25-{name}" / "metrics.json")
        m = json.loads((OUT / f"bm25-{name}" / "metrics.json").read_text())["metrics"]
        worst = max(worst, abs(m["ndcg_at_10"] - ref_ndcg))
        print(f"{name:<12}{m['ndcg_at_10']:>9.3f}{ref_ndcg:>9.3f}{abs(m['ndcg_at_10'] - ref_ndcg):>8.3f}"
              f"{m['recall_at_100']:>8.3f}{ref_r100:>9.3f}{anserini if anserini else '-':>10}"
              f"{res.volatile['evaluation_seconds']:>9.1f}")
    print(f"max |nDCG@10 - README| = {worst:.3f} (target <= 0.01): {'OK' if worst <= 0.01 else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--skip-dense", action="store_true")
    ap.add_argument("--rounds", type=int, choices=[1, 2], default=2, help="alternating timing rounds")
    a = ap.parse_args()
    params = yaml.safe_load(Path(a.params).read_text())
    validate_params(params)
    bm25_table(params)
    if not a.skip_dense:
        dense_comparison(params, a.max_seq_length, a.dtype, a.rounds)


if __name__ == "__main__":
    main()
