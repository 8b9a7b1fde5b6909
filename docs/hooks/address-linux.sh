#!/bin/sh
# Addresses on a Linux tunnel end (feth-ssh's or feth-sshd's hooks).
#   TunnelUpCommand   /etc/feth-ssh/address-linux.sh up
#   TunnelDownCommand /etc/feth-ssh/address-linux.sh down
# Set ADDR4/ADDR6 below (or in the environment) per end: 198.18.10.1/24 on
# one side, 198.18.10.2/24 on the other. Point-to-point (tun) devices get a
# peer address instead when PEER4 is set.
set -eu
ADDR4=${ADDR4:-198.18.10.2/24}
ADDR6=${ADDR6:-}
PEER4=${PEER4:-}
dev=$FETH_INTERFACE
case "${1:-up}" in
up)
  if [ "$FETH_MODE" = point-to-point ] && [ -n "$PEER4" ]; then
    ip addr replace "${ADDR4%/*}" peer "$PEER4" dev "$dev"
  else
    ip addr replace "$ADDR4" dev "$dev"
  fi
  [ -z "$ADDR6" ] || ip -6 addr replace "$ADDR6" dev "$dev" nodad
  ip link set dev "$dev" up
  echo "$dev: $ADDR4${ADDR6:+ $ADDR6} (tunnel to $FETH_REMOTE_ADDRESS, reconnect=${FETH_RECONNECT:-0})"
  ;;
down)
  # feth-ssh keeps its device across reconnects: leave the addresses so
  # traffic resumes by itself; on the server the device is gone already.
  ip link show dev "$dev" >/dev/null 2>&1 || exit 0
  echo "$dev: tunnel to $FETH_REMOTE_ADDRESS down"
  ;;
esac
