"""Fetching BEIR-format collections from the offline mirror or their official URL."""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from synthir import io
from synthir.config import DatasetConfig, FetchConfig
from synthir.io import Qrels

log = logging.getLogger(__name__)


class FetchError(RuntimeError):
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


def locate_archive(cfg: FetchConfig, download_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the verified zip of ``cfg.dataset`` and the provenance of where it came from."""
    ds = cfg.dataset
    if cfg.mirror is not None and ds.mirror_file is not None:
        mirror = Path(cfg.mirror)
        archive = mirror / ds.mirror_file
        if not archive.is_file():
            raise FetchError(f"{archive}: not in the mirror (datasets.{ds.name}.mirror_file)")
        expected = _mirror_checksums(mirror).get(ds.mirror_file)
        if expected is None:
            raise FetchError(f"{mirror}/SHA256SUMS lists no checksum for {ds.mirror_file}")
        actual = io.sha256_file(archive)
        if actual != expected:
            raise FetchError(f"{archive}: sha256 {actual} != {expected} from SHA256SUMS")
        return archive, {
            "kind": "mirror", "mirror": str(mirror), "file": ds.mirror_file,
            "sha256": actual, "official_url": ds.url,
        }
    if ds.url is None:
        raise FetchError(f"datasets.{ds.name}: no mirror configured and no official URL")
    archive = download_dir / PurePosixPath(ds.url).name
    if not archive.is_file():
        _download(ds.url, archive)
    md5 = io.md5_file(archive)
    if ds.md5 is not None and md5 != ds.md5:
        archive.unlink()
        raise FetchError(f"{ds.url}: md5 {md5} != published {ds.md5}; the download was removed")
    return archive, {"kind": "url", "url": ds.url, "md5": md5, "sha256": io.sha256_file(archive)}


def _download(url: str, dest: Path) -> None:
    import requests

    log.info("downloading %s", url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(url, stream=True, timeout=60) as r:
        r.raise_for_status()
        with io.atomic_open(dest, "wb") as f:
            for block in r.iter_content(1 << 20):
                f.write(block)


def extract_beir(archive: Path, name: str, out_dir: Path) -> None:
    """Copy ``<name>/corpus.jsonl``, ``queries.jsonl`` and ``qrels/*.tsv`` out of the zip."""
    with zipfile.ZipFile(archive) as z:
        members = {m.filename: m for m in z.infolist() if not m.is_dir()}
        wanted = [f"{name}/corpus.jsonl", f"{name}/queries.jsonl"]
        for m in wanted:
            if m not in members:
                raise FetchError(f"{archive}: missing {m} (not a BEIR-layout archive for {name!r})")
        qrels = [m for m in members if m.startswith(f"{name}/qrels/") and m.endswith(".tsv")]
        if not qrels:
            raise FetchError(f"{archive}: no {name}/qrels/*.tsv")
        for m in wanted + qrels:
            target = out_dir / PurePosixPath(m).relative_to(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(members[m]) as src, io.atomic_open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def collection_stats(out_dir: Path, ds: DatasetConfig) -> dict[str, Any]:
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
    for split in (ds.eval_split, ds.train_split):
        if split is not None and split not in splits:
            raise FetchError(
                f"datasets.{ds.name}: split {split!r} has no qrels/{split}.tsv "
                f"(found: {', '.join(splits) or 'none'})"
            )
    return {
        "documents": len(corpus),
        "empty_documents": sum(1 for d in corpus.values() if not d.full_text()),
        "queries": len(queries),
        "queries_without_judgments": len(set(queries) - any_judged),
        "splits": splits,
    }


def fetch_dataset(cfg: FetchConfig, out_dir: Path, download_dir: Path) -> dict[str, Any]:
    """Fetch, verify, extract and validate one collection into ``out_dir``; return its stats."""
    archive, source = locate_archive(cfg, download_dir)
    with tempfile.TemporaryDirectory(dir=out_dir.parent if out_dir.parent.exists() else None) as tmp:
        staging = Path(tmp) / "staging"
        extract_beir(archive, cfg.dataset.name, staging)
        try:
            stats = collection_stats(staging, cfg.dataset)
        except io.DataFormatError as e:
            # Name the file inside the archive, not the temporary copy.
            raise io.DataFormatError(f"{archive}!{cfg.dataset.name}/{str(e).split('staging/', 1)[-1]}") from e
        out_dir.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            dest = out_dir / item.name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            shutil.move(str(item), dest)
    return {"source": source, "stats": stats}
