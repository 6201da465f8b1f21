"""Augmentation strategies: the values of a strategy alias's ``kind``.

A strategy turns a collection (and its labelled split) into LLM requests, and each response
into a training record or a rejection. The registry names each kind's class by string and
imports only the one a job uses, so a generation job's code inputs hold its own strategy's
module, not every strategy's (see synthir.closure). Its keys equal the schema's
``strategy_kind`` enum (a contract test checks it).
"""

from __future__ import annotations

from synthir.plugins import load, module_of
from synthir.strategies.base import Strategy, StrategyInputs

STRATEGIES: dict[str, str] = {
    "qgen": "synthir.strategies.qgen:QGen",
    "rephrase": "synthir.strategies.rephrase:Rephrase",
    "answer-aug": "synthir.strategies.answer_aug:AnswerAug",
    "utility": "synthir.strategies.utility:Utility",
    "rag-qgen": "synthir.strategies.rag_qgen:RagQGen",
    "q2d": "synthir.strategies.q2d:Q2D",
    # text classification (a data set with task: classification; synthir.classification)
    "fewgen": "synthir.classification.generate:FewGen",
    "synthesizrr": "synthir.classification.generate:SynthesizRR",
}


def strategy_module(kind: str) -> str:
    return module_of(STRATEGIES[kind])


def strategy_task(kind: str) -> str:
    """The task a kind generates for: ``classification`` or ``retrieval``."""
    return strategy_class(kind).task


def strategy_class(kind: str) -> type[Strategy]:
    cls: type[Strategy] = load(STRATEGIES[kind])
    return cls


__all__ = ["STRATEGIES", "Strategy", "StrategyInputs", "strategy_class", "strategy_module", "strategy_task"]
