#!/usr/bin/env bash
# The Python side of figure 2: a venv under .tools/bench-venv with pip's onnxruntime, so the system
# Python is untouched. Installs the same major.minor as onnxruntime-node, or the latest release pip can
# install when that one is not available (the bench records the version it ran). Idempotent and quiet when
# already set up.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/bench-venv
node_ort=$(node -p "require('onnxruntime-node/package.json').version")
minor=${node_ort%.*}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import onnxruntime, numpy' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "onnxruntime==${minor}.*"; then
  echo "bench/setup.sh: onnxruntime ${minor}.* is not installable here; installing the latest release instead" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check onnxruntime
fi
