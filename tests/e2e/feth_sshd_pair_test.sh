#!/usr/bin/env bash
# The Linux twin of macOS feth pairs: feth-sshd with TunnelBackend pair makes
# a veth pair per tunnel (visible fethN for the user, fethN+5000 for I/O)
# and moves frames through two AF_PACKET sockets, as bpf + NDRV do on a Mac.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

E2E_CURRENT="pair backend"
start_feth_sshd -o TunnelBackend=pair
start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "feth0 on the server" link_in "$NS_SRV" feth0
link_in "$NS_SRV" feth5000 || fail "the I/O peer feth5000 is missing"
wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
configure_tunnel feth0 tap0
ping_both
ping6_both
up=$(iperf_mbit "$TUN4_SRV")
down=$(iperf_mbit "$TUN4_SRV" -R)
[ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
kill -0 "$ssh_pid" 2>/dev/null || fail "ssh died during iperf3"
pass "pair backend iperf3: client->server $up Mbit/s, server->client $down Mbit/s"
echo "RESULT backend=pair ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"

kill -KILL "$ssh_pid"
wait "$ssh_pid" 2>/dev/null || true
wait_until 20 "feth0 removed after client SIGKILL" no_link_in "$NS_SRV" feth0
no_link_in "$NS_SRV" feth5000 || fail "feth5000 left behind"
pass "client SIGKILL: both veth ends gone within $(scaled 2) s"

# A second tunnel, then SIGTERM to the server with the tunnel up.
start_bg ssh2 cli $SSH -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
wait_until 100 "a feth on the server" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': feth'"
status=0
stop_pid "$SSHD_PID" 50 || status=$?
[ "$status" = 0 ] || fail "feth-sshd exited $status on SIGTERM"
[ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left after SIGTERM: $(tunnel_links "$NS_SRV" | tr '\n' ' ')"
pass "server SIGTERM: no veth left"
assert_no_sanitizer_reports
