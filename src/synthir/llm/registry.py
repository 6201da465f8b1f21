"""Backend name -> implementation (the schema's ``backend`` enum equals these keys).

Named by string and imported on use, so a generation job's code inputs hold its own backend's
module only (see synthir.closure).
"""

from __future__ import annotations

from pathlib import Path

from synthir.config import Compute, GeneratorConfig
from synthir.llm.base import Backend
from synthir.plugins import load, module_of

BACKENDS: dict[str, str] = {
    "transformers": "synthir.llm.hf:TransformersBackend",
    "openai": "synthir.llm.http:OpenAIBackend",
    "vllm": "synthir.llm.vllm_offline:VLLMBackend",
}


def backend_module(name: str) -> str:
    return module_of(BACKENDS[name])


def make_backend(cfg: GeneratorConfig, model_dir: Path | None, compute: Compute) -> Backend:
    backend: Backend = load(BACKENDS[cfg.backend])(cfg, model_dir, compute)
    return backend
