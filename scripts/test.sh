#!/usr/bin/env bash
# The project's one test command (README, `npm test` and .ci/run all use it): installs the tools the
# tests need (MinIO, the Temporal CLI), runs vitest, and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh || exit 1
mkdir -p test-results
rm -f test-results/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
node scripts/test-summary.mjs test-results/vitest.json "$status"
exit $status
