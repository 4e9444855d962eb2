#!/bin/sh
# Builds snapshotter/mount-helper.c (see snapshotter/mount-helper.ts) into dist/ where a C
# compiler is found; setup.sh installs gcc. Without one, overlay mounts go through mount(8).
set -e
cc=$(command -v cc || command -v gcc || true)
if [ -z "$cc" ]; then
  echo "build: no C compiler found; overlay mounts will go through mount(8)" >&2
  exit 0
fi
mkdir -p dist/snapshotter
exec "$cc" -O2 -Wall -Wextra -pthread -o dist/snapshotter/mount-helper snapshotter/mount-helper.c
