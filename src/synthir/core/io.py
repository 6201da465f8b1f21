"""All file reading and writing of synthir: BEIR collections, TREC runs, sidecars, atomic writes.

Readers validate as they go and raise :class:`DataFormatError` naming the file and line, so a
malformed input fails at the line that is wrong instead of deep inside a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from synthir.core.errors import UserError

#: BEIR / ranx shapes: query id -> doc id -> graded relevance, and query id -> doc id -> score.
Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


class Document(NamedTuple):
    id: str
    title: str
    text: str

    def full_text(self) -> str:
        """Title and text joined the way BEIR's dense and sparse baselines join them."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


class Query(NamedTuple):
    id: str
    text: str


class DataFormatError(UserError, ValueError):
    """An input file is malformed; the message names the file and line."""


# --------------------------------------------------------------------------- atomic writes


def _file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less the process's umask (which can
    only be read by setting it, so it is set back at once)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[Any]:
    """Open a temporary file beside ``path`` and rename it into place only on success.

    A crash leaves either the old file or no file, never half of one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes it 0600: give it the mode open() would
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as stable, indented JSON (sorted keys), atomically."""
    with atomic_open(path) as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def json_reason(e: json.JSONDecodeError) -> str:
    """Python's whole reason without its line (the caller names the line): ``e.msg`` alone stops
    at "Invalid control character at"."""
    return f"{e.msg.removesuffix(' at')} at column {e.colno} (char {e.pos})"


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataFormatError(f"{path}:{e.lineno}: invalid JSON: {json_reason(e)}") from e


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object a line, atomically; return the number of lines."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line; bad JSON names file and line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(f"{path}:{lineno}: invalid JSON: {json_reason(e)}") from e
            if not isinstance(obj, dict):
                raise DataFormatError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, obj


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_jsonl(path)]


# --------------------------------------------------------------------------- hashing


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def md5_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


#: Files a directory's digest leaves out: its own sidecar (written after the digest), its
#: record (synthir.core.provenance.RECORD), the marker Snakemake drops into directory outputs, and
#: per-response timings (COSTS below), which differ between runs that produce
#: identical data. ``.dvcignore`` leaves the volatile ones out of DVC's hashes likewise.
TREE_IGNORED = frozenset({"meta.json", "record.json", ".snakemake_timestamp", "costs.jsonl"})


def sha256_tree(path: str | os.PathLike[str]) -> str:
    """Digest of a file, or of a directory: sha256 over sorted (relative path, file sha256)
    pairs, leaving out the top-level files in :data:`TREE_IGNORED`."""
    root = Path(path)
    if root.is_file():
        return sha256_file(root)
    h = hashlib.sha256()
    files = (p for p in root.rglob("*") if p.is_file())
    for file in sorted(f for f in files if not (f.parent == root and f.name in TREE_IGNORED)):
        rel = file.relative_to(root).as_posix()
        h.update(f"{rel}\0{sha256_file(file)}\n".encode())
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Digest of a JSON-serialisable value in canonical form (sorted keys, no spaces)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- BEIR layout


def read_corpus(path: str | os.PathLike[str]) -> dict[str, Document]:
    """Read a BEIR ``corpus.jsonl`` (``_id``, ``title``, ``text``)."""
    corpus: dict[str, Document] = {}
    for lineno, obj in iter_jsonl(path):
        doc_id = obj.get("_id")
        if not isinstance(doc_id, str | int) or str(doc_id) == "":
            raise DataFormatError(f"{path}:{lineno}: missing or empty '_id'")
        text, title = obj.get("text", ""), obj.get("title", "")
        if not isinstance(text, str) or not isinstance(title, str):
            raise DataFormatError(f"{path}:{lineno}: 'text' and 'title' must be strings")
        doc_id = str(doc_id)
        if doc_id in corpus:
            raise DataFormatError(f"{path}:{lineno}: duplicate document id {doc_id!r}")
        corpus[doc_id] = Document(doc_id, title.strip(), text.strip())
    if not corpus:
        raise DataFormatError(f"{path}: the corpus is empty")
    return corpus


def read_queries(path: str | os.PathLike[str]) -> dict[str, Query]:
    """Read a BEIR ``queries.jsonl`` (``_id``, ``text``)."""
    queries: dict[str, Query] = {}
    for lineno, obj in iter_jsonl(path):
        qid, text = obj.get("_id"), obj.get("text")
        if not isinstance(qid, str | int) or str(qid) == "":
            raise DataFormatError(f"{path}:{lineno}: missing or empty '_id'")
        if not isinstance(text, str):
            raise DataFormatError(f"{path}:{lineno}: 'text' must be a string")
        if str(qid) in queries:
            raise DataFormatError(f"{path}:{lineno}: duplicate query id {qid!r}")
        queries[str(qid)] = Query(str(qid), text.strip())
    if not queries:
        raise DataFormatError(f"{path}: no queries")
    return queries


def read_qrels(path: str | os.PathLike[str]) -> Qrels:
    """Read a BEIR qrels TSV (``query-id<TAB>corpus-id<TAB>score``, header line optional)."""
    qrels: Qrels = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if lineno == 1 and fields[0] == "query-id":
                continue
            if len(fields) != 3:
                raise DataFormatError(
                    f"{path}:{lineno}: expected 3 tab-separated fields, got {len(fields)}"
                )
            qid, did, score = fields
            try:
                grade = int(float(score))
            except ValueError as e:
                raise DataFormatError(f"{path}:{lineno}: score {score!r} is not a number") from e
            qrels.setdefault(qid, {})[did] = grade
    if not qrels:
        raise DataFormatError(f"{path}: no judgments")
    return qrels


def read_split(dataset_dir: str | os.PathLike[str], split: str) -> Qrels:
    """The qrels of ``split`` of a collection in BEIR layout; a missing split names the ones there."""
    path = Path(dataset_dir) / "qrels" / f"{split}.tsv"
    if not path.is_file():
        found = sorted(p.stem for p in (Path(dataset_dir) / "qrels").glob("*.tsv"))
        raise DataFormatError(f"{path}: no split {split!r} in this collection (found: {', '.join(found) or 'none'})")
    return read_qrels(path)


# --------------------------------------------------------------------------- pools

#: Per-response generation time, beside a pool's shards: timings differ between machines and
#: runs, the shards (the synthetic data) must not (TREE_IGNORED and .dvcignore leave it out).
COSTS = "costs.jsonl"


def write_shards(records: list[dict[str, Any]], out_dir: Path, shard_size: int,
                 extra: dict[str, list[dict[str, Any]]] | None = None) -> list[str]:
    """Write ``records`` as ``shard~NNNN.jsonl`` files of ``shard_size`` lines (and ``extra``
    files, name -> rows) into a new directory that replaces ``out_dir`` in one rename: a
    killed job leaves the old pool or none, never some of the shards."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        names = []
        for i in range(0, max(1, len(records)), shard_size):
            name = f"shard~{i // shard_size:04d}.jsonl"
            write_jsonl(staging / name, records[i : i + shard_size])
            names.append(name)
        for name, rows in (extra or {}).items():
            write_jsonl(staging / name, rows)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return names


def read_pool(pool_dir: Path) -> Iterator[dict[str, Any]]:
    """Records of a pool in generation order."""
    shards = sorted(pool_dir.glob("shard~*.jsonl"))
    if not shards:
        raise DataFormatError(f"{pool_dir}: no shard~*.jsonl files")
    for shard in shards:
        for _, rec in iter_jsonl(shard):
            yield rec


# --------------------------------------------------------------------------- TREC runs


def write_trec_run(path: str | os.PathLike[str], run: Run, tag: str) -> None:
    """Write a TREC run file (``qid Q0 docid rank score tag``), ranks from 1, ties by doc id."""
    with atomic_open(path) as f:
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (did, score) in enumerate(ranked, start=1):
                f.write(f"{qid} Q0 {did} {rank} {score:.6f} {tag}\n")


def read_trec_run(path: str | os.PathLike[str]) -> Run:
    run: Run = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 6:
                raise DataFormatError(f"{path}:{lineno}: expected 6 fields in a TREC run line")
            qid, _, did, _, score, _ = fields
            run.setdefault(qid, {})[did] = float(score)
    return run
