"""Fetching BEIR-format collections from the offline mirror or their official URL."""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from synthir.core import io

from synthir.retrieval import formats
from synthir.core.config import DataChecks, FetchConfig, FetchSource
from synthir.core.errors import UserError
from synthir.core.io import Qrels
from synthir.core.provenance import Artifact

log = logging.getLogger(__name__)


class FetchError(UserError, RuntimeError):
    """The data set could not be fetched or failed its checksum."""


def _mirror_checksums(mirror: Path) -> dict[str, str]:
    sums = mirror / "SHA256SUMS"
    if not sums.is_file():
        raise FetchError(f"{sums}: the mirror has no SHA256SUMS file")
    out: dict[str, str] = {}
    for lineno, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise FetchError(f"{sums}:{lineno}: expected '<sha256>  <file>'")
        out[parts[1].lstrip("*")] = parts[0]
    return out


def _verify(file: Path, name: str, src: FetchSource, listed: str | None, listed_where: str) -> None:
    actual = io.sha256_tree(file)
    for expected, where in ((src.sha256, f"datasets.{name}.sha256"), (listed, listed_where)):
        if expected is not None and actual != expected:
            raise FetchError(f"{file}: sha256 {actual} != {expected} from {where}")


def locate_source(name: str, src: FetchSource, download_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the verified zip or folder of data set ``name`` and where it was found (a record).
    A folder's digest is :func:`synthir.core.io.sha256_tree` (what ``import-collection`` prints)."""
    if src.path is not None:
        found = Path(src.path)
        if not found.exists():
            raise FetchError(f"{found}: no such file or folder (datasets.{name}.path)")
        if found.is_file() and not zipfile.is_zipfile(found):
            raise FetchError(f"{found}: not a zip archive or a folder (datasets.{name}.path)")
        _verify(found, name, src, None, "")
        return found, {"kind": "path", "path": src.path}
    if src.mirror is not None and src.mirror_file is not None:
        mirror = Path(src.mirror)
        archive = mirror / src.mirror_file
        if not archive.is_file():
            raise FetchError(f"{archive}: not in the mirror (datasets.{name}.mirror_file)")
        listed = _mirror_checksums(mirror).get(src.mirror_file) if (mirror / "SHA256SUMS").is_file() else None
        if listed is None and src.sha256 is None:
            raise FetchError(f"{archive}: neither datasets.{name}.sha256 nor {mirror}/SHA256SUMS gives its checksum")
        _verify(archive, name, src, listed, f"{mirror}/SHA256SUMS")
        return archive, {"kind": "mirror", "mirror": str(mirror), "file": src.mirror_file}
    if src.url is None:
        raise FetchError(f"datasets.{name}: no path, no mirror file and no official URL")
    archive = download_dir / PurePosixPath(src.url).name
    if not archive.is_file():
        _download(src.url, archive)
    md5 = io.md5_file(archive)
    if src.md5 is not None and md5 != src.md5:
        archive.unlink()
        raise FetchError(f"{src.url}: md5 {md5} != published {src.md5}; the download was removed")
    if src.sha256 is not None and io.sha256_file(archive) != src.sha256:
        archive.unlink()
        raise FetchError(f"{src.url}: sha256 differs from datasets.{name}.sha256; the download was removed")
    return archive, {"kind": "url", "url": src.url}


def _download(url: str, dest: Path) -> None:
    import requests

    log.info("downloading %s", url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(url, stream=True, timeout=60) as r:
        r.raise_for_status()
        with io.atomic_open(dest, "wb") as f:
            for block in r.iter_content(1 << 20):
                f.write(block)


class Members:
    """The files of a zip archive or a folder, by relative POSIX name (one reader for both)."""

    def __init__(self, source: Path) -> None:
        self.source = source
        if source.is_dir():
            self.names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
        else:
            with zipfile.ZipFile(source) as z:
                self.names = sorted(m.filename for m in z.infolist() if not m.is_dir())

    def label(self, name: str) -> str:
        """How an error names a member: ``archive.zip!inner/file`` or the folder's file."""
        return str(self.source / name) if self.source.is_dir() else f"{self.source}!{name}"

    def copy(self, name: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.source.is_dir():
            shutil.copyfile(self.source / name, target)
            return
        with zipfile.ZipFile(self.source) as z, z.open(name) as src, io.atomic_open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)


def beir_root(names: list[str], where: Path) -> str:
    """The folder that holds ``corpus.jsonl`` (BEIR layout, any folder name)."""
    roots = sorted({str(PurePosixPath(m).parent) for m in names if PurePosixPath(m).name == "corpus.jsonl"})
    if len(roots) != 1:
        found = ", ".join(roots) or "none"
        raise FetchError(f"{where}: expected one folder with corpus.jsonl (BEIR layout), found {found}")
    return roots[0]


def extract(source: Path, out_dir: Path, member: str | None = None) -> dict[str, str]:
    """Copy a BEIR collection (``corpus.jsonl``, optional ``queries.jsonl`` and ``qrels/*.tsv``)
    from a zip or folder into ``out_dir``, or convert a TREC-style set (synthir.retrieval.formats) into it;
    ``member`` names the one corpus file to take from an archive of several (BEIR format).
    Returns, for each file written, how an error should name its origin."""
    members = Members(source)
    if member is not None:  # one corpus of several in the archive: it is the corpus, alone
        if member not in members.names:
            raise FetchError(f"{members.label(member)}: not in the archive (datasets.<name>.member)")
        members.copy(member, out_dir / "corpus.jsonl")
        return {"corpus.jsonl": members.label(member)}
    trec = formats.trec_layout_files(members.names)
    if trec is not None:
        raw = out_dir.parent / "trec"
        for name in trec.values():
            members.copy(name, raw / PurePosixPath(name).name)
        local = {k: raw / PurePosixPath(v).name for k, v in trec.items()}
        try:
            formats.write_beir(formats.import_trec(local["corpus"], local["topics"], local["qrels"]), out_dir, "test")
        except io.DataFormatError as e:  # name the file in the user's folder or zip
            raise io.DataFormatError(_relabel(str(e), {str(local[k]): members.label(v) for k, v in trec.items()})) from e
        return {"corpus.jsonl": members.label(trec["corpus"]), "queries.jsonl": members.label(trec["topics"]),
                "qrels/test.tsv": members.label(trec["qrels"])}
    root = beir_root(members.names, source)
    prefix = "" if root == "." else f"{root}/"
    if any(m.startswith(f"{prefix}qrels/") for m in members.names) and f"{prefix}queries.jsonl" not in members.names:
        raise FetchError(f"{members.label(prefix + 'queries.jsonl')}: missing, but qrels/ judges queries")
    wanted = [m for m in members.names if m in (f"{prefix}corpus.jsonl", f"{prefix}queries.jsonl")
              or (m.startswith(f"{prefix}qrels/") and m.endswith(".tsv"))]
    origin = {}
    for m in wanted:
        rel = PurePosixPath(m).relative_to(root).as_posix()
        members.copy(m, out_dir / rel)
        origin[rel] = members.label(m)
    return origin


def _relabel(message: str, names: dict[str, str]) -> str:
    for local, shown in names.items():
        message = message.replace(local, shown)
    return message


QUIRKS = ("duplicate_ids", "duplicate_judgments", "empty_texts")


def _dedup_jsonl(path: Path) -> tuple[int, int]:
    """Drop later lines whose ``_id`` was seen before (rewriting the file only if any); return
    (duplicates, empty texts). Malformed lines are errors that name ``label`` and the line."""
    seen: set[str] = set()
    keep: list[str] = []
    dups = empty = 0
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for lineno, obj in io.iter_jsonl(path):  # the same line numbers: iter_jsonl skips blanks only
        key = str(obj.get("_id"))
        if key in seen:
            dups += 1
            continue
        seen.add(key)
        keep.append(lines[lineno - 1])
        empty += not f"{obj.get('title') or ''}{obj.get('text') or ''}".strip()
    if dups:
        with io.atomic_open(path) as out:
            out.writelines(keep)
    return dups, empty


def _qrels_lines(path: Path) -> list[tuple[str, str]]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if line.strip() and not (lineno == 1 and fields[0] == "query-id") and len(fields) == 3:
                pairs.append((fields[0], fields[1]))
    return pairs


def check_collection(out_dir: Path, origin: dict[str, str], checks: DataChecks, splits: list[str]) -> dict[str, Any]:
    """Count what makes numbers wrong, fix what is safe to fix, stop on what is not.

    Judgments naming a query or document the collection does not hold (a column mix-up, the wrong
    corpus) fail the fetch above ``checks.max_missing_fraction`` of a split, naming the file, the
    count and three examples: left alone they score as misses and every metric is quietly ~0.
    Duplicate ids (the first line is kept), duplicate judgments (readers keep the last) and
    empty texts are counted, and fail only when listed in ``checks.fail_on``. A split the study
    reads (``splits``) must exist."""
    counts: dict[str, Any] = {"duplicate_ids": 0, "duplicate_judgments": 0, "empty_texts": 0}
    ids: dict[str, set[str]] = {}
    for name in ("corpus.jsonl", "queries.jsonl"):
        path = out_dir / name
        if not path.is_file():
            ids[name] = set()
            continue
        try:
            dups, empty = _dedup_jsonl(path)
        except io.DataFormatError as e:
            raise io.DataFormatError(_relabel(str(e), {str(path): origin[name]})) from e
        counts["duplicate_ids"] += dups
        counts["empty_texts"] += empty
        counts[f"{name.split('.')[0]}_duplicate_ids"] = dups
        ids[name] = {str(o.get("_id")) for _, o in io.iter_jsonl(path)}
    if not ids["corpus.jsonl"]:
        raise io.DataFormatError(f"{origin['corpus.jsonl']}: the corpus is empty")
    found = sorted(p.stem for p in (out_dir / "qrels").glob("*.tsv"))
    for split in splits:
        if split not in found:
            shown = origin[f"qrels/{found[0]}.tsv"].rsplit("/", 1)[0] if found else origin["corpus.jsonl"]
            raise FetchError(f"{shown}: the study reads qrels split {split!r}, which this collection lacks "
                             f"(splits: {', '.join(found) or 'none'}; see datasets.<name>.eval_split/train_split)")
    for split in found:
        label = origin[f"qrels/{split}.tsv"]
        pairs = _qrels_lines(out_dir / "qrels" / f"{split}.tsv")
        counts["duplicate_judgments"] += len(pairs) - len(set(pairs))
        for side, column, known in (("document", 1, ids["corpus.jsonl"]), ("query", 0, ids["queries.jsonl"])):
            missing = [p[column] for p in pairs if p[column] not in known]
            if pairs and len(missing) / len(pairs) > checks.max_missing_fraction:
                examples = ", ".join(repr(m) for m in list(dict.fromkeys(missing))[:3])
                raise FetchError(
                    f"{label}: {len(missing)} of {len(pairs)} judgments ({len(missing) / len(pairs):.1%}) name a "
                    f"{side} id that is not in the collection, e.g. {examples} (tolerance: "
                    f"data_checks.max_missing_fraction {checks.max_missing_fraction}). A column mix-up, or "
                    f"the qrels of another corpus? Every metric would silently read ~0.")
    failing = [q for q in checks.fail_on if counts[q]]
    if failing:
        raise FetchError(f"{origin['corpus.jsonl']}: " + ", ".join(f"{counts[q]} {q.replace('_', ' ')}" for q in failing)
                         + " (data_checks.fail_on)")
    return counts


def collection_stats(out_dir: Path) -> dict[str, Any]:
    """Parse (and so validate) every file; count the quirks that evaluation must handle."""
    corpus = io.read_corpus(out_dir / "corpus.jsonl")
    has_queries = (out_dir / "queries.jsonl").is_file()
    queries = io.read_queries(out_dir / "queries.jsonl") if has_queries else {}
    splits: dict[str, Any] = {}
    any_judged: set[str] = set()
    for tsv in sorted((out_dir / "qrels").glob("*.tsv")):
        qrels: Qrels = io.read_qrels(tsv)
        judged = {q for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
        any_judged |= judged
        splits[tsv.stem] = {
            "judged_queries": len(judged),
            "judgments": sum(len(d) for d in qrels.values()),
            "max_grade": max(g for d in qrels.values() for g in d.values()),
            "queries_not_in_queries_file": len(set(qrels) - set(queries)),
            "docs_not_in_corpus": len({d for v in qrels.values() for d in v} - set(corpus)),
            "query_ids_also_doc_ids": len(set(qrels) & set(corpus)),
        }
    return {
        "documents": len(corpus),
        "empty_documents": sum(1 for d in corpus.values() if not d.full_text()),
        "queries": len(queries),
        "queries_without_judgments": len(set(queries) - any_judged),
        "splits": splits,
    }


def fetch_dataset(cfg: FetchConfig, out_dir: Path, download_dir: Path, record: dict[str, Any]) -> Artifact:
    """Fetch, verify, extract, check and validate one collection into ``out_dir``; ``record``
    says where it is found, what it must match and which splits are read (a FetchSource:
    recorded, not identity). Everything happens in a staging folder beside ``out_dir``, which
    replaces the earlier copy only once every check has passed."""
    from synthir.core.config import from_json

    src = from_json(FetchSource, record, "fetch-dataset --record")
    source, where = locate_source(cfg.dataset, src, download_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging = Path(tmp) / "staging"
        origin = extract(source, staging, src.member)
        quirks = check_collection(staging, origin, src.checks, src.splits)
        try:
            stats = collection_stats(staging)
        except io.DataFormatError as e:  # name the file in the archive or folder, not the copy
            raise io.DataFormatError(_relabel(str(e), {str(staging / k): v for k, v in origin.items()})) from e
        _swap(staging, out_dir)
    files = {p.relative_to(out_dir).as_posix(): p for p in sorted(out_dir.rglob("*"))
             if p.is_file() and p.name not in io.TREE_IGNORED}
    return Artifact(kind="dataset", meta=out_dir / "meta.json", outputs=files,
                    facts={"source": {"sha256": io.sha256_tree(source)}, "stats": {**stats, "checks": quirks}},
                    recorded={"found": where})


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace the collection files of ``out_dir`` by ``staging``'s (sidecars are rewritten
    after); files of the old copy that the new one lacks (a split dropped) go too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in ("corpus.jsonl", "queries.jsonl", "qrels"):
        target = out_dir / old
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for item in staging.iterdir():
        shutil.move(str(item), out_dir / item.name)
