"""Test collections in the common academic formats, converted to the BEIR layout synthir reads.

BEIR's own loaders (``beir.datasets.data_loader``) read only the BEIR layout, and ``ir_datasets``
needs the internet and its own registry; so the few formats a user is likely to hold are parsed
here, each reader naming the file and line it cannot read:

* **SMART** (the classic Cornell/Glasgow collections: CISI, Cranfield, CACM, ADI, MED...): one
  file of records opened by ``.I <id>`` with fields ``.T`` (title), ``.W`` (text), ``.A``, ``.B``,
  ``.X``...; queries in the same format; qrels as ``<qid> <docid> [grade ...]`` lines.
* **TREC**: topics as ``<top><num> Number: 401 <title> ... <desc> ...`` (or a ``qid<TAB>text``
  file), qrels as ``<qid> <iteration> <docid> <grade>`` lines, and a corpus as JSONL (id key
  ``_id``/``id``/``docno``/``doc_id``, text key ``text``/``contents``/``body``, optional ``title``),
  TSV (``id<TAB>text`` or ``id<TAB>title<TAB>text``) or TREC SGML (``<DOC><DOCNO>...``).

:func:`import_collection` writes ``corpus.jsonl``, ``queries.jsonl`` (when there are topics) and
``qrels/<split>.tsv``; the fetch job (synthir.retrieval.data) runs the same conversion for a ``path`` data
set in TREC layout, so both routes give the same bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from synthir.core import io
from synthir.core.io import DataFormatError

log = logging.getLogger(__name__)

FORMATS = ("smart", "lisa", "trec")
TOPIC_FIELDS = ("title", "description", "title+description")


@dataclass
class Collection:
    """A test collection in memory: documents ``id -> (title, text)``, queries ``id -> text``,
    judgments as ``(qid, docid, grade)`` lines in file order (duplicates kept: the checks count them)."""

    docs: dict[str, tuple[str, str]] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)
    qrels: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def duplicate_ids(self) -> int:
        """Records dropped for a repeated id (the first is kept), documents and queries."""
        return sum(getattr(x, "duplicates", 0) for x in (self.docs, self.queries))


def _text(handle: IO[str] | Path) -> Iterator[tuple[int, str]]:
    lines = handle.open(encoding="utf-8", errors="replace") if isinstance(handle, Path) else handle
    with lines:
        yield from enumerate(lines, start=1)


class Records(dict[str, object]):
    """Records by id in file order. A repeated id keeps its first record and is counted in
    ``duplicates``, as the fetch of a BEIR folder does (duplicate_ids in meta.json)."""

    duplicates: int = 0

    def add(self, key: str, value: object, where: str) -> None:
        if key in self:
            self.duplicates += 1
            log.warning("%s: duplicate id %r: the first record is kept", where, key)
            return
        self[key] = value


# ------------------------------------------------------------------------------------ SMART

_SMART_FIELD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def read_smart_records(path: Path) -> Iterator[tuple[int, str, dict[str, str]]]:
    """Yield ``(line, id, {field letter: text})`` for every ``.I`` record of a SMART file."""
    rec_id: str | None = None
    start, fields, current = 0, {}, None
    buf: list[str] = []

    def flush() -> None:
        if current is not None:
            fields[current] = " ".join(" ".join(buf).split())

    for lineno, line in _text(path):
        m = _SMART_FIELD.match(line.rstrip("\n"))
        if m and m[1] == "I":
            flush()
            if rec_id is not None:
                yield start, rec_id, fields
            ident = (m[2] or "").strip()
            if not ident:
                raise DataFormatError(f"{path}:{lineno}: '.I' without an id")
            rec_id, start, fields, current, buf = ident, lineno, {}, None, []
        elif m:
            if rec_id is None:
                raise DataFormatError(f"{path}:{lineno}: field .{m[1]} before the first '.I <id>'")
            flush()
            current, buf = m[1], [m[2] or ""]
        elif rec_id is None:
            if line.strip():
                raise DataFormatError(f"{path}:{lineno}: expected '.I <id>' (not a SMART file?)")
        else:
            buf.append(line.strip())
    flush()
    if rec_id is not None:
        yield start, rec_id, fields


def read_smart(paths: list[Path], what: str, out: Records | None = None) -> Records:
    """Documents or queries of SMART files as ``id -> (title, text)``: ``.T`` is the title, ``.W``
    the text; every other field (``.A`` authors, ``.B`` source, ``.K``, ``.N``, ``.X`` citations)
    is read past and dropped."""
    out = Records() if out is None else out
    for path in paths:
        for lineno, rec_id, fields in read_smart_records(path):
            out.add(rec_id, (fields.get("T", ""), fields.get("W", "")), f"{path}:{lineno}")
    if not out:
        raise DataFormatError(f"{', '.join(map(str, paths))}: no '.I' records ({what})")
    return out


def read_judgment_lines(path: Path, columns: tuple[int, int, int | None]) -> list[tuple[str, str, int]]:
    """Whitespace-separated judgment lines: ``columns`` gives the (0-based) qid, docid and grade
    columns (grade None: every listed pair is relevant with grade 1). Non-positive grades are
    kept: they are judged non-relevant, which recall and nDCG treat as such."""
    q, d, g = columns
    need = max(c for c in columns if c is not None) + 1
    out: list[tuple[str, str, int]] = []
    for lineno, line in _text(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < need:
            raise DataFormatError(f"{path}:{lineno}: expected at least {need} whitespace-separated fields, "
                                  f"got {len(parts)}")
        grade = 1
        if g is not None:
            try:
                grade = int(float(parts[g]))
            except ValueError as e:
                raise DataFormatError(f"{path}:{lineno}: grade {parts[g]!r} is not a number") from e
        out.append((parts[q], parts[d], grade))
    if not out:
        raise DataFormatError(f"{path}: no judgments")
    return out


def import_smart(docs: list[Path], queries: Path | None, qrels: Path | None) -> Collection:
    """A SMART collection. Its qrels are ``qid docid`` pairs, every one relevant (grade 1): the
    classic files' later columns are not grades (CISI's are zeros) or use opposite scales
    (Cranfield: 1 is best), so a graded import is a ``trec`` qrels file's job."""
    out = Collection(docs=read_smart(docs, "documents"))
    if queries is not None:
        found = read_smart([queries], "queries")
        out.queries = Records({k: " ".join(p for p in v if p) for k, v in found.items()})
        out.queries.duplicates = found.duplicates
    if qrels is not None:
        out.qrels = read_judgment_lines(qrels, (0, 1, None))
    return out


# ------------------------------------------------------------------------------ LISA (Glasgow)

_LISA_DOC = re.compile(r"^Document\s+(\S+)\s*$")
_LISA_REL = re.compile(r"^Query\s+(\S+)\s*$")


def read_lisa_documents(paths: list[Path]) -> Records:
    """Glasgow's LISA layout: ``Document <id>``, the title up to the first blank line, the
    abstract, and a line of ``*`` closing the record; a collection may span several files."""
    out = Records()
    for path in paths:
        rec: tuple[int, str] | None = None
        lines: list[str] = []
        for lineno, line in _text(path):
            m = _LISA_DOC.match(line.strip())
            if m and rec is None:
                rec, lines = (lineno, m[1]), []
            elif rec is None:
                if line.strip():
                    raise DataFormatError(f"{path}:{lineno}: expected 'Document <id>' (not a LISA file?)")
            elif line.strip() and set(line.strip()) == {"*"}:
                text = "\n".join(lines).strip()
                title, _, body = text.partition("\n\n")
                out.add(rec[1], (" ".join(title.split()), " ".join(body.split())), f"{path}:{rec[0]}")
                rec = None
            else:
                lines.append(line.rstrip("\n"))
        if rec is not None:
            raise DataFormatError(f"{path}:{rec[0]}: document {rec[1]} has no closing line of '*'")
    if not out:
        raise DataFormatError(f"{', '.join(map(str, paths))}: no 'Document <id>' records")
    return out


def read_lisa_queries(path: Path) -> Records:
    """LISA queries: a line with the query's number, its text, ``#`` ending it."""
    out = Records()
    rec: tuple[int, str] | None = None
    words: list[str] = []
    for lineno, line in _text(path):
        text = line.strip()
        if rec is None:
            if not text:
                continue
            if not text.isdigit():
                raise DataFormatError(f"{path}:{lineno}: expected a query number (LISA queries: number, text, '#')")
            rec, words = (lineno, text), []
            continue
        done = text.endswith("#")
        words.append(text.removesuffix("#"))
        if done:
            out.add(rec[1], " ".join(" ".join(words).split()), f"{path}:{rec[0]}")
            rec = None
    if rec is not None:
        raise DataFormatError(f"{path}:{rec[0]}: query {rec[1]} is not ended by '#'")
    if not out:
        raise DataFormatError(f"{path}: no queries")
    return out


def read_lisa_qrels(path: Path) -> list[tuple[str, str, int]]:
    """LISA judgments: ``Query <n>``, ``<k> Relevant Refs:``, then document ids up to ``-1``
    (every listed document relevant, grade 1; ``k`` checked against the ids)."""
    out: list[tuple[str, str, int]] = []
    qid: str | None = None
    expected, ids, start = -1, [], 0
    for lineno, line in _text(path):
        text = line.strip()
        if not text:
            continue
        m = _LISA_REL.match(text)
        if m and qid is None:
            qid, expected, ids, start = m[1], -1, [], lineno
        elif qid is None:
            raise DataFormatError(f"{path}:{lineno}: expected 'Query <n>' (LISA relevance file)")
        elif expected < 0:
            count = re.match(r"^(\d+)\s+Relevant Refs?:?\s*(.*)$", text, re.I)
            if count is None:
                raise DataFormatError(f"{path}:{lineno}: expected '<k> Relevant Refs:' after 'Query {qid}'")
            expected, rest = int(count[1]), count[2]
            text = rest
        if qid is not None and expected >= 0 and text and not _LISA_REL.match(text):
            for token in text.split():
                if token == "-1":
                    if len(ids) != expected:
                        raise DataFormatError(f"{path}:{start}: query {qid} says {expected} relevant refs, "
                                              f"lists {len(ids)}")
                    out += [(qid, d, 1) for d in ids]
                    qid, expected = None, -1
                    break
                ids.append(token)
    if qid is not None:
        raise DataFormatError(f"{path}:{start}: query {qid}'s references are not ended by -1")
    if not out:
        raise DataFormatError(f"{path}: no judgments")
    return out


def import_lisa(docs: list[Path], queries: Path | None, qrels: Path | None) -> Collection:
    out = Collection(docs=read_lisa_documents(docs))
    if queries is not None:
        out.queries = read_lisa_queries(queries)
    if qrels is not None:
        out.qrels = read_lisa_qrels(qrels)
    return out


# ------------------------------------------------------------------------------------- TREC

_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_TAG = re.compile(r"<(num|title|desc|narr)>", re.I)


def read_trec_topics(path: Path, topic_field: str) -> Records:
    """TREC topics (``<top>`` blocks) or a ``qid<TAB>text`` file, as ``qid -> query text``."""
    if topic_field not in TOPIC_FIELDS:
        raise DataFormatError(f"topic field {topic_field!r}: expected one of {', '.join(TOPIC_FIELDS)}")
    raw = path.read_text(encoding="utf-8", errors="replace")
    out = Records()
    blocks = list(_TOP.finditer(raw))
    if not blocks:  # qid<TAB>text (MS MARCO / Anserini style)
        for lineno, line in _text(path):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                raise DataFormatError(f"{path}:{lineno}: expected TREC <top> blocks or 'qid<TAB>text' lines")
            out.add(parts[0].strip(), " ".join(parts[1].split()), f"{path}:{lineno}")
    for block in blocks:
        lineno = raw.count("\n", 0, block.start()) + 1
        fields: dict[str, str] = {}
        pieces = _TAG.split(block[1])
        for tag, value in zip(pieces[1::2], pieces[2::2]):
            fields[tag.lower()] = " ".join(value.split())
        num = re.sub(r"^(Number:)\s*", "", fields.get("num", ""), flags=re.I).strip()
        if not num:
            raise DataFormatError(f"{path}:{lineno}: topic without <num>")
        title = re.sub(r"^Topic:\s*", "", fields.get("title", ""), flags=re.I)
        desc = re.sub(r"^Description:\s*", "", fields.get("desc", ""), flags=re.I)
        text = {"title": title, "description": desc, "title+description": f"{title} {desc}".strip()}[topic_field]
        if not text:
            raise DataFormatError(f"{path}:{lineno}: topic {num} has no {topic_field}")
        out.add(num, text, f"{path}:{lineno}")
    if not out:
        raise DataFormatError(f"{path}: no topics")
    return out


_ID_KEYS = ("_id", "id", "docno", "doc_id", "docid")
_TEXT_KEYS = ("text", "contents", "body")
_DOC = re.compile(r"<DOC>(.*?)</DOC>", re.S | re.I)
_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.S | re.I)
_DOCTAG = re.compile(r"<(HEADLINE|TITLE|TEXT)>(.*?)</\1>", re.S | re.I)


def _first(obj: dict[str, object], keys: tuple[str, ...]) -> object:
    return next((obj[k] for k in keys if k in obj), None)


def read_corpus_file(path: Path, out: Records | None = None) -> Records:
    """A corpus as JSONL, TSV or TREC SGML (by extension: .jsonl, .tsv, anything else SGML)."""
    out = Records() if out is None else out
    if path.suffix == ".jsonl":
        for lineno, obj in io.iter_jsonl(path):
            doc_id, text, title = _first(obj, _ID_KEYS), _first(obj, _TEXT_KEYS), obj.get("title", "")
            if not isinstance(doc_id, str | int) or str(doc_id) == "":
                raise DataFormatError(f"{path}:{lineno}: no document id (one of {', '.join(_ID_KEYS)})")
            if not isinstance(text, str) or not isinstance(title, str):
                raise DataFormatError(f"{path}:{lineno}: no text string (one of {', '.join(_TEXT_KEYS)})")
            out.add(str(doc_id), (title, text), f"{path}:{lineno}")
    elif path.suffix == ".tsv":
        for lineno, line in _text(path):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) not in (2, 3):
                raise DataFormatError(f"{path}:{lineno}: expected 'id<TAB>text' or 'id<TAB>title<TAB>text'")
            title, text = (parts[1], parts[2]) if len(parts) == 3 else ("", parts[1])
            out.add(parts[0].strip(), (title.strip(), text.strip()), f"{path}:{lineno}")
    else:
        raw = path.read_text(encoding="utf-8", errors="replace")
        for block in _DOC.finditer(raw):
            lineno = raw.count("\n", 0, block.start()) + 1
            no = _DOCNO.search(block[1])
            if no is None or not no[1]:
                raise DataFormatError(f"{path}:{lineno}: <DOC> without <DOCNO>")
            tags = {t.upper(): " ".join(v.split()) for t, v in _DOCTAG.findall(block[1])}
            title = tags.get("TITLE") or tags.get("HEADLINE", "")
            out.add(no[1], (title, tags.get("TEXT", "")), f"{path}:{lineno}")
    if not out:
        raise DataFormatError(f"{path}: no documents (JSONL by .jsonl, TSV by .tsv, else TREC <DOC> SGML)")
    return out


def import_trec(corpus: Path | list[Path], topics: Path | None, qrels: Path | None,
                topic_field: str = "title") -> Collection:
    docs = Records()
    for path in [corpus] if isinstance(corpus, Path) else corpus:
        read_corpus_file(path, docs)
    out = Collection(docs=docs)
    if topics is not None:
        out.queries = read_trec_topics(topics, topic_field)
    if qrels is not None:
        out.qrels = read_judgment_lines(qrels, (0, 2, 3))
    return out


# -------------------------------------------------------------------------------- BEIR out


def write_beir(c: Collection, out_dir: Path, split: str) -> dict[str, int]:
    """Write ``c`` in BEIR layout (ids as given, judgments in file order); return its counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    io.write_jsonl(out_dir / "corpus.jsonl", ({"_id": k, "title": t, "text": x} for k, (t, x) in c.docs.items()))
    if c.queries:
        io.write_jsonl(out_dir / "queries.jsonl", ({"_id": k, "text": v} for k, v in c.queries.items()))
    if c.qrels:
        with io.atomic_open(out_dir / "qrels" / f"{split}.tsv") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            f.writelines(f"{q}\t{d}\t{g}\n" for q, d, g in c.qrels)
    return {"documents": len(c.docs), "queries": len(c.queries), "judgments": len(c.qrels)}


def import_collection(fmt: str, docs: list[Path], queries: Path | None, qrels: Path | None, out_dir: Path,
                      split: str = "test", topic_field: str = "title") -> dict[str, object]:
    """Convert a SMART, LISA or TREC collection (its documents in one or several files) into
    ``out_dir`` (BEIR layout). Returns its counts (``duplicate_ids``: records dropped for a
    repeated id, the first kept) and the folder's content digest (what ``sha256`` pins)."""
    if fmt == "smart":
        c = import_smart(docs, queries, qrels)
    elif fmt == "lisa":
        c = import_lisa(docs, queries, qrels)
    elif fmt == "trec":
        c = import_trec(docs, queries, qrels, topic_field)
    else:
        raise DataFormatError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if qrels is not None and queries is None:
        raise DataFormatError(f"{qrels}: judgments need the queries they judge (give the queries file)")
    if not re.fullmatch(r"[a-z]+", split):
        raise DataFormatError(f"split {split!r}: lower-case letters only (it names qrels/<split>.tsv)")
    counts = write_beir(c, out_dir, split)
    return {**counts, "duplicate_ids": c.duplicate_ids, "sha256": io.sha256_tree(out_dir)}


def trec_layout_files(names: list[str]) -> dict[str, str] | None:
    """In a folder or zip (its file names), the TREC-style set a ``path`` data set may point at:
    one ``corpus.jsonl``/``corpus.tsv``/``corpus.trec`` (or ``corpus.sgml``), one ``topics*``
    file and one ``qrels*`` file, beside each other. None when there is no ``topics*`` file."""
    by_stem: dict[str, list[str]] = {}
    for n in names:
        stem = Path(n).name.split(".")[0].lower()
        by_stem.setdefault(stem, []).append(n)
    if "topics" not in by_stem:
        return None
    found = {k: by_stem.get(k, []) for k in ("corpus", "topics", "qrels")}
    bad = {k: v for k, v in found.items() if len(v) != 1}
    if bad:
        detail = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in bad.items())
        raise DataFormatError(f"a TREC-style set needs exactly one corpus.*, topics* and qrels* file ({detail})")
    return {k: v[0] for k, v in found.items()}

