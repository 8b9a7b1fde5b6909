# shellcheck shell=bash disable=SC2034
# Shared by bench/run.sh and bench/idle.sh: two hosts in network namespaces
# made for the run ("srv" and "cli") joined by a veth underlay, stock OpenSSH
# and our binaries inside them, and cheap /proc sampling for CPU, memory and
# the machine's quietness.
#
# The ideas are those of tests/e2e/lib.sh (unique names, 198.18.0.0/15 only,
# bounded waits, cleanup that signals only our own children), but nothing
# here exits on a failed wait: a benchmark reports a pairing that did not
# come up and goes on with the others.

set -uo pipefail

B_ID="$$-$RANDOM" # "b$B_ID" (the underlay veth) fits in 15 characters
NS_SRV="fb-srv-$B_ID"
NS_CLI="fb-cli-$B_ID"
UNDERLAY_SRV=198.18.70.1
UNDERLAY_CLI=198.18.70.2
TUN4_SRV=198.19.70.1
TUN4_CLI=198.19.70.2
PORT=2222
TMP=""
declare -a B_PIDS=()
declare -a CLIENT_EXTRA=() # more client options (bench/idle.sh: ServerAliveInterval)
STOCK_SSHD_EXTRA=""         # more sshd_config lines (bench/rekey.sh: KexAlgorithms)
CLK_TCK=$(getconf CLK_TCK)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
FETH_SSHD=${FETH_SSHD:-$REPO_ROOT/build/server/feth-sshd}
FETH_SSH=${FETH_SSH:-$REPO_ROOT/build/client/feth-ssh}
STOCK_SSHD=${STOCK_SSHD:-/usr/sbin/sshd}
STOCK_SSH=${STOCK_SSH:-/usr/bin/ssh}

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "bench: $*" >&2; exit 2; }

# A pid we started and have not reaped yet is still our child; never signal
# one that is not (pids are reused quickly on a busy build host).
our_child() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$BASHPID" ]; }

ns_leftovers() { { ip netns pids "$NS_SRV"; ip netns pids "$NS_CLI"; } 2>/dev/null || true; }

stop_pid() { # PID [TENTHS]: SIGTERM, bounded wait, then SIGKILL
  local pid=$1 tries=${2:-30}
  if ! our_child "$pid"; then wait "$pid" 2>/dev/null; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq "$tries"); do our_child "$pid" || break; sleep 0.1; done
  if our_child "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

stop_all() { # every process we started, then whatever is left in our namespaces
  local pid left
  for pid in "${B_PIDS[@]}"; do our_child "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${B_PIDS[@]}"; do stop_pid "$pid" 30; done
  B_PIDS=()
  for _ in $(seq 30); do [ -z "$(ns_leftovers)" ] && break; sleep 0.1; done
  left=$(ns_leftovers)
  if [ -n "$left" ]; then
    log "WARNING: processes left in the bench namespaces, killed: $(echo $left)"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
  fi
}

bench_cleanup() {
  local status=$?
  stop_all
  ip netns del "$NS_SRV" 2>/dev/null || true
  ip netns del "$NS_CLI" 2>/dev/null || true
  [ -n "$TMP" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$TMP"
  [ -n "$TMP" ] && [ -n "${BENCH_KEEP:-}" ] && echo "bench: kept $TMP" >&2
  return "$status"
}

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_cli() { ip netns exec "$NS_CLI" "$@"; }

# wait_for TENTHS cmd...: polls every 0.1 s; returns 1 on timeout (no exit).
wait_for() {
  local tenths=$1; shift
  local deadline=$(( ${EPOCHREALTIME/./} + tenths * 100000 ))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# start_bg NAME NS cmd...: in namespace NS (srv|cli), output to $TMP/NAME.log,
# pid in $BG_PID (ip netns exec execs, so it is the command's own pid).
start_bg() {
  local name=$1 ns=$2; shift 2
  local nsname=$NS_SRV
  [ "$ns" = cli ] && nsname=$NS_CLI
  : >"$TMP/$name.log"
  ip netns exec "$nsname" "$@" >>"$TMP/$name.log" 2>&1 &
  BG_PID=$!
  B_PIDS+=("$BG_PID")
}

bench_init() { # tool...: checks, namespaces, keys
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, tap devices)"
  [ -c /dev/net/tun ] || die "no /dev/net/tun"
  local t missing=()
  for t in ip ping python3 ssh-keygen "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ -x "$STOCK_SSH" ] || missing+=("$STOCK_SSH")
  [ -x "$STOCK_SSHD" ] || missing+=("$STOCK_SSHD")
  [ ${#missing[@]} = 0 ] || die "missing: ${missing[*]} (Debian: apt-get install iperf3 iputils-ping openssh-client openssh-server python3)"
  # Not under /tmp: feth-sshd's StrictModes (sshd's auth_secure_path) refuses
  # an authorized_keys below a world-writable directory, as the e2e tests say.
  TMP=$(mktemp -d "/run/feth-bench-$B_ID.XXXXXX")
  chmod 755 "$TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$NS_SRV" && ip netns add "$NS_CLI" || die "cannot create namespaces"
  ip link add "b$B_ID" netns "$NS_SRV" type veth peer name "b$B_ID" netns "$NS_CLI" || die "cannot create veth"
  in_srv ip link set lo up
  in_cli ip link set lo up
  in_srv ip addr add "$UNDERLAY_SRV/24" dev "b$B_ID"
  in_cli ip addr add "$UNDERLAY_CLI/24" dev "b$B_ID"
  in_srv ip link set "b$B_ID" up
  in_cli ip link set "b$B_ID" up
  ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$TMP/id_ed25519"
  cp "$TMP/id_ed25519.pub" "$TMP/authorized_keys"
  chmod 600 "$TMP/authorized_keys"
  ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$TMP/host_ed25519"
  mkdir -p "$TMP/state" /run/sshd
  wait_for 50 in_cli ping -c 1 -W 1 "$UNDERLAY_SRV" || die "underlay does not ping"
  # Our binaries may be rebuilt by others while we run: measure a copy.
  FETH_SSH_OK=""
  # feth-sshd's per-connection programs go along: it looks for them beside
  # itself first.
  if [ -x "$FETH_SSHD" ]; then
    cp "$FETH_SSHD" "$TMP/feth-sshd"; FETH_SSHD_BIN=$TMP/feth-sshd
    local h
    for h in feth-sshd-session feth-sshd-net; do
      [ -x "$(dirname "$FETH_SSHD")/$h" ] && cp "$(dirname "$FETH_SSHD")/$h" "$TMP/"
    done
  else FETH_SSHD_BIN=""; fi
  if [ -x "$FETH_SSH" ] && "$FETH_SSH" --version >/dev/null 2>&1; then
    cp "$FETH_SSH" "$TMP/feth-ssh"; FETH_SSH_BIN=$TMP/feth-ssh; FETH_SSH_OK=1
  else FETH_SSH_BIN=""; fi
}

# Does feth-sshd accept "-o KEYWORD=VALUE"? (-t: config check only)
feth_sshd_supports() {
  [ -n "$FETH_SSHD_BIN" ] && "$FETH_SSHD_BIN" -t -h "$TMP/host_ed25519" --state-dir "$TMP/state" -o "$1" >/dev/null 2>&1
}
# Does feth-ssh accept "-o KEYWORD=VALUE"? It parses options before it
# connects: aim it at a closed port and look for a complaint about the option.
feth_ssh_supports() {
  [ -n "$FETH_SSH_BIN" ] || return 1
  local out
  out=$(timeout 5 "$FETH_SSH_BIN" -F /dev/null -o "$1" -o ConnectTimeout=1 -p 1 root@127.0.0.1 2>&1)
  ! grep -qi -e "bad configuration option" -e "bad value" -e "unsupported" -e "not supported" <<<"$out"
}

# start_stock_sshd MODE CIPHER REKEY LOGLEVEL: pid in $SSHD_PID; 1 if it does not listen.
start_stock_sshd() {
  local mode=$1 cipher=$2 rekey=$3 level=${4:-INFO}
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
PermitTunnel $mode
LogLevel $level
${cipher:+Ciphers $cipher}
${rekey:+RekeyLimit $rekey}
$STOCK_SSHD_EXTRA
CFG
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config"
  SSHD_PID=$BG_PID
  wait_for 50 grep -q "Server listening" "$TMP/stock-sshd.log"
}

# start_feth_sshd BACKEND CIPHER REKEY: pid in $SSHD_PID. Options ours does
# not know yet are left out and named in $FETH_SSHD_NOTES.
start_feth_sshd() {
  local backend=$1 cipher=$2 rekey=$3
  local -a extra=(-o PermitTunnel=yes)
  FETH_SSHD_NOTES=""
  [ "$backend" = pair ] && extra+=(-o TunnelBackend=pair)
  if [ -n "$cipher" ]; then
    if feth_sshd_supports "Ciphers=$cipher"; then extra+=(-o "Ciphers=$cipher")
    else FETH_SSHD_NOTES+="feth-sshd does not support Ciphers yet (the client's -c still selects the cipher); "; fi
  fi
  if [ -n "$rekey" ]; then
    if feth_sshd_supports "RekeyLimit=$rekey"; then extra+=(-o "RekeyLimit=$rekey")
    else FETH_SSHD_NOTES+="feth-sshd does not support RekeyLimit yet (only the client re-keys); "; fi
  fi
  start_bg feth-sshd srv "$FETH_SSHD_BIN" -D -e -p "$PORT" -o ListenAddress="$UNDERLAY_SRV" \
    -h "$TMP/host_ed25519" -o AuthorizedKeysFile="$TMP/authorized_keys" --state-dir "$TMP/state" "${extra[@]}"
  SSHD_PID=$BG_PID
  wait_for 50 grep -q "Server listening" "$TMP/feth-sshd.log"
}

# start_client KIND MODE CIPHER REKEY: KIND stock|feth; pid in $CLIENT_PID.
start_client() {
  local kind=$1 mode=$2 cipher=$3 rekey=$4
  local -a common=(-F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
    -o StrictHostKeyChecking=no -o ConnectTimeout=5 -p "$PORT" -o Tunnel="$mode" -w 0:0)
  [ -n "$cipher" ] && common+=(-c "$cipher")
  common+=("${CLIENT_EXTRA[@]}")
  FETH_SSH_NOTES=""
  if [ "$kind" = stock ]; then
    # DEBUG1 logs nothing per packet, only key exchanges (re-keys counted)
    # and "datagram too big": a tunnel frame OpenSSH dropped because the
    # peer's channel window or maximum packet could not take it.
    [ -n "$rekey" ] && common+=(-o RekeyLimit="$rekey")
    common+=(-o LogLevel=DEBUG1)
    start_bg client cli "$STOCK_SSH" "${common[@]}" -o BatchMode=yes -N root@"$UNDERLAY_SRV"
  else
    if [ -n "$rekey" ]; then
      if feth_ssh_supports "RekeyLimit=$rekey"; then common+=(-o RekeyLimit="$rekey")
      else FETH_SSH_NOTES+="feth-ssh does not support RekeyLimit yet; "; fi
    fi
    start_bg client cli "$FETH_SSH_BIN" "${common[@]}" root@"$UNDERLAY_SRV"
  fi
  CLIENT_PID=$BG_PID
}

link_in() { ip netns exec "$1" ip link show dev "$2" >/dev/null 2>&1; }
ns_pids() { ip netns pids "$1" 2>/dev/null; }

# descendants PID: PID and every process below it, one per line.
descendants() {
  ps -eo pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2; pids[NR] = $1 }
    END { for (i in pids) { p = pids[i]; q = p
            while (q != "" && q != 0 && q != 1) { if (q == root) { print p; break } q = parent[q] } } }'
}

# The process holding a /dev/net/tun fd among the given pids (the data path
# of a tap/tun tunnel); empty if none does (the pair backend uses sockets).
device_holder() {
  local p fd
  for p in "$@"; do
    for fd in /proc/"$p"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = /dev/net/tun ] && { echo "$p"; return; }
    done
  done
}

ticks_of() { # PID: utime+stime of all its threads, in clock ticks (0 if gone)
  local s a
  read -r s 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2206
  a=($s)
  echo $(( a[11] + a[12] ))
}

status_field() { # PID FIELD (VmHWM, VmRSS, voluntary_ctxt_switches ...): value, kB for sizes
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# snapshot FILE PIDS...: one sample, cheap (no forks): time, the machine's
# cpu line, utime+stime per pid, and the namespaces' interface counters.
snapshot() {
  local f=$1; shift
  local line p out
  out="T ${EPOCHREALTIME}"$'\n'
  read -r line </proc/stat
  out+="CPU ${line#cpu }"$'\n'
  for p in "$@"; do out+="P $p $(ticks_of "$p")"$'\n'; done
  # /proc/PID/net/dev is the namespace of PID: no ip netns exec needed.
  if [ -n "${SNAP_SRV_PID:-}" ] && [ -r "/proc/$SNAP_SRV_PID/net/dev" ]; then
    while read -r line; do out+="NS srv $line"$'\n'; done < <(tail -n +3 "/proc/$SNAP_SRV_PID/net/dev")
  fi
  if [ -n "${SNAP_CLI_PID:-}" ] && [ -r "/proc/$SNAP_CLI_PID/net/dev" ]; then
    while read -r line; do out+="NS cli $line"$'\n'; done < <(tail -n +3 "/proc/$SNAP_CLI_PID/net/dev")
  fi
  printf '%s' "$out" >"$f"
}

# busy_other_frac SECONDS: fraction of one core used by anything but our
# namespaces' processes over SECONDS (the quiet check before a run).
quiet_sample() {
  local secs=$1
  # shellcheck disable=SC2046 # pid lists
  snapshot "$TMP/quiet.a" $$ $(ns_pids "$NS_SRV") $(ns_pids "$NS_CLI")
  sleep "$secs"
  # shellcheck disable=SC2046
  snapshot "$TMP/quiet.b" $$ $(ns_pids "$NS_SRV") $(ns_pids "$NS_CLI")
  python3 "$BENCH_DIR/report.py" other "$TMP/quiet.a" "$TMP/quiet.b" "$CLK_TCK"
}

machine_json() {
  python3 - <<'PY'
import json, os, platform, subprocess
model = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip(); break
mem = ""
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = line.split(":", 1)[1].strip(); break
def v(cmd):
    try: return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() or subprocess.run(cmd, capture_output=True, text=True).stderr.strip()
    except Exception: return ""
print(json.dumps({"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(), "mem_total": mem,
                  "openssh": v(["ssh", "-V"]), "iperf3": v(["iperf3", "--version"]).splitlines()[0] if v(["iperf3", "--version"]) else ""}))
PY
}
