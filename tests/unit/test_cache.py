import pytest

from synthir.llm.cache import LLMCache, cache_key

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
    (tmp_path / key[:2] / f"{key}.json").write_text("{truncated")
    assert cache.get(key) is None
