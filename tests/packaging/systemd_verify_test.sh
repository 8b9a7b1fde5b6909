#!/usr/bin/env bash
# systemd-analyze verify on packaging/systemd/feth-sshd.service, with its
# binary path pointed at a feth-sshd that exists (FETH_SSHD, from ctest).
# Skipped (77) without systemd-analyze or a binary.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$REPO_ROOT/packaging/systemd/feth-sshd.service
FETH_SSHD=${FETH_SSHD:-$REPO_ROOT/build/server/feth-sshd}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -x "$FETH_SSHD" ] || { echo "SKIP: no feth-sshd binary at $FETH_SSHD"; exit 77; }
grep -q '^ExecStart=/usr/sbin/feth-sshd -D' "$UNIT" || { echo "FAIL: unexpected ExecStart in $UNIT"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sed "s#/usr/sbin/feth-sshd#$FETH_SSHD#g" "$UNIT" >"$TMP/feth-sshd.service"
# --man=no: the man pages need not be installed to check the unit.
if ! out=$(systemd-analyze verify --man=no "$TMP/feth-sshd.service" 2>&1) || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify:"
  echo "$out"
  exit 1
fi
# What the server needs must stay allowed by the sandbox.
for need in CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_SYS_CHROOT CAP_DAC_READ_SEARCH CAP_KILL \
  'DeviceAllow=/dev/net/tun rw' 'ReadWritePaths\|StateDirectory=feth-sshd' 'RuntimeDirectory=feth-sshd' \
  AF_NETLINK AF_UNIX 'ProtectHome=read-only'; do
  grep -q -- "$need" "$UNIT" || { echo "FAIL: the unit lost $need"; exit 1; }
done
echo "PASS: systemd-analyze verify feth-sshd.service"
