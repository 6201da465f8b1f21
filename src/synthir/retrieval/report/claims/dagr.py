"""DAGR (arXiv 2509.16442): gains saturate with scale; small augmenters are competitive with
large ones; augmentation helps weakly pre-trained retrievers most. All on qgen lines."""

from __future__ import annotations

from synthir.retrieval.report.claims.core import (MARGIN, NOT_DETECTABLE, NOT_MEASURED, Claim, Study, Test, Verdict, cite,
                                        sign_decision)
from synthir.stats import contrast_of_tables
from synthir.retrieval.strategies.qgen import QGen

#: A line has saturated when its last step adds less than (1 - this) of its gain (summary.csv's
#: saturation scale uses the same 90%).
SATURATION_SHARE = 0.9


def claims(s: Study) -> list[Claim]:
    return [saturation(s), small_augmenters(s), weak_bases(s)]


def saturation(s: Study) -> Claim:
    share = 1 - SATURATION_SHARE
    c = Claim("DAGR (2509.16442): gains saturate with scale",
              "beyond some scale, more synthetic queries stop helping.",
              "per qgen line on its own corpus with >= 3 trained scales, where the largest scale's gain over the "
              "untouched base is significant and positive: the step from the previous trained scale adds "
              f"significantly less than {share:.0%} of that gain (supported) or significantly more "
              "(contradicted: still rising); the step is tested as (largest - previous) - "
              f"{share:.0%} x gain, per query. The lines must agree.")
    trained, cells = s.trained, s.cells
    per_line: list[tuple[Test, Test]] = []
    for ds, aug, st in s.lines(QGen):
        for base in sorted(set(trained["base"])):
            scales = sorted(trained[(trained["augmenter"] == aug) & (trained["strategy"] == st)
                                    & (trained["base"] == base)]["scale"].unique())
            ref = cells.baseline(ds, base)
            if len(scales) < 3 or ref is None:
                continue
            top, prev = cells.get(ds, ds, aug, st, int(scales[-1]), base), cells.get(ds, ds, aug, st, int(scales[-2]), base)
            if top is None or prev is None or not s.draws_ok((ds, ds, aug, st, int(scales[-1]), base)):
                continue
            g = s.test(f"{aug} x{int(scales[-1])} vs untouched {base}", top, ref, on=(ds, (base,)))
            # (top - prev) - share x (top - ref): the gain is estimated too, so it is a term
            step = Test(f"step x{int(scales[-2])} -> x{int(scales[-1])} minus {share:.0%} of the gain, {aug} on {base}",
                        contrast_of_tables([(1.0 - share, top), (-1.0, prev), (share, ref)]), None, ds, (base,))
            per_line.append((g, step))
            c.tests += [g, step]

    def decide(usable: list[Test]) -> Verdict:
        votes = []
        lines_used = [(g, step) for g, step in per_line if g in usable]
        for g, step in lines_used:
            if not (g.significant() and g.mean > 0):
                votes.append(None)
            elif step.significant():
                votes.append("supported" if step.mean < 0 else "contradicted")
            else:
                votes.append(None)
        decided = {v for v in votes if v}
        why = "; ".join(f"{g.cite()} / {step.cite()}" for g, step in lines_used)
        if len(decided) == 1:
            return decided.pop(), why
        reason = ("the lines disagree" if decided else
                  "no line both gains significantly and has a last step clearly above or below the threshold")
        return NOT_DETECTABLE, f"{reason}: {why}"

    if s.few:
        c.verdict = (NOT_DETECTABLE, s.draws_note)
    elif not per_line:
        c.verdict = (NOT_MEASURED, "no qgen line with three trained scales")
    else:
        c.decide = decide
    return c


def small_augmenters(s: Study) -> Claim:
    c = Claim("DAGR: small augmenters are competitive with large ones",
              "a smaller LLM's queries train retrievers about as well as a larger LLM's.",
              f"qgen, the smallest and the largest augmenter (by parameters) at their largest common scale, each "
              f"base the control moves, every eval dataset: every difference within +-{MARGIN} by two one-sided "
              f"tests (supported); the larger one significantly better anywhere (contradicted).")
    trained, cells = s.trained, s.cells
    augs = sorted({a for _, a, _ in s.lines(QGen) if a in s.sizes}, key=lambda a: s.sizes[a])
    if s.few:
        c.verdict = (NOT_DETECTABLE, s.draws_note)
        return c
    if len(augs) < 2:
        c.verdict = (NOT_MEASURED, "one augmenter of known size (configs/paper-shapes.yaml has two)")
        return c
    small, large = augs[0], augs[-1]
    for ds, _, st in [x for x in s.lines(QGen) if x[1] == small]:
        for base in sorted(set(trained["base"])):
            common = sorted(set(trained[(trained["augmenter"] == small) & (trained["base"] == base)]["scale"])
                            & set(trained[(trained["augmenter"] == large) & (trained["base"] == base)]["scale"]))
            if not common:
                continue
            n = int(common[-1])
            for ev in s.evals:
                a, b = cells.get(ds, ev, small, st, n, base), cells.get(ds, ev, large, st, n, base)
                if a is not None and b is not None and s.draws_ok((ds, ev, small, st, n, base)):
                    c.tests.append(s.test(f"{small} vs {large} x{n} on {base}, eval {ev}", a, b, MARGIN,
                                          on=(ds, (base,))))

    def decide(ts: list[Test]) -> Verdict:
        if any(t.significant() and t.mean < 0 for t in ts):
            return "contradicted", cite(ts)
        if all(t.equivalent() for t in ts):
            return "supported", cite(ts)
        return NOT_DETECTABLE, f"not every difference is shown within {MARGIN} (TOST): {cite(ts)}"

    c.decide = decide
    c.verdict = None if c.tests else (NOT_DETECTABLE, "no common cells with enough draws")
    return c


def weak_bases(s: Study) -> Claim:
    c = Claim("DAGR: augmentation helps weakly pre-trained retrievers most",
              "the gain from synthetic queries is larger for a weak base than for a retrieval-tuned one.",
              "qgen at each line's largest scale, on its own corpus: (weak cell - weak base) - (tuned cell - tuned "
              "base) per query, significantly positive (supported) or negative (contradicted); a base is weak or "
              "retrieval-trained as its `encoders.<alias>.pretraining` says (among several, the weak base with the "
              "lowest untouched in-domain nDCG@10 and the retrieval-trained one with the highest), and the human "
              "arm must move both.")
    trained, cells = s.trained, s.cells
    ds = s.datasets[0] if s.datasets else None
    bases = sorted(b for b in set(trained["base"]) if ds is not None and cells.baseline(ds, b) is not None)

    def untouched(b: str) -> float:
        ref = cells.baseline(ds, b) if ds is not None else None
        assert ref is not None  # bases are those with a baseline
        return float(ref.table.to_numpy().mean())

    weak = sorted((b for b in bases if s.pretraining.get(b) == "weak"), key=untouched)
    tuned = sorted((b for b in bases if s.pretraining.get(b) == "retrieval"), key=untouched)
    if len(bases) < 2:
        c.verdict = (NOT_MEASURED, "one base only")
    elif not s.pretraining:
        c.verdict = (NOT_MEASURED, "this report's evidence does not say which bases are weak "
                                   "(built before `encoders.<alias>.pretraining`)")
    elif not weak or not tuned:
        c.verdict = (NOT_MEASURED, f"no {'weakly pre-trained' if not weak else 'retrieval-trained'} base among the "
                                   f"trained bases ({', '.join(bases) or 'none'})")
    elif s.few:
        c.verdict = (NOT_DETECTABLE, s.draws_note)
    else:
        w_base, t_base = weak[0], tuned[-1]
        for _, aug, st in [x for x in s.lines(QGen) if x[0] == ds]:
            common = sorted(set(trained[(trained["augmenter"] == aug) & (trained["base"] == w_base)]["scale"])
                            & set(trained[(trained["augmenter"] == aug) & (trained["base"] == t_base)]["scale"]))
            if not common:
                continue
            n = int(common[-1])
            w, t = cells.get(ds, ds, aug, st, n, w_base), cells.get(ds, ds, aug, st, n, t_base)
            wb, tb = cells.baseline(ds, w_base), cells.baseline(ds, t_base)
            if w is None or t is None or wb is None or tb is None:
                continue
            c.tests.append(Test(f"gain on {w_base} - gain on {t_base}, {aug} x{n}",
                                contrast_of_tables([(1.0, w), (-1.0, wb), (-1.0, t), (1.0, tb)]),
                                None, ds, (w_base, t_base)))
        if c.tests:
            c.decide = sign_decision
        else:
            c.verdict = (NOT_MEASURED, f"no qgen scale trained on both {w_base} and {t_base}")
    return c
