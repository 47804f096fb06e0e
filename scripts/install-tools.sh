#!/usr/bin/env bash
# Everything the tests and the embedded default need beside npm packages, under the project-local
# .tools/ folder: MinIO, the Temporal CLI, Temporal's time-skipping test server (for the fast workflow tests)
# and Docker Compose (for `docker compose config`); plus Debian's
# chromium for the report's browser test and nginx-light for the secure-link tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-minio.sh
bash scripts/install-temporal.sh
bash scripts/install-test-server.sh
bash scripts/install-compose.sh
bash scripts/install-chromium.sh
bash scripts/install-nginx.sh
