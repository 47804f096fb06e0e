#!/usr/bin/env bash
# Puts a MinIO server binary at .tools/bin/minio (gitignored) for the S3 tests.
# Idempotent: an existing working binary is kept; otherwise a `minio` on PATH is linked; otherwise it is built from
# source with `go install` (MinIO ships source only; needs Go >= 1.24; the first build takes several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="$PWD/.tools/bin"
target="$target_dir/minio"
# Pinned (MinIO tags releases outside semver, so the Go module proxy knows this commit by a pseudo-version):
# the S3 tests run against the same server on every machine.
minio_module="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
required_go_minor=24

runs() {
  "$1" --version >/dev/null 2>&1
}

if [[ -x "$target" ]] && runs "$target"; then
  echo "install-minio: $target already present and runs; nothing to do."
  exit 0
fi

mkdir -p "$target_dir"

if on_path="$(command -v minio 2>/dev/null)" && [[ -n "$on_path" ]] && runs "$on_path"; then
  ln -sf "$(readlink -f "$on_path")" "$target"
  echo "install-minio: linked $target -> $(readlink -f "$on_path") (minio found on PATH)."
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<EOF
install-minio: ERROR: no MinIO binary and no Go toolchain found.
  Either put a 'minio' server binary on PATH and rerun this script,
  or install Go >= 1.$required_go_minor (https://go.dev/dl/) and rerun it to build MinIO from source.
EOF
  exit 1
fi

go_version="$(go env GOVERSION)"  # e.g. go1.24.8
go_minor="$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$go_version")"
if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || (( go_minor < required_go_minor )); then
  # With GOTOOLCHAIN=auto an older Go can still fetch a newer toolchain, so warn rather than stop.
  echo "install-minio: warning: $go_version is older than go1.$required_go_minor; the build needs a toolchain download or will fail." >&2
fi

echo "install-minio: building $minio_module with $go_version into $target_dir (this can take several minutes)..."
if ! GOBIN="$target_dir" go install "$minio_module"; then
  cat >&2 <<EOF
install-minio: ERROR: 'go install $minio_module' failed (output above).
  MinIO needs Go >= 1.$required_go_minor and network access to proxy.golang.org.
  Alternatively put a 'minio' server binary on PATH and rerun this script.
EOF
  exit 1
fi

if ! runs "$target"; then
  echo "install-minio: ERROR: built $target but '$target --version' fails." >&2
  exit 1
fi
echo "install-minio: installed $target ($("$target" --version 2>/dev/null | head -n 1))."
