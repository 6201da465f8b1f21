"""SoftQE (arXiv 2402.12663): query-expansion distillation helps out of domain, with no LLM at
query time. Any kind whose records are expansions (``expands_queries``) plays it."""

from __future__ import annotations

from synthir.retrieval.report.claims.core import NOT_DETECTABLE, NOT_MEASURED, Claim, Study, Test, Verdict, cite
from synthir.generation.strategy import strategy_class


def claims(s: Study) -> list[Claim]:
    q2d = s.arms(lambda r: "kind" in r and strategy_class(r["kind"]).expands_queries)
    c = Claim("SoftQE (2402.12663): distilled query expansions help out of domain",
              "+2.83 nDCG@10 on average out of domain, with no LLM at query time.",
              "q2d cells' gain over the untouched base on every out-of-domain eval dataset: significantly positive "
              "somewhere and negative nowhere (supported), significantly negative somewhere (contradicted).")
    if s.few and q2d:
        c.verdict = (NOT_DETECTABLE, s.draws_note)
        return [c]
    if not q2d:
        c.verdict = (NOT_MEASURED, "configs/strategies.yaml has q2d")
        return [c]
    trained, cells = s.trained, s.cells
    for ds in s.datasets:
        for r in trained[trained["strategy"] == q2d[0]][["augmenter", "scale", "base"]].drop_duplicates().itertuples():
            for ev in [e for e in s.evals if e != ds]:
                a, b = cells.get(ds, ev, r.augmenter, q2d[0], int(r.scale), r.base), cells.baseline(ev, r.base)
                if a is not None and b is not None:
                    c.tests.append(s.test(f"q2d x{int(r.scale)} vs untouched {r.base}, eval {ev}", a, b,
                                          on=(ds, (r.base,))))

    def decide(ts: list[Test]) -> Verdict:
        if any(t.significant() and t.mean < 0 for t in ts):
            return "contradicted", cite(ts)
        return ("supported", cite(ts)) if any(t.significant() and t.mean > 0 for t in ts) else (NOT_DETECTABLE, cite(ts))

    c.decide = decide if c.tests else None
    c.verdict = None if c.tests else (NOT_DETECTABLE, "no out-of-domain cells")
    return [c]
