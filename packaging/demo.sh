#!/bin/sh
# Quick start, part one: install, build, and run a container from hull's embedded busybox image
# with `hull launch` (no registry, no network needed). The container prints what it sees.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/packaging/deps.sh"
# The hull target brings hull-image (which runs `hull launch`) and the embedded image
# (build/share/hull/images/busybox.oci.tar) with it.
"$top/packaging/build.sh" hull >/dev/null
hull="$top/build/bin/hull"

# A throwaway image store and state root, so the demo leaves nothing behind.
work=$(mktemp -d /tmp/hull-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

echo "hull $("$hull" --version | head -n1 | cut -d' ' -f3): hull launch --rm busybox"
"$hull" --root "$work/state" launch --store "$work/store" --rm --hostname hull-demo busybox sh -c '
echo "hostname:  $(hostname)"
echo "my pid:    $$"
echo "uid:       $(id -u)"
echo "processes:"; ps -o pid,comm
echo "mounts:"; cat /proc/self/mounts'
