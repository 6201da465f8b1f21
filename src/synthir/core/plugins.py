"""The one loader of ``"module:name"`` references, by which every registry (job functions, CLI
tools, strategy kinds, LLM backends, negative miners) names its implementations.

Registries name code by string and import it on use, so a job imports, and its code inputs
hold, only the implementation it runs (see synthir.core.closure).
"""

from __future__ import annotations

import importlib
from typing import Any


def module_of(ref: str) -> str:
    """The module part of ``"module:name"``."""
    return ref.partition(":")[0]


def load(ref: str) -> Any:
    """The object ``ref`` (``"module:name"``) names, its module imported on first use."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
