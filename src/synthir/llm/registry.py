"""Backend name -> implementation (the schema's ``backend`` enum equals these keys)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synthir.config import LLMConfig
from synthir.llm.base import Backend


def _transformers(cfg: LLMConfig, model_dir: Path) -> Backend:
    from synthir.llm.hf import TransformersBackend

    return TransformersBackend(cfg, model_dir)


def _openai(cfg: LLMConfig, model_dir: Path) -> Backend:
    from synthir.llm.http import OpenAIBackend

    return OpenAIBackend(cfg, model_dir)


def _vllm(cfg: LLMConfig, model_dir: Path) -> Backend:
    from synthir.llm.vllm_offline import VLLMBackend

    return VLLMBackend(cfg, model_dir)


BACKENDS: dict[str, Callable[[LLMConfig, Path], Backend]] = {
    "transformers": _transformers,
    "openai": _openai,
    "vllm": _vllm,
}


def make_backend(cfg: LLMConfig, model_dir: Path) -> Backend:
    return BACKENDS[cfg.backend](cfg, model_dir)
