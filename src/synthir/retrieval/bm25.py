"""BM25 over a corpus with bm25s: built once, searched many times (evaluation, negative mining,
retrieval inside generation). Its own module so generation jobs do not depend on evaluate.py."""

from __future__ import annotations

from typing import Any

from synthir.core.config import BM25Settings
from synthir.core.io import Document, Run


class BM25Index:
    """A bm25s index of a corpus, built once and searched many times (generation filters and
    retrieval-augmented strategies search it chunk by chunk)."""

    def __init__(self, cfg: BM25Settings, corpus: dict[str, Document]) -> None:
        import bm25s

        self.cfg = cfg
        self.stemmer = None
        if cfg.stemmer:
            import Stemmer

            self.stemmer = Stemmer.Stemmer(cfg.stemmer)
        self.doc_ids = list(corpus)
        self.retriever = bm25s.BM25(k1=cfg.k1, b=cfg.b)
        self.retriever.index(self._tokenize([corpus[d].full_text() for d in self.doc_ids]), show_progress=False)

    def _tokenize(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords=self.cfg.stopwords, stemmer=self.stemmer, show_progress=False)

    def search(self, queries: dict[str, str], top_k: int) -> Run:
        """Top ``top_k`` passages (score > 0) for each ``{query id: text}``."""
        if not queries:
            return {}
        q_ids = list(queries)
        idx, scores = self.retriever.retrieve(self._tokenize([queries[q] for q in q_ids]),
                                              k=min(top_k, len(self.doc_ids)), show_progress=False, n_threads=1)
        return {
            q: {self.doc_ids[j]: float(s) for j, s in zip(idx[i], scores[i]) if s > 0}
            for i, q in enumerate(q_ids)
        }
