#!/bin/bash
# Runs COMMAND inside a throwaway Linux guest whose only cgroup hierarchy is cgroup2 with every
# controller enabled: the pure v2 machine that this (hybrid) host cannot become.
#
#   run-in-guest.sh [options] -- COMMAND [ARG...]
#
#   -t, --timeout SECS   kill the guest after SECS (default 600); exit 124 then
#   -m, --memory MB      guest memory (default 2048)
#   -c, --cpus N         vCPUs (default 2)
#   -e, --env NAME=VAL   set in COMMAND's environment (repeatable); HULL_* and GTEST_*
#                        variables of the caller are passed on by default
#   -v, --verbose        report the boot time and print the guest console on failure
#
# The guest is Debian's stock kernel (fetch-kernel.sh) booted by qemu's microvm machine via
# its PVH entry, under TCG: /dev/kvm on these machines is a nested hypervisor that cannot boot
# a stock kernel. The host's / is shared read-only over virtio-9p under a tmpfs overlay, so
# COMMAND sees the host's files (build trees, busybox, runc) and can scribble anywhere without
# touching them. COMMAND runs as root in the caller's working directory; its stdout and
# stderr stream to ours over two virtio-serial ports, and its exit status is ours.
#
# Exit status: COMMAND's; 124 on timeout; 125 when the guest could not be had (no qemu, no
# kernel) with the reason on stderr; 126 when the guest failed before running COMMAND.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=600
mem_mb=2048
cpus=2
verbose=0
envs=()

die_setup() { echo "run-in-guest: $*" >&2; exit 125; }
usage() { sed -n '5,13p' "$0" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -t|--timeout) timeout_s=$2; shift 2 ;;
    -m|--memory) mem_mb=$2; shift 2 ;;
    -c|--cpus) cpus=$2; shift 2 ;;
    -e|--env) envs+=("$2"); shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage

[ "$(id -u)" -eq 0 ] || die_setup "needs root (the guest exports the host's / over 9p)"
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || die_setup "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=/bin/busybox
[ -x "$busybox" ] && ! readelf -lW "$busybox" 2>/dev/null | grep -q INTERP ||
  die_setup "a static /bin/busybox is needed (apt-get install busybox-static)"

vmlinux=$("$here/fetch-kernel.sh" --vmlinux) || die_setup "cannot fetch the guest kernel"
moddir=$("$here/fetch-kernel.sh" --modules) || die_setup "cannot fetch the guest kernel's modules"
kdir=$(dirname "$vmlinux")
kver=$(cat "$kdir/kernel-version")

# ---------------------------------------------------------------------------
# The initramfs: busybox, the modules needed to reach the host's root, and /init. Built once
# per kernel and per version of this script, under the kernel's cache dir.

# Modules the init loads, dependencies first. loop is here so tests find /dev/loop-control
# without udev; the rest are needed to reach the root filesystem and the serial ports.
want_modules="virtio_mmio virtio_console 9pnet_virtio 9p overlay loop"

resolve_modules() {
  local -A seen=()
  local order=()
  visit() {
    local rel=$1 dep
    [ -n "${seen[$rel]:-}" ] && return 0
    seen[$rel]=1
    for dep in $(sed -n "s|^$rel: *||p" "$moddir/modules.dep"); do visit "$dep"; done
    order+=("$rel")
  }
  local m rel
  for m in $want_modules; do
    rel=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1 | cut -d: -f1)
    if [ -z "$rel" ]; then
      # Built into the kernel is as good as loaded.
      grep -Eq "(^|/)$m\.ko$" "$moddir/modules.builtin" && continue
      die_setup "module \`$m\` is neither in modules.dep nor built in"
    fi
    visit "$rel"
  done
  printf '%s\n' "${order[@]}"
}

write_init() {
  cat <<'INIT'
#!/bin/busybox sh
# PID 1 of the throwaway guest. Never exits: it powers the guest off when COMMAND is done.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "guest init: $*" >/dev/console; echo 126 >/out/status 2>/dev/null; poweroff -f; sleep 60; }
while read -r m; do insmod "/lib/modules/$m" || fail "insmod $m failed"; done </modules.list

mkdir -p /out /lower /ovl /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hullvmout /out || fail "cannot mount the output share"
echo "$(cut -d' ' -f1 /proc/uptime)" >/out/boot-seconds
# The host root is read-only and nothing else changes it while we run, so the guest may cache
# it freely (cache=loose): executables then load from the page cache, not over 9p each time.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /lower ||
  fail "cannot mount the host root"
mount -t tmpfs -o mode=0755 tmpfs /ovl
mkdir -p /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/upper,workdir=/ovl/work /newroot ||
  fail "cannot mount the overlay root"

r=/newroot
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm $r/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
mount -t mqueue mqueue $r/dev/mqueue 2>/dev/null || true
# A fresh /tmp, but a host directory under /tmp the caller works in (a build tree in
# /tmp/<dir>, as a CI clone may be) stays visible, writable through the overlay.
keep=""
[ -s /out/keep-tmp ] && keep=$(cat /out/keep-tmp)
if [ -n "$keep" ] && [ -d "$r/tmp/$keep" ]; then
  mkdir -p /ovl/keep && mount --bind "$r/tmp/$keep" /ovl/keep
fi
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
if [ -n "$keep" ] && [ -d /ovl/keep ]; then
  mkdir -p "$r/tmp/$keep" && mount --move /ovl/keep "$r/tmp/$keep"
fi
mount -t tmpfs -o mode=0755 tmpfs $r/run
mount -t tmpfs -o mode=0755 tmpfs $r/sys/fs/cgroup
mount -t cgroup2 -o nsdelegate cgroup2 $r/sys/fs/cgroup || fail "cannot mount cgroup2"
# Every controller the kernel has, for every cgroup below the root.
ctrls=""
for c in $(cat $r/sys/fs/cgroup/cgroup.controllers); do ctrls="$ctrls +$c"; done
[ -n "$ctrls" ] && echo $ctrls >$r/sys/fs/cgroup/cgroup.subtree_control
# The host's /lib/modules is for the host's kernel; give the guest its own.
kver=$(uname -r)
mkdir -p $r/lib/modules/$kver
mount --bind /lower/$(cat /moddir) $r/lib/modules/$kver 2>/dev/null || true
mkdir -p $r/run/hull-vm
mount --bind /out $r/run/hull-vm

# COMMAND's stdout and stderr go to the host over named virtio-serial ports.
out=/dev/console err=/dev/console
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] || continue
  case "$(cat $p/name)" in
    stdout) out=/dev/${p##*/} ;;
    stderr) err=/dev/${p##*/} ;;
  esac
done
ip link set lo up 2>/dev/null || true
hostname hull-vm

# The new root becomes / with switch_root, not chroot: a chrooted process may not create user
# namespaces, and setns into a mount namespace would land on the initramfs. A second stage on
# the new root's /run (tmpfs) runs COMMAND, then reports and powers off with its own busybox.
mkdir -p $r/run/hull-vm-bin
cp /bin/busybox $r/run/hull-vm-bin/busybox
cat >$r/run/hull-vm-bin/stage2 <<STAGE2
#!/run/hull-vm-bin/busybox sh
/bin/sh /run/hull-vm/cmd.sh >$out 2>$err </dev/null
echo \$? >/run/hull-vm/status
/run/hull-vm-bin/busybox sync
/run/hull-vm-bin/busybox poweroff -f
/run/hull-vm-bin/busybox sleep 60
STAGE2
chmod 755 $r/run/hull-vm-bin/stage2
exec switch_root $r /run/hull-vm-bin/stage2
fail "switch_root failed"
INIT
}

script_sum=$(sha256sum "$0" | cut -c1-16)
initrd="$kdir/initramfs-$script_sum.cpio"
if [ ! -f "$initrd" ]; then
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  mkdir -p "$build"/{bin,dev,proc,sys,lib/modules}
  cp "$busybox" "$build/bin/busybox"
  resolve_modules >"$build/modules.list"
  while read -r m; do
    mkdir -p "$build/lib/modules/$(dirname "$m")"
    cp "$moddir/$m" "$build/lib/modules/$m"
  done <"$build/modules.list"
  # The host path of the modules, relative to /, as the guest sees it under /lower.
  echo "${moddir#/}" >"$build/moddir"
  write_init >"$build/init"
  chmod 755 "$build/init"
  (cd "$build" && find . | busybox cpio -o -H newc 2>/dev/null) >"$initrd.tmp.$$"
  mv "$initrd.tmp.$$" "$initrd"
  rm -rf "$build"
  trap - EXIT
fi

# ---------------------------------------------------------------------------
# The run.

run=$(mktemp -d /tmp/hull-vm.XXXXXX)
case $PWD in /tmp/?*) keep=${PWD#/tmp/}; echo "${keep%%/*}" >"$run/keep-tmp" ;; esac
qpid=""
cleanup() {
  [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# COMMAND as a script: every argument single-quoted, so nothing is re-split in the guest.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  echo "cd $(quote "$PWD") 2>/dev/null || cd /"
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
  while IFS= read -r kv; do echo "export $(quote "$kv")"; done < <(env | grep -E '^(HULL|GTEST)_[A-Za-z0-9_]*=' || true)
  for kv in "${envs[@]}"; do echo "export $(quote "$kv")"; done
  printf 'exec'
  for a in "$@"; do printf ' %s' "$(quote "$a")"; done
  echo
} >"$run/cmd.sh"

# The guest's TSC runs at the host's rate; telling the kernel so skips a calibration that can
# hang for a long time on a loaded host under TCG.
tsc_khz=$(awk -F': ' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
cmdline="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init tsc=reliable"
[ -n "$tsc_khz" ] && [ "$tsc_khz" -gt 0 ] && cmdline="$cmdline tsc_early_khz=$tsc_khz"
# Spectre-class mitigations only slow an emulated CPU down; the guest is throwaway.
cmdline="$cmdline mitigations=off systemd.unified_cgroup_hierarchy=1"

start=$(date +%s.%N)
"$qemu" -M microvm,acpi=on,rtc=on -accel tcg -cpu max -smp "$cpus" -m "$mem_mb" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$vmlinux" -initrd "$initrd" -append "$cmdline" \
  -serial "file:$run/console.log" \
  -fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-device,fsdev=root,mount_tag=hostroot \
  -fsdev "local,id=out,path=$run,security_model=none" \
  -device virtio-9p-device,fsdev=out,mount_tag=hullvmout \
  -device virtio-serial-device \
  -chardev "file,id=gout,path=/proc/self/fd/1,append=on" \
  -device virtserialport,chardev=gout,name=stdout \
  -chardev "file,id=gerr,path=/proc/self/fd/3,append=on" \
  -device virtserialport,chardev=gerr,name=stderr \
  </dev/null 3>&2 2>"$run/qemu.err" &
qpid=$!

# A timeout of our own rather than timeout(1), so the guest's fate is known here.
deadline=$(( $(date +%s) + timeout_s ))
while kill -0 "$qpid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    kill -9 "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
    qpid=""
    echo "run-in-guest: timed out after ${timeout_s}s; console tail:" >&2
    tail -n 30 "$run/console.log" >&2 || true
    exit 124
  fi
  sleep 0.2
done
wait "$qpid" && qrc=0 || qrc=$?
qpid=""
end=$(date +%s.%N)

if [ ! -s "$run/status" ]; then
  echo "run-in-guest: guest ended (qemu exit $qrc) without running the command; console:" >&2
  cat "$run/qemu.err" "$run/console.log" >&2 || true
  exit 126
fi
status=$(cat "$run/status")
if [ "$verbose" -eq 1 ]; then
  echo "run-in-guest: kernel $kver, booted in $(cat "$run/boot-seconds" 2>/dev/null || echo '?') s (guest clock), total $(awk "BEGIN { printf \"%.1f\", $end - $start }") s, exit $status" >&2
fi
if [ "$status" -eq 126 ] || { [ "$verbose" -eq 1 ] && [ "$status" -ne 0 ]; }; then
  cat "$run/console.log" >&2 || true
fi
exit "$status"
