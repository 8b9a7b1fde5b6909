#!/usr/bin/env bash
# The output bound (issue 15, security review M3): a client that grants a
# 4 GiB channel window and then stops reading its TCP socket
# (tests/tools/bad_client stall) must not grow the server child's memory.
# While FRAMES frames go into the server's end of that tunnel, checks:
# - the child's peak RSS (VmHWM) stays under RSS_LIMIT_KB: the pump stops
#   reading its device while libssh holds more than 1 MiB of output for the
#   socket (without the bound it grows by the whole flood, ~90 MB);
# - the child sleeps meanwhile: its CPU time over the flood and a quiet
#   spell after it stays far from a busy loop;
# - an honest stock ssh tunnel on another connection answers every ping
#   at the same time;
# - the stalled tunnel's close line says the output was full at least once.
source "$(dirname "$0")/lib.sh"
[ -x "${FETH_BAD_CLIENT:-}" ] || { echo "SKIP: FETH_BAD_CLIENT not built"; exit 77; }
e2e_init
SSH=$(stock_ssh_cmd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

FRAMES=60000
FRAME_BYTES=1400
RSS_LIMIT_KB=16384
PINGS=20
QUIET_SECONDS=3
HOLD=$(scaled 40)   # bad_client holds its connection unread this long
CPU_LIMIT_TICKS=$((50 * E2E_TIME_SCALE)) # of flood + quiet spell (~5 s): a busy loop takes all of it

clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

start_feth_sshd

# The stalled client: tap0 on the server (the first tunnel, unit any).
E2E_CURRENT="stalled client"
in_cli timeout "$(scaled 120)" "$FETH_BAD_CLIENT" --host "$UNDERLAY_SRV" --port "$PORT" --user root \
  --identity "$TMP/id_ed25519" stall --ready-file "$TMP/stall.ready" --hold "$HOLD" >"$TMP/stall.out" 2>&1 &
stall_pid=$!
E2E_PIDS+=("$stall_pid")
wait_until 300 "the stalled client's tunnel open" test -e "$TMP/stall.ready"
wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0

# Its connection's unprivileged child: the listener's only grandchild now
# (listener -> monitor -> child), running as PrivilegeSeparationUser.
monitor=$(pgrep -P "$SSHD_PID" | head -1)
[ -n "$monitor" ] || fail "no monitor process under the listener $SSHD_PID"
child=$(pgrep -P "$monitor" | head -1)
[ -n "$child" ] || fail "no child process under the monitor $monitor"
child_user=$(ps -o user= -p "$child" | tr -d ' ')
[ "$child_user" != root ] || fail "process $child under the monitor runs as root: not the unprivileged child"
rss_start=$(rss_kb "$child")
pass "stalled client connected: child $child ($child_user), RSS ${rss_start} kB"

# The honest client on its own connection: tap1 on both sides.
E2E_CURRENT="honest client"
start_bg ssh cli $SSH -o Tunnel=ethernet -w 1:1 -N root@"$UNDERLAY_SRV"
wait_until 100 "tap1 on both sides" sh -c "ip netns exec $NS_SRV ip link show tap1 && ip netns exec $NS_CLI ip link show tap1"
configure_tunnel tap1 tap1
ping_both

# The flood: FRAMES broadcast frames of an IEEE experimental ethertype out
# of the server's tap0, in bursts of 100 with a millisecond between them
# (about a second in all), each carrying its sequence number. The server's
# stack sends them on the tap, whose reader is the stalled tunnel's pump;
# what it does not read, the tap's own queue (txqueuelen 1000) drops.
E2E_CURRENT="flood"
in_srv sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1
in_srv ip link set tap0 up
cat >"$TMP/flood.py" <<'PY'
import socket, struct, sys, time
dev, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
head = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5"
pad = b"\x00" * (size - len(head) - 4)
sent = 0
for i in range(count):
    try:
        s.send(head + struct.pack("!I", i) + pad)
        sent += 1
    except OSError:
        pass  # a full queue: dropped, as the kernel would
    if i % 100 == 99:
        time.sleep(0.001)
print(sent)
PY
cpu_before=$(cpu_ticks "$child")
in_cli ping -c "$PINGS" -i 0.1 -w "$(scaled 20)" "$TUN4_SRV" >"$TMP/ping.out" 2>&1 &
ping_pid=$!
E2E_PIDS+=("$ping_pid")
in_srv "$PY" "$TMP/flood.py" tap0 "$FRAMES" "$FRAME_BYTES" >"$TMP/flood.out" 2>&1 || fail "the flood failed: $(cat "$TMP/flood.out")"
rss_peak=0
for _ in $(seq $((QUIET_SECONDS * 10))); do
  r=$(rss_kb "$child") || fail "the child $child is gone"
  [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  sleep 0.1
done
cpu_after=$(cpu_ticks "$child")
hwm=$(hwm_kb "$child")
tap0_tx=$(in_srv cat /sys/class/net/tap0/statistics/tx_packets)
tap0_tx_dropped=$(in_srv cat /sys/class/net/tap0/statistics/tx_dropped)
child_wchan=$(cat "/proc/$child/wchan" 2>/dev/null || echo "?")
# Asleep in poll(), not inside a send() on the stalled socket: libssh writes
# all it holds at once after POLLOUT, and on a blocking socket that send()
# waited in the kernel for the peer, freezing the whole connection (the
# one-run-in-ten "137 frames, output full 0 times": it blocked before the
# bound was reached). Where the kernel shows no stack, wchan stands in.
child_stack=$(cat "/proc/$child/stack" 2>/dev/null || true)
if grep -q "tcp_sendmsg" <<<"$child_stack" || [ "$child_wchan" = sk_stream_wait_memory ]; then
  fail "the child $child is blocked in a send() to the stalled peer (wchan $child_wchan): $(head -8 <<<"$child_stack" | tr '\n' ' ')"
fi
wait_exit "$ping_pid" 300 >"$TMP/ping.status"
[ "$(cat "$TMP/ping.status")" = 0 ] || fail "honest ping during the flood: $(tail -3 "$TMP/ping.out")"
all_replied "$PINGS" <"$TMP/ping.out" || fail "honest ping during the flood lost replies: $(tail -3 "$TMP/ping.out")"
cpu_used=$((cpu_after - cpu_before))
echo "flood: $(cat "$TMP/flood.out") of $FRAMES frames sent, tap0 took $tap0_tx and dropped $tap0_tx_dropped; child in $child_wchan; child $child RSS ${rss_start} kB at start, peak sampled ${rss_peak} kB, VmHWM ${hwm} kB; CPU $cpu_used ticks (${clk_tck}/s) over the flood and ${QUIET_SECONDS} s after"
if grep -qa __asan_init "$FETH_SSHD"; then
  # ASan: shadow memory and the quarantine of freed blocks make the
  # absolute size meaningless; the growth still tells (the whole flood
  # held would be 90 MB and more).
  [ $((hwm - rss_start)) -lt "$RSS_LIMIT_KB" ] ||
    fail "the stalled tunnel's child (ASan) grew from $rss_start kB to $hwm kB (VmHWM), limit +$RSS_LIMIT_KB kB"
else
  [ "$hwm" -lt "$RSS_LIMIT_KB" ] || fail "the stalled tunnel's child peaked at $hwm kB (VmHWM), limit $RSS_LIMIT_KB kB"
fi
[ "$cpu_used" -lt "$CPU_LIMIT_TICKS" ] || fail "the child used $cpu_used CPU ticks while its peer did not read: a busy loop?"
kill -0 "$stall_pid" 2>/dev/null || fail "the stalled client ended before the measurement was over: $(cat "$TMP/stall.out")"
pass "stalled peer: child peak RSS $hwm kB < $RSS_LIMIT_KB kB, $cpu_used CPU ticks; honest tunnel: $PINGS of $PINGS pings answered"

# The stalled client lets go (SIGUSR1 ends its hold; the hold itself is
# only the upper bound); its tunnel's close line counts the pauses.
E2E_CURRENT="after the stall"
stall_client=$(cat "$TMP/stall.ready")
[[ "$stall_client" =~ ^[0-9]+$ ]] || fail "the stalled client's ready file holds no pid: '$stall_client'"
kill -USR1 "$stall_client" || fail "cannot release the stalled client $stall_client"
wait_exit "$stall_pid" "$(scaled 1200)" >"$TMP/stall.status"
grep -q "^RESULT stall ok: " "$TMP/stall.out" || fail "bad_client stall: $(tail -3 "$TMP/stall.out")"
wait_until 300 "the stalled tunnel's close line" grep -q "Tunnel tap0 for root from .* closed" "$TMP/feth-sshd.log"
grep "Tunnel tap0 for root from .* closed" "$TMP/feth-sshd.log" | grep -q "output full [1-9][0-9]* times" ||
  fail "the stalled tunnel never found its output full: $(grep "Tunnel tap0 for root" "$TMP/feth-sshd.log" | tail -1)"
pass "$(grep -o "Tunnel tap0 for root from .* closed.*" "$TMP/feth-sshd.log" | tail -1)"

# And the honest tunnel still works.
in_cli ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "honest tunnel after the stall"
stop_pid "$BG_PID" || true
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
pass "honest tunnel answers after the stall; feth-sshd exits cleanly"
assert_no_sanitizer_reports
echo "feth_sshd_output_bound: all cases passed"
