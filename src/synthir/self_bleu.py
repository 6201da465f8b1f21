"""Self-BLEU, the diversity statistic of a set of texts both tasks report (retrieval's query
sets: synthir.retrieval.quality; classification's examples: synthir.classification.stats).

A module of its own rather than a part of synthir.stats: the jobs that compute set statistics
import it, and every module a job imports is among its code inputs, so a change to the reports'
tests reruns the reports and not every set's statistics.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def self_bleu_each(texts: Sequence[str], sample: int, seed: int = 0) -> list[float]:
    """Self-BLEU (Zhu et al. 2018, arXiv 1802.01886) per text: sentence BLEU (sacrebleu, effective
    order) of each text of a seeded sample against the rest of the sample; their mean is a set's
    Self-BLEU (lower = more diverse). Empty below two texts (nothing to compare with)."""
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return []
    picked = random.Random(seed).sample(list(texts), min(sample, len(texts)))
    bleu = BLEU(effective_order=True)
    return [bleu.sentence_score(h, picked[:i] + picked[i + 1 :]).score for i, h in enumerate(picked)]
