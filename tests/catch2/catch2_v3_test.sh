#!/usr/bin/env bash
# The unit tests against Catch2 v3, the major version Homebrew ships (the
# host's may be v2; tests/catch.hpp takes both): builds Catch2 3.7.1 from
# ../shared/peers once into the cache (build-catch2.sh), then the build
# tree's unit_tests_catch2_v3 target (only the test sources; the project's
# libraries are the ones already built), checks that it really is a
# Catch2 v3 executable, and runs it.
#
#   catch2_v3_test.sh TARBALL LINK BUILD_DIR EXECUTABLE
#
# Exit 77 (skipped), with the reason, without the tarball.
set -euo pipefail

tarball=${1:?usage: catch2_v3_test.sh TARBALL LINK BUILD_DIR EXECUTABLE}
link=${2:?}
build_dir=${3:?}
exe=${4:?}
here=$(cd "$(dirname "$0")" && pwd)

rc=0
bash "$here/build-catch2.sh" "$tarball" "$link" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
cmake --build "$build_dir" --target unit_tests_catch2_v3 -j "$jobs"

# Catch2 names itself and its version (v2 prints a different header).
identity=$("$exe" --libidentify)
printf '%s\n' "$identity"
printf '%s\n' "$identity" | grep -Eq '^version:[[:space:]]+3\.' ||
  { echo "FAIL: $exe is not built against Catch2 v3" >&2; exit 1; }
"$exe"
