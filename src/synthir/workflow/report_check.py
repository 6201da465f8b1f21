"""Open a Snakemake report as a person would and say what does not render.

``python -m synthir check-report report.html --screenshots shots/`` loads the report in headless
Chromium (it is a JavaScript application: the screenshot shows whether it started), then every
result it embeds, as the report's viewer shows it (an image as an image, an HTML page in a
frame), and fails naming the result where a figure is empty (no coloured mark: no plotted line),
a page shows nothing, a table has no rows, or a link points outside the report (a self-contained
report has nowhere to follow it to) or to an anchor the page lacks.

Why Chromium and not a DOM parser alone: the report and its pages are what a browser makes of
them; a parser would pass a page whose script fails. Chromium's command line (``--screenshot``,
``--dump-dom``) is enough for a static check, so no driver is needed.
"""

from __future__ import annotations

import argparse
import base64
import html
import io as _io
import json
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from synthir.core.errors import UserError

#: A pixel counts as a plotted mark when its channels differ by more than this (greys do not).
COLOUR_SPREAD = 60
#: A figure needs at least this share of coloured pixels; a page this share of non-white ones.
MIN_COLOURED = 0.002
MIN_INK = 0.005


class _Links(HTMLParser):
    """What a page links to and holds: its anchors' targets, its ids, its tables' row counts."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.sources: list[str] = []
        self.tables: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        if tag in ("img", "script", "link", "iframe") and (a.get("src") or a.get("href")):
            self.sources.append(a.get("src") or a.get("href") or "")
        if tag == "table":
            self.tables.append(0)
        if tag == "td" and self.tables:
            self.tables[-1] += 1


def embedded(report: str, name: str) -> dict[str, Any]:
    """A JSON object a Snakemake report embeds as ``var <name> = {...};`` (results, categories)."""
    m = re.search(rf"var {name} = (\{{.*?\}});\s*</script>", report, re.S)
    if m is None:
        raise UserError(f"no embedded {name}: not a self-contained report of Snakemake 9 (`snakemake --report x.html`)")
    return json.loads(m.group(1))


def reembed(report: str, files: dict[str, Path]) -> str:
    """``report`` with each result ``files`` names (by the path the report embeds it under)
    embedded anew from that file, as ``snakemake --report`` embeds a result (Snakemake's own data
    URI and size format, its JSON): after ``python -m synthir recheck --write`` re-decides a
    report, its report.html shows the new pages without the study rebuilt. A name the report
    does not embed is left out."""
    from humanfriendly import format_size
    from snakemake.report.common import data_uri_from_file

    m = re.search(r"var results = (\{.*?\});\s*</script>", report, re.S)
    if m is None:
        raise UserError("no embedded results: not a self-contained report of Snakemake 9 (`snakemake --report x.html`)")
    results = json.loads(m.group(1))
    for key, path in files.items():
        if key in results:
            results[key] |= {"size": format_size(path.stat().st_size), "data_uri": data_uri_from_file(str(path))}
    return report[:m.start(1)] + json.dumps(results) + report[m.end(1):]


def decode(data_uri: str) -> bytes:
    """The bytes of a ``data:...;base64,...`` URI."""
    head, _, payload = data_uri.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise UserError(f"result is not embedded (a link, not data): {data_uri[:80]!r}")
    return base64.b64decode(payload)


def _pixels(png: bytes) -> tuple[float, float]:
    """(share of coloured pixels within the drawn area, the bounding box of what is not white;
    share of non-white pixels in the whole image) of an image."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(_io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    drawn = rgb.min(axis=2) < 240
    if not drawn.any():
        return 0.0, 0.0
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    box = rgb[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    coloured = (box.max(axis=2) - box.min(axis=2)) > COLOUR_SPREAD
    return float(coloured.mean()), float(drawn.mean())


def link_problems(page: str) -> list[str]:
    """Links and sources of an HTML page that a self-contained report cannot follow."""
    parsed = _Links()
    parsed.feed(page)
    out = []
    for href in parsed.hrefs:
        if href.startswith("#"):
            if href[1:] not in parsed.ids:
                out.append(f"link {href}: no such anchor in the page")
        elif not href.startswith(("http://", "https://", "mailto:", "data:")):
            out.append(f"link {href!r}: leaves the self-contained report")
    out += [f"source {s[:60]!r}: not embedded" for s in parsed.sources if not s.startswith(("data:", "#"))]
    out += [f"table {i + 1}: no rows" for i, rows in enumerate(parsed.tables) if rows == 0]
    return out


def _chromium(chromium: str, url: str, *flags: str) -> str:
    """Run headless Chromium on ``url`` (scripts run for up to 8 s of virtual time); its stdout."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,900",
           "--virtual-time-budget=8000", *flags, url]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as e:
        raise UserError(f"{chromium}: not found; install Chromium (Debian: apt install chromium) "
                        "or name the browser with --chromium") from e
    if r.returncode != 0:
        raise UserError(f"{chromium} failed on {url}: {r.stderr[-500:]}")
    return r.stdout


def screenshot(chromium: str, url: str, out: Path) -> bytes:
    """A screenshot of ``url`` written to ``out``; its PNG bytes."""
    _chromium(chromium, url, f"--screenshot={out}")
    if not out.is_file():
        raise UserError(f"{chromium} wrote no screenshot of {url}")
    return out.read_bytes()


def check(report_path: Path, shots: Path, chromium: str = "chromium") -> list[str]:
    """Every problem a reader of the report would meet (empty: none); screenshots into ``shots``."""
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    report = report_path.read_text(encoding="utf-8")
    results = embedded(report, "results")
    if not results:
        problems.append(f"{report_path}: no results (mark outputs with report() and build them first)")
    url = report_path.resolve().as_uri()
    _, ink = _pixels(screenshot(chromium, url, shots / "report.png"))
    dom = _chromium(chromium, url, "--dump-dom")
    categories = embedded(report, "categories")
    shown = [c for c in categories if html.escape(c) in dom]
    if ink < MIN_INK or len(shown) < len(categories):
        problems.append(f"{report_path}: the report's application did not start (its menu shows "
                        f"{len(shown)} of its categories)")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (path, res) in enumerate(sorted(results.items())):
            name = f"{i:02d}-{Path(res['name']).stem}"
            problems += [f"{path}: caption {p}" for p in link_problems(res.get("caption") or "")]
            data = decode(res["data_uri"])
            if res["mime_type"] in ("image/png", "image/jpeg", "image/svg+xml"):
                if res["mime_type"] == "image/svg+xml":  # a vector figure: as the browser draws it
                    (local := Path(tmp) / res["name"]).write_bytes(data)
                    data = screenshot(chromium, local.as_uri(), shots / f"{name}.png")
                else:
                    (shots / f"{name}{Path(res['name']).suffix}").write_bytes(data)
                coloured, _ = _pixels(data)
                if coloured < MIN_COLOURED:
                    problems.append(f"{path}: an empty figure (no plotted mark: {coloured:.2%} coloured pixels)")
            elif res["mime_type"] == "text/html":
                page = data.decode("utf-8")
                problems += [f"{path}: {p}" for p in link_problems(page)]
                local = Path(tmp) / res["name"]
                local.write_text(page, encoding="utf-8")
                _, ink = _pixels(screenshot(chromium, local.as_uri(), shots / f"{name}.png"))
                if ink < MIN_INK:
                    problems.append(f"{path}: the page shows nothing")
            else:
                problems.append(f"{path}: {res['mime_type']} is shown as plain text; render it as HTML (synthir.pages)")
    return problems


def main(a: argparse.Namespace) -> int:
    shots = Path(a.screenshots)
    problems = check(Path(a.report), shots, a.chromium)
    for p in problems:
        print(p)
    n = len(list(shots.glob("*.png")))
    print(f"{a.report}: {len(problems)} problem(s); {n} screenshots in {shots}" if problems else
          f"{a.report}: every figure, table and link renders; {n} screenshots in {shots}")
    return 1 if problems else 0
