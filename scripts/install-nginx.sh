#!/usr/bin/env bash
# Debian's nginx for the secure-link tests (test/tls.test.ts): a TLS-terminating gRPC proxy with client-certificate
# verification in front of the Temporal dev server, and an HTTPS proxy in front of MinIO. Idempotent: does nothing
# when /usr/sbin/nginx is there. Needs root (or sudo) and apt; the tests run their own nginx on loopback ports with
# their own config, never the system's service (which the install does not start).
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
if [ -x /usr/sbin/nginx ]; then
  echo "install-nginx: /usr/sbin/nginx present ($(/usr/sbin/nginx -v 2>&1)); nothing to do"
  exit 0
fi
apt_install install-nginx nginx-light openssl
echo "install-nginx: installed $(/usr/sbin/nginx -v 2>&1)"
