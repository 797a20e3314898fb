#!/bin/sh
# bench/vm.sh: `hull vm run` of the test guest (tests/guest) against
# `qemu-system-x86_64 -M microvm` booting the same guest, interleaved. See README.md,
# "Micro-VM: hull vm run vs qemu microvm".
#
#   bench/vm.sh [--rounds N] [--hull PATH] [--guest PATH] [--memory MIB] [--accel kvm|tcg]
#               [--json FILE] [--keep]
#
# Run as root (for /dev/kvm) from anywhere. Per round each VMM boots the guest once, the
# order alternating between rounds; the guest reads its disk, writes a reply, flushes and
# exits through port 0x501. Timed by a small static C driver built into bench/.build/: launch
# (just before fork) to the first byte on the VMM's stdout, launch to wait4() returning, and
# wait4's ru_maxrss.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
rounds=20
hull="$top/build/bin/hull"
guest=""
memory=64
accel=kvm
json=""
keep=0

die() { echo "vm.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --hull) hull=$2; shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument \`$1\`" ;;
  esac
done
[ -z "$guest" ] && guest="$(dirname "$hull")/hull-test-guest-pvh.elf"
[ -x "$hull" ] || die "no hull binary at \`$hull\` (--hull)"
[ -f "$guest" ] || die "no test guest at \`$guest\` (--guest; build the hull-test-guest-pvh target)"
case "$rounds" in ''|*[!0-9]*) die "--rounds takes a number" ;; esac

# ---- the driver -------------------------------------------------------------------------
build="$here/.build"
mkdir -p "$build"
driver="$build/vm-launch"
if [ ! -x "$driver" ] || [ "$0" -nt "$driver" ]; then
  cat > "$build/vm-launch.c" <<'EOF'
/* vm-launch CMD...: runs CMD with stdout on a pipe, stderr to $VM_LAUNCH_STDERR (or
   /dev/null); prints "first_byte_ns exit_ns maxrss_kib status" where status is the exit
   code, or 128+signal. The first byte is timed when poll() says the pipe is readable (-1 if
   nothing came). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* errpath = getenv("VM_LAUNCH_STDERR");
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return 2;
    int errfd = open(errpath ? errpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (errfd < 0) return 2;
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(errfd, 2);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    close(p[1]);
    long long first = -1;
    char buf[65536];
    for (;;) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, -1) < 0) continue;
        long long t = now_ns() - t0;
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        if (first < 0) first = t;
        if (getenv("VM_LAUNCH_STDOUT")) fwrite(buf, 1, (size_t)n, stderr);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
    }
    long long end = now_ns() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%lld %lld %ld %d\n", first, end, ru.ru_maxrss, code);
    return 0;
}
EOF
  cc -O2 -static -o "$driver" "$build/vm-launch.c" || die "cannot build the driver"
fi

# ---- setup --------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/hull-vmbench.XXXXXX)
cleanup() { [ "$keep" = 1 ] && echo "kept $tmp" >&2 || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

make_disk() {
  # 64 KiB: sector 0 carries the pattern the guest looks for, so it also writes and flushes.
  { printf 'HULL-GUEST-DISK:bench\n'; head -c $((65536 - 22)) /dev/zero; } > "$1"
}

hull_cmd() {
  make_disk "$tmp/hull.img"
  echo "$hull vm run --kernel $guest --memory ${memory}M --cmdline guest.status=0 --disk $tmp/hull.img"
}
# qemu's microvm puts its virtio-mmio elsewhere; with acpi=off it adds the matching
# virtio_mmio.device= itself. isa-debug-exit turns status 0 into exit code 1.
qemu_cmd() {
  make_disk "$tmp/qemu.img"
  echo "qemu-system-x86_64 -M microvm,accel=$accel,acpi=off -m ${memory}M -nodefaults -no-user-config" \
       "-nographic -serial stdio -no-reboot -global virtio-mmio.force-legacy=false" \
       "-device isa-debug-exit,iobase=0x501,iosize=1" \
       "-drive file=$tmp/qemu.img,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0" \
       "-kernel $guest -append guest.status=0"
}
want_hull=0
want_qemu=1

# One sample: appends "first exit rss" to $tmp/<name>.samples, or counts a failure.
sample() {
  name=$1; want=$2; cmd=$3
  # shellcheck disable=SC2086 # the command is built above from paths without blanks
  out=$(VM_LAUNCH_STDERR="$tmp/$name.stderr" "$driver" $cmd) || { echo x >> "$tmp/$name.fail"; return; }
  set -- $out
  if [ "$4" = "$want" ]; then
    echo "$1 $2 $3" >> "$tmp/$name.samples"
  else
    echo "$4" >> "$tmp/$name.fail"
  fi
}

# Which VMMs can run the guest at all (one untimed boot each, which also warms the caches).
vmms=""
for v in hull qemu; do
  case $v in
    hull) cmd=$(hull_cmd); want=$want_hull ;;
    qemu)
      command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "qemu: skipped, qemu-system-x86_64 not installed" >&2; continue; }
      cmd=$(qemu_cmd); want=$want_qemu ;;
  esac
  # shellcheck disable=SC2086
  out=$(VM_LAUNCH_STDERR="$tmp/$v.warmup" "$driver" $cmd) || out="-1 -1 -1 -1"
  set -- $out
  if [ "$4" = "$want" ]; then
    vmms="$vmms $v"
  else
    echo "$v: skipped, the warm-up boot ended with status $4 (want $want): $(head -c 300 "$tmp/$v.warmup")" >&2
  fi
done
[ -n "$vmms" ] || die "no VMM could boot the guest"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
while [ $i -lt "$rounds" ]; do
  # Alternate the order, so neither always goes first.
  if [ $((i % 2)) = 0 ]; then order=$vmms; else order=$(echo "$vmms" | awk '{for (i = NF; i > 0; --i) printf " %s", $i}'); fi
  for v in $order; do
    case $v in
      hull) sample hull $want_hull "$(hull_cmd)" ;;
      qemu) sample qemu $want_qemu "$(qemu_cmd)" ;;
    esac
  done
  i=$((i + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------------------
# median COLUMN FILE: nearest-rank median of one column.
median() {
  awk -v c="$1" '{print $c}' "$2" | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "nan"}'
}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$here/results"
[ -n "$json" ] || json="$here/results/vm-$stamp.json"

printf '\nhull vm run vs qemu microvm (accel=%s), %s rounds, guest %s, %s MiB\n' "$accel" "$rounds" "$(basename "$guest")" "$memory"
printf 'load average: %s at start, %s at end\n\n' "$load_start" "$load_end"
printf '%-8s %5s %5s %16s %16s %14s\n' vmm n fail "first byte (ms)" "exit (ms)" "peak RSS (MiB)"
base_first=""; base_exit=""; base_rss=""
entries=""
for v in $vmms; do
  f="$tmp/$v.samples"
  touch "$f"
  n=$(wc -l < "$f")
  fails=0; [ -f "$tmp/$v.fail" ] && fails=$(wc -l < "$tmp/$v.fail")
  first=$(median 1 "$f"); exit_ns=$(median 2 "$f"); rss=$(median 3 "$f")
  [ -z "$base_first" ] && { base_first=$first; base_exit=$exit_ns; base_rss=$rss; }
  awk -v v="$v" -v n="$n" -v fl="$fails" -v a="$first" -v b="$exit_ns" -v c="$rss" \
      -v ba="$base_first" -v bb="$base_exit" -v bc="$base_rss" 'BEGIN {
    printf "%-8s %5d %5d %8.2f (x%5.2f) %8.2f (x%5.2f) %6.2f (x%5.2f)\n", v, n, fl,
      a / 1e6, a / ba, b / 1e6, b / bb, c / 1024, c / bc }'
  samples=$(awk '{printf "%s[%s,%s,%s]", (NR > 1 ? "," : ""), $1, $2, $3}' "$f")
  entries="$entries${entries:+,}
    \"$v\": {\"n\": $n, \"failures\": $fails, \"median_first_byte_ns\": $first, \"median_exit_ns\": $exit_ns,
      \"median_maxrss_kib\": $rss, \"samples_first_exit_rss\": [$samples]}"
done
printf '\n(xN: ratio to %s; first byte and exit are from just before fork)\n' "$(echo $vmms | cut -d' ' -f1)"

cat > "$json" <<EOF
{
  "bench": "vm", "time": "$stamp", "rounds": $rounds, "accel": "$accel", "memory_mib": $memory,
  "guest": "$guest", "hull": "$hull", "loadavg_start": "$load_start", "loadavg_end": "$load_end",
  "vmms": {$entries
  }
}
EOF
ln -sf "$(basename "$json")" "$here/results/vm-latest.json" 2>/dev/null || true
echo "results: $json"
