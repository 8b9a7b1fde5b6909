#!/bin/sh
# Bridge an Ethernet tunnel into a Linux bridge (e.g. br0 holding the LAN
# port), so that the far end sits on this LAN at layer 2.
#   TunnelUpCommand   /etc/feth-ssh/bridge-linux.sh up
#   TunnelDownCommand /etc/feth-ssh/bridge-linux.sh down
# Works for feth-ssh and for feth-sshd's hooks (there, each client's tap
# joins the bridge: one LAN for every tunnel).
set -eu
BRIDGE=${BRIDGE:-br0}
dev=$FETH_INTERFACE
[ "$FETH_MODE" = ethernet ] || { echo "bridging needs an ethernet tunnel, not $FETH_MODE" >&2; exit 1; }
case "${1:-up}" in
up)
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge
    ip link set dev "$BRIDGE" up
  fi
  # The tunnel adds 14 bytes of Ethernet header inside SSH: keep the MTU of
  # the bridge's members equal, or large frames are dropped.
  ip link set dev "$dev" master "$BRIDGE"
  ip link set dev "$dev" up
  echo "$dev joined $BRIDGE"
  ;;
down)
  ip link show dev "$dev" >/dev/null 2>&1 || exit 0
  ip link set dev "$dev" nomaster || true
  echo "$dev left $BRIDGE"
  ;;
esac
