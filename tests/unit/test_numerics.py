"""Numerics modes: the platform a mode names, and the probe that shows a portable build computes
the same bytes under every dispatch cap while a native one does not.

The probe pairs run the real kernels (the packaged MiniLM, a small Llama, FAISS, numpy) in fresh
processes: once as this CPU dispatches, once with every library capped to AVX2 as a CPU without
AVX-512 or AMX would run it (tests/workflow/test_exact.py does the same for a whole cell).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from synthir.core import numerics
from synthir.core.errors import UserError

AVX2_ONLY = numerics.AVX2_ONLY_ENV
SPR = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "amx_bf16", "amx_tile"]


def test_isa_level_reads_flags_and_is_lowered_by_caps():
    assert numerics.isa_level(SPR, {}) == "amx"
    assert numerics.isa_level(SPR[:6], {}) == "avx512"
    assert numerics.isa_level(["avx2", "fma"], {}) == "avx2"
    assert numerics.isa_level(["avx", "sse4_2"], {}) is None
    assert numerics.isa_level(SPR, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}) == "avx512_bf16"
    assert numerics.isa_level(SPR, {"ATEN_CPU_CAPABILITY": "avx2"}) == "avx2"
    assert numerics.isa_level(["avx2", "fma"], {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}) == "avx2"  # a cap never raises


def test_platform_is_one_name_for_every_portable_cpu_and_the_cpu_class_when_native():
    intel = {"vendor": "GenuineIntel", "flags": SPR}
    amd = {"vendor": "AuthenticAMD", "flags": SPR[:7]}
    assert numerics.platform("portable", "cpu", cpu=intel, env={}) == numerics.platform("portable", "cpu", cpu=amd, env={})
    assert numerics.platform("native", "cpu", cpu=intel, env={}) == "intel-amx"
    assert numerics.platform("native", "cpu", cpu=amd, env={}) == "amd-avx512_bf16"
    assert numerics.platform("native", "cpu", cpu=amd, env=AVX2_ONLY) == "amd-avx2"
    assert numerics.platform("portable", "cuda", gpu="nvidia-h200") == "cuda-nvidia-h200"
    with pytest.raises(UserError, match="compute.numerics"):
        numerics.platform("fast", "cpu")


def test_portable_computes_in_float32_native_as_configured():
    assert numerics.compute_dtype("portable", "bfloat16") == "float32"
    assert numerics.compute_dtype("native", "bfloat16") == "bfloat16"


def test_a_job_refuses_a_platform_it_was_not_planned_for(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # pin writes the environment
    # another class than this machine's (on an Intel CPU with AMX, first run there 2026-12-07, an AMD one)
    planned = "intel-amx" if numerics.platform("native", "cpu") != "intel-amx" else "amd-avx2"
    with pytest.raises(UserError, match=f"planned for numerics platform '{planned}'"):
        numerics.pin("native", "cpu", 1, planned)


def test_compare_names_each_difference_and_nothing_when_equal():
    lock = numerics.identity_of({"numerics": "native", "platform": "intel-amx", "threads": 2, "device": "cpu"},
                                {"torch": "2.13.0"})
    here = numerics.identity_of({"numerics": "portable", "platform": "x86-64-v3", "threads": 2, "device": "cpu"},
                                {"torch": "2.12.0"})
    assert numerics.compare(lock, lock) == []
    assert numerics.compare(lock, here) == [
        "other numerics platform: native intel-amx (lock) vs portable x86-64-v3 (here)",
        "other package version: torch 2.13.0 (lock) vs 2.12.0 (here)"]


def _probe(mode: str, env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in AVX2_ONLY}
    r = subprocess.run([sys.executable, "-m", "synthir", "numerics", "--probe", "--mode", mode],
                       env={**clean, **env}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


PARTS = ("encoding", "training_step", "generation", "search_and_numpy")


@pytest.fixture(scope="module")
def probe() -> Callable[[str, str], dict[str, str]]:
    """A numerics mode's probe as this CPU dispatches ("as-is") or capped to AVX2 ("avx2"), each
    run once, when a test first asks for it (~30 s each on 2 cores): on a CPU that runs AVX2
    kernels natively the native test skips before asking."""
    return functools.cache(lambda mode, caps: _probe(mode, AVX2_ONLY if caps == "avx2" else {}))


def test_portable_probe_gives_the_same_bytes_as_an_avx2_only_cpu(probe):
    here, capped = probe("portable", "as-is"), probe("portable", "avx2")
    assert here["torch_capability"] == capped["torch_capability"] == "AVX2"
    assert {p: here[p] for p in PARTS} == {p: capped[p] for p in PARTS}


def test_native_probe_differs_under_the_caps_so_the_probe_can_see_dispatch(probe):
    cpu = numerics.cpu_info()
    if numerics.isa_level(cpu["flags"], {}) == "avx2":
        pytest.skip(f"this CPU ({cpu['model']}) runs AVX2 kernels natively: nothing for the caps to change")
    here, capped = probe("native", "as-is"), probe("native", "avx2")
    assert here["platform"] != capped["platform"]  # two builds, never one "modified" build
    assert [p for p in PARTS if here[p] == capped[p]] == []


def test_pull_refuses_outputs_of_another_numerics_platform_naming_both(tmp_path):
    import yaml

    from synthir.core import io
    from synthir.workflow.versioning import VersioningError, _same_numerics_platform

    root = Path(__file__).resolve().parents[2]
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["compute"]["numerics"] = "native"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    here = numerics.platform("native", "cpu")
    other = "intel-amx" if here != "intel-amx" else "amd-avx2"
    io.write_json(tmp_path / "models/a/meta.json", {"config": {"compute": {"platform": other}}})
    io.write_json(tmp_path / "data/raw/b/meta.json", {"config": {"dataset": "b"}})  # no numerics: not compared
    with pytest.raises(VersioningError, match=rf"computed on numerics platform {other}; this machine computes as '{here}'"):
        _same_numerics_platform(tmp_path, {"models/a", "data/raw/b"})
    io.write_json(tmp_path / "models/a/meta.json", {"config": {"compute": {"platform": here}}})
    _same_numerics_platform(tmp_path, {"models/a", "data/raw/b"})  # the same class: nothing to say
