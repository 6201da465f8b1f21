"""What every strategy provides, and the text checks they share."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from synthir import io
from synthir.config import StrategyConfig
from synthir.generate import Rejected, Request
from synthir.io import Document, Qrels, Query


@dataclass(frozen=True)
class StrategyInputs:
    corpus: dict[str, Document]
    queries: dict[str, Query]
    train_qrels: Qrels
    seed: int


class Strategy(Protocol):
    def __init__(self, cfg: StrategyConfig, inputs: StrategyInputs) -> None: ...

    def provenance(self) -> dict[str, Any]:
        """Template digest, exemplars and anything else that shaped the prompts."""
        ...

    def requests(self) -> Iterator[Request]: ...

    def parse(self, request: Request, raw: str) -> dict[str, Any]:
        """A training record from a raw response, or raise :class:`Rejected`."""
        ...


def load_template(name: str) -> tuple[dict[str, str], str]:
    """The prompt template ``prompts/<name>.json`` and the sha256 of its bytes."""
    blob = resources.files("synthir").joinpath(f"prompts/{name}.json").read_bytes()
    return json.loads(blob), io.sha256_json(json.loads(blob))


_WORD = re.compile(r"\w+", re.UNICODE)
_REFUSAL = re.compile(r"\b(i('| a)m sorry|i cannot|i can't|as an ai|i'm unable|cannot assist)\b", re.I)
_LABEL = re.compile(r"^\s*(search\s+)?(query|question)\s*\d*\s*[:\-]\s*", re.I)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def first_line(raw: str) -> str:
    """The first non-empty line, without a leading 'Query:' label or surrounding quotes."""
    for line in raw.strip().splitlines():
        line = _LABEL.sub("", line.strip()).strip().strip('"').strip("'").strip()
        if line:
            return line
    return ""


def check_garbage(text: str) -> None:
    """Reject refusals, repetition loops and text that is mostly not letters."""
    if not text:
        raise Rejected("empty")
    if _REFUSAL.search(text):
        raise Rejected("refusal")
    toks = words(text)
    if len(toks) >= 6 and max(toks.count(t) for t in set(toks)) / len(toks) > 0.4:
        raise Rejected("repetition")
    letters = sum(c.isalpha() for c in text)
    if letters / max(1, len(text)) < 0.5:
        raise Rejected("not_text")
    if sum(c.isascii() for c in text if c.isalpha()) / max(1, letters) < 0.8:
        raise Rejected("wrong_script")


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest contiguous word sequence shared by ``a`` and ``b``."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best
