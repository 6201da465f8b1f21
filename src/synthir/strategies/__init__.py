"""Augmentation strategies: the values of the ``strategy`` wildcard.

A strategy turns a collection (and its labelled split) into LLM requests, and each response
into a training record or a rejection. The registry's keys equal the schema's
``strategy_kind`` enum; a strategy alias in params.yaml names its ``kind`` (a contract test checks it).
"""

from __future__ import annotations

from synthir.strategies.base import Strategy, StrategyInputs
from synthir.strategies.qgen import QGen
from synthir.strategies.rephrase import Rephrase

STRATEGIES: dict[str, type[Strategy]] = {"qgen": QGen, "rephrase": Rephrase}

__all__ = ["STRATEGIES", "Strategy", "StrategyInputs"]
