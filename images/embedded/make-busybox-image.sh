#!/bin/sh
# Builds the embedded default image: an oci-archive holding one layer made from a static
# busybox (Debian's busybox-static), so `hull launch busybox ...` works with no registry.
#
#   make-busybox-image.sh BUSYBOX OUTPUT
#
# The archive is reproducible: the same busybox binary gives the same bytes (entries sorted by
# name, one fixed mtime, numeric owner 0:0, modes set explicitly, gzip without name or time),
# so the image's digests only change when busybox does.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 BUSYBOX OUTPUT" >&2
  exit 2
fi
busybox=$1
out=$2
[ -x "$busybox" ] || { echo "$0: $busybox is not an executable busybox" >&2; exit 1; }

# 2000-01-01T00:00:00Z: any fixed time would do; 0 upsets some tools.
epoch=946684800
created="2000-01-01T00:00:00Z"

# The image runs where hull is built: the architecture is dpkg's, in the OCI (GOARCH) spelling.
variant=""
case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
  amd64|x86_64) arch=amd64 ;;
  arm64|aarch64) arch=arm64 ;;
  armhf|armv7l) arch=arm; variant=v7 ;;
  i386|i686) arch=386 ;;
  ppc64el|ppc64le) arch=ppc64le ;;
  s390x) arch=s390x ;;
  riscv64) arch=riscv64 ;;
  *) echo "$0: unknown architecture $(dpkg --print-architecture 2>/dev/null || uname -m)" >&2; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/hull-busybox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
rootfs="$work/rootfs"
oci="$work/oci"
mkdir -p "$rootfs" "$oci/blobs/sha256"

# --- the root filesystem --------------------------------------------------------------------
# dev, proc and sys are mount points the runtime needs even when the root is read-only.
for d in bin dev etc home proc root sbin sys tmp; do mkdir "$rootfs/$d"; done
cp "$busybox" "$rootfs/bin/busybox"

# Applets where busybox itself would install them, folded into /bin and /sbin. Older
# busyboxes without --list-full get every applet in /bin.
if "$busybox" --list-full >"$work/applets" 2>/dev/null && [ -s "$work/applets" ]; then :; else
  "$busybox" --list | sed 's|^|bin/|' >"$work/applets"
fi
while IFS= read -r path; do
  name=${path##*/}
  case "$name" in ""|busybox|*[!A-Za-z0-9._[-]*) continue ;; esac
  case "$path" in
    bin/*|usr/bin/*) link="$rootfs/bin/$name"; target=busybox ;;
    sbin/*|usr/sbin/*) link="$rootfs/sbin/$name"; target=../bin/busybox ;;
    *) continue ;;  # linuxrc
  esac
  [ -e "$rootfs/bin/$name" ] || [ -e "$rootfs/sbin/$name" ] || ln -s "$target" "$link"
done <"$work/applets"
[ -L "$rootfs/bin/sh" ] || { echo "$0: $busybox has no sh applet" >&2; exit 1; }

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/home:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"

find "$rootfs" -type d -exec chmod 0755 {} +
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
chmod 0755 "$rootfs/bin/busybox"
chmod 0700 "$rootfs/root"
chmod 1777 "$rootfs/tmp"

# GNU tar, in the GNU format (no pax headers carrying atime/ctime); names like "bin/sh".
deterministic_tar() {  # DIR OUTPUT NAMES...
  dir=$1; tarball=$2; shift 2
  LC_ALL=C tar -C "$dir" --sort=name --format=gnu --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    -cf "$tarball" "$@"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
blob() {  # FILE -> moves it to blobs/sha256/<hex>, prints the hex
  h=$(sha "$1")
  mv "$1" "$oci/blobs/sha256/$h"
  echo "$h"
}

deterministic_tar "$rootfs" "$work/layer.tar" bin dev etc home proc root sbin sys tmp
diff_id=$(sha "$work/layer.tar")
gzip -n -9 "$work/layer.tar"
layer_size=$(size "$work/layer.tar.gz")
layer=$(blob "$work/layer.tar.gz")

# --- config, manifest, index (compact JSON, fixed member order) --------------------------------
platform_variant=""
[ -z "$variant" ] || platform_variant=",\"variant\":\"$variant\""
printf '%s' "{\"architecture\":\"$arch\"$platform_variant,\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"]},\"created\":\"$created\",\"history\":[{\"created\":\"$created\",\"created_by\":\"hull: images/embedded/make-busybox-image.sh\",\"comment\":\"busybox $("$busybox" 2>&1 | head -n1 | sed 's/[^A-Za-z0-9 ._()+:-]//g')\"}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}" >"$work/config.json"
config_size=$(size "$work/config.json")
config=$(blob "$work/config.json")

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" >"$work/manifest.json"
manifest_size=$(size "$work/manifest.json")
manifest=$(blob "$work/manifest.json")

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"$platform_variant},\"annotations\":{\"org.opencontainers.image.ref.name\":\"localhost/busybox:latest\"}}]}" >"$oci/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"

find "$oci" -type d -exec chmod 0755 {} +
find "$oci" -type f -exec chmod 0644 {} +
mkdir -p "$(dirname "$out")"
deterministic_tar "$oci" "$work/image.tar" blobs index.json oci-layout
mv "$work/image.tar" "$out"
