// run.sh copies this file into runtime-tools' cmd/runtimetest (package main)
// before building runtimetest. It is not part of hull.
//
// Why: since Go 1.19 the os package raises the soft RLIMIT_NOFILE to the hard
// limit while it initialises, before any code of runtimetest runs. The
// container's process.rlimits check (validateRlimits) then reads soft == hard
// and fails for every runtime whenever the config sets a soft RLIMIT_NOFILE
// below the hard one, as process_rlimits does (3000/4000).
//
// How: a C constructor runs from the ELF init array, before the Go runtime
// starts, and records the limit the runtime actually set up. main's init()
// runs after every imported package's init (os included), so it is the first
// point where restoring cannot be undone; it puts the recorded soft and hard
// limit back. Lowering a soft limit needs no privilege. If restoring fails,
// runtimetest exits non-zero rather than report a limit it did not see.

package main

/*
#include <sys/resource.h>

static struct rlimit hull_conformance_nofile;
static int hull_conformance_nofile_recorded;

__attribute__((constructor)) static void hull_conformance_record_nofile(void)
{
	hull_conformance_nofile_recorded =
		getrlimit(RLIMIT_NOFILE, &hull_conformance_nofile) == 0;
}

static int hull_conformance_restore_nofile(void)
{
	if (!hull_conformance_nofile_recorded)
		return -1;
	return setrlimit(RLIMIT_NOFILE, &hull_conformance_nofile);
}
*/
import "C"

import (
	"fmt"
	"os"
)

func init() {
	if rc, err := C.hull_conformance_restore_nofile(); rc != 0 {
		fmt.Fprintf(os.Stderr, "runtimetest: cannot restore the initial RLIMIT_NOFILE: %v\n", err)
		os.Exit(1)
	}
}
