"""The one path grammar of synthir: ``name~value`` segments in a fixed order.

Every artifact lives under a family root (``data/raw``, ``data/synthetic``, ``models``,
``results``) followed by wildcard segments in the order of :data:`WILDCARD_ORDER`. A path
parses back into its wildcards with :func:`parse`, whatever the family, so lineage and
reporting never re-implement path handling. Snakemake rules write the same patterns with
``{wildcard}`` placeholders (see ``rules/common.smk``), built by :func:`pattern`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

__all__ = ["LAYOUT", "NONE", "PurePosixPath", "SLUG", "WILDCARD_ORDER", "cell_dir", "family_dir", "family_pattern", "parse", "pattern", "segment"]

#: Wildcards in the order they appear in a path; a path may use any ordered subset.
WILDCARD_ORDER: tuple[str, ...] = (
    "eval",
    "model",
    "corpus",
    "dataset",
    "augmenter",
    "strategy",
    "draw",
    "scale",
    "base",
    "seed",
)
#: Wildcard values: lower-case letters, digits, '-', and '+' (a strategy combined with a
#: negative source, e.g. ``qgen+bm25``). Nothing that needs quoting in a shell or a regex class.
SLUG = re.compile(r"^[a-z0-9][a-z0-9+-]*$")
#: Placeholder value for wildcards a baseline cell does not have (no augmenter at scale 0).
NONE = "none"
#: Strategy value of the human-label arm (the positive control): rows come from a labelled
#: split, no LLM is involved (augmenter ``none``). Reserved, like ``none``.
HUMAN = "human"

#: Family roots and the wildcards of their cells; rules/common.smk builds its patterns from these
#: and the report walks back from a result to its model and training set with the same table.
LAYOUT: dict[str, tuple[str, tuple[str, ...]]] = {
    "raw": ("data/raw", ("dataset",)),
    "prepared": ("data/prepared", ("model",)),
    # a base encoder's embeddings of a corpus (an eval corpus, or the training corpus for dense mining)
    "index": ("data/index", ("corpus", "base")),
    # a cross-encoder trained on a dataset's labelled split, for `ce` hard negatives
    "reranker": ("data/synthetic", ("model", "dataset")),
    # a draw of the data: which passages or seeds a pool starts from, how human rows are ordered;
    # its scales are nested subsets of one pool, so a scale line never mixes draws
    "pool": ("data/synthetic", ("dataset", "augmenter", "strategy", "draw")),
    "subset": ("data/synthetic", ("dataset", "augmenter", "strategy", "draw", "scale")),
    "model": ("models", ("dataset", "augmenter", "strategy", "draw", "scale", "base", "seed")),
    "result": ("results", ("eval", "dataset", "augmenter", "strategy", "draw", "scale", "base", "seed")),
    # a training set's overlap with one eval dataset (synthir.retrieval.quality), shared by its bases and seeds
    "leakage": ("results", ("eval", "dataset", "augmenter", "strategy", "draw", "scale")),
}

_SEGMENT = re.compile(r"^(?P<name>[a-z]+)~(?P<value>[^/]+)$")


class PathGrammarError(ValueError):
    """A path or a wildcard value does not follow the ``name~value`` grammar."""


def segment(name: str, value: object) -> str:
    """Return one ``name~value`` segment, checking the name and the value's slug form."""
    if name not in WILDCARD_ORDER:
        raise PathGrammarError(f"unknown wildcard {name!r}; known: {', '.join(WILDCARD_ORDER)}")
    text = str(value)
    if not SLUG.match(text):
        raise PathGrammarError(f"wildcard {name}={text!r} is not a slug [a-z0-9+-]+")
    return f"{name}~{text}"


def _check_order(names: list[str]) -> None:
    positions = [WILDCARD_ORDER.index(n) for n in names]
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        raise PathGrammarError(
            f"wildcards {names} are out of order; the order is {', '.join(WILDCARD_ORDER)}"
        )


def cell_dir(root: str, **wildcards: object) -> str:
    """Join ``root`` with one segment per wildcard, in grammar order.

    >>> cell_dir("models", dataset="scifact", scale=100)
    'models/dataset~scifact/scale~100'
    """
    names = [n for n in WILDCARD_ORDER if n in wildcards]
    unknown = set(wildcards) - set(WILDCARD_ORDER)
    if unknown:
        raise PathGrammarError(f"unknown wildcards {sorted(unknown)}")
    return str(PurePosixPath(root, *(segment(n, wildcards[n]) for n in names)))


def pattern(root: str, *names: str) -> str:
    """The Snakemake pattern of a cell directory: ``root/name~{name}/...`` in grammar order."""
    _check_order(list(names))
    return str(PurePosixPath(root, *(f"{n}~{{{n}}}" for n in names)))


def parse(path: str) -> dict[str, str]:
    """Return the wildcards encoded in ``path`` (values as strings).

    >>> parse("results/eval~cisi/dataset~scifact/scale~100/run.trec")
    {'eval': 'cisi', 'dataset': 'scifact', 'scale': '100'}
    """
    found: dict[str, str] = {}
    for part in PurePosixPath(str(path)).parts:
        m = _SEGMENT.match(part)
        if not m:
            continue
        name, value = m["name"], m["value"]
        if name not in WILDCARD_ORDER:
            raise PathGrammarError(f"{path}: unknown wildcard segment {part!r}")
        if not SLUG.match(value):
            raise PathGrammarError(f"{path}: value of {part!r} is not a slug")
        if name in found:
            raise PathGrammarError(f"{path}: wildcard {name!r} appears twice")
        found[name] = value
    _check_order(list(found))
    return found


def family_dir(family: str, **wildcards: object) -> str:
    """Directory of one artifact of ``family`` (a key of :data:`LAYOUT`), from its wildcards."""
    root, names = LAYOUT[family]
    missing = [n for n in names if n not in wildcards]
    if missing:
        raise PathGrammarError(f"{family} needs wildcards {missing}")
    return cell_dir(root, **{n: wildcards[n] for n in names})


def family_pattern(family: str) -> str:
    """Snakemake pattern of ``family``'s directory, e.g. ``models/dataset~{dataset}/...``."""
    root, names = LAYOUT[family]
    return pattern(root, *names)
