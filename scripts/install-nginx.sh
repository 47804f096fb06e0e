#!/usr/bin/env bash
# Debian's nginx for the secure-link tests (test/tls.test.ts): a TLS-terminating gRPC proxy with client-certificate
# verification in front of the Temporal dev server, and an HTTPS proxy in front of MinIO. Idempotent: does nothing
# when /usr/sbin/nginx is there. Needs root (or sudo) and apt; the tests run their own nginx on loopback ports with
# their own config, never the system's service.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  echo "install-nginx: /usr/sbin/nginx present ($(/usr/sbin/nginx -v 2>&1)); nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-nginx: apt-get not found; install Debian's nginx-light package (/usr/sbin/nginx) another way" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-nginx: must run as root (or with sudo available) to apt-get install nginx-light" >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "install-nginx: installing nginx-light with apt-get"
$sudo apt-get update -qq
# A policy-rc.d that says no keeps the package from starting the system's nginx service on port 80 (only one we
# put there is removed again).
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light openssl >/dev/null
if [ -n "$created_policy" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
echo "install-nginx: installed $(/usr/sbin/nginx -v 2>&1)"
