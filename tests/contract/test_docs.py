"""The manual: its generated pages equal what the code and the committed reports say today,
every key of params.yaml has a meaning, and `mkdocs build --strict` passes (a broken link, an
anchor that does not exist or a page missing from nav fails it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthir.workflow import docs

ROOT = Path(__file__).resolve().parents[2]


GENERATED = ["docs/reference/params.md", "docs/reference/commands.md", "docs/reference/strategies.md",
             *(f"docs/{page}" for page in docs.RESULTS), "README.md", docs.README_PICTURE[1], docs.CLAIMS_PAGE]


@pytest.mark.parametrize("page", GENERATED)
def test_a_generated_page_says_what_the_code_and_reports_say(page):
    missing = [s for s in docs.sources(page) if not (ROOT / s).is_file()]
    if missing:  # the default study's reports are DVC outputs: a fresh clone has none of them
        pytest.skip(f"{', '.join(missing)} absent (DVC outputs): `dvc pull` or build the study to check {page}")
    want = docs.expected(ROOT)[page]
    have = (ROOT / page).read_bytes() if (ROOT / page).is_file() else b""
    assert have == (want.encode("utf-8") if isinstance(want, str) else want), \
        f"{page} is stale: run `python -m synthir docs` and commit it"


def test_a_claim_is_a_section_with_a_verdict_line():
    text = ("# What this study measured\n\n## Positive control: can the recipe move each base?\n\n- x\n\n"
            "## DAGR: small augmenters are competitive with large ones\n\nClaim: ...\n\n"
            "**Verdict: not detectable at this power.** smollm2-135m vs qwen25-05b x800: -0.02\n\nCriterion: ...\n")
    assert docs.claim_sections(text) == [("DAGR: small augmenters are competitive with large ones",
                                          "not detectable at this power", "smollm2-135m vs qwen25-05b x800: -0.02")]


def test_claims_page_shows_disagreeing_corpora_as_mixed(tmp_path):
    """Two configurations with verdicts that differ (one corpus supports, another contradicts)
    give a mixed claim listing both; one that cannot tell is named under Elsewhere."""
    def study(name: str, verdict: str) -> None:
        (tmp_path / "configs").mkdir(exist_ok=True)
        (tmp_path / "configs" / f"{name}.yaml").write_text(f"study:\n  reports: reports/{name}\n")
        (tmp_path / "reports" / name).mkdir(parents=True)
        (tmp_path / "reports" / name / "claims.md").write_text(
            f"# x\n\n## DAGR: gains saturate with scale\n\n**Verdict: {verdict}.** cells of {name}\n")

    study("a", "supported")
    study("b", "contradicted")
    study("c", "not detectable at this power")
    page = docs.claims_page(tmp_path)
    assert "**mixed: the configurations that decide it disagree.**" in page
    assert "- **supported**: `configs/a.yaml` (`reports/a/claims.md`). cells of a" in page
    assert "- **contradicted**: `configs/b.yaml` (`reports/b/claims.md`). cells of b" in page
    assert "Elsewhere: `configs/c.yaml`: not detectable at this power." in page
    (tmp_path / "reports" / "b" / "claims.md").write_text(
        "# x\n\n## DAGR: gains saturate with scale\n\n**Verdict: supported.** cells of b\n")
    page = docs.claims_page(tmp_path)  # agreeing verdicts: the first decides, the other is listed
    assert "**mixed" not in page and "**supported**: `configs/a.yaml`" in page
    assert "Elsewhere: `configs/b.yaml`: supported; `configs/c.yaml`: not detectable at this power." in page


def test_every_key_of_params_yaml_has_a_meaning():
    keys = docs.params_keys((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert len(keys) > 150
    assert [k.path for k in keys if not k.meaning] == []


def test_the_reference_names_every_command_and_kind():
    from synthir.generation.strategy import STRATEGIES
    from synthir.workflow.cli import JOBS, tools

    commands = docs.commands_page()
    assert all(f"### `{name}`" in commands for name in [*tools(), *JOBS])
    kinds = docs.strategies_page()
    assert all(f"## `{kind}`" in kinds for kind in STRATEGIES)


def test_the_readme_result_is_read_from_the_report(tmp_path):
    import pandas as pd

    # the default study's bases from summary.csv files git holds (the default study's is a DVC
    # output, absent from a fresh clone): SPLADE-tiny's rows of paper-shapes, the query-tower
    # MiniLM's of the real retriever; with the unexposed columns only the default study has, and
    # one number changed
    df = pd.read_csv(ROOT / "reports/paper-shapes/summary.csv")
    minilm = pd.read_csv(ROOT / docs.REAL_RETRIEVER_SUMMARY)
    df = pd.concat([df, minilm[minilm["base"] == "minilm-l6"]], ignore_index=True)
    df = df.assign(unexposed_shared=92, gain_vs_human_unexposed=-0.05, p_vs_human_unexposed_holm=0.5)
    row = (df["metric"] == "ndcg_at_10") & (df["eval_dataset"] == "scifact") & (df["base"] == "splade-tiny") & (
        df["strategy"] == "human") & (df["scale"] == 800) & (df["augmenter"] == "none")
    assert row.sum() == 1
    df.loc[row, "mean"] = 0.987654
    df = df[(df["augmenter"] != "qwen25-05b")]
    (tmp_path / "reports").mkdir()
    df.to_csv(tmp_path / "reports/summary.csv", index=False)
    # the real retriever's sentence reads its own committed report: one number changed there too
    real = pd.read_csv(ROOT / docs.REAL_RETRIEVER_SUMMARY)
    row = (real["metric"] == "ndcg_at_10") & (real["eval_dataset"] == "scifact") & (
        real["base"] == "minilm-l6-full") & (real["strategy"] == "human") & (real["scale"] == 800)
    assert row.sum() == 1
    real.loc[row, "mean"] = 0.876543
    (tmp_path / docs.REAL_RETRIEVER_SUMMARY).parent.mkdir(parents=True)
    real.to_csv(tmp_path / docs.REAL_RETRIEVER_SUMMARY, index=False)
    text = " ".join(docs.readme_result(tmp_path).split())
    assert "to 0.988 nDCG@10" in text and "on the 92 test queries" in text
    assert "to 0.877 nDCG@10 with 800 human pairs" in text


def test_mkdocs_builds_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its successor
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "site/reference/params/index.html").is_file()


def test_a_changed_schema_description_shows_in_the_reference(monkeypatch):
    schema = docs._schema()
    schema["properties"]["compute"]["properties"]["numerics"]["description"] = "a description changed in the schema"
    monkeypatch.setattr(docs, "_schema", lambda: schema)
    page = docs.params_page((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert "| `compute.numerics` |" in page and "a description changed in the schema" in page


COMMITTED_REPORTS = sorted(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("reports/*/per_query.json.gz"))


@pytest.mark.parametrize("report", COMMITTED_REPORTS)
def test_a_committed_report_is_what_the_statistics_give_today(report):
    """summary.csv, claims.md, the pages written from them and their copies in report.html, as
    `python -m synthir recheck` recomputes them from the per-query scores committed beside them:
    a change to the statistics re-decides every committed report (`recheck --write`) in the
    commit that makes it, or this fails."""
    r = subprocess.run([sys.executable, "-m", "synthir", "recheck", report], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "differs" not in r.stdout and "not rechecked" not in r.stdout, r.stdout


def test_recheck_names_an_edited_page_and_writes_it_back(tmp_path, monkeypatch, capsys):
    """An edited copy of a committed report's claims page, and its copy in report.html, are named
    and put back byte for byte by --write (the pages name the report folder relative to the
    project root, so the copy sits at the same relative path)."""
    import argparse
    import shutil

    from synthir.workflow.tools import recheck

    report = COMMITTED_REPORTS[0]
    shutil.copytree(ROOT / report, tmp_path / report)
    monkeypatch.chdir(tmp_path)
    page, html = Path(report) / "pages" / "claims.html", Path(report) / "report.html"
    originals = {p: p.read_bytes() for p in (page, html)}
    page.write_text(page.read_text().replace("Verdict", "Verdikt", 1))
    html.write_text(html.read_text().replace('"size": "', '"size": "1', 1))
    assert recheck(argparse.Namespace(report=report, write=False)) == 1
    out = capsys.readouterr().out
    assert f"{page}: differs" in out and f"{html}: differs" in out and "summary.csv: recomputed, the same bytes" in out
    assert recheck(argparse.Namespace(report=report, write=True)) == 1
    assert {p: p.read_bytes() for p in originals} == originals
    assert recheck(argparse.Namespace(report=report, write=False)) == 0
