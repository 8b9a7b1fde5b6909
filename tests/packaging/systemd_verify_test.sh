#!/usr/bin/env bash
# systemd-analyze verify on packaging/systemd/feth-sshd.service and on the
# client's template feth-ssh@.service (as the instance feth-ssh@work), with
# their binary paths pointed at binaries that exist (FETH_SSHD, FETH_SSH
# from ctest). Skipped (77) without systemd-analyze or the binaries.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$REPO_ROOT/packaging/systemd/feth-sshd.service
FETH_SSHD=${FETH_SSHD:-$REPO_ROOT/build/server/feth-sshd}
FETH_SSH=${FETH_SSH:-$REPO_ROOT/build/client/feth-ssh}
CLIENT_UNIT=$REPO_ROOT/packaging/systemd/feth-ssh@.service
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -x "$FETH_SSHD" ] || { echo "SKIP: no feth-sshd binary at $FETH_SSHD"; exit 77; }
[ -x "$FETH_SSH" ] || { echo "SKIP: no feth-ssh binary at $FETH_SSH"; exit 77; }
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

# The client's template, instantiated as wg-quick@'s are: the host alias is
# the instance, given to feth-ssh --reconnect.
grep -q '^ExecStart=/usr/bin/feth-ssh --reconnect .* %i$' "$CLIENT_UNIT" ||
  { echo "FAIL: unexpected ExecStart in $CLIENT_UNIT"; exit 1; }
sed "s#/usr/bin/feth-ssh#$FETH_SSH#g" "$CLIENT_UNIT" >"$TMP/feth-ssh@work.service"
if ! out=$(systemd-analyze verify --man=no "$TMP/feth-ssh@work.service" 2>&1) || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify feth-ssh@work.service:"
  echo "$out"
  exit 1
fi
for need in CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_KILL 'KillMode=mixed' 'Restart=on-abnormal' \
  'RuntimeDirectory=feth-ssh/%i' 'RuntimeDirectoryMode=0700' '-S /run/feth-ssh/%i/control'; do
  grep -q -- "$need" "$CLIENT_UNIT" || { echo "FAIL: the client unit lost $need"; exit 1; }
done
echo "PASS: systemd-analyze verify feth-ssh@work.service (packaging/systemd/feth-ssh@.service)"
