#!/usr/bin/env bash
# Stock OpenSSH clients against feth-sshd, Ethernet tunnels on tap devices:
# the foundation's promise that `ssh -o Tunnel=ethernet -w 0:0 -N host`
# just works.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

case_fixed_units_ping_iperf() {
  E2E_CURRENT="-w 0:0"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  grep -q "Accepted publickey for root from $UNDERLAY_CLI port [0-9]* ssh2: ED25519 SHA256:" "$TMP/feth-sshd.log" ||
    fail "no sshd-style 'Accepted publickey' line"
  configure_tunnel tap0 tap0
  ping_both
  ping6_both
  local up down
  up=$(iperf_mbit "$TUN4_SRV")
  down=$(iperf_mbit "$TUN4_SRV" -R)
  [ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
  kill -0 "$ssh_pid" 2>/dev/null || fail "ssh died during iperf3"
  pass "iperf3 5 s each way: client->server $up Mbit/s, server->client $down Mbit/s; connection alive"
  echo "RESULT ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"

  # SIGKILL of the client: the server's tap must go within 2 s.
  kill -KILL "$ssh_pid"
  wait "$ssh_pid" 2>/dev/null || true
  wait_until 20 "tap0 removed on the server after client SIGKILL" no_link_in "$NS_SRV" tap0
  pass "client SIGKILL: server's tap0 gone within $(scaled 2) s"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly on SIGTERM"
}

case_any_units() {
  E2E_CURRENT="-w any:any"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "a tap on the server" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': tap'"
  wait_until 100 "a tap on the client" sh -c "ip netns exec $NS_CLI ip -o link | grep -q ': tap'"
  local sif cif
  sif=$(tunnel_links "$NS_SRV" | head -1)
  cif=$(tunnel_links "$NS_CLI" | head -1)
  configure_tunnel "$sif" "$cif"
  ping_both
  stop_pid "$ssh_pid" || true
  wait_until 20 "$sif removed after the client left" no_link_in "$NS_SRV" "$sif"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "-w any:any: $sif <-> $cif"
}

case_two_clients_isolated() {
  E2E_CURRENT="two clients"
  start_feth_sshd
  start_bg ssh-a cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local a=$BG_PID
  start_bg ssh-b cli $SSH -o Tunnel=ethernet -w 1:1 -N root@"$UNDERLAY_SRV"
  local b=$BG_PID
  wait_until 100 "tap0 and tap1 on the server" sh -c \
    "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_SRV ip link show tap1"
  wait_until 100 "tap1 on the client" link_in "$NS_CLI" tap1
  configure_tunnel tap0 tap0
  in_srv ip addr add 198.19.1.1/24 dev tap1 && in_srv ip link set tap1 up
  in_cli ip addr add 198.19.1.2/24 dev tap1 && in_cli ip link set tap1 up
  wait_until 100 "ping over the second tunnel" in_cli ping -c 1 -W 1 198.19.1.1
  ping_both
  kill -KILL "$b"
  wait "$b" 2>/dev/null || true
  wait_until 20 "tap1 removed after its client died" no_link_in "$NS_SRV" tap1
  link_in "$NS_SRV" tap0 || fail "the other client's tap0 went too"
  in_cli ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "the other tunnel stopped carrying traffic"
  stop_pid "$a" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "two clients at once: one killed, the other's tunnel unaffected"
}

case_wrong_key() {
  E2E_CURRENT="wrong key"
  start_feth_sshd
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/stranger"
  local status=0
  in_cli timeout "$(scaled 20)" $STOCK_SSH -F /dev/null -i "$TMP/stranger" -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=no -o BatchMode=yes -p "$PORT" \
    -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" >"$TMP/wrong-key.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "ssh with an unknown key exited $status, expected 255"
  grep -q "Permission denied (publickey)" "$TMP/wrong-key.log" || fail "client did not report 'Permission denied'"
  wait_until 30 "feth-sshd's 'Failed publickey for root from $UNDERLAY_CLI' log line" \
    grep -q "Failed publickey for root from $UNDERLAY_CLI" "$TMP/feth-sshd.log"
  ! grep -q "Accepted publickey" "$TMP/feth-sshd.log" || fail "the unknown key was accepted"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a device was created for an unauthenticated client"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "unknown key refused, logged, no device"
}

case_permit_tunnel_refusal() {
  E2E_CURRENT="PermitTunnel point-to-point"
  start_feth_sshd -o PermitTunnel=point-to-point
  local status=0 t0=$SECONDS
  in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" \
    >"$TMP/refused.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "ssh -o ExitOnForwardFailure=yes exited $status, expected 255"
  [ $((SECONDS - t0)) -le "$(scaled 10)" ] || fail "the refusal took $((SECONDS - t0)) s (more than 10)"
  wait_until 30 "server log naming the refusal ('Refused tunnel forwarding ... PermitTunnel does not allow ethernet')" \
    grep -q "Refused tunnel forwarding for root from $UNDERLAY_CLI.*PermitTunnel does not allow ethernet" \
    "$TMP/feth-sshd.log"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a device was left on the server"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "ethernet refused under PermitTunnel point-to-point (ssh exit 255)"
}

case_session_without_N() {
  E2E_CURRENT="without -N"
  start_feth_sshd
  start_bg ssh-session cli $SSH -T -o Tunnel=ethernet -w 0:0 root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "the session's one line" grep -q "tunnels only; your tunnel is on tap0" "$TMP/ssh-session.log"
  configure_tunnel tap0 tap0
  ping_both
  kill -0 "$ssh_pid" 2>/dev/null || fail "ssh without -N did not stay open"
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "without -N: one line naming tap0, session stays while the tunnel does"
}

case_server_sigterm() {
  E2E_CURRENT="server SIGTERM"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  local status=0
  stop_pid "$SSHD_PID" 50 || status=$?
  [ "$status" = 0 ] || fail "feth-sshd exited $status on SIGTERM, expected 0"
  no_link_in "$NS_SRV" tap0 || fail "tap0 still on the server after SIGTERM"
  # Not in $(...): wait_exit must run in this shell, ssh's parent (in a
  # subshell it would see no child of its own and never say timeout).
  wait_exit "$ssh_pid" 50 >"$TMP/ssh.status"
  [ "$(cat "$TMP/ssh.status")" != timeout ] || fail "the client stayed connected after the server stopped"
  pass "SIGTERM: feth-sshd exited 0 and removed its device"
}

case_fixed_units_ping_iperf
case_any_units
case_two_clients_isolated
case_wrong_key
case_permit_tunnel_refusal
case_session_without_N
case_server_sigterm
assert_no_sanitizer_reports
echo "feth_sshd_ethernet: all cases passed"
