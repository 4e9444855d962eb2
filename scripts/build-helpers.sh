#!/bin/sh
# Builds tsbuild's C helpers into dist/ where a C compiler is found (setup.sh installs gcc):
# the mount helper (snapshotter/mount-helper.c: overlay mounts without mount(8)) and the
# hybrid-cgroup wrapper (executor/hybrid-wrapper.c: crun on a hybrid cgroup host without a
# shell). Without a compiler, mount(8) and a shell do the same work, slower.
set -e
cc=$(command -v cc || command -v gcc || true)
if [ -z "$cc" ]; then
  echo "build: no C compiler found; overlay mounts will go through mount(8), crun on a hybrid cgroup host through a shell" >&2
  exit 0
fi
mkdir -p dist/snapshotter dist/executor
"$cc" -O2 -Wall -Wextra -pthread -o dist/snapshotter/mount-helper snapshotter/mount-helper.c
"$cc" -O2 -Wall -Wextra -o dist/executor/hybrid-wrapper executor/hybrid-wrapper.c
