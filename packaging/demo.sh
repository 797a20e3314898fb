#!/bin/sh
# Quick start, part one: install, build, and run a busybox container with hull.
# The bundle is made from Debian's busybox-static; the container prints what it sees.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/packaging/deps.sh"
"$top/packaging/build.sh" hull >/dev/null
hull="$top/build/bin/hull"

work=$(mktemp -d /tmp/hull-demo.XXXXXX)
root="$work/state"
id="hull-demo-$$"
cleanup() { "$hull" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in sh echo hostname cat id ps ls mount; do ln -s busybox "$work/bundle/rootfs/bin/$applet"; done
cd "$work/bundle"
"$hull" spec
cat > rootfs/demo.sh <<'SCRIPT'
echo "hostname:  $(hostname)"
echo "my pid:    $$"
echo "uid:       $(id -u)"
echo "processes:"; ps -o pid,comm
echo "mounts:"; cat /proc/self/mounts
SCRIPT
# Its own hostname, no terminal, and the script above as the process.
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"hostname": "[^"]*"/"hostname": "hull-demo"/' \
       -e 's|"sh"$|"/bin/sh", "/demo.sh"|' config.json
echo "hull $("$hull" --version | head -n1 | cut -d' ' -f3): running busybox in a container"
"$hull" --root "$root" run "$id"
