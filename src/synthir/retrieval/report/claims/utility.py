"""Utility-focused annotation (arXiv 2504.05220): LLM utility labels with a 20% human-label mix
match human labelling; LLM labels alone generalise better out of domain."""

from __future__ import annotations

from synthir.core.paths import HUMAN
from synthir.retrieval.report.claims.core import MARGIN, Claim, Study
from synthir.retrieval.strategies.utility import Utility


def claims(s: Study) -> list[Claim]:
    mix = s.arms(lambda r: r.get("human_fraction", 0) > 0, kind=Utility)
    pure = s.arms(lambda r: r.get("human_fraction", 0) == 0, kind=Utility)
    human = [HUMAN] if HUMAN in set(s.trained["strategy"]) else []
    return [
        s.arms_claim(f"utility with human labels mixed in vs the human-label arm at equal size, on every eval: not "
                     f"significantly worse and every difference within +-{MARGIN} by TOST (supported), significantly "
                     "worse (contradicted).",
                     "Utility-focused annotation (2504.05220): 20% human labels match full human labelling",
                     "LLM utility labels with 20% human labels train as well as human labels alone.", mix, human,
                     "equal"),
        s.arms_claim("utility labels alone vs the human-label arm at equal size: significantly better (supported), "
                     "significantly worse (contradicted); out of domain the paper finds LLM labels generalise better.",
                     "Utility-focused annotation: LLM labels generalise better out of domain",
                     "LLM utility labels alone beat human labels out of domain.", pure, human, "better"),
    ]
