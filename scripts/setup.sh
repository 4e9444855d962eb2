#!/usr/bin/env bash
# Everything a fresh Debian 12 machine (as root) needs for tsbuild: the system parts the
# engine drives (OCI runtimes, overlayfs tools, a registry, independent OCI readers, a
# busybox base for fixtures, what rootless use needs), the npm dependencies, and the build.
# Safe to run again. `--packages` stops after the system parts (the rootless tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(runc crun busybox-static docker-registry skopeo umoci jq iproute2 util-linux tar gzip zstd bzip2 xz-utils attr libcap2-bin openssh-client slirp4netns zsh uidmap fuse-overlayfs)
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

# Rootless use opens /dev/net/tun (slirp4netns) and /dev/fuse (fuse-overlayfs) as the user:
# udev makes both 0666 on Debian; a host without udev (a VM's minimal init) leaves them 0600.
if [ "$(id -u)" -eq 0 ]; then
  for dev in /dev/net/tun /dev/fuse; do
    if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" != 666 ]; then chmod 0666 "$dev"; fi
  done
fi
[ "${1:-}" = --packages ] && exit 0

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
