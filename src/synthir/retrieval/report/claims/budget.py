"""Cost-effective strategies (arXiv 2409.19759): with a small budget per seed answer
augmentation wins, with a large one new questions (qgen) win."""

from __future__ import annotations

from synthir.retrieval.report.claims.core import NOT_DETECTABLE, NOT_MEASURED, Claim, Study, Test, Verdict
from synthir.retrieval.strategies.answer_aug import AnswerAug
from synthir.retrieval.strategies.qgen import QGen


def claims(s: Study) -> list[Claim]:
    aa = s.arms(lambda r: True, kind=AnswerAug)
    nq = s.arms(lambda r: not r.get("negatives"), kind=QGen)
    c = Claim("Cost-effective strategies (2409.19759): answer augmentation at a small budget, new questions at a large one",
              "with a small budget per seed answer augmentation wins, with a large one new questions win.",
              "answer-aug vs qgen (same augmenter and base) on its own corpus: answer-aug significantly better at "
              "the smallest common scale and qgen significantly better at the largest (supported); the opposite at "
              "either end (contradicted).")
    if s.few and aa and nq:
        c.verdict = (NOT_DETECTABLE, s.draws_note)
        return [c]
    if not (aa and nq):
        c.verdict = (NOT_MEASURED, "configs/budget.yaml has answer-aug beside qgen at two scales")
        return [c]
    trained, cells = s.trained, s.cells
    ends: list[tuple[Test, str]] = []
    for ds in s.datasets:
        for r in trained[trained["strategy"] == aa[0]][["augmenter", "base"]].drop_duplicates().itertuples():
            common = sorted(set(trained[(trained["strategy"] == aa[0]) & (trained["base"] == r.base)]["scale"])
                            & set(trained[(trained["strategy"] == nq[0]) & (trained["base"] == r.base)]["scale"]))
            for n, end in ((common[0], "small"), (common[-1], "large")) if common else ():
                a = cells.get(ds, ds, r.augmenter, aa[0], int(n), r.base)
                b = cells.get(ds, ds, r.augmenter, nq[0], int(n), r.base)
                if a is not None and b is not None:
                    t = s.test(f"answer-aug vs qgen x{int(n)} on {r.base} ({end} budget)", a, b, on=(ds, (r.base,)))
                    ends.append((t, end))
                    c.tests.append(t)

    def decide(usable: list[Test]) -> Verdict:
        why = "; ".join(t.cite() for t, _ in ends if t in usable)
        small = [t for t, e in ends if e == "small" and t in usable]
        large = [t for t, e in ends if e == "large" and t in usable]
        if all(t.significant() and t.mean > 0 for t in small) and all(t.significant() and t.mean < 0 for t in large):
            return "supported", why
        if any(t.significant() and t.mean < 0 for t in small) or any(t.significant() and t.mean > 0 for t in large):
            return "contradicted", why
        return NOT_DETECTABLE, why

    c.decide = decide if ends else None
    c.verdict = None if ends else (NOT_DETECTABLE, "no common scales")
    return [c]
