# Sourced by the install scripts that take a tool from Debian's packages (chromium, nginx-light):
# `apt_install NAME PACKAGE...` installs the packages with apt-get as root (or through sudo), without starting
# any service a package ships (a policy-rc.d that says no, removed again if this put it there).
apt_install() {
  local name="$1"
  shift
  if ! command -v apt-get >/dev/null; then
    echo "$name: apt-get not found; install Debian's $* another way" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "$name: must run as root (or with sudo available) to apt-get install $*" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  echo "$name: installing $* with apt-get"
  $sudo apt-get update -qq
  local created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  if [ -n "$created_policy" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
}
