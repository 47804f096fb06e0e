#!/usr/bin/env bash
# Everything the tests and the embedded default need beside npm packages: MinIO and the Temporal CLI,
# both under the project-local .tools/ folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-minio.sh
bash scripts/install-temporal.sh
