#!/usr/bin/env bash
# Layer 3 (Tunnel=point-to-point) on Linux tun devices, both directions of
# interop: stock ssh against feth-sshd, and feth-ssh against stock sshd;
# IPv4 and IPv6 both ways, and 5 s of iperf3 over IPv6.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

check_l3_tunnel() { # label
  wait_until 100 "tun0 on the server" link_in "$NS_SRV" tun0
  wait_until 100 "tun0 on the client" link_in "$NS_CLI" tun0
  configure_tunnel tun0 tun0
  ping_both
  ping6_both
  local up down
  up=$(iperf_mbit "$TUN6_SRV")
  down=$(iperf_mbit "$TUN6_SRV" -R)
  [ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 over IPv6 carried nothing (up=$up down=$down)"
  pass "$1: IPv6 iperf3 client->server $up Mbit/s, server->client $down Mbit/s"
  echo "RESULT l3 pairing=$1 ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"
}

E2E_CURRENT="stock ssh -> feth-sshd, point-to-point"
start_feth_sshd -o PermitTunnel=yes
start_bg ssh cli $SSH -o Tunnel=point-to-point -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
check_l3_tunnel stock-ssh/feth-sshd
kill -0 "$ssh_pid" 2>/dev/null || fail "ssh died"
stop_pid "$ssh_pid" || true
wait_until 20 "server tun0 removed" no_link_in "$NS_SRV" tun0
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"

E2E_CURRENT="feth-ssh -> stock sshd, point-to-point"
start_stock_sshd point-to-point
start_bg feth-ssh cli "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts" \
  -o StrictHostKeyChecking=no -p "$PORT" -o Tunnel=point-to-point -w 0:0 root@"$UNDERLAY_SRV"
cpid=$BG_PID
check_l3_tunnel feth-ssh/stock-sshd
stop_pid "$cpid" || fail "feth-ssh did not exit 0 on SIGTERM"
stop_pid "$SSHD_PID" || true
assert_no_sanitizer_reports
echo "point_to_point: all cases passed"
