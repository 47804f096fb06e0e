#!/usr/bin/env bash
# Debian's chromium for the report's browser test (test/report.test.ts drives it with playwright-core).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo) and apt.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "install-chromium: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-chromium: apt-get not found; install Debian's chromium package (/usr/bin/chromium) another way" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-chromium: must run as root (or with sudo available) to apt-get install chromium" >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "install-chromium: installing chromium with apt-get (takes a few minutes)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
