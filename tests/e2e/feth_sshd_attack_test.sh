#!/usr/bin/env bash
# Hostile and faulty peers against feth-sshd: connections that never
# authenticate, garbage instead of SSH, MaxStartups, a client that stops
# answering, the device deleted under a live tunnel, the unprivileged child
# killed, client SIGKILL and server SIGTERM under load. After each: the
# server is alive (or exited cleanly), no device is left, and the listener
# holds no more descriptors than before.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

fd_count() { ls "/proc/$1/fd" | wc -l; }
monitor_of() { pgrep -P "$SSHD_PID" | head -1; }
child_of_monitor() { pgrep -P "$1" | head -1; }
# Connection processes (monitors) of the listener: how many, whether one is.
monitors_are() { [ "$(pgrep -P "$SSHD_PID" | wc -l)" = "$1" ]; }
# Not kill -0: a pid that is gone may be anyone's on a busy machine.
not_a_monitor() { ! pgrep -P "$SSHD_PID" | grep -qx "$1"; }
both_gone() { ! our_child "$1" && ! our_child "$2"; }
# Connections the kernel completed that the listener has not accepted yet
# (a listening socket's Recv-Q).
accept_queue_empty() { [ "$(in_srv ss -Hltn "sport = :$PORT" | awk '{print $2}')" = 0 ]; }
# Frames the server's side of a tunnel received.
rx_packets_above() { [ "$(in_srv cat "/sys/class/net/$1/statistics/rx_packets")" -gt "$2" ]; }
# CPU ticks (user+system) a pid used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# raw_conn SECONDS [BYTES]: a TCP connection from the client namespace that
# sends BYTES (or nothing) and stays SECONDS (times the factor); its pid in
# RAW_PID.
raw_conn() {
  local s
  s=$(scaled "$1")
  in_cli timeout "$s" bash -c "exec 3<>/dev/tcp/$UNDERLAY_SRV/$PORT; ${2:+printf '$2' >&3;} sleep $s" \
    >/dev/null 2>&1 &
  RAW_PID=$!
  E2E_PIDS+=("$RAW_PID")
}

case_preauth_and_garbage() {
  E2E_CURRENT="pre-auth: grace, garbage, MaxStartups"
  # LoginGraceTime scaled with the holders' 6 s: they must outlive it, and
  # the fourth connection must come while the three hold their slots.
  start_feth_sshd -o LoginGraceTime="$(scaled 2)" -o MaxStartups=3:100:3
  local fds_before
  fds_before=$(fd_count "$SSHD_PID")
  for _ in 1 2 3; do raw_conn 6; done
  wait_until 50 "3 unauthenticated connections held" monitors_are 3
  raw_conn 2
  wait_until 30 "MaxStartups drop" grep -q "past MaxStartups" "$TMP/feth-sshd.log"
  wait_until 60 "LoginGraceTime" grep -q "Timeout before authentication for $UNDERLAY_CLI" "$TMP/feth-sshd.log"
  # Garbage instead of a version line, and a version line then garbage.
  raw_conn 2 '\x00\x01\x02\xff\xfe GET / HTTP/1.0\r\n\r\n'
  local garbage1=$RAW_PID
  raw_conn 2 'SSH-2.0-bad\r\n\x00\x00\xff\xff\xff\xff\x00\x00\x00'
  local garbage2=$RAW_PID
  # Both said their piece and closed (after their 2 s); once the listener
  # accepted every connection, the processes it forked must go.
  wait_until 50 "the garbage connections closed" both_gone "$garbage1" "$garbage2"
  wait_until 50 "the listener accepting every connection" accept_queue_empty
  kill -0 "$SSHD_PID" || fail "feth-sshd died"
  wait_until 50 "connection processes gone" sh -c "[ -z \"\$(pgrep -P $SSHD_PID)\" ]"
  local fds_after
  fds_after=$(fd_count "$SSHD_PID")
  [ "$fds_after" -le "$fds_before" ] || fail "listener fds $fds_before -> $fds_after"
  # Still serves a real client.
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 after the attack" link_in "$NS_SRV" tap0
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left"
  pass "idle/garbage connections dropped (LoginGraceTime, MaxStartups), listener fds $fds_before -> $fds_after"
}

case_device_deleted() {
  E2E_CURRENT="device deleted under a live tunnel"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  configure_tunnel tap0 tap0
  in_cli ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "no ping before the delete"
  local monitor child
  monitor=$(monitor_of)
  child=$(child_of_monitor "$monitor")
  in_srv ip link del tap0
  wait_until 50 "a log line for the ended tunnel" grep -q "Tunnel tap0 for root.* closed" "$TMP/feth-sshd.log"
  local t0 t1
  t0=$(cpu_ticks "$child")
  sleep 2
  t1=$(cpu_ticks "$child")
  [ $((t1 - t0)) -lt 50 ] || fail "the child spins after the device went away ($((t1 - t0)) ticks in 2 s)"
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "ip link del tap0: tunnel ended with a log line, child idle ($((t1 - t0)) ticks in 2 s)"
}

case_child_killed() {
  E2E_CURRENT="unprivileged child SIGKILL"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  local monitor child
  monitor=$(monitor_of)
  child=$(child_of_monitor "$monitor")
  kill -KILL "$child"
  wait_until 30 "tap0 removed after the child was killed" no_link_in "$NS_SRV" tap0
  wait_until 30 "monitor exits" not_a_monitor "$monitor"
  kill -0 "$SSHD_PID" || fail "the listener died"
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "child SIGKILL: the monitor removed tap0 and exited"
}

case_client_not_responding() {
  E2E_CURRENT="ClientAliveInterval"
  start_feth_sshd -o ClientAliveInterval=1 -o ClientAliveCountMax=2
  # -v: ssh logs each keepalive it gets ("client_input_global_request:
  # rtype keepalive@openssh.com want_reply 1").
  start_bg ssh cli $SSH -v -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  # Four keepalives, one a second: one that went unanswered past CountMax
  # would have ended the connection before the fourth.
  wait_until 150 "4 keepalives to the client" count_above "$TMP/ssh.log" "rtype keepalive@openssh.com" 3
  link_in "$NS_SRV" tap0 && our_child "$ssh_pid" || fail "an answering client was disconnected"
  kill -STOP "$ssh_pid"
  wait_until 100 "Timeout, client not responding" grep -q "Timeout, client not responding from root" \
    "$TMP/feth-sshd.log"
  wait_until 30 "tap0 removed" no_link_in "$NS_SRV" tap0
  kill -CONT "$ssh_pid" || true
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "ClientAliveInterval 1 / CountMax 2: a stopped client is dropped, device removed"
}

case_kill_under_load() {
  E2E_CURRENT="SIGKILL / SIGTERM under load"
  start_feth_sshd
  start_bg ssh1 cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local a=$BG_PID
  start_bg ssh2 cli $SSH -o Tunnel=ethernet -w 1:1 -N root@"$UNDERLAY_SRV"
  local b=$BG_PID
  wait_until 100 "tap0 and tap1" sh -c "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_SRV ip link show tap1"
  configure_tunnel tap0 tap0
  start_bg flood cli ping -f -s 1400 -w "$(scaled 20)" "$TUN4_SRV"
  local flood=$BG_PID
  local rx
  rx=$(in_srv cat /sys/class/net/tap0/statistics/rx_packets)
  wait_until 100 "the flood reaching the server's tap0" rx_packets_above tap0 $((rx + 200))
  kill -KILL "$a"
  wait_until 30 "tap0 removed after client SIGKILL under load" no_link_in "$NS_SRV" tap0
  link_in "$NS_SRV" tap1 || fail "the other client's tunnel went too"
  local status=0
  stop_pid "$SSHD_PID" 60 || status=$?
  [ "$status" = 0 ] || fail "feth-sshd exited $status on SIGTERM"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left after SIGTERM: $(tunnel_links "$NS_SRV")"
  stop_pid "$flood" || true
  stop_pid "$b" || true
  pass "client SIGKILL mid-flood removes its tap only; SIGTERM with a live tunnel exits 0, no device left"
}

case_preauth_and_garbage
case_device_deleted
case_child_killed
case_client_not_responding
case_kill_under_load
assert_no_sanitizer_reports
echo "feth_sshd_attack: all cases passed"
