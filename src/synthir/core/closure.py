"""The source files a command runs: the import closure of its modules, as Snakemake inputs.

Snakemake cannot see the Python a shell command imports, so each rule declares the files of
``src/synthir`` its job runs; editing one of them reruns exactly the jobs that run it. The list
is computed here, never written by hand: every ``import synthir.…`` / ``from synthir… import …``
of a module (module level or inside a function: lazily imported code runs too) is followed
through ``src/synthir``, with the ``__init__.py`` of every package on the way. Registries name
their plugins by string (``"synthir.retrieval.strategies.qgen:QGen"``) and import only the one a job
uses, so a job's closure holds its strategy's module, not every strategy's; rules add those
plugin modules by wildcard (see ``rules/common.smk``).

A job records the synthir modules it really imported (``record.json``), and the workflow
tests check that each is among its rule's declared inputs.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "synthir"
#: src/synthir of this checkout (the tree Snakemake rules refer to as src/synthir/...).
ROOT = Path(__file__).resolve().parent.parent


def module_file(module: str) -> Path:
    """The file of a synthir module (a package resolves to its ``__init__.py``)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        raise ValueError(f"{module}: not a {PACKAGE} module")
    base = ROOT.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    raise ModuleNotFoundError(f"{module}: no such module under {ROOT}")


def _is_module(module: str) -> bool:
    try:
        module_file(module)
    except ModuleNotFoundError:
        return False
    return True


@functools.cache
def direct_imports(module: str) -> frozenset[str]:
    """synthir modules that ``module``'s source imports anywhere (functions included)."""
    path = module_file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                target = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            found.add(target)
            # `from synthir.core import io`: io is a module, not a name in synthir/core/__init__.py
            found |= {f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")}
    return frozenset(found)


def _with_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def closure(modules: Iterable[str]) -> list[str]:
    """Every synthir module that importing (and running) ``modules`` can import, sorted."""
    seen: set[str] = set()
    todo = [m for module in modules for m in _with_parents(module)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported in direct_imports(module):
            todo += [m for m in _with_parents(imported) if m not in seen]
    return sorted(seen)


def files(modules: Iterable[str]) -> list[str]:
    """The closure of ``modules`` as paths relative to the project root (``src/synthir/...``)."""
    project = ROOT.parent.parent
    return sorted(module_file(m).relative_to(project).as_posix() for m in closure(modules))


def digests(modules: Iterable[str]) -> dict[str, str]:
    """sha256 of each module's source file: the code a job ran, recorded in its meta.json."""
    return {m: hashlib.sha256(module_file(m).read_bytes()).hexdigest() for m in sorted(modules)}
