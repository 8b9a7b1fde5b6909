#!/usr/bin/env bash
# Baseline: Debian's stock sshd and stock ssh on both ends, no code of ours.
# It checks the harness itself (namespaces, underlay, keys, waits, ping and
# iperf3 helpers, cleanup) against real OpenSSH, and pins down the behaviour
# the feth-sshd tests expect from a server: the same cases pass here first.
# Its RESULT line is the reference figure for the benchmarks.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

case_tunnel_ping_iperf_sigkill() {
  E2E_CURRENT="stock ssh -> stock sshd, -w 0:0"
  start_stock_sshd ethernet
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server (stock sshd)" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client (stock ssh)" link_in "$NS_CLI" tap0
  grep -q "Accepted publickey for root from $UNDERLAY_CLI port [0-9]* ssh2: ED25519 SHA256:" "$TMP/stock-sshd.log" ||
    fail "stock sshd logged no 'Accepted publickey' line"
  configure_tunnel tap0 tap0
  ping_both
  ping6_both
  local up down
  up=$(iperf_mbit "$TUN4_SRV")
  down=$(iperf_mbit "$TUN4_SRV" -R)
  [ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
  kill -0 "$ssh_pid" 2>/dev/null || fail "ssh died during iperf3"
  pass "iperf3 5 s each way: client->server $up Mbit/s, server->client $down Mbit/s; connection alive"
  echo "RESULT pairing=stock-ssh/stock-sshd ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"

  # The client killed outright: stock sshd drops the tap within 2 s.
  kill -KILL "$ssh_pid"
  wait "$ssh_pid" 2>/dev/null || true
  wait_until 20 "tap0 removed on the server after client SIGKILL" no_link_in "$NS_SRV" tap0
  pass "client SIGKILL: server's tap0 gone within $(scaled 2) s"
  stop_pid "$SSHD_PID" || true
}

case_any_units() {
  E2E_CURRENT="stock, -w any:any"
  start_stock_sshd ethernet
  start_bg ssh-any cli $SSH -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
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
  stop_pid "$SSHD_PID" || true
  pass "-w any:any: $sif <-> $cif"
}

case_wrong_key() {
  E2E_CURRENT="stock, wrong key"
  start_stock_sshd ethernet
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/stranger"
  local status=0
  in_cli timeout "$(scaled 20)" $STOCK_SSH -F /dev/null -i "$TMP/stranger" -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout="$(scaled 5)" \
    -p "$PORT" -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" >"$TMP/wrong-key.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "ssh with an unknown key exited $status, expected 255"
  grep -q "Permission denied (publickey)" "$TMP/wrong-key.log" || fail "client did not report 'Permission denied'"
  wait_until 30 "stock sshd's 'Failed publickey' line" grep -q "Failed publickey for root from $UNDERLAY_CLI" \
    "$TMP/stock-sshd.log"
  ! grep -q "Accepted publickey" "$TMP/stock-sshd.log" || fail "the unknown key was accepted"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a device was created for an unauthenticated client"
  stop_pid "$SSHD_PID" || true
  pass "unknown key refused (exit 255), 'Failed publickey' logged, no device"
}

case_permit_tunnel_refusal() {
  E2E_CURRENT="stock, PermitTunnel point-to-point"
  start_stock_sshd point-to-point
  local status=0 t0=$SECONDS
  in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" \
    >"$TMP/refused.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "ssh -o ExitOnForwardFailure=yes exited $status, expected 255"
  [ $((SECONDS - t0)) -le "$(scaled 10)" ] || fail "the refusal took $((SECONDS - t0)) s (more than 10)"
  grep -q "Tunnel forwarding failed" "$TMP/refused.log" || fail "ssh did not report 'Tunnel forwarding failed'"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a device was left on the server"
  stop_pid "$SSHD_PID" || true
  pass "ethernet refused under PermitTunnel point-to-point (ssh exit 255 in $((SECONDS - t0)) s)"
}

case_tunnel_ping_iperf_sigkill
case_any_units
case_wrong_key
case_permit_tunnel_refusal
echo "stock_baseline: all cases passed"
