#!/bin/sh
# Get the tunnel end's address by DHCP from the bridged side (a LAN the far
# end bridges the tunnel into, or the dnsmasq example in dnsmasq.conf).
# For feth-ssh: the up hook runs while the tunnel already carries traffic,
# so DHCP works from inside it.
#   TunnelUpCommand      /etc/feth-ssh/dhcp-client-linux.sh up
#   TunnelDownCommand    /etc/feth-ssh/dhcp-client-linux.sh down
#   TunnelCommandTimeout 45
set -eu
dev=$FETH_INTERFACE
pidfile=/run/feth-dhclient-$dev.pid
leases=/var/lib/dhcp/feth-dhclient-$dev.leases
[ "$FETH_MODE" = ethernet ] || { echo "DHCP needs an ethernet tunnel, not $FETH_MODE" >&2; exit 1; }
case "${1:-up}" in
up)
  ip link set dev "$dev" up
  # On a reconnect the lease is still there (feth-ssh keeps the device).
  if [ "$FETH_RECONNECT" = 1 ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    exit 0
  fi
  # -1: one try, fail if no lease (the hook's failure closes the tunnel);
  # dhclient then stays in the background to renew: its output goes to
  # syslog, never to the hook's pipe.
  dhclient -1 -pf "$pidfile" -lf "$leases" "$dev" </dev/null >/dev/null 2>&1
  ip -4 -o addr show dev "$dev"
  ;;
down)
  # Keep the lease across reconnects; release it when feth-ssh stops
  # (the device is about to go away).
  [ -f "$pidfile" ] || exit 0
  dhclient -r -pf "$pidfile" -lf "$leases" "$dev" </dev/null >/dev/null 2>&1 || true
  ;;
esac
