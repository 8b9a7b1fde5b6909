#!/usr/bin/env bash
# feth-ssh, the client, against Debian's stock sshd (PermitTunnel), and
# against feth-sshd: tunnels, refusals, host keys, the agent, reconnects.
source "$(dirname "$0")/lib.sh"
e2e_init

# feth-ssh with the test's key and known_hosts; extra options follow.
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT")

case_stock_sshd_tunnel() {
  E2E_CURRENT="feth-ssh -> stock sshd"
  # DEBUG1: sshd logs each answer to its keepalives ("Got 100/7 for keepalive").
  start_stock_sshd ethernet -o LogLevel=DEBUG1
  start_bg feth-ssh cli "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  wait_until 100 "tap0 on the server (stock sshd)" link_in "$NS_SRV" tap0
  configure_tunnel tap0 tap0
  ping_both
  # Idle while sshd probes with keepalive@openssh.com every second and cuts
  # off a client that misses two answers: until sshd got four answers.
  wait_until 150 "sshd logging 4 answered keepalives" \
    count_above "$TMP/stock-sshd.log" "Got [0-9]+/[0-9]+ for keepalive" 3
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died while idle (did it answer sshd's keepalives?)"
  ! grep -q "closed by remote host" "$TMP/feth-ssh.log" || fail "sshd cut the idle client off"
  in_cli ping -c 2 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "the idle tunnel stopped carrying traffic"
  pass "idle under sshd's ClientAliveInterval 1, 4 keepalives answered: still connected"
  local up down
  up=$(iperf_mbit "$TUN4_SRV")
  down=$(iperf_mbit "$TUN4_SRV" -R)
  [ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died during iperf3"
  pass "feth-ssh -> stock sshd: client->server $up Mbit/s, server->client $down Mbit/s"
  echo "RESULT pairing=feth-ssh/stock-sshd ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"
  local status=0
  stop_pid "$cpid" || status=$?
  [ "$status" = 0 ] || fail "feth-ssh exited $status on SIGTERM, expected 0"
  wait_until 30 "client tap0 removed" no_link_in "$NS_CLI" tap0
  # A clean goodbye, as ssh's: SSH_MSG_DISCONNECT with ssh's text, read by
  # sshd before the connection ends (no reset).
  wait_until 30 "sshd logging the client's disconnect" \
    grep -q "Received disconnect from $UNDERLAY_CLI port [0-9]*:11: disconnected by user" "$TMP/stock-sshd.log"
  pass "SIGTERM: sshd logged 'Received disconnect ... disconnected by user'"
  stop_pid "$SSHD_PID" || true
}

case_permit_tunnel_no() {
  E2E_CURRENT="PermitTunnel no"
  start_stock_sshd no
  local status=0
  in_cli timeout "$(scaled 20)" "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/refused.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "feth-ssh exited $status against PermitTunnel no, expected 255"
  grep -q "Tunnel forwarding failed" "$TMP/refused.log" || fail "no message naming the refusal"
  [ -z "$(tunnel_links "$NS_CLI")" ] || fail "a local device was left behind"
  stop_pid "$SSHD_PID" || true
  pass "PermitTunnel no: exit 255, 'Tunnel forwarding failed'"
}

case_host_keys() {
  E2E_CURRENT="host keys"
  start_stock_sshd ethernet
  local other
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_host"
  other=$(cut -d' ' -f1,2 "$TMP/other_host.pub")
  echo "[$UNDERLAY_SRV]:$PORT $other" >"$TMP/changed_known_hosts"
  local status=0
  in_cli timeout "$(scaled 20)" "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/changed_known_hosts" \
    -o StrictHostKeyChecking=yes -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/changed.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a changed host key gave exit $status, expected 255"
  grep -q "REMOTE HOST IDENTIFICATION HAS CHANGED" "$TMP/changed.log" || fail "no changed-key warning"
  grep -q "Offending key in $TMP/changed_known_hosts:1" "$TMP/changed.log" || fail "warning does not name file:line"
  grep -q "SHA256:" "$TMP/changed.log" || fail "warning does not show the new fingerprint"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "something was forwarded despite the changed key"
  pass "changed host key refused (file:line and fingerprint shown), nothing forwarded"

  # StrictHostKeyChecking no: ssh goes on without tunnel forwarding
  # (sshconnect.c continue_unsafe); feth-ssh, which only tunnels, ends.
  status=0
  in_cli timeout "$(scaled 20)" "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/changed_known_hosts" \
    -o StrictHostKeyChecking=no -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/changed_no.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a changed host key with StrictHostKeyChecking no gave exit $status, expected 255"
  grep -q "REMOTE HOST IDENTIFICATION HAS CHANGED" "$TMP/changed_no.log" || fail "no changed-key warning (checking off)"
  grep -q "Tunnel forwarding is disabled to avoid man-in-the-middle attacks." "$TMP/changed_no.log" ||
    fail "no 'Tunnel forwarding is disabled' (checking off)"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a tunnel was opened after a changed key with checking off"
  ! grep -q "Accepted publickey" "$TMP/stock-sshd.log" || fail "feth-ssh logged in despite the changed key"
  pass "changed host key with StrictHostKeyChecking no: exit 255, ssh's text, no login, no tunnel"

  # @revoked (libssh skips marker lines): refused even with accept-new,
  # whichever pattern names the host, and not added.
  echo "@revoked * $(cut -d' ' -f1,2 "$TMP/host_ed25519.pub")" >"$TMP/revoked_known_hosts"
  status=0
  in_cli timeout "$(scaled 20)" "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/revoked_known_hosts" \
    -o StrictHostKeyChecking=accept-new -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/revoked.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a revoked host key gave exit $status, expected 255"
  grep -q "REVOKED HOST KEY DETECTED" "$TMP/revoked.log" || fail "no revoked-key warning"
  grep -q "Revoked key in $TMP/revoked_known_hosts:1" "$TMP/revoked.log" || fail "the warning does not name file:line"
  [ "$(wc -l <"$TMP/revoked_known_hosts")" = 1 ] || fail "accept-new added the revoked key"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "a tunnel was opened with a revoked key"
  pass "@revoked host key refused with accept-new, nothing added"

  : >"$TMP/new_known_hosts"
  start_bg feth-ssh-new cli "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/new_known_hosts" \
    -o StrictHostKeyChecking=accept-new -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server after accept-new" link_in "$NS_SRV" tap0
  ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f "$TMP/new_known_hosts" >/dev/null || fail "accept-new did not record the host"
  # SIGINT (^C) ends it as SIGTERM does: exit 0 and ssh's goodbye.
  wait_until 100 "tap0 on the client after accept-new" link_in "$NS_CLI" tap0
  kill -INT "$cpid"
  wait_exit "$cpid" 50 >"$TMP/int.status"
  [ "$(cat "$TMP/int.status")" = 0 ] || fail "feth-ssh exited $(cat "$TMP/int.status") on SIGINT, expected 0"
  wait_until 30 "sshd logging the disconnect after SIGINT" \
    grep -q "Received disconnect from $UNDERLAY_CLI port [0-9]*:11: disconnected by user" "$TMP/stock-sshd.log"
  stop_pid "$SSHD_PID" || true
  pass "accept-new recorded the new host key; SIGINT: exit 0, 'disconnected by user' in sshd's log"
}

agent_answers() {
  local rc=0
  SSH_AUTH_SOCK="$TMP/agent.sock" ssh-add -l >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 1 ]
}

case_agent() {
  E2E_CURRENT="agent"
  ssh-keygen -q -t ed25519 -N '' -C agent-only -f "$TMP/agent_key"
  cat "$TMP/agent_key.pub" >"$TMP/authorized_keys"
  start_bg ssh-agent cli ssh-agent -D -a "$TMP/agent.sock"
  local apid=$BG_PID
  # The socket exists from bind(); the agent answers once it listens
  # (ssh-add -l: 1 for no keys, 2 for no agent).
  wait_until 50 "the agent answering" agent_answers
  SSH_AUTH_SOCK="$TMP/agent.sock" ssh-add -q "$TMP/agent_key" 2>/dev/null || fail "ssh-add failed"
  rm -f "$TMP/agent_key" # only the agent holds it now
  start_stock_sshd ethernet
  start_bg feth-ssh-agent cli env SSH_AUTH_SOCK="$TMP/agent.sock" "$FETH_SSH" -F /dev/null \
    -o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=no -o IdentityFile=/nonexistent \
    -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server (agent auth)" link_in "$NS_SRV" tap0
  grep -q "Accepted publickey for root" "$TMP/stock-sshd.log" || fail "sshd did not log the agent key"
  # SIGHUP ends it as SIGTERM does: exit 0 and ssh's goodbye.
  kill -HUP "$cpid"
  wait_exit "$cpid" 50 >"$TMP/hup.status"
  [ "$(cat "$TMP/hup.status")" = 0 ] || fail "feth-ssh exited $(cat "$TMP/hup.status") on SIGHUP, expected 0"
  wait_until 30 "sshd logging the disconnect after SIGHUP" \
    grep -q "Received disconnect from $UNDERLAY_CLI port [0-9]*:11: disconnected by user" "$TMP/stock-sshd.log"
  stop_pid "$SSHD_PID" || true
  stop_pid "$apid" || true
  cp "$TMP/id_ed25519.pub" "$TMP/authorized_keys"
  pass "authenticated with a key only the agent holds; SIGHUP: exit 0, 'disconnected by user' in sshd's log"
}

# Configures whichever tap the server made (a restarted server makes a new
# one) as a server's interface hook would: the address, and the same MAC
# every time, so the client's neighbour cache stays right and traffic
# resumes without touching the client.
configure_server_tap() {
  local sif found=1
  for sif in $(tunnel_links "$NS_SRV"); do
    in_srv ip link set dev "$sif" address 02:fe:18:00:00:01 2>/dev/null || true
    in_srv ip addr add "$TUN4_SRV/24" dev "$sif" 2>/dev/null || true
    in_srv ip link set "$sif" up
    found=0
  done
  return $found
}

server_tap_pings() { configure_server_tap && in_cli ping -c 1 -W 1 "$TUN4_SRV"; }

# descendants PID: every process below PID (OpenSSH 10's sshd-session runs
# the user's session two levels down: sshd -> sshd-session -> sshd-session).
descendants() {
  local kid
  for kid in $(pgrep -P "$1" || true); do
    echo "$kid"
    descendants "$kid"
  done
}

kill_stock_sshd_tree() {
  local tree
  tree=$(descendants "$SSHD_PID")
  # shellcheck disable=SC2086
  kill -KILL "$SSHD_PID" $tree 2>/dev/null || true
  wait "$SSHD_PID" 2>/dev/null || true
}

case_reconnect() {
  E2E_CURRENT="--reconnect"
  start_stock_sshd ethernet
  echo "ClientAliveInterval 1" >>"$TMP/sshd_config"
  start_bg feth-ssh-rc cli "${FSSH[@]}" --reconnect -o ServerAliveInterval=1 -o ServerAliveCountMax=2 \
    -w 0:any root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "client tap0" link_in "$NS_CLI" tap0
  wait_until 100 "a server tap" configure_server_tap
  in_cli ip addr add "$TUN4_CLI/24" dev tap0
  in_cli ip link set tap0 up
  wait_until 100 "first ping" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  local cindex
  cindex=$(in_cli cat /sys/class/net/tap0/ifindex)

  # 1. sshd killed and restarted once feth-ssh saw it go.
  local log=$TMP/feth-ssh-rc.log reconnects
  reconnects=$(count_of "$log" "Reconnecting to")
  kill_stock_sshd_tree
  wait_until 100 "feth-ssh noticing sshd gone" count_above "$log" "Reconnecting to" "$reconnects"
  start_bg stock-sshd-2 srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config"
  SSHD_PID=$BG_PID
  local back=$SECONDS
  wait_until 100 "ping within 10 s of sshd coming back" server_tap_pings
  [ $((SECONDS - back)) -le "$(scaled 10)" ] || fail "ping resumed only after $((SECONDS - back)) s"
  [ "$(in_cli cat /sys/class/net/tap0/ifindex)" = "$cindex" ] || fail "the client's device was replaced"
  pass "sshd restart: same client tap0 carried ping again after $((SECONDS - back)) s"

  # 2. the underlay down until feth-ssh saw the server stop answering
  # (ServerAliveInterval 1, ServerAliveCountMax 2: about 3 s) and began to
  # reconnect.
  reconnects=$(count_of "$log" "Reconnecting to")
  local down=$SECONDS
  in_cli ip link set "$(underlay)" down
  wait_until 150 "feth-ssh noticing the dead link" count_above "$log" "Reconnecting to" "$reconnects"
  grep -q "Timeout, server $UNDERLAY_SRV not responding" "$log" || fail "no ServerAlive timeout logged"
  down=$((SECONDS - down))
  in_cli ip link set "$(underlay)" up
  back=$SECONDS
  wait_until 100 "ping within 10 s of the link coming back" server_tap_pings
  [ $((SECONDS - back)) -le "$(scaled 10)" ] || fail "ping resumed only after $((SECONDS - back)) s"
  [ "$(in_cli cat /sys/class/net/tap0/ifindex)" = "$cindex" ] || fail "the client's device was replaced"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh exited"
  pass "underlay down $down s (until feth-ssh timed the server out): same client tap0 carried ping again after $((SECONDS - back)) s"
  stop_pid "$cpid" || true
  kill_stock_sshd_tree
}

case_feth_sshd() {
  E2E_CURRENT="feth-ssh -> feth-sshd"
  start_feth_sshd
  start_bg feth-ssh-ours cli "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  configure_tunnel tap0 tap0
  ping_both
  local up down
  up=$(iperf_mbit "$TUN4_SRV")
  down=$(iperf_mbit "$TUN4_SRV" -R)
  echo "RESULT pairing=feth-ssh/feth-sshd ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"
  stop_pid "$cpid" || true
  stop_pid "$SSHD_PID" || true
  pass "feth-ssh -> feth-sshd: ping both ways, $up/$down Mbit/s"
}

case_stock_sshd_tunnel
case_permit_tunnel_no
case_host_keys
case_agent
case_reconnect
case_feth_sshd
assert_no_sanitizer_reports
echo "feth_ssh_client: all cases passed"
