#!/bin/sh
# Addresses on a macOS tunnel end (feth-ssh's or feth-sshd's hooks).
#   TunnelUpCommand   /usr/local/etc/feth-ssh/address-macos.sh up
#   TunnelDownCommand /usr/local/etc/feth-ssh/address-macos.sh down
# Ethernet tunnels use a feth pair: FETH_INTERFACE (e.g. feth0) is the one to
# configure; FETH_IO_INTERFACE, its peer feth(N+5000) (feth5000 for feth0),
# carries the tunnel's I/O and must be left alone. Point-to-point tunnels use utunN, which needs a peer address.
set -eu
ADDR4=${ADDR4:-198.18.10.2}
MASK4=${MASK4:-255.255.255.0}
PEER4=${PEER4:-198.18.10.1}
ADDR6=${ADDR6:-}
dev=$FETH_INTERFACE
case "${1:-up}" in
up)
  if [ "$FETH_MODE" = point-to-point ]; then
    ifconfig "$dev" inet "$ADDR4" "$PEER4" netmask 255.255.255.255 up
  else
    ifconfig "$dev" inet "$ADDR4" netmask "$MASK4" up
  fi
  [ -z "$ADDR6" ] || ifconfig "$dev" inet6 "$ADDR6" prefixlen 64 alias
  echo "$dev: $ADDR4 (tunnel to $FETH_REMOTE_ADDRESS)"
  ;;
down)
  ifconfig "$dev" >/dev/null 2>&1 || exit 0
  echo "$dev: tunnel to $FETH_REMOTE_ADDRESS down"
  ;;
esac
