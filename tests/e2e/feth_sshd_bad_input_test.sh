#!/usr/bin/env bash
# Bad input from a peer, sent by tests/tools/bad_client (the patched libssh,
# reaching past its public API): truncated, oversized and early channel
# opens, unknown modes, units beyond the maximum, a flood of opens, runt
# and oversized frames. bad_client checks each documented answer (see
# docs/security.md); here we check that the server survives all of it with
# nothing leaked: listener descriptors, processes and devices are back to
# where they were, and a stock ssh tunnel still works afterwards.
source "$(dirname "$0")/lib.sh"
[ -x "${FETH_BAD_CLIENT:-}" ] || { echo "SKIP: FETH_BAD_CLIENT not built"; exit 77; }
e2e_init
SSH=$(stock_ssh_cmd)

fd_count() { ls "/proc/$1/fd" | wc -l; }
connections() { pgrep -c -P "$SSHD_PID" || true; }

# bad SCENARIO [ARGS...]: runs one scenario from the client namespace,
# bounded; its RESULT line must say ok.
bad() {
  local scenario=$1 out status=0; shift
  E2E_CURRENT="bad input: $scenario"
  out=$(in_cli timeout 90 "$FETH_BAD_CLIENT" --host "$UNDERLAY_SRV" --port "$PORT" --user root \
    --identity "$TMP/id_ed25519" "$scenario" "$@" 2>&1) || status=$?
  echo "$out" >>"$TMP/bad_client.log"
  [ "$status" = 0 ] || fail "bad_client $scenario exited $status: $(tail -3 <<<"$out")"
  grep -q "^RESULT $scenario ok: " <<<"$out" || fail "bad_client $scenario: no ok result: $(tail -3 <<<"$out")"
  kill -0 "$SSHD_PID" 2>/dev/null || fail "feth-sshd died on $scenario"
  pass "$(grep "^RESULT" <<<"$out" | sed 's/^RESULT //')"
}

start_feth_sshd
sleep 0.3
fds_before=$(fd_count "$SSHD_PID")
[ "$(connections)" = 0 ] || fail "connection processes before any client"

bad truncated
bad bad-mode
bad bad-unit
bad oversized
bad preauth
bad flood --count 500 --limit 10
bad frames

E2E_CURRENT="after the bad input"
wait_until 100 "every connection process gone" sh -c "[ \$(pgrep -c -P $SSHD_PID) = 0 ]"
wait_until 50 "no tunnel device left" sh -c "[ -z \"\$(ip netns exec $NS_SRV ip -o link show | grep -E ': (tap|tun)')\" ]"
fds_after=$(fd_count "$SSHD_PID")
[ "$fds_after" -le "$fds_before" ] || fail "listener fds $fds_before -> $fds_after"
# The frames scenario's pump dropped all 7 bad frames (3 runt, 3 above the
# frame limit, 1 above the max packet) and said so.
grep -q "Tunnel tap0 for root from .* closed (closed by peer): 0 frames out, 7 in, 7 dropped" "$TMP/feth-sshd.log" ||
  fail "no tunnel close line counting 7 dropped frames: $(grep -h ' dropped' "$TMP/feth-sshd.log" | tail -3)"
# The early open was refused as a protocol violation, with a log line.
grep -q "Protocol error from $UNDERLAY_CLI port [0-9]*: Packet filter: rejected packet (type 90) \[preauth\]" \
  "$TMP/feth-sshd.log" || fail "the early channel open was not logged as a protocol error"

start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "tap0 on both sides" sh -c "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_CLI ip link show tap0"
configure_tunnel tap0 tap0
ping_both
stop_pid "$ssh_pid" || true
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
[ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left: $(tunnel_links "$NS_SRV")"
pass "after all of it: listener fds $fds_before -> $fds_after, no process or device left, stock ssh tunnel works"
assert_no_sanitizer_reports
echo "feth_sshd_bad_input: all cases passed"
