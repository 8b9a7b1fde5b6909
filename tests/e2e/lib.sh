# Shared by the end-to-end tests: two hosts in network namespaces made for the
# test ("srv" and "cli") joined by a veth underlay, with stock OpenSSH and our
# binaries running inside them. Source it, then call e2e_init.
#
# Rules every test keeps: traffic stays in the namespaces; addresses only
# from 198.18.0.0/15 and 2001:db8::/32; names unique per run; every wait is
# bounded; cleanup on every exit path kills only the pids started here.

set -euo pipefail

# One factor for every wait and time limit below and in the tests: a
# sanitizer build runs several times slower than a plain one, and a loaded
# two-core machine slower again. ctest sets it (tests/e2e/CMakeLists.txt: 4
# with FETH_SANITIZE); by hand it defaults to 1. A whole number.
E2E_TIME_SCALE=${FETH_E2E_TIME_SCALE:-1}
case $E2E_TIME_SCALE in
  '' | *[!0-9]* | 0*)
    echo "FAIL: FETH_E2E_TIME_SCALE must be a whole number from 1, got '$E2E_TIME_SCALE'" >&2
    exit 2
    ;;
esac
# scaled N: N (seconds, tenths, tries) times the factor.
scaled() { echo $(($1 * E2E_TIME_SCALE)); }

E2E_ID="$$-$RANDOM" # "u$E2E_ID" (the underlay veth) fits in 15 characters
NS_SRV="fe-srv-$E2E_ID"
NS_CLI="fe-cli-$E2E_ID"
UNDERLAY_SRV=198.18.0.1
UNDERLAY_CLI=198.18.0.2
TUN4_SRV=198.19.0.1
TUN4_CLI=198.19.0.2
TUN6_SRV=2001:db8:1::1
TUN6_CLI=2001:db8:1::2
PORT=2222
TMP=""
declare -a E2E_PIDS=()
E2E_CURRENT=""

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FETH_SSHD=${FETH_SSHD:-$REPO_ROOT/build/server/feth-sshd}
FETH_SSH=${FETH_SSH:-$REPO_ROOT/build/client/feth-ssh}
STOCK_SSHD=${STOCK_SSHD:-/usr/sbin/sshd}
STOCK_SSH=${STOCK_SSH:-/usr/bin/ssh}

log() { echo "[$(date +%T)] $*"; }

dump_logs() {
  [ -n "$TMP" ] || return 0
  for f in "$TMP"/*.log; do
    [ -f "$f" ] || continue
    echo "----- $(basename "$f") (last 40 lines) -----"
    tail -n 40 "$f"
  done
}

fail() {
  echo "FAIL${E2E_CURRENT:+ [$E2E_CURRENT]}: $*" >&2
  dump_logs >&2
  exit 1
}

pass() { echo "PASS: $*"; }

# A pid we started and have not reaped yet is still our child. Once reaped,
# the number can be reused by anyone's process (pid_max may be 32768 on a
# busy build host): never signal a pid that is no longer our child.
# BASHPID, not $$: iperf_mbit starts its server inside $(...).
our_child() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$BASHPID" ]; }

# Processes still inside the namespaces this run made (descendants of ours:
# a server's forked connection, an sshd session) once their parents are gone.
ns_leftovers() {
  { ip netns pids "$NS_SRV"; ip netns pids "$NS_CLI"; } 2>/dev/null || true
}

# set -e ends a test at any unchecked failing command (a pipeline in $(...)
# under pipefail, say) without a word: name it, with the logs, instead.
e2e_on_err() { # STATUS LINE COMMAND
  echo "FAIL${E2E_CURRENT:+ [$E2E_CURRENT]}: unexpected exit status $1 at ${BASH_SOURCE[1]:-?}:$2: $3" >&2
  [ "$BASHPID" = "$$" ] && dump_logs >&2
  return 0
}

e2e_cleanup() {
  local status=$? pid left
  trap - ERR
  for pid in "${E2E_PIDS[@]}"; do
    our_child "$pid" && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${E2E_PIDS[@]}"; do
    our_child "$pid" || continue
    # bounded: give each 3 s (scaled), then SIGKILL
    for _ in $(seq "$(scaled 30)"); do our_child "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Bounded: 2 s (scaled) for what is left in our namespaces to go by itself.
  for _ in $(seq "$(scaled 20)"); do [ -z "$(ns_leftovers)" ] && break; sleep 0.1; done
  left=$(ns_leftovers)
  if [ -n "$left" ]; then
    echo "WARNING: processes left in the test's namespaces, killed:" >&2
    for pid in $left; do ps -o pid=,ppid=,args= -p "$pid" >&2 || true; done
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
  fi
  ip netns del "$NS_SRV" 2>/dev/null || true
  ip netns del "$NS_CLI" 2>/dev/null || true
  [ -n "$TMP" ] && rm -rf "$TMP"
  return "$status"
}

e2e_init() {
  # Before anything else, so that a Mac's ctest (bash 3.2) skips with the
  # reason rather than stumble over what follows.
  if [ "$(uname -s)" != Linux ]; then echo "SKIP: end-to-end tests need Linux (network namespaces, tap)"; exit 77; fi
  if [ "${BASH_VERSINFO[0]}" -lt 5 ]; then echo "SKIP: bash $BASH_VERSION; the end-to-end tests need bash 5 (EPOCHREALTIME)"; exit 77; fi
  if [ "$(id -u)" != 0 ]; then echo "SKIP: end-to-end tests need root"; exit 77; fi
  if [ ! -c /dev/net/tun ]; then echo "SKIP: no /dev/net/tun"; exit 77; fi
  # Not under /tmp: StrictModes refuses an authorized_keys below a
  # directory others can write (sticky or not), as sshd does.
  TMP=$(mktemp -d "/run/feth-e2e-$E2E_ID.XXXXXX")
  chmod 755 "$TMP"
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  set -E
  trap 'e2e_on_err $? "$LINENO" "$BASH_COMMAND"' ERR
  ip netns add "$NS_SRV"
  ip netns add "$NS_CLI"
  ip link add "u$E2E_ID" netns "$NS_SRV" type veth peer name "u$E2E_ID" netns "$NS_CLI"
  in_srv ip link set lo up
  in_cli ip link set lo up
  in_srv ip addr add "$UNDERLAY_SRV/24" dev "u$E2E_ID"
  in_cli ip addr add "$UNDERLAY_CLI/24" dev "u$E2E_ID"
  in_srv ip link set "u$E2E_ID" up
  in_cli ip link set "u$E2E_ID" up
  ssh-keygen -q -t ed25519 -N '' -C "e2e-client" -f "$TMP/id_ed25519"
  cp "$TMP/id_ed25519.pub" "$TMP/authorized_keys"
  chmod 600 "$TMP/authorized_keys"
  ssh-keygen -q -t ed25519 -N '' -C "e2e-host" -f "$TMP/host_ed25519"
  wait_until 50 "underlay ping" in_cli ping -c 1 -W 1 "$UNDERLAY_SRV"
}

# Underlay link (the "network") name in both namespaces.
underlay() { echo "u$E2E_ID"; }

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_cli() { ip netns exec "$NS_CLI" "$@"; }

# start_bg NAME NS cmd...: runs cmd in namespace NS (srv|cli) in the
# background, output to $TMP/NAME.log; the pid is in $BG_PID.
start_bg() {
  local name=$1 ns=$2; shift 2
  local nsname=$NS_SRV
  [ "$ns" = cli ] && nsname=$NS_CLI
  # Truncate here, not in the background child: a wait that greps the log
  # right after must not see the previous run's lines (a restarted server's
  # "Server listening" from before it listens again).
  : >"$TMP/$name.log"
  ip netns exec "$nsname" "$@" >>"$TMP/$name.log" 2>&1 &
  BG_PID=$!
  E2E_PIDS+=("$BG_PID")
}

# wait_until TENTHS WHAT cmd...: polls cmd every 0.1 s until it succeeds,
# for at most TENTHS tenths of a second (times the factor) of wall time.
# cmd runs anew each time: a condition on something that changes goes in
# a function or `sh -c '...'`, never in "$(...)" (that is expanded once,
# before the first try, and the wait could only ever see that value).
wait_until() {
  local tenths what=$2
  tenths=$(scaled "$1")
  shift 2
  local deadline=$(( ${EPOCHREALTIME/./} + tenths * 100000 ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || break
    sleep 0.1
  done
  fail "timed out after $((tenths / 10)).$((tenths % 10)) s waiting for: $what"
}

# count_above FILE PATTERN N: FILE has more than N lines matching PATTERN
# (grep -E). For wait_until: read afresh on every try.
count_above() { [ "$(grep -c -E -- "$2" "$1" 2>/dev/null)" -gt "$3" ]; }
# count_of FILE PATTERN: the lines of FILE matching PATTERN (0 if none).
count_of() { grep -c -E -- "$2" "$1" 2>/dev/null || true; }

# Stops a pid we started; returns its exit status (or 124 if it had to be
# killed). Bounded: TENTHS (default 50, times the factor) after SIGTERM,
# then SIGKILL.
stop_pid() {
  local pid=$1 tries status=0
  tries=$(scaled "${2:-50}")
  # Exited already (bash reaped it and keeps its status): nothing to signal.
  if ! our_child "$pid"; then wait "$pid" 2>/dev/null || status=$?; return "$status"; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq "$tries"); do our_child "$pid" || break; sleep 0.1; done
  if our_child "$pid"; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; return 124; fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

# wait_exit PID TENTHS: waits for a pid to exit by itself (TENTHS times the
# factor at most); prints its status, or "timeout". Not in $(...): the pid
# must be a child of the shell that calls it.
wait_exit() {
  local pid=$1 tries status=0
  tries=$(scaled "$2")
  for _ in $(seq "$tries"); do our_child "$pid" || break; sleep 0.1; done
  if our_child "$pid"; then echo timeout; return 0; fi
  wait "$pid" 2>/dev/null || status=$?
  echo "$status"
}

# in_ns NS PID: PID is a process in namespace NS (one this run made).
in_ns() { ip netns pids "$1" 2>/dev/null | grep -qx "$2"; }

link_in() { ip netns exec "$1" ip link show dev "$2" >/dev/null 2>&1; }
no_link_in() { ! link_in "$@"; }

# Prints the tap/tun interfaces of a namespace, one per line.
tunnel_links() {
  ip netns exec "$1" ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(tap|tun|feth)' || true
}

# The stock ssh client, from the client namespace, with the test's key.
# Options after it are ssh's.
stock_ssh_cmd() {
  echo "$STOCK_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts" \
    -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout="$(scaled 5)" -o LogLevel=ERROR -p "$PORT"
}

# start_feth_sshd [extra feth-sshd args...]: pid in $SSHD_PID.
# PerSourcePenalties (on by default, as in sshd) is off unless the test sets
# FETH_SSHD_PENALTIES: the other tests fail logins from one address on
# purpose, many times, and test something else than the penalty.
# FETH_SSHD_WRAPPER, when a test sets it: a program that sets something up
# for the server and execs its arguments (feth-sshd keeps the pid).
start_feth_sshd() {
  start_bg feth-sshd srv ${FETH_SSHD_WRAPPER:+"$FETH_SSHD_WRAPPER"} "$FETH_SSHD" -D -e -p "$PORT" -o ListenAddress="$UNDERLAY_SRV" \
    -h "$TMP/host_ed25519" -o AuthorizedKeysFile="$TMP/authorized_keys" --state-dir "$TMP/state" \
    -o StatusSocket="$TMP/status.sock" -o PerSourcePenalties="${FETH_SSHD_PENALTIES:-no}" "$@"
  SSHD_PID=$BG_PID
  wait_until 50 "feth-sshd listening" grep -q "Server listening" "$TMP/feth-sshd.log"
  wait_until 50 "feth-sshd answering on its status socket" feth_sshd_serving "$TMP/status.sock"
}

# feth_sshd_serving SOCKET: the listener answered a status request, so it
# runs its loop: everything it opens at start (the status socket, its signal
# pipe) is open. A listener's descriptor count taken after this is its
# baseline; after "Server listening" alone it may not be yet.
feth_sshd_serving() {
  "$FETH_SSHD" -S -f /dev/null -o StatusSocket="$1" >/dev/null 2>&1
}

# start_stock_sshd PERMIT_TUNNEL [sshd args...]: Debian's sshd with its own
# config; pid in $SSHD_PID.
start_stock_sshd() {
  mkdir -p /run/sshd
  cat >"$TMP/sshd_config" <<CFG
Port $PORT
ListenAddress $UNDERLAY_SRV
HostKey $TMP/host_ed25519
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $TMP/authorized_keys
StrictModes no
UsePAM no
PidFile none
PermitTunnel $1
LogLevel VERBOSE
# sshd probes its client on the first channel (the tunnel): a client that
# does not answer is cut off within 3 s.
ClientAliveInterval 1
ClientAliveCountMax 2
CFG
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config" "${@:2}"
  SSHD_PID=$BG_PID
  wait_until 50 "stock sshd listening" grep -q "Server listening" "$TMP/stock-sshd.log"
}

# configure_tunnel NS_SRV_IF NS_CLI_IF: addresses on both tunnel ends, link up.
configure_tunnel() {
  local sif=$1 cif=$2
  in_srv ip addr add "$TUN4_SRV/24" dev "$sif"
  in_srv ip addr add "$TUN6_SRV/64" dev "$sif" nodad
  in_srv ip link set "$sif" up
  in_cli ip addr add "$TUN4_CLI/24" dev "$cif"
  in_cli ip addr add "$TUN6_CLI/64" dev "$cif" nodad
  in_cli ip link set "$cif" up
}

# ping_w: the deadline (ping -w) for a short ping -c COUNT that must get
# COUNT replies: 10 s, scaled. With -c and -w, ping waits for COUNT replies
# until the deadline, however late they come; with -W instead, once a reply
# came it waits only twice the largest round trip it saw after its last
# request, and counts a reply a loaded machine delays past that as lost.
ping_w() { scaled 10; }

# all_replied COUNT < ping-output: every request 1..COUNT got its reply.
# With -w, ping sends on until COUNT replies came: its summary counts the
# requests still in flight then as lost, and a lost request makes it send
# one more; so the replies are counted by sequence number.
all_replied() {
  awk -v n="$1" '/bytes from .*icmp_seq=/ {
      q = $0; sub(/.*icmp_seq=/, "", q); sub(/ .*/, "", q); q += 0
      if (q >= 1 && q <= n && !(q in got)) { got[q] = 1; k++ }
    }
    END { exit !(k == n) }'
}

# ping_both: IPv4 both ways through the tunnel; sets PING_AVG_MS.
ping_both() {
  wait_until 100 "first ping through the tunnel" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  local out
  out=$(in_cli ping -c 10 -i 0.05 -w "$(ping_w)" "$TUN4_SRV") || fail "ping client->server: $out"
  PING_AVG_MS=$(echo "$out" | awk -F'/' '/rtt|round-trip/ {print $5}')
  in_srv ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_CLI" >/dev/null || fail "ping server->client failed"
  pass "ping both ways (avg ${PING_AVG_MS} ms)"
}

ping6_both() {
  wait_until 100 "first IPv6 ping through the tunnel" in_cli ping -6 -c 1 -W 1 "$TUN6_SRV"
  in_srv ping -6 -c 3 -i 0.1 -w "$(ping_w)" "$TUN6_CLI" >/dev/null || fail "IPv6 ping server->client failed"
  pass "IPv6 ping both ways"
}

# iperf_mbit SERVER_ADDR [-R]: 5 s of TCP through the tunnel; prints Mbit/s.
iperf_mbit() {
  local addr=$1; shift
  start_bg iperf-server srv iperf3 -s -1 -B "$addr" -p 5201
  local spid=$BG_PID
  wait_until 50 "iperf3 server" sh -c "ip netns exec $NS_SRV ss -ltn | grep -q ':5201'"
  local json
  json=$(in_cli timeout "$(scaled 30)" iperf3 -c "$addr" -p 5201 -t 5 -J "$@") || { stop_pid "$spid" || true; fail "iperf3 $* failed: $(echo "$json" | tail -5)"; }
  stop_pid "$spid" 20 || true
  echo "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
bps = d["end"]["sum_received"]["bits_per_second"]
print(f"{bps / 1e6:.0f}")'
}

# Sanitizer reports from our processes (a forked connection process that
# trips ASan or UBSan only shows it in its log): fail the test on any.
assert_no_sanitizer_reports() {
  local hits
  hits=$(grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$TMP"/*.log 2>/dev/null || true)
  [ -z "$hits" ] || fail "sanitizer report in: $hits"
}
