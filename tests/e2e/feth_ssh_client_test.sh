#!/usr/bin/env bash
# feth-ssh, the client, against Debian's stock sshd (PermitTunnel), and
# against feth-sshd: tunnels, refusals, host keys, the agent, reconnects.
source "$(dirname "$0")/lib.sh"
e2e_init

# feth-ssh with the test's key and known_hosts; extra options follow.
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT")

# The control socket's directory: only root may write it.
CTL_DIR=$TMP/ctl
mkdir -m 700 "$CTL_DIR"

# -O ... to the master at $CTL_DIR/cm-%C (ssh's tokens: the same %C for the
# same host, port and user).
ctl() { in_cli "$FETH_SSH" -F /dev/null -p "$PORT" -S "$CTL_DIR/cm-%C" "$@" root@"$UNDERLAY_SRV"; }
# JSON_FIELD NAME: the value of NAME in the JSON object on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

case_stock_sshd_tunnel() {
  E2E_CURRENT="feth-ssh -> stock sshd"
  # DEBUG1: sshd logs each answer to its keepalives ("Got 100/7 for keepalive").
  start_stock_sshd ethernet -o LogLevel=DEBUG1
  start_bg feth-ssh cli "${FSSH[@]}" -o ControlMaster=yes -S "$CTL_DIR/cm-%C" -w 0:0 root@"$UNDERLAY_SRV"
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

  # ssh's control habits: -O check names the process that answers (the SSH
  # part, a child of the feth-ssh started), -O status the tunnel.
  local sock answer master json
  sock=$(ls "$CTL_DIR"/cm-*)
  [ "$(stat -c '%a %U' "$sock")" = "600 root" ] || fail "control socket $sock is $(stat -c '%a %U' "$sock"), expected 600 root"
  answer=$(ctl -O check 2>&1) || fail "-O check failed: $answer"
  [[ $answer =~ ^"Master running (pid="([0-9]+)")"$ ]] || fail "-O check said '$answer'"
  master=${BASH_REMATCH[1]}
  [ "$(ps -o ppid= -p "$master" | tr -d ' ')" = "$cpid" ] || fail "-O check's pid $master is not feth-ssh's SSH part"
  answer=$(ctl -O status) || fail "-O status failed"
  grep -qx "device tap0 (ethernet)" <<<"$answer" || fail "-O status: no device line: $answer"
  grep -qx "peer root@$UNDERLAY_SRV port $PORT" <<<"$answer" || fail "-O status: no peer line: $answer"
  grep -qE "^state up [0-9]+ s$" <<<"$answer" || fail "-O status: not up: $answer"
  json=$(ctl -O status --json) || fail "-O status --json failed"
  [ "$(json_field connected <<<"$json")" = True ] || fail "-O status --json: not connected: $json"
  [ "$(json_field bytes_out <<<"$json")" -gt 1000000 ] || fail "-O status --json: iperf3's bytes not counted: $json"
  [ "$(json_field reconnects <<<"$json")" = 0 ] || fail "-O status --json: reconnects: $json"
  # A client that is neither root nor the owner is refused, even where the
  # socket's mode would let it connect.
  chmod 711 "$CTL_DIR"; chmod 666 "$sock"
  ! in_cli setpriv --reuid=65534 --regid=65534 --clear-groups "$FETH_SSH" -F /dev/null -p "$PORT" -S "$sock" \
    -O check root@"$UNDERLAY_SRV" >/dev/null 2>&1 || fail "uid 65534 got an answer on the control socket"
  wait_until 30 "the refusal logged" grep -q "refused a client with uid 65534" "$TMP/feth-ssh.log"
  chmod 700 "$CTL_DIR"; chmod 600 "$sock"
  pass "-O check (pid $master), -O status (text and JSON: $(json_field bytes_out <<<"$json") bytes out); uid 65534 refused"
  local status=0
  stop_pid "$cpid" || status=$?
  [ "$status" = 0 ] || fail "feth-ssh exited $status on SIGTERM, expected 0"
  # Started by root without sudo: the SSH part, which made the socket, is
  # nobody by now; the root part removes it once the SSH part is gone.
  [ ! -e "$sock" ] || fail "the control socket $sock was left behind after SIGTERM"
  wait_until 30 "client tap0 removed" no_link_in "$NS_CLI" tap0
  # A clean goodbye, as ssh's: SSH_MSG_DISCONNECT with ssh's text, read by
  # sshd before the connection ends (no reset).
  wait_until 30 "sshd logging the client's disconnect" \
    grep -q "Received disconnect from $UNDERLAY_CLI port [0-9]*:11: disconnected by user" "$TMP/stock-sshd.log"
  pass "SIGTERM: sshd logged 'Received disconnect ... disconnected by user'"
  stop_pid "$SSHD_PID" || true
}

# Not root: the first error says to run it with sudo.
case_not_root() {
  E2E_CURRENT="not root"
  local status=0
  in_cli setpriv --reuid=65534 --regid=65534 --clear-groups "$FETH_SSH" -F /dev/null -p "$PORT" \
    root@"$UNDERLAY_SRV" >"$TMP/not-root.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "feth-ssh as uid 65534 exited $status, expected 255"
  grep -q "Tunnel device open failed: device tapN: .*Permission denied. Creating a tunnel device needs root: run it with sudo" \
    "$TMP/not-root.log" || fail "no 'run it with sudo': $(cat "$TMP/not-root.log")"
  pass "not root: 'run it with sudo'"
}

case_permit_tunnel_no() {
  E2E_CURRENT="PermitTunnel no"
  start_stock_sshd no
  local status=0
  in_cli timeout "$(scaled 20)" "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/refused.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "feth-ssh exited $status against PermitTunnel no, expected 255"
  grep -q "Tunnel forwarding failed" "$TMP/refused.log" || fail "no message naming the refusal"
  # The server's own words (its SSH_MSG_DEBUG), and what to do.
  grep -q 'the server said: "Server has rejected tunnel device forwarding"' "$TMP/refused.log" ||
    fail "the server's refusal is not shown"
  grep -q 'set "PermitTunnel ethernet"' "$TMP/refused.log" || fail "no hint naming PermitTunnel"
  [ -z "$(tunnel_links "$NS_CLI")" ] || fail "a local device was left behind"
  pass "PermitTunnel no: exit 255, 'Tunnel forwarding failed', the server's refusal and the fix shown"

  # --reconnect retries a refused tunnel (backoff from 1 s) until the
  # server allows it; sshd reads its configuration again on SIGHUP (it
  # re-executes itself, same pid).
  start_bg feth-ssh-refused cli "${FSSH[@]}" --reconnect -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID log=$TMP/feth-ssh-refused.log
  wait_until 100 "the refused tunnel retried twice" \
    count_above "$log" "Reconnecting to $UNDERLAY_SRV in [0-9.]+ s \\(attempt [0-9]+\\): Tunnel forwarding failed" 1
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh --reconnect gave up on a refused tunnel"
  [ "$(count_of "$log" "attempt 2\\)")" = 1 ] || fail "attempt 2 not logged exactly once"
  sed -i 's/^PermitTunnel no$/PermitTunnel ethernet/' "$TMP/sshd_config"
  kill -HUP "$SSHD_PID"
  wait_until 200 "tap0 on the server once PermitTunnel allows it" link_in "$NS_SRV" tap0
  wait_until 50 "'Tunnel up' logged" grep -q "Tunnel up: tap0" "$log"
  stop_pid "$cpid" || true
  stop_pid "$SSHD_PID" || true
  pass "--reconnect: the refused tunnel was retried until the server allowed it, then it came up"
}

case_host_keys() {
  E2E_CURRENT="host keys"
  start_stock_sshd ethernet
  local other
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_host"
  other=$(cut -d' ' -f1,2 "$TMP/other_host.pub")
  echo "[$UNDERLAY_SRV]:$PORT $other" >"$TMP/changed_known_hosts"
  local status=0
  # With --reconnect too: a changed host key is the user's to fix, never retried.
  in_cli timeout "$(scaled 20)" "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/changed_known_hosts" \
    -o StrictHostKeyChecking=yes --reconnect -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/changed.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "a changed host key gave exit $status, expected 255"
  ! grep -q "Reconnecting to" "$TMP/changed.log" || fail "a changed host key was retried"
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
  # reconnect. The server's end goes down: the client's addresses and
  # routes stay, so the keepalives, not a network change, find it out.
  reconnects=$(count_of "$log" "Reconnecting to")
  local down=$SECONDS
  in_srv ip link set "$(underlay)" down
  wait_until 150 "feth-ssh noticing the dead link" count_above "$log" "Reconnecting to" "$reconnects"
  grep -q "Timeout, server $UNDERLAY_SRV not responding" "$log" || fail "no ServerAlive timeout logged"
  down=$((SECONDS - down))
  in_srv ip link set "$(underlay)" up
  back=$SECONDS
  wait_until 100 "ping within 10 s of the link coming back" server_tap_pings
  [ $((SECONDS - back)) -le "$(scaled 10)" ] || fail "ping resumed only after $((SECONDS - back)) s"
  [ "$(in_cli cat /sys/class/net/tap0/ifindex)" = "$cindex" ] || fail "the client's device was replaced"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh exited"
  pass "underlay down $down s (until feth-ssh timed the server out): same client tap0 carried ping again after $((SECONDS - back)) s"
  stop_pid "$cpid" || true
  kill_stock_sshd_tree
}

# With keepalives off, the client's underlay address changes under a live
# tunnel: the address event makes feth-ssh probe the connection (a
# keepalive, 3 s to answer), and it reconnects over a new TCP connection
# from the new address, keeping its device.
case_network_change() {
  E2E_CURRENT="network change"
  local new_addr=198.18.0.3
  start_stock_sshd ethernet
  start_bg feth-ssh-nc cli "${FSSH[@]}" --reconnect -o ServerAliveInterval=0 -w 0:any root@"$UNDERLAY_SRV"
  local cpid=$BG_PID log=$TMP/feth-ssh-nc.log cindex
  wait_until 100 "client tap0" link_in "$NS_CLI" tap0
  wait_until 100 "'Tunnel up' logged" grep -q "Tunnel up: tap0" "$log"
  cindex=$(in_cli cat /sys/class/net/tap0/ifindex)
  # The new address stays when the old one (its primary) goes.
  in_cli sysctl -qw "net.ipv4.conf.$(underlay).promote_secondaries=1"
  in_cli ip addr add "$new_addr/24" dev "$(underlay)"
  in_cli ip addr del "$UNDERLAY_CLI/24" dev "$(underlay)"
  wait_until 100 "a new connection up within 10 s of the address change" count_above "$log" "Tunnel up: tap0" 1
  grep -q "Network changed: checking the connection to $UNDERLAY_SRV" "$log" || fail "no probe logged"
  grep -q "Connection from $new_addr" "$TMP/stock-sshd.log" || fail "sshd saw no connection from $new_addr"
  [ "$(in_cli cat /sys/class/net/tap0/ifindex)" = "$cindex" ] || fail "the client's device was replaced"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh exited"
  stop_pid "$cpid" || true
  kill_stock_sshd_tree
  in_cli ip addr add "$UNDERLAY_CLI/24" dev "$(underlay)"
  in_cli ip addr del "$new_addr/24" dev "$(underlay)"
  pass "keepalives off, underlay address changed: probed, reconnected from $new_addr within 10 s, same tap0"
}

case_feth_sshd() {
  E2E_CURRENT="feth-ssh -> feth-sshd"
  start_feth_sshd
  start_bg feth-ssh-ours cli "${FSSH[@]}" -o ControlMaster=auto -o ControlPath="$CTL_DIR/cm-%C" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  configure_tunnel tap0 tap0
  ping_both
  local up down
  up=$(iperf_mbit "$TUN4_SRV")
  down=$(iperf_mbit "$TUN4_SRV" -R)
  echo "RESULT pairing=feth-ssh/feth-sshd ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"
  pass "feth-ssh -> feth-sshd: ping both ways, $up/$down Mbit/s"
  # -O exit: the master closes the tunnel, exits 0 and its socket is gone
  # (started by root without sudo: removed by the root part, as on SIGTERM).
  local answer sock
  sock=$(ls "$CTL_DIR"/cm-*)
  answer=$(ctl -O exit 2>&1) || fail "-O exit failed: $answer"
  [ "$answer" = "Exit request sent." ] || fail "-O exit said '$answer'"
  wait_exit "$cpid" 100 >"$TMP/exit.status"
  [ "$(cat "$TMP/exit.status")" = 0 ] || fail "feth-ssh exited $(cat "$TMP/exit.status") after -O exit, expected 0"
  [ ! -e "$sock" ] || fail "the control socket $sock was left behind after -O exit"
  wait_until 30 "client tap0 removed" no_link_in "$NS_CLI" tap0
  ! ctl -O check 2>/dev/null || fail "-O check answered after -O exit"
  stop_pid "$SSHD_PID" || true
  pass "-O exit: feth-ssh exited 0, tap0 removed, the socket removed"
}

case_stock_sshd_tunnel
case_not_root
case_permit_tunnel_no
case_host_keys
case_agent
case_reconnect
case_network_change
case_feth_sshd
assert_no_sanitizer_reports
echo "feth_ssh_client: all cases passed"
