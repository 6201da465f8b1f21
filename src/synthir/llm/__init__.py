"""LLM access: one backend protocol, a registry of backends, and a content-addressed cache."""

from synthir.llm.base import Backend, Completion, Message, Prompt
from synthir.llm.registry import BACKENDS, make_backend

__all__ = ["BACKENDS", "Backend", "Completion", "Message", "Prompt", "make_backend"]
