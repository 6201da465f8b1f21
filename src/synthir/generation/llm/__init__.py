"""LLM access: one backend protocol, a registry of backends, and a content-addressed cache."""

from synthir.generation.llm.base import Backend, Completion, Message, Prompt
from synthir.generation.llm.registry import BACKENDS, backend_module, make_backend

__all__ = ["BACKENDS", "Backend", "Completion", "Message", "Prompt", "backend_module", "make_backend"]
