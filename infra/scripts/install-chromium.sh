#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing. Runs as root
# directly, or through sudo when it is there; says what to do otherwise.
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install Chromium (or set CHROMIUM=/path/to/chrome) to run the browser tests" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Chromium is missing: run 'apt-get install chromium' as root" >&2; exit 1; }
  as_root=(sudo)
fi
echo "installing Debian's chromium for the browser tests…"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null 2>&1 || {
  "${as_root[@]}" apt-get update -qq >/dev/null
  "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
}
command -v chromium >/dev/null
