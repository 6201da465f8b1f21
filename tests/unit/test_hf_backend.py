"""The transformers backend's shared-prefix batching against plain left padding.

A small randomly initialised Llama (SmolLM2's architecture, no download) in float32: running the
batch's common prefix once and repeating its key/value cache must give exactly the tokens that
plain left padding gives, greedy and sampled with the same seed.
"""

import pytest

from synthir.core.config import Decoding
from synthir.generation.llm.hf import batch_layout, generate_tokens

PAD = 0


def test_layout_pads_after_the_shared_prefix():
    p, rows, masks = batch_layout([[5, 6, 7, 8], [5, 6, 9], [5, 6, 7]], PAD)
    assert p == 2
    assert rows == [[5, 6, 7, 8], [5, 6, PAD, 9], [5, 6, PAD, 7]]
    assert masks == [[1, 1, 1, 1], [1, 1, 0, 1], [1, 1, 0, 1]]


def test_layout_leaves_every_row_a_token_of_its_own():
    p, rows, _ = batch_layout([[1, 2, 3], [1, 2, 3]], PAD)
    assert p == 2 and rows == [[1, 2, 3], [1, 2, 3]]
    p, _, _ = batch_layout([[1, 2, 3], [1, 2, 3, 4]], PAD)
    assert p == 2


def test_layout_without_sharing_is_left_padding():
    p, rows, masks = batch_layout([[5, 6, 7], [8]], PAD, share_prefix=False)
    assert p == 0
    assert rows == [[5, 6, 7], [PAD, PAD, 8]] and masks == [[1, 1, 1], [0, 0, 1]]


@pytest.fixture(scope="module")
def tiny_llama():
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=PAD, bos_token_id=1, eos_token_id=2)
    return LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_shared_prefix_generates_what_left_padding_generates(tiny_llama, temperature):
    import torch

    system = [1, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    ids = [system + [20, 21, 22], system + [23], system + [24, 25, 26, 27, 28, 29], system + [30, 31]]
    decoding = Decoding(max_new_tokens=12, temperature=temperature, top_p=1.0)
    torch.manual_seed(7)
    shared = generate_tokens(tiny_llama, ids, PAD, decoding)
    torch.manual_seed(7)
    plain = generate_tokens(tiny_llama, ids, PAD, decoding, share_prefix=False)
    assert shared == plain
    assert len({tuple(t) for t in shared}) > 1  # the rows did not collapse to one output
