#!/usr/bin/env bash
# feth-ssh's interface hooks (TunnelUpCommand, TunnelDownCommand,
# TunnelCommandTimeout) and its SIGUSR1 status line, against Debian's stock
# sshd: the environment a hook sees, a failing and a hanging up hook, the
# down hook after the tunnel went down, counters that move.
source "$(dirname "$0")/lib.sh"
e2e_init

FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT")

# Stock sshd that cuts off a client which stops answering its keepalives
# within 3 s: an up hook that takes longer proves the session is still
# served while the hook runs.
start_strict_stock_sshd() {
  start_stock_sshd ethernet
  stop_pid "$SSHD_PID" || true
  printf 'ClientAliveInterval 1\nClientAliveCountMax 2\n' >>"$TMP/sshd_config"
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config"
  SSHD_PID=$BG_PID
  wait_until 50 "stock sshd listening" grep -q "Server listening" "$TMP/stock-sshd.log"
}

# env_is FILE NAME VALUE: FILE (env output) has NAME=VALUE exactly.
env_is() {
  grep -qx "$2=$3" "$1" || fail "$(basename "$1"): expected $2='$3', got: $(grep "^$2=" "$1" || echo unset)"
}

# status_field LOG WHICH: from the last status line, the frame count "to
# server" or "from server".
status_frames() {
  grep "Status: tunnel" "$1" | tail -n 1 | sed -n "s/.*; $2 server \([0-9]*\) frames.*/\1/p"
}

case_up_down_env_and_status() {
  E2E_CURRENT="up/down hooks, environment, SIGUSR1"
  start_strict_stock_sshd
  cat >"$TMP/up.sh" <<EOF
#!/bin/sh
sleep 4   # longer than sshd's 3 s keepalive cutoff
env | grep '^FETH_' | sort >"$TMP/up.env.tmp"
mv "$TMP/up.env.tmp" "$TMP/up.env"
ip addr add $TUN4_CLI/24 dev "\$FETH_INTERFACE"
ip link set "\$FETH_INTERFACE" up
echo "up hook configured \$FETH_INTERFACE"
EOF
  cat >"$TMP/down.sh" <<EOF
#!/bin/sh
env | grep '^FETH_' | sort >"$TMP/down.env"
echo "down hook for \$FETH_INTERFACE"
EOF
  chmod 755 "$TMP/up.sh" "$TMP/down.sh"
  start_bg feth-ssh-hooks cli "${FSSH[@]}" -o "TunnelUpCommand=$TMP/up.sh" \
    -o "TunnelDownCommand=$TMP/down.sh" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID log="$TMP/feth-ssh-hooks.log"
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  in_srv ip addr add "$TUN4_SRV/24" dev tap0
  in_srv ip link set tap0 up
  wait_until 150 "the up hook's environment" test -f "$TMP/up.env"
  env_is "$TMP/up.env" FETH_INTERFACE tap0
  env_is "$TMP/up.env" FETH_IO_INTERFACE ""
  env_is "$TMP/up.env" FETH_MODE ethernet
  env_is "$TMP/up.env" FETH_UNIT 0
  env_is "$TMP/up.env" FETH_USER root
  env_is "$TMP/up.env" FETH_REMOTE_ADDRESS "$UNDERLAY_SRV"
  env_is "$TMP/up.env" FETH_REMOTE_PORT "$PORT"
  env_is "$TMP/up.env" FETH_RECONNECT 0
  pass "the up hook saw FETH_INTERFACE, FETH_IO_INTERFACE, FETH_MODE, FETH_UNIT, FETH_USER, FETH_REMOTE_*"
  wait_until 50 "the up hook's output in the log" grep -q "TunnelUpCommand: up hook configured tap0" "$log"
  wait_until 100 "ping through the address the up hook set" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died while its up hook ran"
  ! grep -q "closed by remote host" "$log" || fail "sshd cut the client off while the up hook ran"
  pass "a 4 s up hook: the session stayed served, its output logged, its address carried ping"
  [ ! -e "$TMP/down.env" ] || fail "the down hook ran while the tunnel was up"

  # The whole line (it ends with the queue): its counters are read next.
  local status_line='Status: tunnel tap0 .* queued'
  kill -USR1 "$cpid"
  wait_until 50 "a status line after SIGUSR1" grep -q -E "$status_line" "$log"
  local out1 in1 out2 in2
  out1=$(status_frames "$log" to)
  in1=$(status_frames "$log" from)
  [ -n "$out1" ] && [ -n "$in1" ] || fail "status line without counters: $(grep 'Status:' "$log" | tail -n 1)"
  in_cli ping -c 5 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "ping failed"
  local lines
  lines=$(count_of "$log" "$status_line")
  kill -USR1 "$cpid"
  # Counted afresh on every try (count_above), not once before the wait.
  wait_until 50 "a second status line" count_above "$log" "$status_line" "$lines"
  out2=$(status_frames "$log" to)
  in2=$(status_frames "$log" from)
  [ "$out2" -ge $((out1 + 5)) ] && [ "$in2" -ge $((in1 + 5)) ] ||
    fail "counters did not move with 5 pings: to $out1 -> $out2, from $in1 -> $in2"
  grep "Status: tunnel" "$log" | tail -n 1 | grep -q "root@$UNDERLAY_SRV port $PORT (ethernet): up [0-9]* s" ||
    fail "status line lacks remote, mode or uptime: $(grep 'Status:' "$log" | tail -n 1)"
  kill -0 "$cpid" 2>/dev/null || fail "SIGUSR1 ended feth-ssh"
  pass "SIGUSR1: status line with remote, mode, uptime; frames to server $out1 -> $out2, from server $in1 -> $in2"

  local status=0
  stop_pid "$cpid" || status=$?
  [ "$status" = 0 ] || fail "feth-ssh exited $status on SIGTERM, expected 0"
  [ -f "$TMP/down.env" ] || fail "the down hook did not run"
  env_is "$TMP/down.env" FETH_INTERFACE tap0
  env_is "$TMP/down.env" FETH_REMOTE_ADDRESS "$UNDERLAY_SRV"
  grep -q "TunnelDownCommand: down hook for tap0" "$log" || fail "the down hook's output is not in the log"
  wait_until 30 "client tap0 removed" no_link_in "$NS_CLI" tap0
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0
  pass "the down hook ran after the tunnel went down, with the same environment"
  stop_pid "$SSHD_PID" || true
}

case_failing_up_hook() {
  E2E_CURRENT="failing up hook"
  start_stock_sshd ethernet
  rm -f "$TMP/down.env"
  local status=0 t0=$SECONDS
  in_cli timeout "$(scaled 30)" "${FSSH[@]}" -o "TunnelUpCommand=echo up-hook-says-no; exit 3" \
    -o "TunnelDownCommand=$TMP/down.sh" --reconnect -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/failing.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a failing up hook gave exit $status, expected 255"
  [ $((SECONDS - t0)) -le "$(scaled 15)" ] || fail "feth-ssh took $((SECONDS - t0)) s to give up"
  grep -q "TunnelUpCommand: up-hook-says-no" "$TMP/failing.log" || fail "the hook's output is not in the log"
  grep -q "TunnelUpCommand exited with status 3: closing the tunnel tap0" "$TMP/failing.log" ||
    fail "no clear message: $(tail -n 5 "$TMP/failing.log")"
  ! grep -q "Reconnecting" "$TMP/failing.log" || fail "a failed up hook was retried with --reconnect"
  [ -f "$TMP/down.env" ] || fail "the down hook did not run after the failed up hook"
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0
  [ -z "$(tunnel_links "$NS_CLI")" ] || fail "a local device was left behind"
  stop_pid "$SSHD_PID" || true
  pass "failing up hook: exit 255, message, tunnel closed on both ends, not retried, down hook ran"
}

case_hanging_up_hook() {
  E2E_CURRENT="hanging up hook"
  start_stock_sshd ethernet
  local status=0 t0=$SECONDS
  in_cli timeout "$(scaled 30)" "${FSSH[@]}" -o TunnelCommandTimeout=2 \
    -o "TunnelUpCommand=echo \$\$ >$TMP/hang.pid; exec sleep 300" -w 0:0 root@"$UNDERLAY_SRV" \
    >"$TMP/hanging.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a hanging up hook gave exit $status, expected 255"
  [ $((SECONDS - t0)) -le "$(scaled 12)" ] || fail "the hanging hook was stopped only after $((SECONDS - t0)) s"
  grep -q "TunnelUpCommand timed out after 2 s: closing the tunnel tap0" "$TMP/hanging.log" ||
    fail "no timeout message: $(tail -n 5 "$TMP/hanging.log")"
  local hpid
  hpid=$(cat "$TMP/hang.pid")
  [ -n "$hpid" ] || fail "the hook never started"
  # In the client's namespace, not by kill -0: once the hook is gone its
  # pid may be anyone's on a busy machine.
  ! in_ns "$NS_CLI" "$hpid" || fail "the hanging hook (pid $hpid) is still running"
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || true
  pass "hanging up hook killed at TunnelCommandTimeout 2: exit 255 in $((SECONDS - t0)) s"
}

case_up_down_env_and_status
case_failing_up_hook
case_hanging_up_hook
assert_no_sanitizer_reports
echo "client_hooks: all cases passed"
