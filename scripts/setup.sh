#!/usr/bin/env bash
# Everything a fresh Debian 12 machine (as root) needs for tsbuild: the system parts the
# engine drives (OCI runtimes, overlayfs tools, a registry, independent OCI readers, a
# busybox base for fixtures), the npm dependencies, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(runc crun busybox-static docker-registry skopeo umoci jq iproute2 util-linux tar gzip zstd bzip2 xz-utils attr libcap2-bin openssh-client slirp4netns zsh)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
