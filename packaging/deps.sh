#!/bin/sh
# Installs what building and testing hull needs, from Debian 12's archive. Idempotent.
# qemu-system-x86 and xz-utils: tests/vm boots a pure cgroup v2 guest of Debian's kernel.
# libarchive-dev, libzstd-dev, libssl-dev: images/ (layers, sha256); python3 builds the image test
# inputs (tests/images/gen.py); umoci and skopeo: unpack-equality and registry tests.
# libcurl4-openssl-dev: the registry client; docker-registry, skopeo, apache2-utils (htpasswd),
# openssl and python3: tests/integration/test_registry.cpp runs a registry and pushes to it.
# erofs-utils: mkfs.erofs builds the rootfs disk of vm-isolated containers (runtime/vm/rootfs_image.cpp);
# e2fsprogs: mkfs.ext4 formats a Linux vm container's writable disk (runtime/vm/linux_guest.cpp).
set -eu
pkgs="build-essential cmake pkg-config libseccomp-dev libcap-dev nlohmann-json3-dev libcli11-dev
      libgtest-dev libgmock-dev busybox-static iproute2 util-linux
      qemu-system-x86 xz-utils
      libcurl4-openssl-dev libssl-dev docker-registry skopeo apache2-utils openssl python3
      erofs-utils e2fsprogs cpio
      libarchive-dev libzstd-dev umoci"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "deps.sh: run as root to install:$missing" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
