#!/bin/bash
# Pull and unpack of a multi-layer image from a registry on loopback into an empty store:
# `hull pull` against `skopeo copy` + `umoci unpack`, side by side, interleaved, medians.
#
#   bench/pull.sh [--hull PATH] [--rounds N] [--variants hull,skopeo-umoci] [--json FILE] [--keep]
#
# The image (bench/pull-image.py): 6 gzip layers, about 50 MiB of mixed files. Debian's
# docker-registry serves it over plain HTTP on 127.0.0.1 (a free port, its own storage in the
# temp dir); skopeo pushes it once. Every round starts each variant from nothing (its store,
# OCI dir and bundle removed, untimed) and times, as wall clock and CPU time of the command
# and everything it waited for:
#   hull          hull pull --store S --tls-verify=false -q 127.0.0.1:PORT/bench/pull:v1
#                 (fetch every blob, verify, unpack every layer: the image is ready to run)
#   skopeo-umoci  skopeo copy --src-tls-verify=false docker://... oci:DIR:v1, then
#                 umoci unpack --image DIR:v1 BUNDLE (a flattened rootfs: ready to run)
# The variant order rotates every round. Page cache is left alone (no drop_caches): both
# read the same registry files, warm after the first round. Prints medians and ratios; the
# JSON (every sample) goes to bench/results/pull-<UTC time>.json. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
hull=$top/build/bin/hull
rounds=7
variants=hull,skopeo-umoci
json=
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --hull) hull=$(realpath "${2:?}"); shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --variants) variants=${2:?}; shift 2 ;;
    --json) json=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "pull.sh: unknown option \`$1\`" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "pull.sh: run as root (umoci keeps owners only as root)" >&2; exit 1; }
for t in docker-registry skopeo umoci python3; do
    command -v "$t" >/dev/null || { echo "pull.sh: \`$t\` is missing (packaging/deps.sh installs it)" >&2; exit 1; }
done
IFS=, read -ra names <<<"$variants"
for v in "${names[@]}"; do
    case $v in
    hull) [ -x "$hull" ] || { echo "pull.sh: no hull at \`$hull\` (build it, or pass --hull)" >&2; exit 1; } ;;
    skopeo-umoci) ;;
    *) echo "pull.sh: unknown variant \`$v\`" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hull-pull-bench.XXXXXX")
registry_pid=
cleanup() {
    [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; }
    if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building the image..." >&2
image_desc=$(python3 "$here/pull-image.py" "$work/layout" v1)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" >/dev/null 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "pull.sh: docker-registry did not start: $(cat "$work/registry.log")" >&2; exit 1; }
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/policy.json"
export REGISTRY_AUTH_FILE=$work/auth.json  # no credentials of the host's
ref=127.0.0.1:$port/bench/pull:v1
skopeo --policy "$work/policy.json" copy -q --dest-tls-verify=false "oci:$work/layout:v1" "docker://$ref"

# One timed command: "wall user sys" in seconds into $work/t, its stderr into $work/err.
TIMEFORMAT='%3R %3U %3S'
timed() {
    { time "$@" >/dev/null 2>"$work/err"; } 2>"$work/t"
}

run_hull() {
    rm -rf "$work/store"
    timed "$hull" pull --store "$work/store" --tls-verify=false -q "$ref" || return 1
    cat "$work/t"
}
run_skopeo_umoci() {
    rm -rf "$work/oci" "$work/bundle"
    timed skopeo --policy "$work/policy.json" copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:v1" || return 1
    read -r w1 u1 s1 <"$work/t"
    timed umoci unpack --image "$work/oci:v1" "$work/bundle" || return 1
    read -r w2 u2 s2 <"$work/t"
    awk -v w1="$w1" -v u1="$u1" -v s1="$s1" -v w2="$w2" -v u2="$u2" -v s2="$s2" \
        'BEGIN {printf "%.3f %.3f %.3f %.3f %.3f\n", w1 + w2, u1 + u2, s1 + s2, w1, w2}'
}

# Warm-up, untimed: the registry's files into the page cache, each tool's binaries too.
for v in "${names[@]}"; do
    "run_${v//-/_}" >/dev/null || { echo "pull.sh: $v failed: $(head -3 "$work/err")" >&2; exit 1; }
done

declare -A samples
for ((r = 0; r < rounds; r++)); do
    n=${#names[@]}
    for ((k = 0; k < n; k++)); do
        v=${names[$(((k + r) % n))]}
        if out=$("run_${v//-/_}"); then
            samples[$v]+="$out;"
        else
            echo "pull.sh: round $((r + 1)): $v failed: $(head -3 "$work/err")" >&2
        fi
    done
    echo "round $((r + 1))/$rounds done" >&2
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.3f", NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { tr ';' '\n' | grep . | awk -v c="$1" '{print $c}'; }

echo
echo "pull + unpack of $image_desc from docker-registry on 127.0.0.1, $rounds rounds, $(nproc) CPUs, kernel $(uname -r)"
printf '%-14s %10s %10s %10s %10s\n' variant wall_s cpu_s ratio detail
base=
declare -A med
for v in "${names[@]}"; do
    s=${samples[$v]:-}
    [ -n "$s" ] || { printf '%-14s %10s\n' "$v" failed; continue; }
    w=$(col 1 <<<"$s" | median)
    cpu=$(tr ';' '\n' <<<"$s" | grep . | awk '{print $2 + $3}' | median)
    med[$v]=$w
    [ -n "$base" ] || base=$w
    detail=
    [ "$v" = skopeo-umoci ] && detail="skopeo $(col 4 <<<"$s" | median) s + umoci $(col 5 <<<"$s" | median) s"
    printf '%-14s %10s %10s %10s   %s\n' "$v" "$w" "$cpu" "x$(awk -v a="$w" -v b="$base" 'BEGIN {printf "%.2f", a / b}')" "$detail"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$here/results"
[ -n "$json" ] || json=$here/results/pull-$stamp.json
{
    printf '{"when": "%s", "image": "%s", "rounds": %d, "loadavg_end": "%s", "samples": {' \
        "$stamp" "$image_desc" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
    sep=
    for v in "${names[@]}"; do
        printf '%s"%s": [' "$sep" "$v"
        tr ';' '\n' <<<"${samples[$v]:-}" | grep . | awk 'BEGIN {s=""} {printf "%s{\"wall\": %s, \"user\": %s, \"sys\": %s}", s, $1, $2, $3; s=", "}'
        printf ']'
        sep=", "
    done
    printf '}}\n'
} >"$json"
ln -sf "$(basename "$json")" "$here/results/pull-latest.json" 2>/dev/null || true
echo "results: $json"
