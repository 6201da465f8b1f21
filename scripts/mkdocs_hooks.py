"""MkDocs hook (mkdocs.yml `hooks:`): before every build, rewrite the pages that are written from
the code and the committed reports (synthir.workflow.docs), so that `mkdocs build` or `mkdocs
serve` shows a changed schema description, CLI option or strategy trait without anyone editing
a page. Only stale pages are written; the default suite fails while a committed one is stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_pre_build(config: Any, **kwargs: Any) -> None:
    from synthir.workflow import docs

    docs.write(Path(config["config_file_path"]).resolve().parent)
