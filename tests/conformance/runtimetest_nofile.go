// run.sh copies this file into runtime-tools' cmd/runtimetest (package main)
// as 0_hull_nofile.go, so that it is the first file of the package, before
// building runtimetest. It is not part of hull.
//
// Why: since Go 1.19 the os package raises the soft RLIMIT_NOFILE to the hard
// limit while it initialises, before any code of runtimetest runs. The
// container's process.rlimits check (validateRlimits) would then read
// soft == hard and fail for every runtime whenever the config sets a soft
// RLIMIT_NOFILE below the hard one, as process_rlimits does (3000/4000).
//
// How: package hullconformance/nofile records the limit in its init, which
// runs before os's (see there). This init of package main runs after every
// imported package's, os included, so it is the first point where the raise
// cannot be redone; it puts the recorded soft and hard limit back. Lowering
// a soft limit needs no privilege. If that fails, runtimetest exits non-zero
// rather than report a limit the runtime did not set.
//
// Not a cgo constructor: with cgo, the Go runtime starts its threads with
// glibc's pthread_create, which uses clone3, and the suite's default seccomp
// profile answers clone3 with EPERM (glibc falls back to clone only on
// ENOSYS), so runtimetest would abort in most tests.
//
// HULL_CONFORMANCE_NOFILE_CHECK=1 makes runtimetest print the restored limit
// as "soft hard" and exit; run.sh uses it to check the build.

package main

// This must stay the first import of the first file: see package nofile.
import "hullconformance/nofile"

import (
	"fmt"
	"os"
	"syscall"
)

func init() {
	if nofile.Err == nil {
		initial := nofile.Initial
		nofile.Err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &initial)
	}
	if nofile.Err != nil {
		fmt.Fprintf(os.Stderr, "runtimetest: cannot restore the initial RLIMIT_NOFILE: %v\n", nofile.Err)
		os.Exit(1)
	}
	if os.Getenv("HULL_CONFORMANCE_NOFILE_CHECK") == "1" {
		var now syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
			fmt.Fprintf(os.Stderr, "runtimetest: getrlimit: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("%d %d\n", now.Cur, now.Max)
		os.Exit(0)
	}
}
