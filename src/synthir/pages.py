"""A study's report as HTML pages, for the one self-contained report Snakemake writes
(``snakemake --report report.html``): the claims, every table of the report, and the data
cards of the data sets and of each synthetic set.

Snakemake's report shows an image or an HTML page as it is and any other file as plain text,
so the markdown and CSV files of a report are rendered here (python-markdown, pandas) and
marked ``report()`` in rules/report.smk. Each page is one file with nothing to fetch: its
style is inline and its links are anchors within the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import markdown
import pandas as pd

from synthir.core import io, paths

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; max-width: 110em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
code { background: #f6f8fa; padding: 0 0.2em; }
nav a { margin-right: 1em; }
.scroll { overflow-x: auto; }
"""


def page(title: str, body: str) -> str:
    """A standalone HTML page."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def claims_page(claims_md: str) -> str:
    """claims.md as a page (its first heading becomes the page title)."""
    lines = claims_md.splitlines()
    title = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("# ") else "Claims"
    body = markdown.markdown("\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines),
                             extensions=["tables"])
    return page(title, body)


def _anchor(name: str) -> str:
    return "t-" + "".join(c if c.isalnum() else "-" for c in name)


def _table(frame: pd.DataFrame) -> str:
    return ("<div class=\"scroll\">"
            + frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0, escape=True)
            + "</div>")


def tables_page(title: str, tables: Sequence[Path], frames: Sequence[pd.DataFrame] | None = None) -> str:
    """Every CSV of a report, each under its file name, with a table of contents; ``frames``:
    their contents where the files on disk are not yet what the page should show (a recheck)."""
    if not tables:
        raise ValueError("tables_page: no tables given")
    nav = " ".join(f"<a href=\"#{_anchor(t.name)}\">{html.escape(t.name)}</a>" for t in tables)
    sections = [f"<h2 id=\"{_anchor(t.name)}\">{html.escape(t.name)}</h2>\n"
                f"<p>{len(frame)} rows; <code>{html.escape(t.as_posix())}</code></p>\n{_table(frame)}"
                for t, frame in zip(tables, frames if frames is not None else [pd.read_csv(t) for t in tables], strict=True)]
    return page(title, f"<nav>{nav}</nav>\n" + "\n".join(sections))


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON's scalars as dotted keys (``cost.calls``); lists (per-example values the
    report bootstraps) are left to the file."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        elif value is not None and not isinstance(value, list):
            out[f"{prefix}{key}"] = value
    return out


def set_card(stats_path: Path) -> dict[str, Any]:
    """One synthetic (or human-label) set's card: where it sits in the study (its path's
    wildcards), what made it (its meta.json: size, LLM cost, digest of its rows) and what it
    holds (its stats.json)."""
    meta = io.read_json(stats_path.parent / "meta.json")
    stats = io.read_json(stats_path)
    train = meta.get("outputs", {}).get("train", {})
    return {
        **paths.parse(stats_path.parent.as_posix()),
        "human_rows": meta.get("human_rows"),
        **_flat({"cost": meta.get("cost") or {}, "set": meta.get("stats") or {}, "stats": stats.get("stats", {})}),
        "train.sha256": train.get("sha256", "")[:12],
    }


def cards_page(title: str, stats: Sequence[Path], datasets: Path | None = None) -> str:
    """The data cards: the data sets (datasets.csv, where the report has one) and each set the
    study trained on, one row per set."""
    parts = []
    if datasets is not None:
        parts.append(f"<h2 id=\"datasets\">Data sets</h2>\n<p>What each data set holds and what its fetch counted "
                     f"(<code>{html.escape(datasets.as_posix())}</code>).</p>\n{_table(pd.read_csv(datasets))}")
    cards = pd.DataFrame([set_card(p) for p in sorted(stats)])
    parts.append(f"<h2 id=\"sets\">Training sets</h2>\n<p>{len(cards)} sets: their place in the study, their size, "
                 "the LLM calls and tokens that made them, their statistics, and the first digits of their rows' "
                 f"sha256 (the full lineage: <code>python -m synthir lineage &lt;set&gt;/train.jsonl</code>).</p>\n"
                 f"{_table(cards)}")
    return page(title, "\n".join(parts))
