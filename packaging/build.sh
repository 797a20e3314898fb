#!/bin/sh
# Configures and builds hull into ./build (binary: build/bin/hull; the `hull` target also builds
# build/bin/hull-image, which runs its image commands). Arguments name the targets to build
# (default: everything, tests included).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ $# -gt 0 ]; then
  for t in "$@"; do cmake --build "$top/build" -j"$(nproc)" --target "$t"; done
else
  cmake --build "$top/build" -j"$(nproc)"
fi
