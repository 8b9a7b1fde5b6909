#!/usr/bin/env bash
# A slow TunnelUpCommand blocks nothing but its own tunnel (issue 15, L5):
# one connection (tests/tools/bad_client slow-tunnel, an honest libssh
# client that pumps each tunnel to a local tap) has tunnel 0 up; the up hook
# of tunnel 1 is held for 10 s and more (until this script releases it).
# Meanwhile tunnel 0 carries pings without loss, the server sends its
# ClientAlive keepalives (interval 1, count 2) and answers the client's, and
# the connection stays. Then tunnel 1 comes up and carries pings, and tunnel
# 2, whose up hook fails, is refused with sshd's debug line and logged.
# Its TunnelDownCommand is held in turn (N13: it runs in the background
# like the up hook): meanwhile tunnel 0 carries pings through re-keys
# (RekeyLimit 32K), which the monitor must sign.
source "$(dirname "$0")/lib.sh"
[ -x "${FETH_BAD_CLIENT:-}" ] || { echo "SKIP: FETH_BAD_CLIENT not built"; exit 77; }
e2e_init

STEPS="$TMP/steps"
mkdir -p "$STEPS"
cat >"$TMP/up.sh" <<EOF2
#!/bin/sh
case "\$FETH_UNIT" in
0) ip addr add $TUN4_SRV/24 dev "\$FETH_INTERFACE" && ip link set "\$FETH_INTERFACE" up ;;
1) : >"$STEPS/hook1.started"
   i=0
   while [ ! -e "$STEPS/hook1.release" ] && [ \$i -lt $(scaled 1200) ]; do sleep 0.1; i=\$((i + 1)); done
   [ -e "$STEPS/hook1.release" ] || exit 1
   ip addr add 198.19.1.1/24 dev "\$FETH_INTERFACE" && ip link set "\$FETH_INTERFACE" up ;;
*) echo "refusing unit \$FETH_UNIT"; exit 1 ;;
esac
EOF2
chmod +x "$TMP/up.sh"
cat >"$TMP/down.sh" <<EOF2
#!/bin/sh
[ "\$FETH_UNIT" = 2 ] || exit 0
: >"$STEPS/down2.started"
i=0
while [ ! -e "$STEPS/down2.release" ] && [ \$i -lt $(scaled 1200) ]; do sleep 0.1; i=\$((i + 1)); done
: >"$STEPS/down2.finished"
EOF2
chmod +x "$TMP/down.sh"

E2E_CURRENT="a slow up hook on one connection"
start_feth_sshd -o "TunnelUpCommand=$TMP/up.sh" -o "TunnelDownCommand=$TMP/down.sh" \
  -o TunnelCommandTimeout="$(scaled 200)" -o ClientAliveInterval=1 -o ClientAliveCountMax=2 -o RekeyLimit=32K \
  -o LogLevel=DEBUG1
start_bg slow cli "$FETH_BAD_CLIENT" --host "$UNDERLAY_SRV" --port "$PORT" --user root \
  --identity "$TMP/id_ed25519" slow-tunnel --dir "$STEPS"
client_pid=$BG_PID
wait_until 100 "tunnel 0 up in the client" test -e "$STEPS/up0"
in_cli ip addr add "$TUN4_CLI/24" dev tap0
in_cli ip link set tap0 up
wait_until 100 "first ping through tunnel 0" in_cli ping -c 1 -W 1 "$TUN4_SRV"

: >"$STEPS/go"
wait_until 100 "tunnel 1's up hook running" test -e "$STEPS/hook1.started"
# 40 pings at 4 a second: 10 s at least, all while the hook is held.
out=$(in_cli ping -c 40 -i 0.25 -w "$(scaled 40)" "$TUN4_SRV") || fail "ping through tunnel 0 while tunnel 1's hook ran: $out"
all_replied 40 <<<"$out" || fail "tunnel 0 lost pings while tunnel 1's up hook ran: $(tail -2 <<<"$out")"
[ ! -e "$STEPS/up1" ] || fail "tunnel 1 came up before its up hook finished"
link_in "$NS_SRV" tap1 || fail "tap1 is not on the server while its up hook runs"
our_child "$client_pid" || fail "the client's connection ended while tunnel 1's up hook ran: $(tail -3 "$TMP/slow.log")"
! grep -q "Timeout, client not responding" "$TMP/feth-sshd.log" || fail "the server timed the client out"
pass "10 s of tunnel 1's up hook: tunnel 0 carried 40 pings without loss, the connection stayed"

: >"$STEPS/hook1.release"
wait_until 100 "tunnel 1 up in the client" test -e "$STEPS/up1"
in_cli ip addr add 198.19.1.2/24 dev tap1
in_cli ip link set tap1 up
wait_until 100 "first ping through tunnel 1" in_cli ping -c 1 -W 1 198.19.1.1
out=$(in_cli ping -c 5 -i 0.2 -w "$(ping_w)" 198.19.1.1) || fail "ping through tunnel 1: $out"
all_replied 5 <<<"$out" || fail "tunnel 1 lost pings: $(tail -2 <<<"$out")"
pass "tunnel 1 came up once its hook finished and carries pings"

wait_until 100 "tunnel 2's down hook running" test -e "$STEPS/down2.started"
wait_until 100 "tunnel 2 refused while its down hook runs" test -e "$STEPS/done"
wait_until 50 "the failed hook logged" grep -q "TunnelUpCommand for tap2 .*exited with status 1" "$TMP/feth-sshd.log"
no_link_in "$NS_SRV" tap2 || fail "tap2 left on the server after its up hook failed"
pass "tunnel 2's failing up hook: refused with \"Failed to open the tunnel device.\", logged, no device"
# 40 pings of 1000 bytes each way: more than RekeyLimit, so the server
# re-keys (its monitor signs) while tunnel 2's down hook is still held.
rekeys=$(count_of "$TMP/feth-sshd.log" "host key signature for a re-key")
out=$(in_cli ping -c 40 -i 0.05 -s 1000 -w "$(scaled 20)" "$TUN4_SRV") ||
  fail "ping through tunnel 0 while tunnel 2's down hook ran: $out"
all_replied 40 <<<"$out" || fail "tunnel 0 lost pings while tunnel 2's down hook ran: $(tail -2 <<<"$out")"
count_above "$TMP/feth-sshd.log" "host key signature for a re-key" "$rekeys" || fail "no re-key during the pings"
[ ! -e "$STEPS/down2.finished" ] || fail "the down hook ended before the pings did"
: >"$STEPS/down2.release"
wait_until 100 "tunnel 2's down hook finished" test -e "$STEPS/down2.finished"
pass "tunnel 2's held TunnelDownCommand: tunnel 0 carried 40 KB of pings through re-keys meanwhile"

: >"$STEPS/stop"
wait_exit "$client_pid" 100 >"$TMP/slow.status"
status=$(cat "$TMP/slow.status")
[ "$status" = 0 ] || fail "bad_client slow-tunnel ended with $status: $(tail -3 "$TMP/slow.log")"
grep -q "^RESULT slow-tunnel ok: " "$TMP/slow.log" || fail "no ok result: $(tail -3 "$TMP/slow.log")"
pass "$(grep "^RESULT" "$TMP/slow.log" | sed 's/^RESULT //')"
wait_until 50 "tap0 and tap1 removed after the client left" sh -c \
  "! ip netns exec $NS_SRV ip link show tap0 2>/dev/null && ! ip netns exec $NS_SRV ip link show tap1 2>/dev/null"
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
assert_no_sanitizer_reports
echo "feth_sshd_slow_hook: all cases passed"
