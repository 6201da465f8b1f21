import pytest

from synthir.core import paths
def test_cell_dir_orders_segments_and_parse_round_trips():
    w = {"seed": 0, "base": "minilm-l6", "scale": 100, "draw": 2, "strategy": "qgen",
         "augmenter": "smollm2-135m", "dataset": "scifact", "eval": "cisi"}
    p = paths.cell_dir("results", **w)
    assert p == ("results/eval~cisi/dataset~scifact/augmenter~smollm2-135m/strategy~qgen/draw~2/"
                 "scale~100/base~minilm-l6/seed~0")
    assert paths.parse(p + "/metrics.json") == {k: str(v) for k, v in w.items()}


@pytest.mark.parametrize("family", sorted(paths.LAYOUT))
def test_family_pattern_and_family_dir_agree(family):
    root, names = paths.LAYOUT[family]
    values = {n: f"v{i}" for i, n in enumerate(names)}
    concrete = paths.family_dir(family, **values)
    assert paths.family_pattern(family).format(**values) == concrete
    assert paths.parse(concrete) == values


@pytest.mark.parametrize("bad", ["Upper", "has_underscore", "dot.ted", "", "-lead"])
def test_segment_rejects_non_slug_values(bad):
    with pytest.raises(paths.PathGrammarError, match="slug"):
        paths.segment("dataset", bad)


def test_parse_rejects_out_of_order_and_repeated_segments():
    with pytest.raises(paths.PathGrammarError, match="out of order"):
        paths.parse("models/scale~1/dataset~x")
    with pytest.raises(paths.PathGrammarError, match="twice"):
        paths.parse("models/dataset~x/dataset~y")
    with pytest.raises(paths.PathGrammarError, match="unknown wildcard"):
        paths.parse("models/colour~red")


def test_pattern_rejects_unknown_order():
    with pytest.raises(paths.PathGrammarError):
        paths.pattern("x", "seed", "dataset")
