#!/usr/bin/env bash
# The project's one test command (README, `npm test` and .ci/run all use it): installs the tools the
# tests need (MinIO, the Temporal CLI and its time-skipping test server, Compose, chromium, nginx), runs the static checks (tsc --noEmit, ESLint, Prettier), then vitest
# (always, so a lint failure does not hide test results), and ends with the line "N passed, N failed", in
# which each failed check counts as one failure, named.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh || exit 1
mkdir -p test-results
rm -f test-results/vitest.json
# One check: runs the command, prints how it ended and how long it took, and records NAME=STATUS for the summary.
checks=()
check() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name: $*"
  "$@"
  local code=$?
  echo "== $name: $([ "$code" -eq 0 ] && echo passed || echo "failed (exit status $code)") in $((SECONDS - start))s"
  checks+=("$name=$code")
}
check typecheck npx tsc --noEmit
check eslint npx eslint .
check prettier npx prettier --check .
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
node scripts/test-summary.mjs test-results/vitest.json "$status" "${checks[@]}"
if [ "$status" -eq 0 ]; then
  for entry in "${checks[@]}"; do [ "${entry#*=}" -eq 0 ] || status=1; done
fi
exit $status
