"""Augmentation strategies: the values of the ``strategy`` wildcard.

A strategy turns a collection (and its labelled split) into LLM requests, and each response
into a training record or a rejection. The registry's keys equal the schema's
``strategy_name`` enum (a contract test checks it).
"""

from __future__ import annotations

from synthir.strategies.base import Strategy, StrategyInputs
from synthir.strategies.qgen import QGen

STRATEGIES: dict[str, type[Strategy]] = {"qgen": QGen}

__all__ = ["STRATEGIES", "Strategy", "StrategyInputs"]
