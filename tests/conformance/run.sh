#!/bin/bash
# Runs the OCI runtime conformance suite (opencontainers/runtime-tools
# validation/ and its runtimetest) against a runtime binary.
#
#   tests/conformance/run.sh [--runtime PATH] [--only PATTERN] [--keep-logs DIR]
#                            [--expect FILE] [--timeout SECONDS] [--list]
#
#   --runtime PATH    runtime to test (default: <repo>/build/bin/hull)
#   --only PATTERN    run only test files whose name matches this extended
#                     regular expression, e.g. 'hooks|linux_cgroups_pids'
#   --keep-logs DIR   keep each file's TAP output, stderr and the runtime
#                     command lines it issued in DIR/<name>.{tap,stderr,runtime}
#   --expect FILE     test files expected to fail, one "name reason" a line
#                     (# starts a comment); their failures print as XFAIL
#                     and do not count as failed, their passes as XPASS
#   --timeout SECONDS time limit for one test file (default 60)
#   --list            print the test file names and exit
#
# Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" (and, with
# --expect, "XFAIL name: reason" or "XPASS name") for every test file and
# closes with "N passed, M failed, K skipped". Exits 0 when nothing failed
# unexpectedly, 1 when something did, 2 when the suite could not be set up.
#
# The suite is built offline from Debian's source package, with Debian's Go
# toolchain and golang-*-dev packages (installed with apt-get when missing),
# in GOPATH mode, and cached under ${XDG_CACHE_HOME:-/var/cache}/hull-conformance
# (override with HULL_CONFORMANCE_CACHE). A warm run only runs the tests.
#
# Every test file runs with its own TMPDIR (its bundles), its own runtime state
# root (--root) and its own process group, under a timeout; afterwards the
# harness kills and force-deletes whatever containers it left, kills the
# process group, removes the cgroups the suite creates (cgrouptest, testdir
# and the containers' IDs) and the temporary directories, pass or fail.
# Runs are serialised with a lock because the suite uses fixed cgroup paths.
#
# Must run as root. See KNOWN.md for files that fail for reasons of the suite
# or of the host rather than of the runtime.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE

# The suite's source. Debian's bookworm source package
# (0.9.0+git20220423.g0105384-2) has no .orig tarball on the mirror this
# project can reach, so the pinned source is the one trixie (Debian 13, so
# kept in the pool for that release's life) and sid ship, checked against the
# SHA-256 from their signed Sources index. It needs nothing newer than
# bookworm's Go 1.19 and -dev packages.
readonly SRC_PACKAGE=golang-github-opencontainers-runtime-tools
readonly SRC_VERSION=0.9.0.109.ge931285
readonly SRC_ORIG=${SRC_PACKAGE}_${SRC_VERSION}.orig.tar.xz
readonly SRC_SHA256=203989a1ea98cf2aaced79155bbda09270b20db19b03376dde91ab12e5e6a0fe
readonly MIRROR=${HULL_CONFORMANCE_MIRROR:-http://deb.debian.org/debian}

# Bump when the way the suite is built changes, so stale caches are rebuilt.
readonly BUILD_RECIPE=2

# Debian packages needed to build the suite. golang-golang-x-sys-dev and the
# rest are what validation/, cmd/runtimetest and the runtime-tools packages
# they use import; golang-gopkg-yaml.v2-dev is for our tap-go stand-in.
readonly BUILD_PACKAGES=(
	golang-go xz-utils
	golang-github-blang-semver-dev
	golang-github-google-uuid-dev
	golang-github-hashicorp-go-multierror-dev
	golang-github-mrunalp-fileutils-dev
	golang-github-opencontainers-selinux-dev
	golang-github-opencontainers-specs-dev
	golang-github-sirupsen-logrus-dev
	golang-github-urfave-cli-dev
	golang-github-xeipuuv-gojsonschema-dev
	golang-gocapability-dev
	golang-golang-x-sys-dev
	golang-gopkg-yaml.v2-dev
)

runtime=""
only=""
keep_logs=""
expect_file=""
timeout_s=60
list_only=0

die() {
	echo "conformance: $*" >&2
	exit 2
}

usage() {
	sed -n '5,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case "$1" in
	--runtime) (($# >= 2)) || usage; runtime=$2; shift 2 ;;
	--runtime=*) runtime=${1#*=}; shift ;;
	--only) (($# >= 2)) || usage; only=$2; shift 2 ;;
	--only=*) only=${1#*=}; shift ;;
	--keep-logs) (($# >= 2)) || usage; keep_logs=$2; shift 2 ;;
	--keep-logs=*) keep_logs=${1#*=}; shift ;;
	--expect) (($# >= 2)) || usage; expect_file=$2; shift 2 ;;
	--expect=*) expect_file=${1#*=}; shift ;;
	--timeout) (($# >= 2)) || usage; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--list) list_only=1; shift ;;
	-h | --help) usage ;;
	*) echo "conformance: unknown argument \`$1\`" >&2; usage ;;
	esac
done

[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds, not \`$timeout_s\`"
[[ $(id -u) == 0 ]] || die "must run as root (the suite creates containers and cgroups)"

if [[ -z $runtime ]]; then
	top=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null) ||
		die "not in a git work tree; pass --runtime PATH"
	runtime=$top/build/bin/hull
fi
if ((!list_only)); then
	if [[ $runtime != */* ]]; then
		resolved=$(command -v "$runtime") || die "runtime \`$runtime\` not found in PATH"
		runtime=$resolved
	fi
	[[ -x $runtime && -f $runtime ]] || die "runtime \`$runtime\` does not exist or is not executable"
	runtime=$(realpath "$runtime")
fi

# name -> reason, from --expect.
declare -A expected=()
if [[ -n $expect_file ]]; then
	[[ -r $expect_file ]] || die "cannot read \`$expect_file\`"
	lineno=0
	while IFS= read -r line || [[ -n $line ]]; do
		lineno=$((lineno + 1))
		line=${line%%#*}
		read -r name reason <<<"$line" || true
		[[ -n ${name-} ]] || continue
		[[ -n ${reason-} ]] || die "\`$expect_file\` line $lineno: \`$name\` has no reason"
		expected[$name]=$reason
	done <"$expect_file"
fi

case "$(uname -m)" in
x86_64) goarch=amd64 ;;
i?86) goarch=386 ;;
*) die "the suite ships a rootfs only for amd64 and 386, not \`$(uname -m)\`" ;;
esac

cache_root=${HULL_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-/var/cache}/hull-conformance}
mkdir -p "$cache_root"

# --- building the suite ------------------------------------------------------

install_build_packages() {
	local missing=() p
	for p in "${BUILD_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	echo "conformance: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >"$cache_root/apt.log" 2>&1; then
		# A fresh machine may never have fetched the package lists.
		if ! { apt-get -o DPkg::Lock::Timeout=300 update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"; } \
			>>"$cache_root/apt.log" 2>&1; then
			tail -n 20 "$cache_root/apt.log" >&2
			die "apt-get install failed (log: $cache_root/apt.log)"
		fi
	fi
}

# Downloads the pinned upstream tarball through apt's own downloader, which
# checks the hash.
fetch_source() {
	local dest=$cache_root/src/$SRC_ORIG
	if [[ -f $dest ]] && echo "$SRC_SHA256  $dest" | sha256sum -c --quiet - 2>/dev/null; then
		return 0
	fi
	mkdir -p "$cache_root/src"
	rm -f "$dest"
	local url=$MIRROR/pool/main/${SRC_PACKAGE:0:1}/$SRC_PACKAGE/$SRC_ORIG
	# As root, apt-helper would try to drop to _apt, which cannot write here.
	/usr/lib/apt/apt-helper -o Debug::NoDropPrivs=true download-file "$url" "$dest.part" "SHA256:$SRC_SHA256" \
		>"$cache_root/src/download.log" 2>&1 ||
		{ cat "$cache_root/src/download.log" >&2; die "cannot download \`$url\`"; }
	mv "$dest.part" "$dest"
}

# Prints the cache key: everything that changes the built suite.
build_key() {
	{
		echo "$SRC_VERSION $SRC_SHA256 $BUILD_RECIPE $goarch"
		go version 2>/dev/null || true
		cat "$HERE/tap-go/tap.go" "$HERE/nofile/nofile.go" "$HERE/runtimetest_nofile.go"
	} | sha256sum | cut -c1-16
}

build_suite() {
	local out=$1 work=$1.build
	rm -rf "$work" "$out"
	mkdir -p "$work"
	local gopath=$work/gopath
	local rt=$gopath/src/github.com/opencontainers/runtime-tools
	mkdir -p "$rt" "$gopath/src/github.com/mndrix" "$gopath/src/hullconformance"
	tar -C "$rt" --strip-components=1 -xJf "$cache_root/src/$SRC_ORIG"
	cp -r "$HERE/tap-go" "$gopath/src/github.com/mndrix/tap-go"
	cp -r "$HERE/nofile" "$gopath/src/hullconformance/nofile"
	# The name makes it the first file of package main; see the file.
	cp "$HERE/runtimetest_nofile.go" "$rt/cmd/runtimetest/0_hull_nofile.go"

	# Offline, GOPATH mode: runtime-tools' own packages come from $gopath,
	# everything else from Debian's golang-*-dev packages. No cgo anywhere:
	# a cgo runtimetest starts threads with clone3, which the suite's
	# default seccomp profile answers with EPERM, and gcc is not needed.
	export GO111MODULE=off GOPATH=$gopath:/usr/share/gocode GOFLAGS='' GOPROXY=off
	export GOCACHE=$cache_root/gocache GOTOOLCHAIN=local CGO_ENABLED=0
	local tests=()
	local d
	for d in "$rt"/validation/*/; do
		d=${d%/}
		[[ ${d##*/} != util ]] && tests+=("./validation/${d##*/}")
	done

	echo "conformance: building runtimetest and ${#tests[@]} test files" >&2
	mkdir -p "$work/bin/tests"
	(
		cd "$rt"
		# Static (no cgo), so it runs in any rootfs, as upstream's Makefile.
		go build -tags "netgo osusergo" -o "$work/bin/runtimetest" ./cmd/runtimetest
		go build -o "$work/bin/tests/" "${tests[@]}"
	) >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "building the suite failed"; }

	# runtimetest must see the RLIMIT_NOFILE it was started with, not the
	# one Go raises it to (see runtimetest_nofile.go).
	local seen hard
	hard=$(ulimit -Hn)
	[[ $hard != unlimited ]] || hard=18446744073709551615
	seen=$( (ulimit -Sn 64 && HULL_CONFORMANCE_NOFILE_CHECK=1 "$work/bin/runtimetest") 2>&1) || true
	[[ $seen == "64 $hard" ]] ||
		die "runtimetest does not keep its initial RLIMIT_NOFILE: wanted \`64 $hard\`, got \`$seen\`"
	cp "$rt/rootfs-$goarch.tar.gz" "$work/bin/"
	echo "$SRC_VERSION" >"$work/bin/VERSION"
	mv "$work/bin" "$out"
	rm -rf "$work"
}

prepare_suite() {
	local key suite
	if ! command -v go >/dev/null; then
		install_build_packages
	fi
	key=$(build_key)
	suite=$cache_root/suite-$SRC_VERSION-$key
	if [[ ! -x $suite/runtimetest ]]; then
		exec 8>"$cache_root/build.lock"
		flock 8
		if [[ ! -x $suite/runtimetest ]]; then
			local start=$SECONDS
			install_build_packages
			fetch_source
			build_suite "$suite"
			echo "conformance: built the suite in $((SECONDS - start))s into $suite" >&2
			# Builds of other versions or recipes are stale now.
			find "$cache_root" -mindepth 1 -maxdepth 1 -name 'suite-*' ! -path "$suite" \
				-exec rm -rf {} + 2>/dev/null || true
		fi
		exec 8>&-
	fi
	echo "$suite"
}

suite=$(prepare_suite) || exit 2

mapfile -t all_tests < <(ls "$suite/tests")
selected=()
for t in "${all_tests[@]}"; do
	if [[ -z $only ]] || [[ $t =~ $only ]]; then
		selected+=("$t")
	fi
done
((${#selected[@]})) || die "no test file matches \`$only\`"
for t in "${!expected[@]}"; do
	if [[ ! -x $suite/tests/$t ]]; then
		echo "conformance: \`$expect_file\` names \`$t\`, which is no test file" >&2
	fi
done

if ((list_only)); then
	printf '%s\n' "${selected[@]}"
	exit 0
fi

# --- running it --------------------------------------------------------------

# The suite's absolute cgroupsPath (/cgrouptest) is shared by every run on
# the host, so only one run at a time.
exec 9>"$cache_root/run.lock"
flock 9

# The process group of the test file running now, for cleanup on interrupt.
current_pgid=""
run_root=$(mktemp -d /tmp/hull-conformance.XXXXXX)
# World-searchable like /tmp itself: in the user-namespace tests the
# container's root is an unprivileged host uid that must reach the bundle.
chmod 755 "$run_root"
on_exit() {
	local rc=$?
	if [[ -d $run_root ]]; then
		# Interrupted mid-test: clean what that test left.
		local d
		for d in "$run_root"/*/; do
			if [[ -d $d ]]; then
				cleanup_test "${d%/}" "$current_pgid"
			fi
		done
		rm -rf "$run_root"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM
if [[ -n $keep_logs ]]; then
	mkdir -p "$keep_logs"
	keep_logs=$(realpath "$keep_logs")
	: >"$keep_logs/summary"
fi

# RUNTIME points at this wrapper: it gives every test file a private state
# root and records the IDs of the containers it creates, so the harness can
# clean up after the file whatever happened. It execs, so the runtime keeps
# the pid, stdio and exit status the suite sees.
cat >"$run_root/runtime" <<'EOF'
#!/bin/bash
printf '%s\n' "$*" >>"$HULL_CONFORMANCE_CMDLOG"
case "${1-}" in
create | run) printf '%s\n' "${!#}" >>"$HULL_CONFORMANCE_IDS" ;;
esac
exec "$HULL_CONFORMANCE_RUNTIME" --root "$HULL_CONFORMANCE_STATE" "$@"
EOF
chmod 755 "$run_root/runtime"

# Kills every process in a cgroup directory and below, then removes the
# directories, deepest first.
reap_cgroup_tree() {
	local top=$1 dir pid
	# Only real cgroup directories: a test may run with some hierarchy
	# masked by a tmpfs, whose plain directories are not ours to empty.
	case "$(stat -f -c %T "$top" 2>/dev/null)" in
	cgroupfs | cgroup2fs) ;;
	*) return 0 ;;
	esac
	while read -r dir; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			if [[ -w $dir/cgroup.kill ]]; then
				echo 1 >"$dir/cgroup.kill" 2>/dev/null || true
			elif [[ -r $dir/cgroup.procs ]]; then
				while read -r pid; do
					kill -KILL "$pid" 2>/dev/null || true
				done <"$dir/cgroup.procs"
			fi
			if rmdir "$dir" 2>/dev/null; then
				break
			fi
			# A v1 freezer may hold the tasks; thaw them so they can die.
			if [[ -w $dir/freezer.state ]]; then
				echo THAWED >"$dir/freezer.state" 2>/dev/null || true
			fi
			sleep 0.2
		done
		if [[ -d $dir ]]; then
			echo "conformance: cannot remove cgroup \`$dir\`" >&2
		fi
	done < <(find "$top" -depth -type d 2>/dev/null)
	return 0
}

# Removes the cgroups a test file may have left: the suite's fixed names and
# the IDs of its containers, in every hierarchy (v1, v2 or hybrid).
reap_cgroups() {
	local names=(cgrouptest testdir "$@") expr=() n dir
	for n in "${names[@]}"; do
		if [[ -n $n && $n != */* && $n != . && $n != .. ]]; then
			expr+=(-o -name "$n")
		fi
	done
	while read -r dir; do
		reap_cgroup_tree "$dir"
	done < <(find /sys/fs/cgroup -mindepth 2 -type d \( -false "${expr[@]}" \) -prune -print 2>/dev/null)
}

# Kills what is left of a test file's process group (helpers such as the
# `unshare ... sleep 10000` of the namespace tests), kills and deletes every
# container it left, and removes its cgroups and stray mounts.
cleanup_test() {
	local dir=$1 pgid=$2 ids=() id
	local state=$dir/state
	if [[ -n $pgid ]]; then
		kill -KILL -- "-$pgid" 2>/dev/null || true
	fi
	if [[ -f $dir/ids ]]; then
		mapfile -t ids <"$dir/ids"
	fi
	if [[ -d $state ]]; then
		for id in "$state"/*; do
			if [[ -d $id ]]; then
				ids+=("${id##*/}")
			fi
		done
	fi
	mapfile -t ids < <(printf '%s\n' "${ids[@]}" | grep -v '^$' | sort -u)
	for id in "${ids[@]}"; do
		timeout 10 "$runtime" --root "$state" kill "$id" KILL >/dev/null 2>&1 || true
		timeout 10 "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
	done
	reap_cgroups "${ids[@]}"
	# The bundles sit in TMPDIR; a runtime could have left a mount in one.
	if [[ -d $dir ]]; then
		local m
		while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	fi
	return 0
}

passed=0
failed=0
skipped=0
xfailed=0
xpassed=0

# Whether a cgroup v1 hierarchy with this controller is mounted.
has_v1_controller() {
	awk -v c="$1" '
	{
		for (i = 7; i <= NF && $i != "-"; i++) {}
		if ($(i + 1) != "cgroup") next
		n = split($(i + 3), opts, ",")
		for (j = 1; j <= n; j++) if (opts[j] == c) found = 1
	}
	END { exit !found }' /proc/self/mountinfo
}

# Prints why a test file cannot pass on this host whatever the runtime does,
# or nothing. Such files are skipped with that reason (see KNOWN.md).
host_gap() {
	local name=$1 c
	case $name in
	linux_cgroups_*)
		# The suite reads limits back only from cgroup v1 files.
		if ! awk '$0 ~ / - cgroup / { found = 1 } END { exit !found }' /proc/self/mountinfo; then
			echo "the suite reads cgroup v1 only and this host mounts none"
			return
		fi
		;;
	esac
	case $name in
	linux_cgroups_blkio | linux_cgroups_relative_blkio)
		# It sets and reads blkio.weight and blkio.leaf_weight, which only
		# the CFQ scheduler had (gone since Linux 5.0).
		local blkio
		blkio=$(awk '{ for (i = 7; i <= NF && $i != "-"; i++) {} } $(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)blkio(,|$)/ { print $5; exit }' /proc/self/mountinfo)
		if [[ -z $blkio || ! -e $blkio/blkio.leaf_weight ]]; then
			echo "needs cgroup v1 blkio.weight and blkio.leaf_weight (CFQ), absent here"
		fi
		;;
	linux_cgroups_hugetlb | linux_cgroups_relative_hugetlb)
		if ! has_v1_controller hugetlb; then
			echo "needs a cgroup v1 hugetlb hierarchy, absent here"
		fi
		;;
	linux_cgroups_network | linux_cgroups_relative_network)
		for c in net_cls net_prio; do
			if ! has_v1_controller "$c"; then
				echo "needs cgroup v1 $c, absent here"
				return
			fi
		done
		;;
	linux_process_apparmor_profile)
		if [[ $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null) != Y ]]; then
			echo "needs AppArmor, not enabled here"
		elif ! grep -q '^acme_secure_profile ' /sys/kernel/security/apparmor/profiles 2>/dev/null; then
			echo "needs the AppArmor profile acme_secure_profile loaded"
		fi
		;;
	linux_mount_label)
		if [[ ! -e /sys/fs/selinux/enforce ]]; then
			echo "needs SELinux (it sets a mount label), not enabled here"
		fi
		;;
	process_capabilities)
		# It grants every capability, which needs all of them in our
		# bounding set.
		local last bnd missing=() i
		last=$(cat /proc/sys/kernel/cap_last_cap)
		bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
		for ((i = 0; i <= last; i++)); do
			if (((16#$bnd >> i & 1) == 0)); then
				missing+=("$i")
			fi
		done
		if ((${#missing[@]})); then
			echo "needs every capability, but the bounding set here lacks number ${missing[*]} (24 is CAP_SYS_RESOURCE)"
		fi
		;;
	esac
}

# Test files that report success by printing nothing: they expect the
# runtime to refuse the config and only speak (and exit 1) when it does not.
readonly SILENT_ON_SUCCESS=" process_capabilities_fail process_rlimits_fail "

# Reads a file's TAP output and prints "results skips failures reason". A
# file may hold several TAP streams (one per "TAP version" line), each with
# its own plan. Only lines at column 0 are results: runtimetest's TAP also
# appears indented inside YAML blocks of the outer stream. A failure is a
# "not ok" (TODO ones excepted, as TAP says), a plan that does not match the
# stream's results, or an orphan YAML block (one that follows no result)
# with an "error" key: the hook and lifecycle tests report failure only so.
tap_summary() {
	awk '
	function close_stream() {
		if (plan != "" && plan + 0 != n) {
			fail++
			if (reason == "") reason = "planned " plan " tests, ran " n
		}
		plan = ""; n = 0
	}
	function note(r) { fail++; if (reason == "") reason = r }
	/^TAP version / { close_stream(); prev = 0; next }
	/^1\.\.[0-9]+/ { plan = substr($1, 4); prev = 0; next }
	/^(not )?ok( |$)/ {
		n++; total++; prev = 1
		if ($0 ~ /^ok [0-9]+ # SKIP/) skips++
		if ($0 ~ /^not ok/ && $0 !~ /^not ok [0-9]+ # TODO/) note($0)
		next
	}
	/^  ---$/ { yaml = 1; orphan = !prev; prev = 0; want = 0; next }
	yaml && /^  \.\.\.$/ { yaml = 0; next }
	yaml {
		if (!orphan) next
		if (want) { sub(/^ +/, ""); note("error: " $0); want = 0; next }
		if ($0 ~ /^  error: *[|>][-+]?$/) { want = 1; next }
		if ($0 ~ /^  error:/) { sub(/^  error: */, ""); note("error: " $0) }
		next
	}
	/^#/ { next }
	{ prev = 0 }
	END {
		close_stream()
		printf "%d %d %d %s\n", total, skips, fail, reason
	}' "$1"
}

# Turns a file's exit status and TAP output into one result line, left in
# result_line.
judge() {
	local name=$1 rc=$2 tap=$3 stderr=$4
	local results skips failures reason="" last
	read -r results skips failures reason < <(tap_summary "$tap")
	if ((rc == 124 || rc == 137)); then
		reason="timed out after ${timeout_s}s"
	elif ((failures > 0)); then
		reason=${reason:0:200}
		if ((failures > 1)); then
			reason+=" (and $((failures - 1)) more)"
		fi
	elif ((rc != 0)); then
		reason="exit status $rc"
		last=$(grep -v '^[[:space:]]*$' "$stderr" | tail -n 1 | cut -c1-200 || true)
		if [[ -n $last ]]; then
			reason+=": $last"
		fi
	elif ((results == 0)) && ! grep -qE '^1\.\.0' "$tap" && [[ $SILENT_ON_SUCCESS != *" $name "* ]]; then
		reason="no TAP output"
	else
		reason=""
	fi
	if [[ -n $reason && -v expected[$name] ]]; then
		result_line="XFAIL $name: $reason"
		xfailed=$((xfailed + 1))
	elif [[ -n $reason ]]; then
		result_line="FAIL $name: $reason"
		failed=$((failed + 1))
	elif ((results > 0 && skips == results)); then
		result_line="SKIP $name: $(grep -m1 -oP '^ok [0-9]+ # SKIP \K.*' "$tap")"
		skipped=$((skipped + 1))
	elif [[ -v expected[$name] ]]; then
		result_line="XPASS $name"
		passed=$((passed + 1))
		xpassed=$((xpassed + 1))
	else
		result_line="PASS $name"
		passed=$((passed + 1))
	fi
}

# Runs one test file in its own process group, with the suite's directory
# (runtimetest and the rootfs tarball, which the suite finds by relative
# path) as working directory.
run_test() {
	local name=$1 dir=$run_root/$1 rc=0 started=$EPOCHREALTIME
	mkdir -p "$dir/tmp" "$dir/state"
	chmod 755 "$dir" "$dir/tmp"
	: >"$dir/ids"
	: >"$dir/runtime.log"
	(
		cd "$suite"
		export TMPDIR=$dir/tmp RUNTIME=$run_root/runtime
		export HULL_CONFORMANCE_RUNTIME=$runtime HULL_CONFORMANCE_STATE=$dir/state
		export HULL_CONFORMANCE_IDS=$dir/ids HULL_CONFORMANCE_CMDLOG=$dir/runtime.log
		# timeout puts itself and the test in a new process group and, on
		# expiry, signals the whole group; -k follows up with SIGKILL.
		exec timeout -k 5 "$timeout_s" "$suite/tests/$name" </dev/null >"$dir/tap" 2>"$dir/stderr"
	) &
	current_pgid=$!
	wait "$current_pgid" || rc=$?
	cleanup_test "$dir" "$current_pgid"
	current_pgid=""
	judge "$name" "$rc" "$dir/tap" "$dir/stderr"
	echo "$result_line"
	if [[ -n $keep_logs ]]; then
		awk -v a="$started" -v b="$EPOCHREALTIME" -v r="$result_line" \
			'BEGIN { printf "%6.1fs %s\n", b - a, r }' >>"$keep_logs/summary"
		cp "$dir/tap" "$keep_logs/$name.tap"
		cp "$dir/stderr" "$keep_logs/$name.stderr"
		cp "$dir/runtime.log" "$keep_logs/$name.runtime"
	fi
	rm -rf "$dir"
}

echo "conformance: runtime-tools $(cat "$suite/VERSION") against $runtime" >&2
start=$SECONDS
for t in "${selected[@]}"; do
	gap=$(host_gap "$t")
	if [[ -n $gap ]]; then
		echo "SKIP $t: $gap"
		if [[ -n $keep_logs ]]; then
			printf '%6.1fs %s\n' 0 "SKIP $t: $gap" >>"$keep_logs/summary"
		fi
		skipped=$((skipped + 1))
	else
		run_test "$t"
	fi
done
echo "conformance: ${#selected[@]} files in $((SECONDS - start))s" >&2
if [[ -n $expect_file ]]; then
	echo "conformance: $xfailed expected failures, $xpassed unexpected passes (see \`$expect_file\`)" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
