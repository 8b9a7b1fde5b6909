#!/usr/bin/env bash
# Builds Catch2 v3 from its release tarball into a cache outside the
# checkout, once, so that the unit tests can be built against the Catch2
# major version Homebrew ships (tests/catch2/catch2_v3_test.sh):
#
#   tests/catch2/build-catch2.sh TARBALL LINK
#
# The build lands in ${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh/<name>-<hash>,
# where <name> is the tarball's (Catch2-3.7.1) and <hash> covers the
# tarball and the build recipe below, as tests/peers/build-openssh.sh keys
# its OpenSSH: a new release or recipe builds anew, anything else re-uses
# the cache. The directory is an install prefix (include/, lib/). LINK is
# made a symbolic link to it, for the build tree to find.
#
# Safe to run concurrently and repeatedly: one build at a time per cache
# entry (flock, where there is one), built in a temporary directory next to
# it and renamed into place only when complete.
#
# Without the tarball (a clone without ../shared): prints why and exits 77,
# ctest's "skipped".
set -euo pipefail

tarball=${1:?usage: build-catch2.sh TARBALL LINK}
link=${2:?usage: build-catch2.sh TARBALL LINK}

if [ ! -f "$tarball" ]; then
  echo "SKIP: $tarball is absent (Catch2 v3's source comes from ../shared/peers); no Catch2 v3 to build against"
  exit 77
fi

sha256() { # stdin -> hex digest (shasum on macOS)
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1
}

# As Homebrew builds its catch2 (C++17, static libraries), in Release, and
# with nothing else: no tests, docs or extras. Compiler flags are ours, not
# the caller's (an ASan build's CXXFLAGS must not leak in). Change any of
# this and the hash changes.
cmake_options=(
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=OFF
  -DBUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF -DCATCH_INSTALL_EXTRAS=OFF
)
recipe="cmake ${cmake_options[*]} CXX=c++"

name=$(basename "$tarball" .tar.gz)
hash=$( { sha256 <"$tarball"; echo "$recipe"; } | sha256 | cut -c1-12)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh
prefix=$cache_root/$name-$hash
mkdir -p "$cache_root" "$(dirname "$link")"

publish() {
  ln -sfn "$prefix" "$link"
  echo "$1: $prefix"
}

built() { [ -f "$prefix/lib/libCatch2.a" ] && [ -f "$prefix/lib/libCatch2Main.a" ]; }

if built; then publish cached; exit 0; fi

if command -v flock >/dev/null 2>&1; then
  exec 9>"$prefix.lock"
  flock 9
  # Someone else built it while we waited for the lock.
  if built; then publish cached; exit 0; fi
fi

work=$(mktemp -d "$cache_root/.$name-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$src/CMakeLists.txt" ] || { echo "build-catch2: no CMakeLists.txt in $tarball" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
started=$(date +%s)
# ccache, when there is one, changes no output: not in the recipe.
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
env -u CXXFLAGS -u CPPFLAGS -u LDFLAGS CXX=c++ \
  cmake -S "$src" -B "$work/build" "${cmake_options[@]}" ${launcher[@]+"${launcher[@]}"} \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    >"$work/configure.log" 2>&1 \
  || { tail -n 40 "$work/configure.log" >&2; echo "build-catch2: configure failed" >&2; exit 1; }
cmake --build "$work/build" -j "$jobs" >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; echo "build-catch2: build failed" >&2; exit 1; }
DESTDIR="$work/stage" cmake --install "$work/build" >"$work/install.log" 2>&1 \
  || { tail -n 40 "$work/install.log" >&2; echo "build-catch2: install failed" >&2; exit 1; }
staged=$work/stage$prefix
[ -f "$staged/include/catch2/catch_all.hpp" ] || { echo "build-catch2: no catch_all.hpp after install" >&2; exit 1; }
# The atomic step: the same filesystem (both under $cache_root). The
# staged tree may keep lib64/ for lib/ on some distributions: name it lib.
[ -d "$staged/lib" ] || mv "$staged/lib64" "$staged/lib"
rm -rf "$prefix"
mv "$staged" "$prefix"
built || { echo "build-catch2: libCatch2.a or libCatch2Main.a missing in $prefix/lib" >&2; exit 1; }
publish "built $name in $(( $(date +%s) - started )) s with -j$jobs"
