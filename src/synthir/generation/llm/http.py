"""OpenAI-compatible HTTP backend (a `vllm serve` endpoint or any provider).

The API key is read from the environment variable named in ``llms.<alias>.openai.api_key_env``
and is never logged, cached or written to provenance.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

from synthir.core.errors import UserError
from synthir.core.config import Compute, Decoding, GeneratorConfig
from synthir.generation.llm.base import Completion, Prompt

log = logging.getLogger(__name__)
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class HTTPBackendError(UserError, RuntimeError):
    """The endpoint failed after all retries (message carries status and body, never the key)."""


class OpenAIBackend:
    #: The server batches concurrent requests its own way: which of our requests share a chunk
    #: does not decide an output, so the cache key leaves the chunk out.
    batch_invariant = True

    def __init__(self, cfg: GeneratorConfig, model_dir: Path | None = None, compute: Compute | None = None) -> None:
        import requests

        if cfg.openai is None:
            raise HTTPBackendError(f"llms.{cfg.alias}.openai is not configured")
        self.cfg = cfg
        self.o = cfg.openai
        self.url = self.o.base_url.rstrip("/") + "/chat/completions"
        self.session = requests.Session()
        key_env = self.o.api_key_env
        if key_env:
            key = os.environ.get(key_env)
            if not key:
                raise HTTPBackendError(f"environment variable {key_env} (the API key) is not set")
            self.session.headers["Authorization"] = f"Bearer {key}"
        self._identity = {
            "backend": "openai",
            "base_url": self.o.base_url,
            "model": self.o.model,
        }

    def identity(self) -> dict[str, Any]:
        return self._identity

    def render(self, prompt: Prompt) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in prompt]

    def _one(self, prompt: Prompt, decoding: Decoding, seed: int) -> Completion:
        import requests

        body = {
            "model": self.o.model,
            "messages": self.render(prompt),
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "seed": seed,
        }
        last = ""
        for attempt in range(self.o.max_retries + 1):
            start = time.perf_counter()
            try:
                r = self.session.post(self.url, json=body, timeout=self.o.timeout_s)
            except requests.RequestException as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if r.status_code == 200:
                    data = r.json()
                    usage = data.get("usage") or {}
                    return Completion(
                        text=data["choices"][0]["message"].get("content") or "",
                        prompt_tokens=int(usage.get("prompt_tokens", 0)),
                        completion_tokens=int(usage.get("completion_tokens", 0)),
                        seconds=time.perf_counter() - start,
                    )
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                if r.status_code not in RETRYABLE:
                    break
            delay = min(30.0, 0.5 * 2**attempt) * (1 + random.random() / 4)
            log.warning("%s failed (%s); retry %d in %.1fs", self.url, last, attempt + 1, delay)
            time.sleep(delay)
        raise HTTPBackendError(f"{self.url}: {last}")

    def generate(self, prompts: list[Prompt], decoding: Decoding, seeds: list[int]) -> list[Completion]:
        with concurrent.futures.ThreadPoolExecutor(self.o.concurrency) as pool:
            return list(pool.map(lambda ps: self._one(ps[0], decoding, ps[1]), zip(prompts, seeds)))
