#!/usr/bin/env bash
# The Darwin compile check (see tests/darwin/CMakeLists.txt): type-checks
# with clang, for each Darwin target, every source of the list CMake wrote
# (lang, source, target, include dirs, compile definitions; one per line),
# against the Darwin header sysroot, LLVM's libc++ headers, the build's
# patched libssh headers and, for the frameworks the sysroot lacks
# (CoreFoundation, SystemConfiguration, IOKit, libdispatch), our own
# declarations in tests/darwin/framework_shims (its README says what they
# prove and what only a Mac build does). Never a Linux system header: -nostdinc, and the
# third-party headers the build found on the host (CLI11, Catch2, OpenSSL)
# are linked one folder each into a directory of their own.
#
# Usage: darwin_compile_check.sh LIST
# Environment: FETH_SOURCE_DIR, FETH_BINARY_DIR, LIBSSH_INCLUDE (the
# build's patched libssh headers; set by ctest), and
#   DARWIN_SYSROOT   the sysroot (usr/include, libcxx-config/__config_site)
#   LIBCXX_INCLUDE   libc++ headers (Debian: libc++-14-dev)
#   DARWIN_TARGETS   default "arm64-apple-macos13 x86_64-apple-macos13"
#   DARWIN_CLANG     default clang; CXX_STANDARD default 20
#   DARWIN_CHECK_JOBS  parallel compiles (default: nproc)
# Prints OK/FAIL per source (diagnostics under a FAIL) and
# "darwin-check: N passed, M failed". Exit 0: nothing failed; 1: something
# failed; 77: skipped (no sysroot, libc++ or clang), with the reason.
set -uo pipefail

skip() { echo "darwin-check: SKIP: $*"; exit 77; }
die() { echo "darwin-check: FAIL: $*"; exit 1; }

# mapfile and wait -n below: macOS's bash 3.2 has neither.
(( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 403 )) || skip "bash $BASH_VERSION; this check needs bash 4.3 or newer (mapfile, wait -n)"
LIST=${1:?usage: $0 LIST}
SRC_DIR=${FETH_SOURCE_DIR:?FETH_SOURCE_DIR not set}
BIN_DIR=${FETH_BINARY_DIR:?FETH_BINARY_DIR not set}
SYSROOT=${DARWIN_SYSROOT:-$SRC_DIR/../shared/darwin-sysroot}
LIBCXX=${LIBCXX_INCLUDE:-/usr/lib/llvm-14/include/c++/v1}
TARGETS=${DARWIN_TARGETS:-arm64-apple-macos13 x86_64-apple-macos13}
CLANG=${DARWIN_CLANG:-clang}
STD=${CXX_STANDARD:-20}
JOBS=${DARWIN_CHECK_JOBS:-$(nproc 2> /dev/null || echo 2)}

[ -f "$SYSROOT/usr/include/sys/cdefs.h" ] ||
  skip "no Darwin header sysroot at $SYSROOT (../shared/darwin-sysroot beside the checkout; or -DFETH_DARWIN_SYSROOT=...)"
[ -f "$SYSROOT/libcxx-config/__config_site" ] || skip "no libcxx-config/__config_site in $SYSROOT"
[ -f "$LIBCXX/__config" ] || skip "no libc++ headers at $LIBCXX (apt-get install libc++-14-dev)"
command -v "$CLANG" > /dev/null || skip "no $CLANG (apt-get install clang)"
[ -s "$LIST" ] || die "no source list at $LIST (cmake writes it when it configures)"
LIBSSH_INCLUDE=${LIBSSH_INCLUDE:?LIBSSH_INCLUDE not set}
# The build's own patched libssh: missing means not built yet, a failure.
[ -f "$LIBSSH_INCLUDE/libssh/libssh.h" ] ||
  die "no patched libssh headers in $LIBSSH_INCLUDE: build the project first (cmake --build)"
SYSROOT=$(realpath "$SYSROOT")
SRC_DIR=$(realpath "$SRC_DIR")
BIN_DIR=$(realpath "$BIN_DIR")
RES=$("$CLANG" -print-resource-dir) || die "$CLANG -print-resource-dir failed"

WORK=$(mktemp -d /tmp/feth-darwin-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A sysroot copied without symlinks holds some as small text files naming
# their target (libpthread's pthread.h -> pthread/pthread.h). Put a real
# link in front of each, in an overlay searched before the sysroot.
mkdir -p "$WORK/links" "$WORK/host"
while IFS= read -r -d '' f; do
  target=$(head -c 256 "$f")
  case "$target" in *[!A-Za-z0-9_./-]* | "" | /*) continue ;; esac
  dir=$(dirname "$f")
  [ -f "$dir/$target" ] || continue
  rel=${f#"$SYSROOT/usr/include/"}
  mkdir -p "$WORK/links/$(dirname "$rel")"
  ln -s "$dir/$target" "$WORK/links/$rel"
done < <(find "$SYSROOT/usr/include" -type f -size -256c -print0)

# The build's host include dirs (outside the source and build trees, e.g.
# /usr/include for CLI11, Catch2, OpenSSL): only the third-party folders
# go in, each linked on its own. OpenSSL's multiarch half
# (opensslconf.h, configuration.h) is merged into the same folder.
link_host_headers() { # dir
  local d=$1 sub f
  for sub in CLI catch2; do
    [ -d "$d/$sub" ] && [ ! -e "$WORK/host/$sub" ] && ln -s "$d/$sub" "$WORK/host/$sub"
  done
  if [ -d "$d/openssl" ] && [ ! -e "$WORK/host/openssl/ssl.h" ]; then
    mkdir -p "$WORK/host/openssl"
    for f in "$d"/openssl/*.h "$d"/*-linux-gnu*/openssl/*.h; do
      [ -f "$f" ] && [ ! -e "$WORK/host/openssl/$(basename "$f")" ] && ln -s "$f" "$WORK/host/openssl/"
    done
  fi
}

# One argument per line: the flags of one list line.
flags_of() { # includes defines
  local inc d
  IFS=';' read -r -a inc <<< "$1"
  for d in "${inc[@]}"; do
    [ -n "$d" ] || continue
    case "$d/" in
      "$BIN_DIR"/*) printf '%s\n' -isystem "$d" ;; # generated: the patched libssh
      "$SRC_DIR"/*) printf '%s\n' -I "$d" ;;
      *) link_host_headers "$d" ;;
    esac
  done
  IFS=';' read -r -a inc <<< "$2"
  for d in "${inc[@]}"; do [ -n "$d" ] && printf '%s\n' "-D$d"; done
}

COMMON=(-fsyntax-only -Wall -Wextra -Werror -nostdinc -fno-color-diagnostics -ferror-limit=30)
SYSTEM_C=(-isystem "$RES/include" -isystem "$WORK/links" -isystem "$SYSROOT/usr/include"
  -isystem "$SRC_DIR/tests/darwin/framework_shims" -isystem "$WORK/host")
SYSTEM_CXX=(-nostdinc++ -isystem "$SYSROOT/libcxx-config" -isystem "$LIBCXX" "${SYSTEM_C[@]}")

check_one() { # index lang source target includes defines
  local lang=$2 src=$3 tgt=$4 out=$WORK/r.$1 t rel failed=() flags=()
  rel=${src#"$SRC_DIR/"}
  mapfile -t flags < <(flags_of "$5" "$6")
  : > "$out.log"
  if [ ! -f "$src" ]; then echo "FAIL $rel [$tgt] (no such file)" > "$out"; return; fi
  local cmd
  for t in $TARGETS; do
    if [ "$lang" = c ]; then
      cmd=(-x c -target "$t" "${COMMON[@]}" "${SYSTEM_C[@]}")
    else
      cmd=(-x c++ -std=c++"$STD" -target "$t" "${COMMON[@]}" "${SYSTEM_CXX[@]}")
    fi
    if ! "$CLANG" "${cmd[@]}" "${flags[@]}" "$src" > "$out.$t" 2>&1; then
      failed+=("$t")
      { echo "[$t]"; sed -e "s#$SRC_DIR/##g" "$out.$t"; } >> "$out.log"
    fi
  done
  if [ ${#failed[@]} -eq 0 ]; then echo "OK   $rel [$tgt]" > "$out"; else echo "FAIL $rel [$tgt] (${failed[*]})" > "$out"; fi
}

# Host header folders first (flags_of links them as a side effect, and the
# parallel checks must find them made).
while IFS=$'\t' read -r _ _ _ inc def; do flags_of "$inc" "$def" > /dev/null; done < "$LIST"

n=0
while IFS=$'\t' read -r lang src tgt inc def; do
  [ -n "$lang" ] || continue
  check_one "$n" "$lang" "$src" "$tgt" "$inc" "$def" &
  n=$((n + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2> /dev/null || true; done
done < "$LIST"
wait

pass=0 fail=0
for ((j = 0; j < n; j++)); do
  line=$(cat "$WORK/r.$j" 2> /dev/null || echo "FAIL (source $j: no result)")
  echo "$line"
  case "$line" in
    OK*) pass=$((pass + 1)) ;;
    *) fail=$((fail + 1)); sed -e 's/^/    /' "$WORK/r.$j.log" 2> /dev/null ;;
  esac
done
echo "darwin-check: $pass passed, $fail failed ($n sources of $(basename "$LIST"), targets: $TARGETS)"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
