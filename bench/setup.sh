#!/usr/bin/env bash
# Connection setup cost of two feth-sshd builds side by side (issue 27: the
# fresh image per connection costs two execs and a setup hand-over per
# connection). Per round and build, the builds alternating (A B, then B A):
#   connections per second: N stock ssh logins in a row, each a full key
#     exchange and public-key authentication, then a command the server
#     refuses, so that ssh exits at once;
#   time to a working tunnel: from starting `ssh -w 0:0 -N` until the
#     first ping through the tunnel is answered (addresses set on both
#     taps as soon as they appear).
# Prints the median over the rounds per build and the change of B against
# A. Needs root. The data path is bench/run.sh's (bench/compare.sh).
# shellcheck source=bench/lib.sh disable=SC2034
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'USAGE'
usage: bench/setup.sh --a LABEL=FETH_SSHD --b LABEL=FETH_SSHD [--rounds N] [--conns N]
  --a, --b LABEL=PATH   a feth-sshd binary (its feth-sshd-session and feth-sshd-net beside it, if it has them)
  --rounds N            rounds per build (default 5)
  --conns N             logins per connections-per-second sample (default 20)
USAGE
}

A="" B="" ROUNDS=5 CONNS=20
while [ $# -gt 0 ]; do
  case $1 in
    --a) A=$2; shift 2 ;;
    --b) B=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[ -n "$A" ] && [ -n "$B" ] || { usage >&2; exit 2; }

bench_init
ssh_cmd() {
  echo "$STOCK_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts" \
    -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR -p "$PORT"
}

# A copy of each build (with its helpers) in $TMP/LABEL/.
declare -A BIN=()
for spec in "$A" "$B"; do
  label=${spec%%=*} path=${spec#*=}
  [ -x "$path" ] || die "$label: no feth-sshd at $path"
  mkdir -p "$TMP/$label"
  cp "$path" "$TMP/$label/feth-sshd"
  for h in feth-sshd-session feth-sshd-net; do
    [ -x "$(dirname "$path")/$h" ] && cp "$(dirname "$path")/$h" "$TMP/$label/"
  done
  BIN[$label]=$TMP/$label/feth-sshd
done

now_us() { echo "${EPOCHREALTIME/./}"; }

tunnel_pings() {
  in_cli ping -c 1 -W 1 "$TUN4_SRV"
}

# One round for LABEL: prints "cps SECONDS_TO_TUNNEL".
measure() {
  local label=$1
  start_bg "sshd-$label" srv "${BIN[$label]}" -D -e -p "$PORT" -o ListenAddress="$UNDERLAY_SRV" \
    -h "$TMP/host_ed25519" -o AuthorizedKeysFile="$TMP/authorized_keys" --state-dir "$TMP/state" \
    -o PermitTunnel=yes -o PerSourcePenalties=no -o MaxStartups=100 -o StatusSocket=none
  local sshd=$BG_PID
  wait_for 50 grep -q "Server listening" "$TMP/sshd-$label.log" || die "$label: feth-sshd did not start"
  local t0 t1 i
  t0=$(now_us)
  for ((i = 0; i < CONNS; i++)); do
    # shellcheck disable=SC2046
    in_cli $(ssh_cmd) root@"$UNDERLAY_SRV" true >/dev/null 2>&1 || true
  done
  t1=$(now_us)
  local cps
  cps=$(python3 -c "print(f'{$CONNS / (($t1 - $t0) / 1e6):.2f}')")
  t0=$(now_us)
  # shellcheck disable=SC2046
  start_bg "client-$label" cli $(ssh_cmd) -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local client=$BG_PID
  wait_for 100 link_in "$NS_SRV" tap0 || die "$label: no tap0 on the server"
  wait_for 100 link_in "$NS_CLI" tap0 || die "$label: no tap0 on the client"
  in_srv ip addr add "$TUN4_SRV/24" dev tap0 && in_srv ip link set tap0 up
  in_cli ip addr add "$TUN4_CLI/24" dev tap0 && in_cli ip link set tap0 up
  wait_for 100 tunnel_pings || die "$label: the tunnel does not ping"
  t1=$(now_us)
  stop_pid "$client"
  wait_for 50 sh -c "! ip netns exec $NS_SRV ip link show dev tap0" || true
  stop_pid "$sshd"
  echo "$cps $(python3 -c "print(f'{($t1 - $t0) / 1e6:.3f}')")"
}

declare -A RESULTS=()
labels=("${A%%=*}" "${B%%=*}")
for ((r = 0; r < ROUNDS; r++)); do
  order=("${labels[@]}")
  ((r % 2 == 1)) && order=("${labels[1]}" "${labels[0]}")
  for label in "${order[@]}"; do
    res=$(measure "$label")
    log "round $((r + 1)) $label: $res (connections/s, seconds to a working tunnel)"
    RESULTS[$label]+="$res;"
  done
done

python3 - "${labels[0]}" "${RESULTS[${labels[0]}]}" "${labels[1]}" "${RESULTS[${labels[1]}]}" <<'PY'
import statistics, sys
rows = {}
for label, raw in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    samples = [tuple(map(float, s.split())) for s in raw.split(";") if s.strip()]
    cps = [s[0] for s in samples]; tun = [s[1] for s in samples]
    rows[label] = (statistics.median(cps), min(cps), max(cps), statistics.median(tun), min(tun), max(tun))
    print(f"{label:>12}: {rows[label][0]:7.2f} connections/s ({rows[label][1]:.2f}-{rows[label][2]:.2f}), "
          f"{rows[label][3] * 1000:7.1f} ms to a working tunnel ({rows[label][4] * 1000:.1f}-{rows[label][5] * 1000:.1f}), "
          f"median of {len(samples)} rounds")
a, b = rows[sys.argv[1]], rows[sys.argv[3]]
print(f"{sys.argv[3]} against {sys.argv[1]}: connections/s {100 * (b[0] / a[0] - 1):+.1f} %, "
      f"time to a tunnel {100 * (b[3] / a[3] - 1):+.1f} %")
PY
