#!/bin/bash
# What cgroup setup costs in `create`: hull joining its cgroups by itself (v1 `tasks` "0" from
# the init, clone3(CLONE_INTO_CGROUP) for cgroup2) against hull made to join the way runc does
# (HULL_CGROUP_JOIN=pid: the parent writes the pid into every cgroup.procs), and runc and crun.
#
# Writing a pid into cgroup.procs takes the kernel's global cgroup_threadgroup_rwsem for
# writing; after an idle moment that waits for an RCU grace period (5-15 ms on these hosts),
# and back-to-back creates hide it. So every round first sleeps (--idle), then times one
# `create` of each variant, interleaved; the container is deleted untimed.
#
#   bench/cgroup.sh [--hull PATH] [--rounds N] [--idle SEC] [--variants LIST]
#   tests/vm/run-in-guest.sh -- bench/cgroup.sh --variants hull,hull-pid   # pure cgroup v2
#
# On this hybrid host all variants run in a private mount namespace with a tmpfs over
# /sys/fs/cgroup/unified, as bench/run.sh does (crun 1.8.1 refuses hybrid hosts), so the
# numbers are for cgroup v1 only. Prints medians; see bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
hull=$top/build/bin/hull
rounds=15
idle=1.5
variants=hull,hull-pid,runc,crun
while [ $# -gt 0 ]; do
    case $1 in
    --hull) hull=$(realpath "${2:?}"); shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --idle) idle=${2:?}; shift 2 ;;
    --variants) variants=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "cgroup.sh: unknown option \`$1\`" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "cgroup.sh: run as root" >&2; exit 1; }
[ -x "$hull" ] || { echo "cgroup.sh: no hull at \`$hull\` (build it, or pass --hull)" >&2; exit 1; }

if [ "${HULL_CGROUP_BENCH_INNER:-}" != 1 ]; then
    # Re-run inside a private mount namespace; mask the hybrid cgroup2 mount where there is one.
    mask=0
    if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
        [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mask=1
    fi
    exec env HULL_CGROUP_BENCH_INNER=1 HULL_CGROUP_BENCH_MASK=$mask unshare -m --propagation private -- \
        "$0" --hull "$hull" --rounds "$rounds" --idle "$idle" --variants "$variants"
fi
if [ "${HULL_CGROUP_BENCH_MASK:-0}" = 1 ]; then
    mount -t tmpfs -o mode=0755 hull-cgroup-bench-mask /sys/fs/cgroup/unified
fi

busybox=
for c in /bin/busybox /usr/bin/busybox; do
    if [ -x "$c" ] && ! ldd "$c" >/dev/null 2>&1; then busybox=$c; break; fi
done
[ -n "$busybox" ] || { echo "cgroup.sh: no static busybox (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hull-cgroup-bench.XXXXXX")
declare -A bin env
IFS=, read -ra names <<<"$variants"
for v in "${names[@]}"; do
    case $v in
    hull) bin[$v]=$hull; env[$v]= ;;
    hull-pid) bin[$v]=$hull; env[$v]=HULL_CGROUP_JOIN=pid ;;
    *) bin[$v]=$(command -v "$v" || true); env[$v]= ;;
    esac
done
cleanup() {
    local v d
    for v in "${names[@]}"; do
        [ -n "${bin[$v]}" ] || continue
        for d in "$work/state-$v"/*; do
            [ -d "$d" ] && "${bin[$v]}" --root "$work/state-$v" delete --force "${d##*/}" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$work"
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs"/{proc,sys,dev,tmp}
cp "$busybox" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
cp "$here/config.runc-spec.json" "$bundle/config.json"
sed -i -e 's/"terminal": true/"terminal": false/' -e '/"args": \[/,/\]/ s/"sh"/"\/bin\/true"/' "$bundle/config.json"

# Microseconds from bash's EPOCHREALTIME: no fork for the clock itself.
usec() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

declare -A samples
for ((r = 1; r <= rounds; r++)); do
    for v in "${names[@]}"; do
        [ -n "${bin[$v]}" ] || continue
        sleep "$idle"
        id=cgb-$$-$r-$v
        t0=$(usec)
        if ! env ${env[$v]} "${bin[$v]}" --root "$work/state-$v" create --bundle "$bundle" "$id" \
            >/dev/null 2>"$work/err"; then
            echo "cgroup.sh: $v create failed: $(head -1 "$work/err")" >&2
            continue
        fi
        t1=$(usec)
        "${bin[$v]}" --root "$work/state-$v" delete --force "$id" >/dev/null 2>&1 || true
        samples[$v]+="$((t1 - t0)) "
    done
done

layout="cgroup v1 (hybrid host, cgroup2 masked)"
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && layout="pure cgroup v2"
[ "${HULL_CGROUP_BENCH_MASK:-0}" = 1 ] || [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || layout="cgroup v1"
echo "create after ${idle}s idle, $rounds rounds, $layout, kernel $(uname -r)"
printf '%-10s %10s %10s %10s\n' variant median_ms min_ms max_ms
base=
for v in "${names[@]}"; do
    [ -n "${samples[$v]:-}" ] || { printf '%-10s %10s\n' "$v" skipped; continue; }
    read -r med min max <<<"$(tr ' ' '\n' <<<"${samples[$v]}" | grep . | sort -n |
        awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f %.2f %.2f\n", m/1000, a[1]/1000, a[NR]/1000}')"
    [ -n "$base" ] || base=$med
    printf '%-10s %10s %10s %10s   x%.2f\n' "$v" "$med" "$min" "$max" "$(awk -v a="$med" -v b="$base" 'BEGIN {print a / b}')"
done
