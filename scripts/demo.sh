#!/usr/bin/env bash
# The main job: a real build of a fixture, from nothing but busybox-static.
# Makes a busybox base image, builds fixtures/multi-stage into a fresh root, rebuilds it
# (every step cached), shows the image, runs skopeo over the saved archive, and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/tsbuild-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
export TSBUILD_ROOT="$work/root"
tsbuild() { node dist/cli/main.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A busybox base image, imported from a rootfs tar"
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/home/alice"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chown 1000:1000 "$rootfs/home/alice"
chmod 1777 "$rootfs/tmp"
tar --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
tsbuild import "$work/rootfs.tar" busybox:latest

step "Build fixtures/multi-stage (the unused failing stage never runs)"
tsbuild build -t demo/multi-stage:1.0 --progress plain fixtures/multi-stage

step "Rebuild with nothing changed: every step CACHED, no container started"
tsbuild build -t demo/multi-stage:1.0 --progress plain fixtures/multi-stage

step "The image"
tsbuild images
tsbuild history demo/multi-stage:1.0
tsbuild inspect demo/multi-stage:1.0 | jq '.[0].Config | {Env, WorkingDir, User, Cmd}'

step "Saved as a docker archive and read by skopeo"
tsbuild save -o "$work/demo.tar" demo/multi-stage:1.0
skopeo inspect "docker-archive:$work/demo.tar" | jq '{RepoTags, Layers: (.Layers | length), Env}'
tsbuild fsck
