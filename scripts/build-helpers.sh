#!/bin/sh
# Builds tsbuild's C helpers into dist/ where a C compiler is found (setup.sh installs gcc):
# the system helper (util/system-helper.c: overlay mounts without mount(8), xattrs without
# getfattr, sealed copies of the OCI runtime) and the
# hybrid-cgroup wrapper (executor/hybrid-wrapper.c: crun on a hybrid cgroup host without a
# shell). Without a compiler, mount(8) and a shell do the same work, slower.
set -e
cc=$(command -v cc || command -v gcc || true)
if [ -z "$cc" ]; then
  echo "build: no C compiler found; overlay mounts will go through mount(8), xattrs through getfattr, crun on a hybrid cgroup host through a shell" >&2
  exit 0
fi
mkdir -p dist/util dist/executor
"$cc" -O2 -Wall -Wextra -pthread -o dist/util/system-helper util/system-helper.c
"$cc" -O2 -Wall -Wextra -o dist/executor/hybrid-wrapper executor/hybrid-wrapper.c
