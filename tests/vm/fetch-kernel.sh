#!/bin/sh
# Fetches Debian's current stock kernel (the package linux-image-amd64 depends on) into a
# private cache and prints one path:
#   --vmlinux   uncompressed ELF vmlinux with a PVH entry note (for qemu -kernel / hull's VMM)
#   --bzimage   the package's compressed bzImage
#   --modules   the package's /lib/modules/<version> directory
# The cache is keyed by package version, so a new Debian kernel is fetched once and older ones
# stay usable. Nothing is installed on the host: the .deb is unpacked with dpkg-deb -x.
# Errors go to stderr with a non-zero exit; stdout carries only the path.
set -eu

cache_root=${HULL_VM_CACHE:-/var/cache/hull-vm}
what=""
case "${1:-}" in
  --vmlinux|--bzimage|--modules) what=$1 ;;
  *) echo "usage: $0 --vmlinux|--bzimage|--modules" >&2; exit 2 ;;
esac

die() { echo "fetch-kernel: $*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg-deb od dd readelf; do
  command -v "$tool" >/dev/null 2>&1 || die "missing tool \`$tool\`"
done

# The metapackage's first dependency names the versioned image package.
resolve_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
pkg=$(resolve_pkg)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
  # A freshly provisioned machine may have no package lists yet.
  apt-get update -qq >&2 || true
  pkg=$(resolve_pkg)
fi
[ -n "$pkg" ] || die "cannot resolve the package linux-image-amd64 depends on (apt-get update?)"
version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
[ -n "$version" ] && [ "$version" != "(none)" ] || die "no candidate version for \`$pkg\`"

dir="$cache_root/$pkg-$version"
mkdir -p "$cache_root" || die "cannot create cache dir \`$cache_root\`"

# Concurrent callers (several engineers, parallel ctest) must not unpack into each other.
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

if [ ! -f "$dir/.complete" ]; then
  tmp=$(mktemp -d "$cache_root/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && apt-get download -q "$pkg=$version" >/dev/null 2>"$tmp/apt.err" ) ||
    { cat "$tmp/apt.err" >&2; die "apt-get download \`$pkg=$version\` failed"; }
  deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || die "apt-get download produced no .deb"
  mkdir "$tmp/root"
  dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x \`$deb\` failed"
  bz=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
  [ -n "$bz" ] || die "no /boot/vmlinuz-* in \`$deb\`"
  kver=${bz##*/vmlinuz-}
  [ -d "$tmp/root/lib/modules/$kver" ] || die "no /lib/modules/$kver in \`$deb\`"
  # The package's postinst would run depmod; a guest needs modules.dep to modprobe.
  # kmod's depmod where installed, else busybox's (busybox-static is a build dependency).
  if command -v depmod >/dev/null 2>&1; then
    depmod -b "$tmp/root" "$kver" || die "depmod for \`$kver\` failed"
  else
    busybox depmod -b "$tmp/root" "$kver" || die "busybox depmod for \`$kver\` failed"
  fi

  # The boot protocol header locates the compressed payload exactly: the protected-mode
  # code starts after (setup_sects + 1) sectors, and payload_offset/payload_length (at
  # 0x248/0x24c) are relative to it. This beats scanning for magic bytes, which can match
  # inside the decompressor stub.
  u8()  { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
  u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
  hdr=$(od -An -c -j 514 -N4 "$bz" | tr -d ' ')
  [ "$hdr" = "HdrS" ] || die "\`$bz\` is not a bzImage (no HdrS header)"
  setup_sects=$(u8 "$bz" 497)
  [ "$setup_sects" -eq 0 ] && setup_sects=4
  pm_start=$(( (setup_sects + 1) * 512 ))
  payload_off=$(( pm_start + $(u32 "$bz" 584) ))
  payload_len=$(u32 "$bz" 588)
  dd if="$bz" of="$tmp/payload" bs=4096 iflag=skip_bytes,count_bytes \
     skip="$payload_off" count="$payload_len" status=none || die "cannot cut the payload"

  magic=$(od -An -tx1 -N6 "$tmp/payload" | tr -d ' \n')
  # The kernel build appends the decompressed size (4 bytes) after the stream; the
  # decompressors may complain about that trailer, so the result is judged by its content.
  case "$magic" in
    fd377a585a00*) dec="xz -dc --single-stream" ;;
    28b52ffd*)     dec="zstd -dcq" ;;
    1f8b*)         dec="gzip -dc" ;;
    425a68*)       dec="bzip2 -dc" ;;
    5d0000*)       dec="xz -dc --format=lzma" ;;
    02214c18*)     dec="lz4 -dc" ;;
    *) die "unknown payload compression (magic $magic) in \`$bz\`" ;;
  esac
  command -v "${dec%% *}" >/dev/null 2>&1 || die "missing decompressor \`${dec%% *}\`"
  $dec <"$tmp/payload" >"$tmp/vmlinux" 2>/dev/null || true

  elf=$(od -An -c -N4 "$tmp/vmlinux" | tr -d ' ')
  [ "$elf" = "177ELF" ] || die "decompressed payload of \`$bz\` is not an ELF"
  # PVH boot needs XEN_ELFNOTE_PHYS32_ENTRY (type 18) in a "Xen" note.
  readelf -nW "$tmp/vmlinux" 2>/dev/null | grep -Eq '^ *Xen[[:space:]].*(\(0x00000012\)|PHYS32_ENTRY)' ||
    die "vmlinux from \`$bz\` has no PVH entry note"

  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$tmp/vmlinux" "$dir/vmlinux"
  mv "$bz" "$dir/vmlinuz"
  mv "$tmp/root/lib/modules/$kver" "$dir/modules"
  echo "$kver" >"$dir/kernel-version"
  touch "$dir/.complete"
  rm -rf "$tmp"
  trap - EXIT
fi

case "$what" in
  --vmlinux) echo "$dir/vmlinux" ;;
  --bzimage) echo "$dir/vmlinuz" ;;
  --modules) echo "$dir/modules" ;;
esac
