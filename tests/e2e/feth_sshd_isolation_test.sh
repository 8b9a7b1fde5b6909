#!/usr/bin/env bash
# The network program holds nothing worth stealing (docs/security.md,
# "Processes"): each connection's unprivileged process starts from a fresh
# image, so after a real key exchange, authentication and a tunnel its whole
# memory holds no private host key material (ed25519 seed and private
# field, RSA d/p/q, any 24 characters of a key file's private base64) and
# not the address of another connected peer. Both an ed25519 and an RSA
# host key, each used for one connection's key exchange. And with the
# server run on a terminal (script(1), as `feth-sshd -D` in a shell): the
# network program has no controlling terminal and its fd 0 is no terminal.
source "$(dirname "$0")/lib.sh"
e2e_init
SCAN="$REPO_ROOT/tests/e2e/scan_memory.py"
OTHER_PEER=198.18.0.3

# The pid of the network program serving the client at ADDRESS: the one
# process that holds the TCP socket (the monitor closed its copy).
network_pid() {
  in_srv ss -tnpH state established "( sport = :$PORT and dst $1 )" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

case_memory() {
  E2E_CURRENT="memory of the network program"
  ssh-keygen -q -t rsa -b 3072 -N '' -C e2e-host-rsa -f "$TMP/host_rsa"
  start_feth_sshd -h "$TMP/host_rsa"
  in_cli ip addr add "$OTHER_PEER/24" dev "$(underlay)"
  # Another peer, connected (and tunnelling) all along.
  # shellcheck disable=SC2046
  start_bg ssh-other cli $(stock_ssh_cmd) -b "$OTHER_PEER" -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local other=$BG_PID
  wait_until 100 "the other peer's tunnel" link_in "$NS_SRV" tap0
  local alg tap=1
  for alg in ssh-ed25519 rsa-sha2-512; do
    # shellcheck disable=SC2046
    # (an alias per host key type: known_hosts holds one key per name)
    start_bg "ssh-$alg" cli $(stock_ssh_cmd) -o HostKeyAlgorithms="$alg" -o HostKeyAlias="feth-$alg" \
      -o Tunnel=ethernet -w "$tap:$tap" -N \
      root@"$UNDERLAY_SRV"
    local pid=$BG_PID
    wait_until 100 "tap$tap on the server ($alg)" link_in "$NS_SRV" "tap$tap"
    local child
    child=$(network_pid "$UNDERLAY_CLI")
    [ -n "$child" ] && [ "$(echo "$child" | wc -l)" = 1 ] || fail "no single process holds the connection: '$child'"
    local out
    out=$(python3 "$SCAN" "$child" --key "$TMP/host_ed25519" --key "$TMP/host_rsa" --forbid "$OTHER_PEER" 2>&1) ||
      fail "$alg: the network program $child holds what it must not: $out"
    log "$alg: $out"
    stop_pid "$pid" || true
    wait_until 50 "tap$tap gone on the server" no_link_in "$NS_SRV" "tap$tap"
    tap=$((tap + 1))
  done
  # The scanner finds what is there: the monitor (root) holds the keys.
  # (Not in a sanitizer build, whose heap lies in a reservation too large
  # to read: there the scan covers the rest and says so.)
  local monitor
  monitor=$(ps -o ppid= -p "$(network_pid "$OTHER_PEER")" | tr -d ' ')
  out=$(python3 "$SCAN" "$monitor" --key "$TMP/host_ed25519" 2>&1) &&
    case $out in
      *"sanitizer reservations"*) log "monitor: $out" ;;
      *) fail "the scanner found no ed25519 key in the monitor $monitor, which signs with it: $out" ;;
    esac
  stop_pid "$other" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "after key exchanges with ed25519 and RSA host keys, the network program holds no private key material and no other peer's address"
}

case_terminal() {
  E2E_CURRENT="the server on a terminal"
  command -v script >/dev/null || { echo "SKIP: no script(1)"; return 0; }
  # The typescript is the server's log (script -f flushes it as it comes).
  # (exec: the shell script(1) starts becomes feth-sshd, the process signalled below)
  start_bg script srv script -qfec "exec $FETH_SSHD -D -e -p $PORT -o ListenAddress=$UNDERLAY_SRV -h $TMP/host_ed25519 \
    -o AuthorizedKeysFile=$TMP/authorized_keys --state-dir $TMP/state -o StatusSocket=none \
    -o PerSourcePenalties=no" "$TMP/feth-sshd.log"
  local script_pid=$BG_PID
  wait_until 50 "feth-sshd listening on the terminal" grep -q "Server listening" "$TMP/feth-sshd.log"
  local listener
  listener=$(ps -o pid= --ppid "$script_pid" | tr -d ' ')
  [ -n "$listener" ] && [ "$(awk '{print $7}' "/proc/$listener/stat")" != 0 ] ||
    fail "the listener ($listener) has no controlling terminal: the case proves nothing"
  # shellcheck disable=SC2046
  start_bg ssh-tty cli $(stock_ssh_cmd) -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  local child
  child=$(network_pid "$UNDERLAY_CLI")
  [ -n "$child" ] || fail "no process holds the connection"
  local tty_nr fd0
  tty_nr=$(sed 's/.*) //' "/proc/$child/stat" | awk '{print $5}')
  fd0=$(readlink "/proc/$child/fd/0")
  [ "$tty_nr" = 0 ] || fail "the network program $child has a controlling terminal (tty_nr $tty_nr)"
  case $fd0 in
    socket:* | /dev/null) ;;
    *) fail "the network program's fd 0 is $fd0, not the socket or /dev/null" ;;
  esac
  [ "$(awk '{print $6}' "/proc/$child/stat")" = "$child" ] || fail "the network program leads no session of its own"
  stop_pid "$pid" || true
  kill -TERM "$listener"
  # (wait_exit must run in this shell, not in $(...))
  wait_exit "$script_pid" 50 >"$TMP/script.status"
  local st
  st=$(cat "$TMP/script.status")
  [ "$st" = 0 ] || fail "feth-sshd on the terminal did not exit cleanly (script: $st)"
  pass "on a terminal, the network program has no controlling terminal, leads its own session, and its fd 0 is $fd0"
}

# Without its helper programs beside it (nor in libexec), feth-sshd does
# not start, and says where it looked.
case_missing_helper() {
  E2E_CURRENT="a missing helper program"
  mkdir -p "$TMP/alone"
  cp "$FETH_SSHD" "$TMP/alone/feth-sshd"
  local out status=0
  out=$(in_srv timeout "$(scaled 10)" "$TMP/alone/feth-sshd" -D -e -p "$PORT" -o ListenAddress="$UNDERLAY_SRV" -h "$TMP/host_ed25519" \
    --state-dir "$TMP/state" -o StatusSocket=none 2>&1) || status=$?
  [ "$status" = 255 ] || fail "feth-sshd without its helpers exited $status: $out"
  case $out in
    *"helper program /"*"/feth-sshd-session is missing"*) ;;
    *) fail "feth-sshd without its helpers did not name the path: $out" ;;
  esac
  pass "without its helper programs feth-sshd stops at startup: $out"
}

case_memory
case_terminal
case_missing_helper
