#!/usr/bin/env bash
# Debian's chromium for the report's browser test (test/report.test.ts drives it with playwright-core).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo) and apt.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
if [ -x /usr/bin/chromium ]; then
  echo "install-chromium: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi
apt_install install-chromium chromium fonts-dejavu-core
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
