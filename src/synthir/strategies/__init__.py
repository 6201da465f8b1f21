"""Augmentation strategies: the values of the ``strategy`` wildcard.

A strategy turns a collection (and its labelled split) into LLM requests, and each response
into a training record or a rejection. The registry's keys equal the schema's
``strategy_kind`` enum; a strategy alias in params.yaml names its ``kind`` (a contract test checks it).
"""

from __future__ import annotations

from synthir.strategies.answer_aug import AnswerAug
from synthir.strategies.base import Strategy, StrategyInputs
from synthir.strategies.q2d import Q2D
from synthir.strategies.qgen import QGen
from synthir.strategies.rag_qgen import RagQGen
from synthir.strategies.rephrase import Rephrase
from synthir.strategies.utility import Utility

STRATEGIES: dict[str, type[Strategy]] = {
    "qgen": QGen, "rephrase": Rephrase, "answer-aug": AnswerAug, "utility": Utility, "rag-qgen": RagQGen,
    "q2d": Q2D,
}

__all__ = ["STRATEGIES", "Strategy", "StrategyInputs"]
