"""The backend protocol every LLM backend implements."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from synthir.core.config import Decoding


class Message(NamedTuple):
    role: str  # "system" | "user" | "assistant"
    content: str


#: A prompt is a chat conversation; completion-style backends render it as plain text.
Prompt = tuple[Message, ...]


class Completion(NamedTuple):
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # wall time attributed to this item (batch time / batch size)


class Backend(Protocol):
    """Generates completions for a batch of prompts.

    ``identity()`` names everything besides the prompt, decoding parameters and seed that
    determines the output (model id, revision or weights hash, backend and its version,
    dtype); it is part of every cache key. ``render()`` turns a prompt into the exact
    request the backend sends, which is what the cache key hashes. ``batch_invariant`` says
    whether an item's output is independent of the other items of its batch; when it is not,
    the cache key covers the batch (synthir.generation.engine).
    """

    batch_invariant: bool

    def identity(self) -> dict[str, Any]: ...

    def render(self, prompt: Prompt) -> Any: ...

    def generate(
        self, prompts: list[Prompt], decoding: Decoding, seeds: list[int]
    ) -> list[Completion]: ...
