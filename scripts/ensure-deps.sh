#!/usr/bin/env bash
# Installs what the build and the tests need and is not there yet: Debian packages (as root) and
# node_modules (npm ci when package-lock.json changed). Safe to run on every `make` call.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages nimbusd and the tests use: PostgreSQL (store suite), qemu-img (images), openssl (self-signed TLS).
APT_PACKAGES=(postgresql qemu-utils openssl)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-deps: missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "ensure-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if ((node_major < 20 || (node_major == 20 && node_minor < 19))); then
  echo "ensure-deps: Node.js >= 20.19 is required (found $(node --version))" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "ensure-deps: npm ci"
  npm ci --no-audit --no-fund
fi
