#!/bin/sh
# Quick start, part two: install, build, and run every test (unit, integration as root,
# and the OCI conformance suite against the built binary).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/packaging/deps.sh"
"$top/packaging/build.sh"
cd "$top/build"
ctest --output-on-failure -j1 --timeout 300
"$top/tests/conformance/run.sh" --runtime "$top/build/bin/hull" --expect "$top/tests/conformance/expected-failures"
