#!/usr/bin/env bash
# Docker Compose for test/deploy.test.ts, which validates docker-compose.yml with `docker compose config`
# (no Docker engine needed). Idempotent: nothing to do when `docker compose` already works; otherwise an
# existing .tools/bin/docker-compose is kept, or Compose is built from its Go module source into it
# (needs Go >= 1.26; the first build takes several minutes). The test uses .tools/bin/docker-compose as the
# Docker CLI's compose plugin through a private DOCKER_CONFIG, so nothing outside the project changes.
set -euo pipefail
cd "$(dirname "$0")/.."

target="$PWD/.tools/bin/docker-compose"
module="github.com/docker/compose/v5"
version="v5.6.0"

if docker compose version >/dev/null 2>&1; then
  echo "install-compose: 'docker compose' works ($(docker compose version --short 2>/dev/null)); nothing to do."
  exit 0
fi
if [[ -x "$target" ]] && "$target" version >/dev/null 2>&1; then
  echo "install-compose: $target already present and runs; nothing to do."
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-compose: ERROR: no Docker Compose and no Go toolchain to build it; install the docker-compose-plugin package or Go >= 1.26." >&2
  exit 1
fi

# `go install module@version` refuses modules whose go.mod has replace/exclude directives (Compose has them),
# so build inside a copy of the module's source, where they apply.
echo "install-compose: building $module@$version into $target (this can take several minutes)..."
src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$src" ]]; then
  echo "install-compose: ERROR: could not download $module@$version from the Go module proxy." >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
mkdir -p "$(dirname "$target")"
(cd "$work" && go build -trimpath -o "$target" ./cmd)
echo "install-compose: installed $target ($("$target" version 2>/dev/null | head -n 1))."
