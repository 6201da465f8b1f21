"""Fetching BEIR-format collections from the offline mirror or their official URL."""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from synthir import io
from synthir.config import FetchConfig, FetchSource
from synthir.errors import UserError
from synthir.io import Qrels
from synthir.provenance import Artifact

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


def locate_archive(name: str, src: FetchSource, download_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the verified zip of data set ``name`` and where it was found (a record)."""
    if src.mirror is not None and src.mirror_file is not None:
        mirror = Path(src.mirror)
        archive = mirror / src.mirror_file
        if not archive.is_file():
            raise FetchError(f"{archive}: not in the mirror (datasets.{name}.mirror_file)")
        listed = _mirror_checksums(mirror).get(src.mirror_file) if (mirror / "SHA256SUMS").is_file() else None
        if listed is None and src.sha256 is None:
            raise FetchError(f"{archive}: neither datasets.{name}.sha256 nor {mirror}/SHA256SUMS gives its checksum")
        actual = io.sha256_file(archive)
        for expected, where in ((src.sha256, f"datasets.{name}.sha256"), (listed, f"{mirror}/SHA256SUMS")):
            if expected is not None and actual != expected:
                raise FetchError(f"{archive}: sha256 {actual} != {expected} from {where}")
        return archive, {"kind": "mirror", "mirror": str(mirror), "file": src.mirror_file}
    if src.url is None:
        raise FetchError(f"datasets.{name}: no mirror configured and no official URL")
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


def beir_root(names: list[str], archive: Path) -> str:
    """The folder of the archive that holds ``corpus.jsonl`` (BEIR layout, any folder name)."""
    roots = sorted({str(PurePosixPath(m).parent) for m in names if PurePosixPath(m).name == "corpus.jsonl"})
    if len(roots) != 1:
        found = ", ".join(roots) or "none"
        raise FetchError(f"{archive}: expected one folder with corpus.jsonl (BEIR layout), found {found}")
    return roots[0]


def extract_beir(archive: Path, out_dir: Path) -> None:
    """Copy ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/*.tsv`` of the archive's BEIR folder."""
    with zipfile.ZipFile(archive) as z:
        members = {m.filename: m for m in z.infolist() if not m.is_dir()}
        root = beir_root(list(members), archive)
        prefix = "" if root == "." else f"{root}/"
        wanted = [f"{prefix}corpus.jsonl", f"{prefix}queries.jsonl"]
        for m in wanted:
            if m not in members:
                raise FetchError(f"{archive}: missing {m} (not a BEIR-layout archive)")
        qrels = [m for m in members if m.startswith(f"{prefix}qrels/") and m.endswith(".tsv")]
        if not qrels:
            raise FetchError(f"{archive}: no {prefix}qrels/*.tsv")
        for m in wanted + qrels:
            target = out_dir / PurePosixPath(m).relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(members[m]) as src, io.atomic_open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def collection_stats(out_dir: Path) -> dict[str, Any]:
    """Parse (and so validate) every file; count the quirks that evaluation must handle."""
    corpus = io.read_corpus(out_dir / "corpus.jsonl")
    queries = io.read_queries(out_dir / "queries.jsonl")
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
    """Fetch, verify, extract and validate one collection into ``out_dir``; ``record`` says
    where it is found and what it must match (a FetchSource: recorded, not identity)."""
    from synthir.config import from_json

    src = from_json(FetchSource, record, "fetch-dataset --record")
    archive, where = locate_archive(cfg.dataset, src, download_dir)
    with tempfile.TemporaryDirectory(dir=out_dir.parent if out_dir.parent.exists() else None) as tmp:
        staging = Path(tmp) / "staging"
        extract_beir(archive, staging)
        try:
            stats = collection_stats(staging)
        except io.DataFormatError as e:
            # Name the file inside the archive, not the temporary copy.
            raise io.DataFormatError(f"{archive}!{str(e).split('staging/', 1)[-1]}") from e
        out_dir.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            dest = out_dir / item.name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            shutil.move(str(item), dest)
    files = {p.relative_to(out_dir).as_posix(): p for p in sorted(out_dir.rglob("*"))
             if p.is_file() and p.name not in io.TREE_IGNORED}
    return Artifact(kind="dataset", meta=out_dir / "meta.json", outputs=files,
                    facts={"source": {"sha256": io.sha256_file(archive)}, "stats": stats}, recorded={"found": where})
