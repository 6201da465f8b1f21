#!/usr/bin/env bash
# Re-resolve requirements.lock after changing pyproject.toml's dependencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
links="$(python3 -m pip config get global.find-links 2>/dev/null || true)"
if [ -n "$links" ]; then export UV_FIND_LINKS="$links"; else
    export UV_EXTRA_INDEX_URL="https://download.pytorch.org/whl/cpu" UV_INDEX_STRATEGY="unsafe-best-match"; fi
uv pip compile pyproject.toml --extra test --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --no-header -o requirements.lock
