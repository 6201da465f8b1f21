"""A corpus index is only searched by a model whose passage tower has the weights that built it:
every index records that tower's digest, and evaluation refuses an index built by other weights,
naming both digests (a base alias fine-tuned with `tower: shared` re-encodes its corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthir.core import io
from synthir.core.config import Compute, EncodeConfig, Encoding, EvalConfig, EvalSplit
from synthir.retrieval.encoders import load_encoder
from synthir.retrieval.evaluate import StaleIndexError, encode_corpus, evaluate_dense

CPU = Compute(threads=1, device="cpu", gpu=None, numerics="portable", platform="x86-64-v3")
ENC = Encoding(batch_size=8, max_seq_length=32, dtype="float32", query_prefix="", passage_prefix="")


def _write_meta(out, artifact):
    io.write_json(out / "meta.json", artifact.facts)


@pytest.fixture(scope="module")
def scratch(packaged_minilm, tmp_path_factory):
    """Other weights with the same architecture: the packaged MiniLM with re-initialised layers."""
    from synthir.generation.models import reinit_layers

    out = tmp_path_factory.mktemp("scratch") / "model"
    reinit_layers(packaged_minilm, out, seed=0)
    return out


def test_the_index_records_its_passage_towers_digest(tiny_collection, tmp_path, packaged_minilm):
    index = encode_corpus(EncodeConfig(encoding=ENC, compute=CPU), packaged_minilm, tiny_collection, tmp_path / "i")
    assert index.facts["passage_tower_sha256"] == load_encoder(packaged_minilm, ENC, CPU).passage_tower_sha256


def test_evaluation_refuses_an_index_built_by_other_weights(tiny_collection, tmp_path, packaged_minilm, scratch):
    index_dir = tmp_path / "index"
    _write_meta(index_dir, encode_corpus(EncodeConfig(encoding=ENC, compute=CPU), packaged_minilm, tiny_collection,
                                         index_dir))
    cfg = EvalConfig(split=EvalSplit("test", False), top_k=10, encoding=ENC, passage_index="base", compute=CPU)
    # its own base's index: fine
    evaluate_dense(cfg, packaged_minilm, tiny_collection, tmp_path / "run", tmp_path / "m.json", index_dir)
    with pytest.raises(StaleIndexError) as e:
        evaluate_dense(cfg, scratch, tiny_collection, tmp_path / "run2", tmp_path / "m2.json", index_dir)
    built_by = json.loads((index_dir / "meta.json").read_text())["passage_tower_sha256"]
    wanted = load_encoder(scratch, ENC, CPU).passage_tower_sha256
    assert built_by[:16] in str(e.value) and wanted[:16] in str(e.value)
    # encoded by the model itself, the other weights evaluate
    own = EvalConfig(split=EvalSplit("test", False), top_k=10, encoding=ENC, passage_index="own", compute=CPU)
    evaluate_dense(own, scratch, tiny_collection, tmp_path / "run3", tmp_path / "m3.json")


def test_a_base_fine_tuned_with_a_shared_tower_searches_no_base_index():
    """The per-alias `training: {tower: shared}` (not only the global one) decides the index."""
    import yaml

    from synthir.workflow import slices, study
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["encoders"]["minilm-l6-scratch"]["training"] = {"tower": "shared"}
    cell = {"eval": "scifact", "dataset": "scifact", "augmenter": "smollm2-135m", "strategy": "qgen", "draw": 0,
            "scale": 100, "seed": 0}
    assert slices.evaluate_dense(params, {**cell, "base": "minilm-l6-scratch"})["passage_index"] == "own"
    assert slices.evaluate_dense(params, {**cell, "base": "minilm-l6"})["passage_index"] == "base"
    assert slices.evaluate_dense(params, {**cell, "base": "minilm-l6-scratch", "scale": 0})["passage_index"] == "base"
    trained = study.Cell("scifact", "smollm2-135m", "qgen", 0, 100, "minilm-l6-scratch", 0)
    assert not study.uses_base_index(params, trained)
