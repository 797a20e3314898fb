#!/bin/bash
# Side-by-side benchmark of hull, runc and crun on one busybox bundle.
#
# Builds bench/src (hull-bench), lays out a busybox bundle in a temp dir, and runs the
# driver for every runtime inside one private mount namespace in which the host's hybrid
# cgroup2 mount (/sys/fs/cgroup/unified) is hidden under a tmpfs, so crun 1.8.1 accepts the
# layout and all runtimes see the same (pure v1) cgroups. The host's mounts are untouched.
# See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

usage() {
    cat <<EOF
usage: bench/run.sh [--runtimes hull,runc,crun] [--rounds N] [--hull PATH] [options]
  --runtimes LIST  comma-separated; NAME or NAME=PATH (default hull,runc,crun)
  --rounds N       interleaved rounds (default 20)
  --hull PATH      hull binary (default $top/build/bin/hull)
  --seq N          runs in the sequential benchmark, 0 to skip (default 100)
  --par N          runs in the concurrent benchmark, 0 to skip (default 20)
  --timeout SEC    per-command timeout (default 10)
  --json FILE      JSON summary path (default bench/results/bench-<UTC time>.json)
  --no-mask        leave /sys/fs/cgroup/unified visible inside the namespace
  --keep           keep the temp dir (bundle, state roots, runtime stderr logs)
EOF
}

runtimes=hull,runc,crun
rounds=20
hull_path=$top/build/bin/hull
seq=100
par=20
timeout=10
json=
mask=1
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --runtimes) runtimes=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --hull) hull_path=${2:?}; shift 2 ;;
    --seq) seq=${2:?}; shift 2 ;;
    --par) par=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --json) json=${2:?}; shift 2 ;;
    --no-mask) mask=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option \`$1\`" >&2; usage >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: containers need root: run as root" >&2
    exit 1
fi
for tool in unshare mount; do
    command -v "$tool" >/dev/null || { echo "run.sh: \`$tool\` not found" >&2; exit 1; }
done
busybox=
for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then
        busybox=$candidate
        break
    fi
done
[ -n "$busybox" ] || { echo "run.sh: no static busybox (apt-get install busybox-static)" >&2; exit 1; }

# Build the driver (a no-op when nothing changed).
driver=$here/.build/hull-bench
if command -v cmake >/dev/null; then
    generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    [ -f "$here/.build/CMakeCache.txt" ] || cmake -S "$here" -B "$here/.build" "${generator[@]}" >/dev/null
    cmake --build "$here/.build" >/dev/null
else
    mkdir -p "$here/.build"
    g++ -std=c++23 -O2 -Wall -Wextra -static -o "$driver" "$here"/src/*.cpp
fi

# Resolve the runtimes; a missing one goes to the driver with an empty path and is
# reported as skipped.
runtime_args=()
IFS=, read -ra wanted <<<"$runtimes"
for entry in "${wanted[@]}"; do
    [ -n "$entry" ] || continue
    case $entry in
    *=*) name=${entry%%=*}; path=${entry#*=} ;;
    hull) name=hull; path=$hull_path ;;
    *) name=$entry; path=$(command -v "$entry" || true) ;;
    esac
    [ -z "$path" ] || path=$(realpath -m "$path")
    runtime_args+=(--runtime "$name=$path")
done
[ ${#runtime_args[@]} -gt 0 ] || { echo "run.sh: no runtimes given" >&2; exit 2; }

if [ -z "$json" ]; then
    mkdir -p "$here/results"
    json=$here/results/bench-$(date -u +%Y%m%dT%H%M%SZ).json
fi
json=$(realpath -m "$json")

work=$(mktemp -d "${TMPDIR:-/tmp}/hull-bench.XXXXXX")

# Hide the hybrid cgroup2 mount, but only where it is one, and only in our namespace.
do_mask=0
if [ $mask = 1 ] && [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
    [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    do_mask=1
fi

# Runs a command in a fresh private mount namespace, with the mask when it applies.
in_namespace() {
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        HULL_BENCH_MASK=$do_mask \
        unshare -m --propagation private -- /bin/sh -c '
            set -e
            if [ "$HULL_BENCH_MASK" = 1 ]; then
                mount -t tmpfs -o mode=0755 hull-bench-mask /sys/fs/cgroup/unified
            fi
            exec "$@"' hull-bench-ns "$@"
}

# Whatever the driver left (it sweeps its own state roots, but it may have been killed):
# force-delete containers still in a state root, then report any cgroup the runtimes left.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    local args=() d rt name
    for rt in "${runtime_args[@]}"; do
        [ "$rt" != --runtime ] || continue
        name=${rt%%=*}
        args+=("$name" "${rt#*=}")
    done
    if [ -d "$work" ]; then
        in_namespace /bin/sh -c '
            work=$1; shift
            while [ $# -ge 2 ]; do
                name=$1 path=$2; shift 2
                root=$work/state-$name
                [ -n "$path" ] && [ -d "$root" ] || continue
                for d in "$root"/hull-bench-*; do
                    [ -e "$d" ] || continue
                    timeout 10 "$path" --root "$root" delete --force "${d##*/}" >/dev/null 2>&1 || true
                done
            done' cleanup "$work" "${args[@]}" || true
    fi
    for d in /sys/fs/cgroup/*/hull-bench-* /sys/fs/cgroup/*/*/hull-bench-*; do
        [ -d "$d" ] || continue
        if rmdir "$d" 2>/dev/null; then
            echo "run.sh: removed leftover cgroup \`$d\`" >&2
        else
            echo "run.sh: leftover cgroup \`$d\` could not be removed" >&2
        fi
    done
    if [ $keep = 1 ]; then
        echo "run.sh: kept \`$work\`" >&2
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The bundle: Debian's static busybox with a few applets, config.json as `runc spec`
# writes it, with terminal false and args ["/bin/true"].
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs"/{proc,sys,dev,tmp,etc}
cp "$busybox" "$bundle/rootfs/bin/busybox"
for applet in true false sh sleep echo cat ls id; do
    ln -s busybox "$bundle/rootfs/bin/$applet"
done
if command -v runc >/dev/null && runc spec --bundle "$bundle" 2>/dev/null; then
    spec_source="runc spec ($(runc --version | head -1))"
else
    cp "$here/config.runc-spec.json" "$bundle/config.json"
    spec_source="bench/config.runc-spec.json (saved runc 1.1.5 spec)"
fi
if command -v jq >/dev/null; then
    jq '.process.terminal = false | .process.args = ["/bin/true"]' "$bundle/config.json" >"$bundle/config.json.new"
    mv "$bundle/config.json.new" "$bundle/config.json"
else
    # The runc spec layout is fixed: "terminal": true, and "args": [ "sh" ].
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e '/"args": \[/,/\]/ s/"sh"/"\/bin\/true"/' "$bundle/config.json"
fi

if [ $do_mask = 1 ]; then
    setup="all runtimes run in one private mount namespace (unshare -m) with a tmpfs over /sys/fs/cgroup/unified, i.e. cgroup v1 only"
else
    setup="all runtimes run in one private mount namespace (unshare -m), cgroup mounts as on the host"
fi

status=0
in_namespace "$driver" \
    --bundle "$bundle" --work "$work" --rounds "$rounds" --seq "$seq" --par "$par" \
    --timeout "$timeout" --json "$json" --floor "$busybox" \
    --meta "setup=$setup" --meta "config=$spec_source, terminal false, args [/bin/true]" \
    "${runtime_args[@]}" || status=$?
if [ $status = 0 ] && [ -d "$here/results" ] && [ "$(dirname "$json")" = "$here/results" ]; then
    ln -sfn "$(basename "$json")" "$here/results/latest.json"
fi
exit $status
