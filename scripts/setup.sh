#!/usr/bin/env bash
# Everything a fresh Debian 12 machine (as root) needs for tsbuild: the system parts the
# engine drives (OCI runtimes, overlayfs tools, a registry, independent OCI readers, a
# busybox base for fixtures, what rootless use needs), the npm dependencies, and the build.
# Safe to run again. `--packages` stops after the system parts (the rootless tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(runc crun busybox-static gcc libc6-dev docker-registry skopeo umoci jq iproute2 util-linux tar gzip zstd bzip2 xz-utils attr libcap2-bin openssh-client slirp4netns zsh qemu-user-static binfmt-support uidmap fuse-overlayfs openssl strace musl-tools)
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

# Multi-platform builds run other architectures' steps under QEMU user emulation, which the
# kernel starts through binfmt_misc (registered with the F flag, so a sandbox needs no
# interpreter inside). The tests' arm64 base is Debian's arm64 busybox-static, kept here.
ARM64_BUSYBOX_DEB=/var/cache/tsbuild/busybox-static_arm64.deb
if [ "$(id -u)" -eq 0 ]; then
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  for format in qemu-aarch64 qemu-arm; do
    [ -e "/proc/sys/fs/binfmt_misc/$format" ] || update-binfmts --enable "$format"
  done
  if [ ! -s "$ARM64_BUSYBOX_DEB" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    mkdir -p "$(dirname "$ARM64_BUSYBOX_DEB")"
    download=$(mktemp -d)
    # apt may be busy (another apt-get): retry a few times; the lists may lack arm64 until updated.
    for attempt in 1 2 3 4 5; do
      if (cd "$download" && apt-get download -qq busybox-static:arm64) 2>/dev/null; then break; fi
      apt-get update -qq || sleep 10
    done
    mv "$download"/busybox-static_*_arm64.deb "$ARM64_BUSYBOX_DEB"
    rm -rf "$download"
  fi
else
  echo "setup: not root, so QEMU emulation (binfmt_misc) and the arm64 test base are left as they are" >&2
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
