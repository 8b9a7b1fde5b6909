#!/usr/bin/env bash
# Builds a stock OpenSSH from a release tarball into a cache outside the
# checkout, once, as a test peer for the end-to-end tests:
#
#   tests/peers/build-openssh.sh TARBALL [PREFIX_FILE]
#
# The build lands in ${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh/<name>-<hash>,
# where <name> is the tarball's (openssh-10.5p1) and <hash> covers the
# tarball and the build recipe (configure options, compiler flags): a new
# release or a new recipe builds anew, anything else (an edited comment,
# another build tree, an ASan build) re-uses the cache. The directory is the
# install prefix: bin/ssh, sbin/sshd and libexec/ (10.x's sshd re-executes
# libexec/sshd-session and sshd-auth, so the prefix is fixed at configure
# time and the tree cannot be moved). PREFIX_FILE, when given, receives the
# prefix on one line for the tests to read.
#
# Safe to run concurrently and repeatedly: one build at a time per cache
# entry (flock), built in a temporary directory next to it and renamed into
# place only when complete, so a reader sees either nothing or a whole tree.
#
# Without the tarball (a clone without ../shared): prints why and exits 77,
# ctest's "skipped", and PREFIX_FILE says "SKIP: <reason>".
set -euo pipefail

tarball=${1:?usage: build-openssh.sh TARBALL [PREFIX_FILE]}
prefix_file=${2:-}

say_prefix() { # LINE: records the outcome for the tests, when asked to.
  [ -z "$prefix_file" ] && return 0
  mkdir -p "$(dirname "$prefix_file")"
  printf '%s\n' "$1" >"$prefix_file.tmp.$$"
  mv -f "$prefix_file.tmp.$$" "$prefix_file"
}

if [ ! -f "$tarball" ]; then
  say_prefix "SKIP: $tarball is absent (the OpenSSH test peer comes from ../shared/peers)"
  echo "SKIP: $tarball is absent; no OpenSSH test peer to build"
  exit 77
fi

# What a test peer needs and nothing more: Debian's OpenSSL (libssl-dev) for
# the ciphers and ML-KEM's companions; no PAM, Kerberos, zlib, libedit, ldns
# or FIDO keys; config, privsep chroot and pid dir inside the prefix (added
# below), so it shares nothing with the system's sshd. The chroot directory
# must be owned by root and not group/world-writable at run time: run sshd
# as root. Compiler flags are ours, not the caller's (an ASan build's CFLAGS
# must not leak in). Change any of this and the hash changes.
configure_options=(
  --with-privsep-user=sshd
  --without-pam --without-kerberos5 --without-selinux --without-zlib
  --without-libedit --without-ldns --disable-security-key
  --with-sandbox=seccomp_filter
)
compiler=(CC=cc "CFLAGS=-O2 -g")
recipe="layout=prefix/{etc,var/empty,var/run} install=install-nokeys ${configure_options[*]} ${compiler[*]}"

name=$(basename "$tarball" .tar.gz)
hash=$( { sha256sum <"$tarball"; echo "$recipe"; } | sha256sum | cut -c1-12)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh
prefix=$cache_root/$name-$hash
mkdir -p "$cache_root"

if [ -x "$prefix/sbin/sshd" ]; then
  say_prefix "$prefix"
  echo "cached: $prefix"
  exit 0
fi

exec 9>"$prefix.lock"
flock 9
# Someone else built it while we waited for the lock.
if [ -x "$prefix/sbin/sshd" ]; then
  say_prefix "$prefix"
  echo "cached: $prefix"
  exit 0
fi

work=$(mktemp -d "$cache_root/.$name-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -x "$src/configure" ] || { echo "build-openssh: no configure script in $tarball" >&2; exit 1; }

jobs=$(nproc)
started=$(date +%s)
(
  cd "$src"
  env -u CFLAGS -u CPPFLAGS -u LDFLAGS -u LIBS "${compiler[@]}" \
    ./configure --prefix="$prefix" --sysconfdir="$prefix/etc" \
      --with-privsep-path="$prefix/var/empty" --with-pid-dir="$prefix/var/run" \
      "${configure_options[@]}" >"$work/configure.log" 2>&1 \
    || { tail -n 40 "$work/configure.log" >&2; echo "build-openssh: configure failed" >&2; exit 1; }
  make -j"$jobs" >"$work/make.log" 2>&1 \
    || { tail -n 40 "$work/make.log" >&2; echo "build-openssh: make failed" >&2; exit 1; }
  # install-nokeys: no host keys into the prefix; the tests bring their own.
  make install-nokeys DESTDIR="$work/stage" >"$work/install.log" 2>&1 \
    || { tail -n 40 "$work/install.log" >&2; echo "build-openssh: make install failed" >&2; exit 1; }
)
staged=$work/stage$prefix
for bin in bin/ssh sbin/sshd libexec/sshd-session libexec/sshd-auth; do
  [ -x "$staged/$bin" ] || { echo "build-openssh: $bin missing after make install" >&2; exit 1; }
done
chmod 0755 "$staged/var/empty"
# The atomic step: the same filesystem (both under $cache_root).
mv -T "$staged" "$prefix"
say_prefix "$prefix"
echo "built $name in $(( $(date +%s) - started )) s with -j$jobs: $prefix"
"$prefix/bin/ssh" -V
