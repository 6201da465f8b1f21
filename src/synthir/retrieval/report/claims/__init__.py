"""``claims.md``: a verdict for each claim of the five papers, drawn from this study's cells.

Each claim is turned into contrasts of cells on per-query nDCG@10 (synthir.stats.contrast: the
queries paired, each cell's spread over its replicates counted: its draws of the data, else its
training seeds), tested with one Holm adjustment over
every test of this file (its one family), and a verdict with its criterion spelled out:

- *supported* / *contradicted*: the adjusted test says so in the claim's direction (or against it);
  a claim that two things are about equal is supported when two one-sided tests (TOST) show the
  difference within ``MARGIN`` at the family's adjusted level, and contradicted when the
  difference is significant against the claim;
- *not detectable at this power*: no significant result, or too few draws of the data (claims
  are drawn only from cells with at least ``MIN_DRAWS`` draws), or only bases the recipe cannot move (the
  human-label arm, the positive control, does not improve them significantly: their cells are
  left out of every claim);
- *not measured by this study*: it has no cells for the claim; the configuration that has them
  is named.

Minimum detectable effects are printed at the strictest level Holm applies in this family
(alpha / number of tests). Which alias plays which role comes from the study's configuration
(``roles``: each augmenter's parameter count, each strategy's kind, negative source and
conditioning, human-label share, each base's pre-training), so nothing here knows alias names, and a kind is recognised by
its class (synthir.generation.strategy), never by its name. The tables of cells stay below each verdict.

One module per paper (dagr, negatives, utility, synthesizrr, budget, softqe), each a
``claims(study) -> list[Claim]`` with its criteria, cell selection and decision; this module
adjusts their tests as one family and writes the file. A new claim is a function in its
paper's module; a new paper is a module added to ``PAPERS``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthir.retrieval.report.claims import budget, dagr, negatives, softqe, synthesizrr, utility
from synthir.retrieval.report.claims.core import METRIC, MIN_DRAWS, MARGIN, NOT_DETECTABLE, Claim, Study, Test
from synthir.stats import ALPHA, holm

__all__ = ["PAPERS", "Claim", "Study", "Test", "write_claims"]

#: Each paper's module, in the order its claims appear in claims.md.
PAPERS = (dagr, negatives, utility, synthesizrr, budget, softqe)


def caveat(study: Study) -> str:
    """How far this study is from the papers' scale: the models it ran, named from its cells."""
    augmenters = ", ".join(f"{a} ({n / 1e6:,.0f}M)" for a, n in sorted(study.sizes.items()))
    bases = ", ".join(sorted(set(study.trained["base"])))
    return (f"Caveat: CPU-sized models (augmenters {augmenters or 'none'}; trained bases {bases or 'none'}), "
            "hundreds of examples where the papers use up to millions: shapes, not the papers' numbers.")


def write_claims(summary: pd.DataFrame, scaling: pd.DataFrame, per_query: pd.DataFrame,
                 roles: dict[str, object]) -> str:
    """claims.md from the study's per-query results (``roles``: see the module docstring)."""
    study = Study(scaling, per_query, roles)
    claims = [c for paper in PAPERS for c in paper.claims(study)]
    tests = adjust(study, claims)
    decide(study, claims)
    return render(study, claims, tests, summary)


def adjust(study: Study, claims: list[Claim]) -> int:
    """One family: Holm over every p-value of the file (the positive controls' and every claim's,
    differences and TOST alike); detectable effects at the strictest level Holm applies. Returns
    the number of p-values."""
    family = [*study.control.values(), *(t for c in claims for t in c.tests)]
    ps = [(t, i, p) for t in family for i, p in enumerate(t.p_values())]
    level = ALPHA / max(1, len(ps))
    for (t, i, _), h in zip(ps, holm(np.array([p for _, _, p in ps]))):
        if i == 0:
            t.p_holm = float(h)
        else:
            t.p_equivalent_holm = float(h)
    for t in family:
        t.mde = t.contrast.mde(alpha=level)
    return len(ps)


def decide(study: Study, claims: list[Claim]) -> None:
    """Each claim's verdict from its tests on the bases the positive control moves."""
    for c in claims:
        if c.verdict is None and c.decide is not None:
            usable = [t for t in c.tests if all(study.movable(t.dataset, b) for b in t.bases)]
            left = sorted({b for t in c.tests if t not in usable for b in t.bases if not study.movable(t.dataset, b)})
            if not usable:
                c.verdict = (NOT_DETECTABLE, f"every test involves a base whose positive control does not pass "
                             f"({', '.join(left)}: no human-label arm, or one that does not improve it significantly)")
            else:
                verdict, why = c.decide(usable)
                note = (f" Left out: cells on {', '.join(left)}, whose positive control does not pass." if left else "")
                c.verdict = (verdict, why + note)
        assert c.verdict is not None


def render(study: Study, claims: list[Claim], n_tests: int, summary: pd.DataFrame) -> str:
    out = ["# What this study measured, claim by claim", "", caveat(study), "",
           f"Verdicts rest on contrasts of per-query {METRIC.replace('_at_', '@')} between cells (queries paired, "
           f"each cell's spread over its replicates counted, a replicate being a draw of the data averaged over "
           f"its training seeds: Banerjee's test on the query and replicate variance terms, synthir.stats.contrast; "
           f"each cell's replicate variance moderated by those of the "
           f"cells trained on the same data and evaluated on the same queries by the same base, limma's "
           f"empirical Bayes prior, never below the cell's own: synthir.stats.VariancePrior), "
           + (f"one family: Holm over all {n_tests} p-values of this file; minimum detectable effects (80% power) at "
              f"the family's strictest level, alpha / {n_tests}." if n_tests else
              "one family: Holm over the p-values of this file (none: no claim had cells to test).")
           + f" Claims use only cells with at least {MIN_DRAWS} draws of the data, on bases whose "
           f"human-label arm moves them; 'about equal' means within +-{MARGIN} by two one-sided tests (TOST). "
           "Cells are rows of the scaling.csv beside this file; summary.csv has every cell's gain, interval, "
           "minimum detectable effect and p-values adjusted over that file's own family.", "",
           "## Positive control: can the recipe move each base?", ""]
    for (ds, base), t in sorted(study.control.items()):
        can = t.significant() and t.mean > 0
        out.append(f"- {base} on {ds}: {t.cite()}. " + (
            "The recipe detects effects for this base." if can else
            f"**The recipe cannot detect effects for {base}**: its human-label arm does not improve it "
            "significantly, so no claim about synthetic data rests on it."))
    if not study.control:
        out.append("- No human-label arm in this study (no training dataset with a labelled split).")
    out.append("")
    for c in claims:
        assert c.verdict is not None
        verdict, why = c.verdict
        out += [f"## {c.title}", "", f"Claim: {c.claim}", "", f"**Verdict: {verdict}.** {why}", "",
                f"Criterion: {c.criterion}", ""]
        if c.table:
            out += [*c.table, ""]
    out += ["## Cells", "", *_cell_table(summary), ""]
    return "\n".join(out) + "\n"


def _cell_table(summary: pd.DataFrame) -> list[str]:
    d = summary[(summary["metric"] == METRIC) & (summary["scale"] > 0)]
    # no p-values here: summary.csv adjusts them over its own family, this file over its claims'
    cols = ["eval_dataset", "augmenter", "strategy", "scale", "base", "draws", "seeds", "gain", "mde", "gain_vs_human"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in d.sort_values(["eval_dataset", "strategy", "augmenter", "base", "scale"]).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float) and np.isnan(v):
                cells.append("")
            elif c.startswith("gain"):
                cells.append(f"{v:+.4f}")
            elif c.startswith("p_") or c == "mde":
                cells.append(f"{v:.3g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return lines
