#!/usr/bin/env bash
# Bad input from a peer, sent by tests/tools/bad_client (the patched libssh,
# reaching past its public API): truncated, oversized, malformed and early
# channel opens, unknown modes, units beyond the maximum, a flood of opens,
# runt and oversized frames. bad_client checks each answer the peer sees
# (docs/security.md, "Bad input from a peer"); here we check what the
# server logs, and that it survives all of it with nothing leaked: the
# listener's descriptors, the feth-sshd processes and the tunnel devices of
# the server's namespace are back to where they were, and a stock ssh
# tunnel still works afterwards.
source "$(dirname "$0")/lib.sh"
[ -x "${FETH_BAD_CLIENT:-}" ] || { echo "SKIP: FETH_BAD_CLIENT not built"; exit 77; }
e2e_init
SSH=$(stock_ssh_cmd)

fd_count() { ls "/proc/$1/fd" | wc -l; }
# feth-sshd processes in the server's namespace: the listener, and a monitor
# and its unprivileged child per connection.
sshd_procs() {
  local n=0 pid
  for pid in $(ip netns pids "$NS_SRV" 2>/dev/null); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = feth-sshd ] && n=$((n + 1))
  done
  echo "$n"
}
device_count() { tunnel_links "$NS_SRV" | grep -c . || true; }
# Connection processes gone and devices removed: both are asynchronous
# (each connection's monitor removes its devices as its child ends).
back_to_baseline() { [ "$(sshd_procs)" = "$procs_before" ] && [ "$(device_count)" = "$devices_before" ]; }
logged() { grep -c -F -- "$1" "$TMP/feth-sshd.log" || true; }

# bad SCENARIO [ARGS...]: one bad_client scenario from the client namespace,
# bounded; its RESULT line must say ok and the listener must live on.
bad() {
  local scenario=$1 out status=0; shift
  E2E_CURRENT="bad input: $scenario"
  out=$(in_cli timeout "$(scaled 60)" "$FETH_BAD_CLIENT" --host "$UNDERLAY_SRV" --port "$PORT" --user root \
    --identity "$TMP/id_ed25519" "$scenario" "$@" 2>&1) || status=$?
  echo "$out" >>"$TMP/bad_client.log"
  [ "$status" = 0 ] || fail "bad_client $scenario exited $status: $(tail -3 <<<"$out")"
  grep -q "^RESULT $scenario ok: " <<<"$out" || fail "bad_client $scenario: no ok result: $(tail -3 <<<"$out")"
  kill -0 "$SSHD_PID" 2>/dev/null || fail "feth-sshd died on $scenario"
  pass "$(grep "^RESULT" <<<"$out" | sed 's/^RESULT //')"
}

start_feth_sshd
fds_before=$(fd_count "$SSHD_PID")
procs_before=$(sshd_procs)
devices_before=$(device_count)
[ "$procs_before" = 1 ] || fail "expected the listener alone, found $procs_before feth-sshd processes"
[ "$devices_before" = 0 ] || fail "devices before any client: $(tunnel_links "$NS_SRV")"

bad truncated
bad bad-mode
bad bad-unit
bad trailing
bad long-type
bad type-length
bad preauth
bad flood --count 500 --limit 10

# frames: the server's device must be up for the one good frame to be
# written (a tap that is down refuses writes with EIO), and must be tap0,
# the one we name: wait for every earlier device to go, then let bad_client
# send its frames once tap0 is up.
E2E_CURRENT="bad input: frames"
wait_until 100 "the earlier connections and devices gone" back_to_baseline
in_cli timeout "$(scaled 60)" "$FETH_BAD_CLIENT" --host "$UNDERLAY_SRV" --port "$PORT" --user root \
  --identity "$TMP/id_ed25519" frames --go-file "$TMP/frames.go" >"$TMP/frames.out" 2>&1 &
frames_pid=$!
E2E_PIDS+=("$frames_pid")
wait_until 300 "tap0 for the frames scenario" link_in "$NS_SRV" tap0
in_srv sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1
in_srv ip link set tap0 up
[ "$(in_srv cat /sys/class/net/tap0/mtu)" = 1500 ] || fail "tap0's MTU is $(in_srv cat /sys/class/net/tap0/mtu), not 1500"
rx_before=$(in_srv cat /sys/class/net/tap0/statistics/rx_packets)
touch "$TMP/frames.go"
# What reaches tap0 (L4): the good frame and the 1518-byte one (MTU 1500 +
# 14 + a VLAN tag), not the 1519-byte one. Sampled while the client runs:
# tap0 goes with its connection.
rx_after=none
for _ in $(seq $(($(scaled 60) * 20))); do
  kill -0 "$frames_pid" 2>/dev/null || break
  r=$(in_srv cat /sys/class/net/tap0/statistics/rx_packets 2>/dev/null) && rx_after=$r
  sleep 0.05
done
# Not in $(...): wait_exit must run in this shell, the client's parent.
wait_exit "$frames_pid" 600 >"$TMP/frames.status"
frames_status=$(cat "$TMP/frames.status")
cat "$TMP/frames.out" >>"$TMP/bad_client.log"
[ "$frames_status" = 0 ] || fail "bad_client frames exited $frames_status: $(tail -3 "$TMP/frames.out")"
grep -q "^RESULT frames ok: " "$TMP/frames.out" || fail "bad_client frames: no ok result: $(tail -3 "$TMP/frames.out")"
kill -0 "$SSHD_PID" 2>/dev/null || fail "feth-sshd died on frames"
pass "$(grep "^RESULT" "$TMP/frames.out" | sed 's/^RESULT //')"

E2E_CURRENT="after the bad input"
wait_until 100 "feth-sshd processes and devices back to $procs_before and $devices_before" back_to_baseline
fds_after=$(fd_count "$SSHD_PID")
[ "$fds_after" = "$fds_before" ] || fail "listener fds $fds_before -> $fds_after"

# What the server logged for it (docs/security.md has the table).
refused="Refused tunnel forwarding for root from $UNDERLAY_CLI port"
for mode in 0 3 2147483647; do
  grep -q "$refused [0-9]*: unsupported tunnel mode $mode \[postauth\]\$" "$TMP/feth-sshd.log" ||
    fail "no refusal logged for mode $mode"
done
# 0x80000000 and 0xffffffff do not fit libssh's int accessor, which gives 0.
[ "$(grep -c "$refused [0-9]*: unsupported tunnel mode 0 \[postauth\]\$" "$TMP/feth-sshd.log")" = 3 ] ||
  fail "modes 0, 0x80000000 and 0xffffffff: expected 3 'unsupported tunnel mode 0' lines"
for unit in 2147483646 2147483648 4294967294 4294967295; do
  grep -q "$refused [0-9]*: unit $unit out of range \[postauth\]\$" "$TMP/feth-sshd.log" ||
    fail "no refusal logged for unit $unit"
done
grep -q "Tunnel tap2147483645 (ethernet) opened for root from $UNDERLAY_CLI" "$TMP/feth-sshd.log" ||
  fail "the highest unit did not get tap2147483645"
too_many=$(logged "too many tunnels on one connection")
[ "$too_many" = 490 ] || fail "flood: $too_many 'too many tunnels' refusals logged, expected 490"
# The early open was refused as a protocol violation, with a log line; no
# other connection was (bad_client just drops its connections, and a reset
# is no violation).
grep -q "Protocol error from $UNDERLAY_CLI port [0-9]*: Packet filter: rejected packet (type 90) \[preauth\]" \
  "$TMP/feth-sshd.log" || fail "the early channel open was not logged as a protocol error"
[ "$(grep -c -i "protocol error" "$TMP/feth-sshd.log")" = 1 ] ||
  fail "other connections logged as protocol errors: $(grep -i "protocol error" "$TMP/feth-sshd.log" | head -3)"
# The frames scenario's pump dropped all 8 bad frames (3 runt, 3 above the
# frame limit, 1 above the MTU, 1 above the max packet), wrote the good one
# and the one at the MTU to tap0, and said so. The reason is "closed by
# peer" or "peer sent EOF": bad_client's exit sends EOF and CLOSE together,
# and either may end the tunnel first.
grep -q "Tunnel tap0 for root from .* closed ([^)]*): [0-9]* frames out, 10 in, 8 dropped (1 above the MTU)" \
  "$TMP/feth-sshd.log" ||
  fail "no tunnel close line counting 10 frames in, 8 dropped (1 above the MTU): $(grep -h ' dropped' "$TMP/feth-sshd.log" | tail -3)"
[ "$rx_after" = "$((rx_before + 2))" ] ||
  fail "tap0 received $rx_before -> $rx_after frames, expected 2 more (the good one and the one at the MTU)"
pass "logged: 5 unsupported modes, 4 units out of range, 490 x too many tunnels, the protocol error, 8 of 10 frames dropped (1 above the MTU); tap0 got the 2 others"

start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "tap0 on both sides" sh -c "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_CLI ip link show tap0"
configure_tunnel tap0 tap0
ping_both
stop_pid "$ssh_pid" || true
wait_until 100 "the stock ssh connection gone" back_to_baseline
[ "$(fd_count "$SSHD_PID")" = "$fds_before" ] || fail "listener fds $fds_before -> $(fd_count "$SSHD_PID") after stock ssh"
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
[ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left: $(tunnel_links "$NS_SRV")"
pass "after all of it: listener fds $fds_before -> $fds_after, $procs_before feth-sshd process, $devices_before devices, stock ssh tunnel works"
assert_no_sanitizer_reports
echo "feth_sshd_bad_input: all cases passed"
