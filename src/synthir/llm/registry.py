"""Backend name -> implementation (the schema's ``backend`` enum equals these keys).

Named by string and imported on use, so a generation job's code inputs hold its own backend's
module only (see synthir.closure).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from synthir.config import Compute, GeneratorConfig
from synthir.llm.base import Backend

BACKENDS: dict[str, str] = {
    "transformers": "synthir.llm.hf:TransformersBackend",
    "openai": "synthir.llm.http:OpenAIBackend",
    "vllm": "synthir.llm.vllm_offline:VLLMBackend",
}


def backend_module(name: str) -> str:
    return BACKENDS[name].partition(":")[0]


def make_backend(cfg: GeneratorConfig, model_dir: Path | None, compute: Compute) -> Backend:
    module, _, cls = BACKENDS[cfg.backend].partition(":")
    return getattr(importlib.import_module(module), cls)(cfg, model_dir, compute)  # type: ignore[no-any-return]
