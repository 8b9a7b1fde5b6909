#!/usr/bin/env bash
# Runs an end-to-end test against the OpenSSH that build-openssh.sh built:
#
#   tests/peers/with-openssh.sh PREFIX_FILE SCRIPT [ARGS...]
#
# PREFIX_FILE is what build-openssh.sh wrote (ctest's fixture runs it
# first): the install prefix, or "SKIP: <reason>". The test's STOCK_SSH and
# STOCK_SSHD (tests/e2e/lib.sh) then point into that prefix; everything else
# (ssh-keygen for the test's keys, say) stays the system's.
set -euo pipefail
prefix_file=${1:?usage: with-openssh.sh PREFIX_FILE SCRIPT [ARGS...]}
script=${2:?usage: with-openssh.sh PREFIX_FILE SCRIPT [ARGS...]}
shift 2

if [ ! -f "$prefix_file" ]; then
  echo "SKIP: no OpenSSH test peer: $prefix_file is missing (the e2e_openssh10_build test makes it)"
  exit 77
fi
prefix=$(head -n 1 "$prefix_file")
case $prefix in
  SKIP:*) echo "$prefix"; exit 77 ;;
esac
for bin in "$prefix/bin/ssh" "$prefix/sbin/sshd"; do
  [ -x "$bin" ] || { echo "FAIL: the OpenSSH test peer in $prefix has no $bin (rebuild: remove $prefix_file)" >&2; exit 1; }
done
export STOCK_SSH=$prefix/bin/ssh STOCK_SSHD=$prefix/sbin/sshd
echo "peer: $("$STOCK_SSH" -V 2>&1) ($prefix)"
exec bash "$script" "$@"
