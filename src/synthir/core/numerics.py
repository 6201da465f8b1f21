"""Numerics modes: which kernels a job computes with, and what of that is its identity.

The same job on two CPUs of one architecture gives other floats when the libraries pick their
kernels by CPU feature at load time: torch's ATen kernels (AVX2 / AVX-512 builds), oneDNN's JIT
(AVX2 / AVX-512 / AMX), MKL's GEMM (a code path per ISA *and vendor*), numpy's SIMD loops and
the two OpenBLAS builds (numpy's, FAISS's), FAISS's own SIMD level. Each was found by encoding
passages, training and generating under one cap at a time (docs/concepts/numerics.md).

``portable``
    Every dispatch is pinned before the library loads to a code path any x86-64 CPU with AVX2
    and FMA (x86-64-v3) runs alike, and every dtype computes in float32 (bfloat16 kernels are
    CPU-specific: AMX, AVX512-BF16, or a slow emulation). MKL is pinned to its ``COMPATIBLE``
    branch: Intel documents it as the one branch with equal results on Intel and non-Intel
    CPUs (oneMKL developer guide, "Getting started with conditional numerical
    reproducibility"; its ``AVX2`` branch falls back to ``AUTO`` on AMD, which this project
    measured). The identity names ``x86-64-v3``: the same bytes on any such CPU.
``native``
    The CPU's fastest kernels (bf16 where configured, AMX); the identity names the CPU class
    the kernels dispatch to (vendor and ISA level, :func:`native_platform`), so a build on
    another class is another build, never a silent "modified".
``cuda`` (device)
    The identity names the GPU model; with deterministic algorithms two runs on one model give
    the same bytes, other models do not (cuBLAS picks kernels per architecture).

Pure functions of ``/proc/cpuinfo`` and the environment; :func:`pin` is the one place that sets
the environment, called by the job adapter before any numeric library is imported.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Mapping
from typing import Any

from synthir.core.errors import UserError

MODES = ("portable", "native")
#: The FAISS SIMD level a process is pinned to (read by :func:`faiss_module`).
FAISS_LEVEL_ENV = "SYNTHIR_FAISS_SIMD_LEVEL"
#: The identity of a portable build: the x86-64 psABI level every pinned kernel runs on.
PORTABLE = "x86-64-v3"

#: Environment that pins each library's dispatch (set before it loads). Each entry changed the
#: bytes of an encoding, a training step or generated tokens on a CPU with AVX-512 when left out.
PORTABLE_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels: layer norm, softmax, optimizers, RNG
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN JIT: GELU in float32, every bf16 op
    "MKL_CBWR": "COMPATIBLE,STRICT",  # MKL sgemm: the vendor-independent branch, strict CNR
    # numpy's dispatched SIMD loops above x86-64-v3 (numpy 2.4 dispatches X86_V3, X86_V4,
    # AVX512_ICL, AVX512_SPR; naming a feature it does not dispatch only warns)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's and FAISS's OpenBLAS: the AVX2 kernels
    # FAISS 1.15 is one library that dispatches at run time (its FAISS_OPT_LEVEL picks among
    # libraries it no longer ships): :func:`faiss_module` applies this level after import
    FAISS_LEVEL_ENV: "AVX2",
}

#: The environment that makes this CPU dispatch as a CPU without AVX-512 or AMX does, every
#: library capped from outside (MKL on Intel's AVX2 branch, not the COMPATIBLE one :func:`pin`
#: sets): what the tests build under to show a portable build does not depend on the CPU.
AVX2_ONLY_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell",
    FAISS_LEVEL_ENV: "AVX2",
}

#: ISA levels that change which kernels run, lowest first.
ISA_LEVELS = ("avx2", "avx512", "avx512_bf16", "amx")
#: What an environment cap lowers the level to (a user may cap a native build by hand).
_CAPS: dict[str, dict[str, str]] = {
    "ATEN_CPU_CAPABILITY": {"default": "avx2", "avx2": "avx2", "avx512": "avx512"},
    "ONEDNN_MAX_CPU_ISA": {"avx2": "avx2", "avx2_vnni": "avx2", "avx2_vnni_2": "avx2",
                           "avx512_core": "avx512", "avx512_core_vnni": "avx512",
                           "avx512_core_bf16": "avx512_bf16", "avx512_core_fp16": "avx512_bf16"},
}


def cpu_info(path: str = "/proc/cpuinfo") -> dict[str, Any]:
    """Vendor, model name and feature flags of the first CPU (empty where unreadable)."""
    fields: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough: cores of a machine are alike
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return {"vendor": fields.get("vendor_id", "unknown"), "model": fields.get("model name", "unknown"),
            "flags": sorted(fields.get("flags", "").split())}


def isa_level(flags: list[str] | set[str], env: Mapping[str, str]) -> str | None:
    """The highest ISA level the CPU's ``flags`` support, lowered by any cap set in ``env``;
    None below AVX2 + FMA."""
    have = set(flags)
    if not {"avx2", "fma"} <= have:
        return None
    level = "avx2"
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= have:
        level = "avx512"
        if "avx512_bf16" in have:
            level = "avx512_bf16"
        if {"amx_bf16", "amx_tile"} <= have:
            level = "amx"
    for var, table in _CAPS.items():
        cap = table.get(env.get(var, "").strip().lower())
        if cap is not None and ISA_LEVELS.index(cap) < ISA_LEVELS.index(level):
            level = cap
    return level


def _vendor(name: str) -> str:
    return {"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(name, name.lower() or "unknown")


def native_platform(cpu: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The CPU class a native build's kernels dispatch to: vendor (MKL picks its paths by vendor)
    and ISA level, e.g. ``intel-amx`` or ``amd-avx512_bf16``."""
    level = isa_level(cpu["flags"], env)
    return f"{_vendor(cpu['vendor'])}-{level or 'baseline'}"


@functools.cache
def gpu_name() -> str:
    """The first GPU's model as ``nvidia-smi`` names it (a planning-time fact of a cuda study)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise UserError(f"compute.device: cuda, but no GPU answers nvidia-smi here ({e}); plan a cuda "
                        "study on a machine with the GPU that runs it") from e
    return out.strip().splitlines()[0].strip().lower().replace(" ", "-")


def platform(mode: str, device: str, gpu: str | None = None, env: Mapping[str, str] | None = None,
             cpu: Mapping[str, Any] | None = None) -> str:
    """The numerics platform a job of this mode and device computes on: the part of its identity
    that names the machine class (:data:`PORTABLE` for every portable CPU build; the GPU model,
    configured or asked of nvidia-smi, for cuda)."""
    if mode not in MODES:
        raise UserError(f"compute.numerics: {mode!r} is not one of {', '.join(MODES)}")
    if device == "cuda":
        return f"cuda-{gpu or gpu_name()}"
    if mode == "portable":
        return PORTABLE
    return native_platform(cpu if cpu is not None else cpu_info(), os.environ if env is None else env)


def compute_dtype(mode: str, declared: str) -> str:
    """The dtype a job computes in: float32 in portable mode, else the configured one."""
    return "float32" if mode == "portable" else declared


def pin(mode: str, device: str, threads: int, planned: str) -> None:
    """Fix threads and kernel dispatch for this process, before any numeric library loads, and
    refuse to compute on another platform than the one the job was planned for."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if mode == "portable" and device == "cpu":
        cpu = cpu_info()
        if isa_level(cpu["flags"], {}) is None and cpu["flags"]:
            raise UserError(f"numerics portable needs an x86-64 CPU with AVX2 and FMA; this one "
                            f"({cpu['model']}) has neither: use compute.numerics: native")
        os.environ.update(PORTABLE_ENV)
    if device == "cuda":
        # cuBLAS and some CUDA kernels pick reduction orders at run time: two identical runs of
        # the transformers backend on an H200 gave different texts without these
        # (docs/benchmarks.md); with them they were identical at ~60% of the speed.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    here = platform(mode, device, None)  # what this machine is, whatever was configured
    if here != planned:
        raise UserError(f"compute: planned for numerics platform {planned!r}, but this machine computes "
                        f"as {here!r}; plan the study on the machine class that runs its jobs, or use "
                        "compute.numerics: portable")


def faiss_module() -> Any:
    """``faiss``, at the SIMD level :func:`pin` chose for this process (none: FAISS's own pick)."""
    import faiss

    level = os.environ.get(FAISS_LEVEL_ENV)
    if level and getattr(faiss, "SIMDConfig", None) is not None:
        faiss.SIMDConfig.set_level(faiss.to_simd_level(level))
    return faiss


def describe(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """This machine as a numerics record: CPU model, vendor, the dispatch-relevant flags, the
    native platform and the caps in force (``record.json``, ``synthir numerics``)."""
    env = os.environ if env is None else env
    cpu = cpu_info()
    relevant = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "avx512_fp16",
                "amx_bf16", "amx_tile", "amx_int8", "avx512_vnni", "avx_vnni"}
    return {"cpu_model": cpu["model"], "vendor": cpu["vendor"],
            "flags": [f for f in cpu["flags"] if f in relevant],
            "native_platform": native_platform(cpu, env),
            "caps": {k: env[k] for k in sorted(PORTABLE_ENV) if k in env}}


def identity_of(compute: Mapping[str, Any], packages: Mapping[str, Any]) -> dict[str, Any]:
    """A build's numerics identity: its compute slice and the package versions it ran."""
    return {**{k: compute.get(k) for k in ("numerics", "platform", "threads", "device")},
            "packages": dict(sorted(packages.items()))}


def summary(metas: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """What a study's numeric artifacts were built with (``<reports>/numerics.json``): every
    distinct numerics identity among ``metas`` and, as a record, the CPUs that built them."""
    identities = {_key(i): i for m in metas if m.get("config", {}).get("compute")
                  for i in [identity_of(m["config"]["compute"], m.get("packages", {}))]}
    cpus = {_key(c): c for r in records if (c := r.get("numerics"))}
    return {"identities": [identities[k] for k in sorted(identities)],
            "built_on": [{k: c[k] for k in ("cpu_model", "vendor", "native_platform", "flags")} for _, c in sorted(cpus.items())]}


def _key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def compare(locked: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """Why a build here can differ from one with the ``locked`` identity: one line per
    difference (empty: the same numerics identity, so any difference in bytes is unexplained)."""
    lines = []
    if (locked["numerics"], locked["platform"]) != (here["numerics"], here["platform"]):
        lines.append(f"other numerics platform: {locked['numerics']} {locked['platform']} (lock) vs "
                     f"{here['numerics']} {here['platform']} (here)")
    for key in ("threads", "device"):
        if locked[key] != here[key]:
            lines.append(f"other {key}: {locked[key]} (lock) vs {here[key]} (here)")
    for name in sorted(set(locked["packages"]) | set(here["packages"])):
        a, b = locked["packages"].get(name), here["packages"].get(name)
        if a != b:
            lines.append(f"other package version: {name} {a} (lock) vs {b} (here)")
    return lines
