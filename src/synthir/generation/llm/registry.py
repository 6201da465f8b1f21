"""Backend name -> implementation (the schema's ``backend`` enum equals these keys).

Named by string and imported on use, so a generation job's code inputs hold its own backend's
module only (see synthir.core.closure).
"""

from __future__ import annotations

from pathlib import Path

from synthir.core.config import Compute, GeneratorConfig
from synthir.generation.llm.base import Backend
from synthir.core.plugins import load, module_of

BACKENDS: dict[str, str] = {
    "transformers": "synthir.generation.llm.hf:TransformersBackend",
    "openai": "synthir.generation.llm.http:OpenAIBackend",
    "vllm": "synthir.generation.llm.vllm_offline:VLLMBackend",
}


def backend_module(name: str) -> str:
    return module_of(BACKENDS[name])


def make_backend(cfg: GeneratorConfig, model_dir: Path | None, compute: Compute) -> Backend:
    backend: Backend = load(BACKENDS[cfg.backend])(cfg, model_dir, compute)
    return backend
