#!/bin/sh
# Bridge an Ethernet tunnel into a macOS bridge (bridgeN), e.g. with en0, so
# that the far end sits on this LAN at layer 2.
#   TunnelUpCommand   /usr/local/etc/feth-ssh/bridge-macos.sh up
#   TunnelDownCommand /usr/local/etc/feth-ssh/bridge-macos.sh down
# FETH_INTERFACE is the user side of the feth pair (feth0); the tunnel does
# its I/O on FETH_IO_INTERFACE, the peer feth(N+5000) (feth5000 for feth0),
# which must not join the bridge.
# macOS's Internet Sharing owns bridge100: use another bridge.
set -eu
BRIDGE=${BRIDGE:-bridge1}
MEMBER=${MEMBER:-}   # e.g. en0 to put the LAN port in the same bridge
dev=$FETH_INTERFACE
[ "$FETH_MODE" = ethernet ] || { echo "bridging needs an ethernet tunnel, not $FETH_MODE" >&2; exit 1; }
case "${1:-up}" in
up)
  ifconfig "$BRIDGE" >/dev/null 2>&1 || ifconfig "$BRIDGE" create
  if [ -n "$MEMBER" ] && ! ifconfig "$BRIDGE" | grep -q "member: $MEMBER "; then
    ifconfig "$BRIDGE" addm "$MEMBER"
  fi
  ifconfig "$BRIDGE" addm "$dev"
  ifconfig "$dev" up
  ifconfig "$BRIDGE" up
  echo "$dev joined $BRIDGE"
  ;;
down)
  ifconfig "$BRIDGE" deletem "$dev" 2>/dev/null || true
  echo "$dev left $BRIDGE"
  ;;
esac
