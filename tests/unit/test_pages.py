"""The report's HTML pages (synthir.pages) and the browser check's verdicts on what a reader
would meet (synthir.workflow.report_check): empty figures, pages with nothing, tables without
rows, links that lead nowhere. The check in Chromium on a real report: tests/workflow/test_tiny_study.py."""

import base64
import io as _io
import json

import pytest

from synthir import pages
from synthir.core import io, paths
from synthir.core.errors import UserError
from synthir.workflow.report_check import _pixels, decode, embedded, link_problems


def _png(plotted: bool) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    if plotted:
        ax.plot([0, 16, 32], [0.2, 0.3, 0.35], marker="o")
    ax.set_title("eval: adi")
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_an_axes_only_figure_is_empty_and_a_plotted_one_is_not():
    empty, ink = _pixels(_png(plotted=False))
    assert empty == 0 and ink > 0  # axes and title drawn, nothing plotted
    plotted, _ = _pixels(_png(plotted=True))
    assert plotted > 0.002
    from PIL import Image

    blank = _io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(blank, format="PNG")
    assert _pixels(blank.getvalue()) == (0.0, 0.0)


def test_links_that_leave_the_report_or_miss_their_anchor_are_named():
    good = '<a href="#t-a">a</a><h2 id="t-a">a</h2><a href="https://arxiv.org/abs/2509.16442">DAGR</a>' \
           '<table><tr><th>x</th></tr><tr><td>1</td></tr></table>'
    assert link_problems(good) == []
    bad = '<a href="#nowhere">x</a><a href="summary.csv">csv</a><img src="scaling.png"><table><tr><th>x</th></tr></table>'
    assert link_problems(bad) == ["link #nowhere: no such anchor in the page",
                                  "link 'summary.csv': leaves the self-contained report",
                                  "source 'scaling.png': not embedded", "table 1: no rows"]


def test_embedded_results_are_read_and_decoded():
    data = base64.b64encode(b"<p>x</p>").decode()
    report = ('<script id="results">\n    var results = {"r/a.html": {"name": "a.html", "mime_type": "text/html", '
              f'"data_uri": "data:text/html;charset=utf8;filename=a.html;base64,{data}"}}}};\n    </script>')
    results = embedded(report, "results")
    assert decode(results["r/a.html"]["data_uri"]) == b"<p>x</p>"
    with pytest.raises(UserError, match="no embedded categories"):
        embedded(report, "categories")
    with pytest.raises(UserError, match="not embedded"):
        decode("a.html")


def test_pages_render_claims_tables_and_a_card_per_set(tmp_path):
    claims = pages.claims_page("# What this study measured\n\n## DAGR\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<title>What this study measured</title>" in claims and "<td>1</td>" in claims
    assert link_problems(claims) == []
    csv = tmp_path / "summary.csv"
    csv.write_text("base,scale,mean\nminilm-l6,0,0.61\nminilm-l6,16,0.6234567\n")
    table = pages.tables_page("t", [csv])
    assert "0.6235" in table and link_problems(table) == []
    subset = tmp_path / paths.family_dir("subset", dataset="scifact", augmenter="smollm2-135m", strategy="qgen",
                                         draw=1, scale=16)
    io.write_json(subset / "meta.json", {"human_rows": 0, "cost": {"calls": 17, "prompt_tokens": 900},
                                         "stats": {"unique_queries": 16},
                                         "outputs": {"train": {"path": "x", "sha256": "ab" * 32}}})
    io.write_json(subset / "stats.json", {"stats": {"self_bleu": 21.5, "self_bleu_each": [1.0, 2.0]}})
    card = pages.set_card(subset / "stats.json")
    assert card["draw"] == "1" and card["scale"] == "16" and card["cost.calls"] == 17
    assert card["stats.self_bleu"] == 21.5 and "stats.self_bleu_each" not in card  # lists stay in the file
    assert card["train.sha256"] == "abababababab"
    cards = pages.cards_page("c", [subset / "stats.json"])
    assert "1 sets" in cards and link_problems(cards) == []
    json.dumps(card)  # a card is plain data
