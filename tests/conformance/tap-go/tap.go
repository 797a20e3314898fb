// Package tap is a small stand-in for github.com/mndrix/tap-go, which Debian
// does not package. It provides exactly the API that the runtime-tools
// validation suite and its runtimetest use, and writes TAP version 13:
//
//	TAP version 13
//	ok 1 - description
//	not ok 2 - description
//	ok 3 # SKIP reason
//	not ok 4 # TODO description
//	  ---
//	  key: value
//	  ...
//	# diagnostic line
//	1..4
//
// run.sh copies this folder to $GOPATH/src/github.com/mndrix/tap-go when it
// builds the suite; it is never part of hull itself.
package tap

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	yaml "gopkg.in/yaml.v2"
)

// counter is shared by a T and the copies Todo() returns, so test numbers
// stay unique however the caller mixes them.
type counter struct {
	mu   sync.Mutex
	next int
}

// T writes one TAP stream.
type T struct {
	// Writer receives the TAP output; it defaults to os.Stdout.
	Writer io.Writer
	// TODO marks every following result as a TODO test.
	TODO bool

	count *counter
}

// New returns a T that writes to os.Stdout and numbers tests from 1.
func New() *T {
	return &T{Writer: os.Stdout, count: &counter{next: 1}}
}

func (t *T) printf(format string, a ...interface{}) {
	fmt.Fprintf(t.Writer, format, a...)
}

// take returns the number of the next test and advances the counter.
func (t *T) take() int {
	t.count.mu.Lock()
	defer t.count.mu.Unlock()
	n := t.count.next
	t.count.next++
	return n
}

// Header prints the TAP version line and, when testCount is positive, the
// plan. A zero count means the caller prints the plan later with AutoPlan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok reports one test result.
func (t *T) Ok(test bool, description string) {
	status := "ok"
	if !test {
		status = "not ok"
	}
	description = oneLine(description)
	if t.TODO {
		t.printf("%s %d # TODO %s\n", status, t.take(), description)
	} else {
		t.printf("%s %d - %s\n", status, t.take(), description)
	}
}

// Pass reports a passing test.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail reports a failing test.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip reports count skipped tests that share one reason.
func (t *T) Skip(count int, description string) {
	description = oneLine(description)
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", t.take(), description)
	}
}

// Todo returns a T whose results are marked TODO; numbering stays shared.
func (t *T) Todo() *T {
	c := *t
	c.TODO = true
	return &c
}

// Count returns how many tests have been reported so far.
func (t *T) Count() int {
	t.count.mu.Lock()
	defer t.count.mu.Unlock()
	return t.count.next - 1
}

// AutoPlan prints the plan for the tests reported so far.
func (t *T) AutoPlan() {
	t.printf("1..%d\n", t.Count())
}

// Diagnostic prints a comment; every line of a multi-line message gets its
// own "# " so that TAP consumers never read it as a result line.
func (t *T) Diagnostic(message string) {
	for _, line := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		t.printf("# %s\n", line)
	}
}

// Diagnosticf is Diagnostic with fmt.Sprintf formatting.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML attaches a YAML diagnostic block to the preceding result.
func (t *T) YAML(message interface{}) error {
	out, err := yaml.Marshal(message)
	if err != nil {
		return err
	}
	t.printf("  ---\n")
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.printf("  %s\n", line)
	}
	t.printf("  ...\n")
	return nil
}

// oneLine keeps a description on its result line: a newline in it would
// start a line that TAP consumers could mistake for a result.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}
