// Package nofile records RLIMIT_NOFILE as runtimetest was started with,
// before Go's os package raises the soft limit (see runtimetest_nofile.go,
// which explains why and restores it). run.sh puts it at
// $GOPATH/src/hullconformance/nofile; it is never part of hull itself.
//
// It must import nothing that imports os. Its init then runs before os's as
// long as it is the very first import of the first file of package main: Go
// 1.19 initialises a package's dependencies depth-first in the order it
// first meets their imports. (Go 1.21 and later sort by import path, where
// "hullconformance/..." also comes before "os", but raise the limit in
// syscall's own init instead, which this cannot precede.)
// run.sh checks the result after every build rather than trusting this.
package nofile

import "syscall"

// Initial is the limit at start-up; Err is set when it could not be read.
var (
	Initial syscall.Rlimit
	Err     error
)

func init() {
	Err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &Initial)
}
