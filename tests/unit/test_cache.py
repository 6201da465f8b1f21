import pytest

from synthir.core import io
from synthir.generation.llm.cache import LLMCache, cache_key

BASE = dict(identity={"model": "m", "weights_sha256": "w"}, request="prompt",
            decoding={"max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0}, seed=1)


@pytest.mark.parametrize("field, value", [
    ("identity", {"model": "m", "weights_sha256": "other"}),
    ("request", "another prompt"),
    ("decoding", {"max_new_tokens": 9, "temperature": 0.0, "top_p": 1.0}),
    ("seed", 2),
])
def test_cache_key_covers_every_component(field, value):
    assert cache_key(**BASE) != cache_key(**{**BASE, field: value})


def test_cache_key_is_stable_under_dict_order():
    reordered = dict(BASE, identity={"weights_sha256": "w", "model": "m"})
    assert cache_key(**BASE) == cache_key(**reordered)


def test_cache_round_trip_and_unreadable_entry_is_a_miss(tmp_path):
    cache = LLMCache(tmp_path)
    key = cache_key(**BASE)
    assert cache.get(key) is None
    cache.put(key, {"text": "q"})
    assert cache.get(key) == {"text": "q"}
    assert LLMCache(tmp_path).get(key) == {"text": "q"}  # another process reads the pack
    pack = next((tmp_path / "packs").glob("*.pack"))
    pack.write_bytes(pack.read_bytes().replace(b'"q"', b'"q'))  # a damaged line
    assert LLMCache(tmp_path).get(key) is None


def test_a_kill_mid_write_loses_the_call_in_flight_and_nothing_else(tmp_path):
    cache = LLMCache(tmp_path)
    keys = [cache_key(**{**BASE, "seed": s}) for s in range(3)]
    for k in keys[:2]:
        cache.put(k, {"text": k[:4]})
    pack = next((tmp_path / "packs").glob("*.pack"))
    with open(pack, "ab") as f:  # what SIGKILL inside write() can leave: a line without its end
        f.write(f'{keys[2]}\t{{"text": "half'.encode())
    other = LLMCache(tmp_path)
    assert [other.get(k) for k in keys] == [{"text": keys[0][:4]}, {"text": keys[1][:4]}, None]
    other.put(keys[2], {"text": "whole"})  # the call made again, in the reader's own pack
    assert LLMCache(tmp_path).get(keys[2]) == {"text": "whole"} and len(other.keys()) == 3


def test_entries_of_the_earlier_one_file_per_call_layout_are_read(tmp_path):
    key = cache_key(**BASE)
    io.write_json(tmp_path / key[:2] / f"{key}.json", {"text": "old"})
    assert LLMCache(tmp_path).get(key) == {"text": "old"} and LLMCache(tmp_path).keys() == {key}


class BatchSensitive:
    """A backend whose output for an item depends on the other items of its batch, as bf16
    greedy decoding's does (padding and batch shape change tokens): the text names the batch.
    A stand-in with that property made explicit, so the engine's keying is tested alone; the
    real model's case is tests/workflow/test_cache_batches.py (slow)."""

    batch_invariant = False

    def __init__(self) -> None:
        self.calls = 0

    def identity(self):
        return {"backend": "batch-sensitive"}

    def render(self, prompt):
        return prompt[0].content

    def generate(self, prompts, decoding, seeds):
        from synthir.generation.llm.base import Completion

        self.calls += len(prompts)
        batch = "+".join(p[0].content for p in prompts)
        return [Completion(f"{p[0].content} in [{batch}]", 1, 1, 0.0) for p in prompts]


def _requests(names):
    from synthir.generation.strategy import Request
    from synthir.generation.llm.base import Message

    return [Request(n, (Message("user", n),), i, {}) for i, n in enumerate(names)]


def _texts(backend, cache, names):
    from synthir.core.config import Decoding
    from synthir.generation.engine import CallStats, call_cached

    dec = Decoding(max_new_tokens=4, temperature=0.0, top_p=1.0)
    return [e["text"] for _, e, _ in call_cached(_requests(names), backend, cache, dec, 4, CallStats())]


def test_a_recomposed_batch_is_generated_so_cache_and_scratch_agree(tmp_path):
    # Follow-up batches hold only the records a chunk accepted: a filter change recomposes them.
    # A cache hit from the old batch would give other text than the same pool built from nothing.
    warm = LLMCache(tmp_path / "warm")
    backend = BatchSensitive()
    _texts(backend, warm, ["a", "b", "c", "d"])  # the batch before the filter change
    from_cache = _texts(backend, warm, ["a", "c", "d"])  # after it: b was rejected
    from_scratch = _texts(BatchSensitive(), LLMCache(tmp_path / "cold"), ["a", "c", "d"])
    assert from_cache == from_scratch == ["a in [a+c+d]", "c in [a+c+d]", "d in [a+c+d]"]
    again = BatchSensitive()
    assert _texts(again, warm, ["a", "c", "d"]) == from_scratch and again.calls == 0  # now cached


def test_a_batch_invariant_backend_reuses_entries_across_batches(tmp_path):
    cache = LLMCache(tmp_path)
    backend = BatchSensitive()
    backend.batch_invariant = True  # e.g. an HTTP server, which batches requests its own way
    _texts(backend, cache, ["a", "b"])
    _texts(backend, cache, ["a"])
    assert backend.calls == 2


def test_cache_key_covers_the_batch_when_given():
    assert cache_key(**BASE) != cache_key(**BASE, batch="x") != cache_key(**BASE, batch="y")


class Slow(BatchSensitive):
    """A backend that takes a while, so that two jobs overlap on the same chunk."""

    def generate(self, prompts, decoding, seeds):
        import time

        time.sleep(0.3)
        return super().generate(prompts, decoding, seeds)


def test_two_jobs_with_the_same_chunk_generate_it_once(tmp_path):
    """qgen and qgen+bm25 send the same prompts: run side by side, the second waits for the
    first's chunk and reads it from the cache instead of generating it again."""
    import threading

    backend = Slow()
    texts: list[list[str]] = []
    jobs = [threading.Thread(target=lambda: texts.append(_texts(backend, LLMCache(tmp_path), ["a", "b", "c", "d"])))
            for _ in range(2)]
    for j in jobs:
        j.start()
    for j in jobs:
        j.join()
    assert backend.calls == 4  # one chunk of four, generated once
    assert texts[0] == texts[1]
