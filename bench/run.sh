#!/usr/bin/env bash
# Tunnel benchmark (issue 7): the same work against each pairing of
# {stock ssh, feth-ssh} x {stock sshd, feth-sshd}, in two network namespaces
# made for the run: iperf3 TCP throughput each way (median of N runs), ping
# RTT through the tunnel, CPU seconds per GB of the client and server
# processes, the server's peak RSS per tunnel, and dropped frames.
# See docs/performance.md. Needs root.
# shellcheck source=bench/lib.sh disable=SC2034
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]
  --mode ethernet|point-to-point   tunnel mode (default ethernet)
  --backend tap|pair               feth-sshd's TunnelBackend (default tap; pair is ethernet only)
  --cipher NAME                    ssh -c / sshd Ciphers (default chacha20-poly1305@openssh.com)
  --mtu N                          MTU of the tunnel devices (default 1500)
  --time S                         seconds per iperf3 run (default 10; +1 s omitted warm-up)
  --reps N                         iperf3 runs per direction, the median is reported (default 3)
  --pings N                        pings through the tunnel at 10 ms (default 200)
  --pairings LIST                  comma list of CLIENT/SERVER (stock-ssh/stock-sshd, ...) or
                                   short forms ss,sf,fs,ff (client first); default all four
  --rekey-limit SIZE               RekeyLimit for both sides (e.g. 16M) where supported
  --json FILE                      write the JSON result to FILE ('-' for stdout; the table then goes to stderr)
  --label TEXT                     free text stored in the JSON
  --force                          report even if the machine was busy (marked DISTURBED)
  --max-other F                    the busy threshold: fraction of one core used by other
                                   processes (default 0.10)
  --profile                        after the measured runs of each direction, one more run under
                                   perf record (server data path + client) and one under strace -c:
                                   top symbols and system calls per frame (not in the medians)
  --keep                           keep the temporary directory (logs, raw samples)
Environment: FETH_SSHD, FETH_SSH (default build/server/feth-sshd, build/client/feth-ssh).
Exit status: 0 done, 1 DISTURBED (without --force), 2 usage or setup error.
EOF
}

MODE=ethernet BACKEND=tap CIPHER=chacha20-poly1305@openssh.com MTU=1500 TIME=10 REPS=3 PINGS=200
PAIRINGS=all REKEY="" BENCH_KEEP="" PROFILE="" JSON_OUT="" LABEL="" FORCE="" MAX_OTHER=0.10
while [ $# -gt 0 ]; do
  case $1 in
    --mode) MODE=$2; shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    --cipher) CIPHER=$2; shift 2 ;;
    --mtu) MTU=$2; shift 2 ;;
    --time) TIME=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --pings) PINGS=$2; shift 2 ;;
    --pairings) PAIRINGS=$2; shift 2 ;;
    --rekey-limit) REKEY=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    --max-other) MAX_OTHER=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    --profile) PROFILE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case $MODE in ethernet|point-to-point) ;; *) die "--mode ethernet|point-to-point" ;; esac
case $BACKEND in tap|pair) ;; *) die "--backend tap|pair" ;; esac
[ "$BACKEND" = pair ] && [ "$MODE" != ethernet ] && die "the pair backend is ethernet only"
[[ $TIME =~ ^[0-9]+$ ]] && [ "$TIME" -ge 2 ] || die "--time: whole seconds, at least 2"
[[ $REPS =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "--reps: at least 1"
[[ $MTU =~ ^[0-9]+$ ]] || die "--mtu: a number"

ALL_PAIRINGS=(stock-ssh/stock-sshd stock-ssh/feth-sshd feth-ssh/stock-sshd feth-ssh/feth-sshd)
declare -a SELECTED=()
if [ "$PAIRINGS" = all ]; then SELECTED=("${ALL_PAIRINGS[@]}")
else
  IFS=, read -ra req <<<"$PAIRINGS"
  for p in "${req[@]}"; do
    case $p in
      ss) p=stock-ssh/stock-sshd ;; sf) p=stock-ssh/feth-sshd ;;
      fs) p=feth-ssh/stock-sshd ;; ff) p=feth-ssh/feth-sshd ;;
    esac
    [[ " ${ALL_PAIRINGS[*]} " == *" $p "* ]] || die "unknown pairing '$p'"
    SELECTED+=("$p")
  done
fi

bench_init iperf3
if [ -n "$PROFILE" ]; then
  command -v perf >/dev/null || log "--profile: perf not installed (apt-get install linux-perf): no CPU profile"
  command -v strace >/dev/null || log "--profile: strace not installed (apt-get install strace): no syscall counts"
fi
RESULTS=$TMP/results
mkdir -p "$RESULTS"
DISTURBED=""

# ---- the machine and its quietness before we start ----
machine_json >"$RESULTS/machine.json"
log "quiet check: 3 s of the machine with nothing of ours running"
quiet=$(quiet_sample 3)
echo "$quiet" >"$RESULTS/quiet_before.txt"
log "other processes used $quiet of one core"
if python3 -c "import sys; sys.exit(0 if float('$quiet') > float('$MAX_OTHER') else 1)"; then
  if [ -z "$FORCE" ]; then
    echo "DISTURBED: other processes used $quiet of a core before the run (limit $MAX_OTHER); not measuring (--force to go on)" >&2
    exit 1
  fi
  DISTURBED=1
  log "DISTURBED before the run (--force: going on, results marked)"
fi
in_cli ping -c 100 -i 0.01 -W 1 "$UNDERLAY_SRV" >"$RESULTS/underlay_ping.txt" 2>&1 || true

# ---- one pairing ----
tunnel_if() { # NS: the tunnel device a server or client made (not a pair's I/O peer)
  ip netns exec "$1" ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E '^(tap|tun|feth)[0-9]+$' | while read -r d; do [ "${d##*[a-z]}" -lt 5000 ] && { echo "$d"; break; }; done
}
have_tunnel_if() { [ -n "$(tunnel_if "$1")" ]; }

pairing_fail() { # DIR STATUS: record why a pairing gave no numbers
  echo "$2" | tr '\n' ' ' | cut -c1-400 >"$1/status"
  log "$(basename "$1"): $2"
}

setup_link() { # NS IF ADDR: address, MTU, up; prints the MTU the device took
  local ns=$1 dev=$2 addr=$3
  ip netns exec "$ns" ip addr add "$addr/24" dev "$dev"
  ip netns exec "$ns" ip link set dev "$dev" mtu "$MTU" 2>>"$TMP/mtu.err" || true
  ip netns exec "$ns" ip link set dev "$dev" up
}
mtu_of() { ip netns exec "$1" cat "/sys/class/net/$2/mtu" 2>/dev/null; }

run_window() { # PDIR DIR REP [-R]: one iperf3 run with CPU samples inside it
  local pdir=$1 dir=$2 rep=$3; shift 3
  local base="$pdir/$dir.$rep" ipid pids
  in_cli timeout $((TIME + 30)) iperf3 -c "$TUN4_SRV" -p 5201 -t "$TIME" -O 1 -J "$@" >"$base.iperf.json" 2>"$base.iperf.err" &
  ipid=$!
  # Samples inside the measured part: after the omitted first second, before the end.
  sleep 1.3
  pids="$$ $(ns_pids "$NS_SRV") $(ns_pids "$NS_CLI")"
  # shellcheck disable=SC2086
  snapshot "$base.a" $pids
  sleep "$(python3 -c "print($TIME - 0.7)")"
  # shellcheck disable=SC2086
  snapshot "$base.b" $pids
  wait "$ipid" || log "iperf3 $dir rep $rep failed: $(tail -c 300 "$base.iperf.json" "$base.iperf.err" | tr '\n' ' ')"
  local other
  other=$(python3 "$BENCH_DIR/report.py" other "$base.a" "$base.b" "$CLK_TCK")
  echo "$other" >"$base.other"
  if python3 -c "import sys; sys.exit(0 if float('$other') > float('$MAX_OTHER') else 1)"; then
    if [ -z "$FORCE" ]; then
      echo "DISTURBED: other processes used $other of a core during $(basename "$pdir") $dir rep $rep (limit $MAX_OTHER); not reporting (--force to go on)" >&2
      exit 1
    fi
    DISTURBED=1
    log "DISTURBED: other processes used $other of a core during $dir rep $rep"
  fi
  python3 "$BENCH_DIR/report.py" mbit "$base.iperf.json" 2>/dev/null | sed "s/^/  $dir rep $rep: /" >&2 || true
}

# profile_dir PDIR DIR SERVER_PID CLIENT_PID [-R]: one unmeasured run under
# perf, one under strace -c; the frames the tunnel carried meanwhile give
# system calls per frame.
profile_dir() {
  local pdir=$1 dir=$2 spid=$3 cpid=$4; shift 4
  local ipid
  if command -v perf >/dev/null; then
    in_cli timeout $((TIME + 30)) iperf3 -c "$TUN4_SRV" -p 5201 -t "$TIME" -O 1 -J "$@" >"$pdir/$dir.perf.iperf.json" 2>&1 &
    ipid=$!
    sleep 1.3
    perf record -q -F 499 -g -p "$spid,$cpid" -o "$TMP/perf.data" -- sleep "$(python3 -c "print($TIME - 0.7)")" >/dev/null 2>&1
    wait "$ipid"
    { perf report -i "$TMP/perf.data" --stdio --no-children --sort comm,dso --percent-limit 2 -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -12
      perf report -i "$TMP/perf.data" --stdio --no-children --sort comm,dso,sym --percent-limit 1 -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -30; } >"$pdir/$dir.perf.txt"
    rm -f "$TMP/perf.data"
  fi
  if command -v strace >/dev/null; then
    in_cli timeout $((TIME + 30)) iperf3 -c "$TUN4_SRV" -p 5201 -t "$TIME" -O 1 -J "$@" >"$pdir/$dir.strace.iperf.json" 2>&1 &
    ipid=$!
    sleep 1.3
    local f0 f1 st=$((TIME > 3 ? 3 : TIME - 1))
    f0=$(awk -v d="$(cat "$pdir/.sif"):" '$1 == d { print $3 + $11 }' "/proc/$spid/net/dev")
    timeout -s INT "$st" strace -c -f -p "$spid" -o "$pdir/$dir.strace.server.txt" >/dev/null 2>&1 &
    timeout -s INT "$st" strace -c -f -p "$cpid" -o "$pdir/$dir.strace.client.txt" >/dev/null 2>&1
    wait $! 2>/dev/null
    f1=$(awk -v d="$(cat "$pdir/.sif"):" '$1 == d { print $3 + $11 }' "/proc/$spid/net/dev")
    echo "$(( f1 - f0 ))" >"$pdir/$dir.strace.frames"
    wait "$ipid"
  fi
}

run_pairing() { # CLIENT/SERVER
  local name=$1 ckind skind pdir
  ckind=${name%%/*}; ckind=${ckind%-ssh}
  skind=${name##*/}; skind=${skind%-sshd}
  pdir="$RESULTS/pairings/${name/\//__}"
  mkdir -p "$pdir"
  echo "$name" >"$pdir/name"
  log "== $name"
  rm -f "$TMP"/*.log
  if [ "$ckind" = feth ] && [ -z "$FETH_SSH_OK" ]; then pairing_fail "$pdir" "n/a (feth-ssh unavailable)"; return; fi
  if [ "$skind" = feth ] && [ -z "$FETH_SSHD_BIN" ]; then pairing_fail "$pdir" "n/a (feth-sshd unavailable)"; return; fi

  local notes="" stock_level=DEBUG1 # see start_client in lib.sh: re-keys and datagram drops
  if [ "$skind" = stock ]; then
    [ "$BACKEND" = pair ] && notes+="stock sshd has no pair backend: it uses a tap device; "
    start_stock_sshd "$MODE" "$CIPHER" "$REKEY" "$stock_level" || { pairing_fail "$pdir" "failed: stock sshd did not start"; stop_all; return; }
  else
    start_feth_sshd "$BACKEND" "$CIPHER" "$REKEY" || { pairing_fail "$pdir" "failed: feth-sshd did not start: $(tail -n 3 "$TMP/feth-sshd.log" | tr '\n' ' ')"; stop_all; return; }
    notes+=$FETH_SSHD_NOTES
  fi
  local server_pid=$SSHD_PID
  start_client "$ckind" "$MODE" "$CIPHER" "$REKEY"
  notes+=$FETH_SSH_NOTES
  local client_pid=$CLIENT_PID
  if ! wait_for 150 have_tunnel_if "$NS_SRV" || ! wait_for 50 have_tunnel_if "$NS_CLI"; then
    pairing_fail "$pdir" "failed: no tunnel device ($(tail -n 2 "$TMP/client.log" "$TMP"/*sshd.log 2>/dev/null | grep -v '^==' | tr '\n' ' ' | cut -c1-300))"
    cp "$TMP"/*.log "$pdir/" 2>/dev/null; stop_all; return
  fi
  local sif cif
  sif=$(tunnel_if "$NS_SRV"); cif=$(tunnel_if "$NS_CLI")
  setup_link "$NS_SRV" "$sif" "$TUN4_SRV"
  setup_link "$NS_CLI" "$cif" "$TUN4_CLI"
  # A pair's I/O peer (feth(N+5000)) must carry frames as large as the MTU.
  local io_peer=""
  if [[ $sif =~ ^feth([0-9]+)$ ]]; then
    io_peer=feth$((BASH_REMATCH[1] + 5000))
    if link_in "$NS_SRV" "$io_peer" && [ "$(mtu_of "$NS_SRV" "$io_peer")" -lt "$MTU" ]; then
      notes+="$io_peer (the pair's I/O peer) had MTU $(mtu_of "$NS_SRV" "$io_peer"): raised to $MTU; "
      in_srv ip link set dev "$io_peer" mtu "$MTU" 2>>"$TMP/mtu.err" || true
    fi
  fi
  local smtu cmtu
  smtu=$(mtu_of "$NS_SRV" "$sif"); cmtu=$(mtu_of "$NS_CLI" "$cif")
  [ "$smtu" = "$MTU" ] && [ "$cmtu" = "$MTU" ] || notes+="MTU $MTU asked, devices took server $smtu, client $cmtu; "
  if ! wait_for 100 in_cli ping -c 1 -W 1 "$TUN4_SRV"; then
    pairing_fail "$pdir" "failed: no ping through the tunnel"; cp "$TMP"/*.log "$pdir/" 2>/dev/null; stop_all; return
  fi

  # Who is who: the client and what it forked; the server's listener and its
  # per-connection processes; the process holding the tunnel device.
  local cpids spids conn holder
  cpids=$(descendants "$client_pid" | sort -n | tr '\n' ' ')
  spids=$(descendants "$server_pid" | sort -n | tr '\n' ' ')
  conn=$(for p in $spids; do [ "$p" != "$server_pid" ] && echo "$p"; done | tr '\n' ' ')
  # shellcheck disable=SC2086
  holder=$(device_holder $conn)
  {
    echo "client_pid=$client_pid"; echo "client_pids=$cpids"
    echo "server_pid=$server_pid"; echo "server_pids=$spids"; echo "server_conn_pids=$conn"
    echo "device_holder=$holder"; echo "server_if=$sif"; echo "client_if=$cif"; echo "io_peer=$io_peer"
    echo "server_mtu=$smtu"; echo "client_mtu=$cmtu"
    for p in $spids $cpids; do echo "comm.$p=$(cat "/proc/$p/comm" 2>/dev/null)|$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)"; done
    for p in $conn; do echo "idle_rss.$p=$(status_field "$p" VmRSS)"; done
  } >"$pdir/meta"
  SNAP_SRV_PID=$server_pid SNAP_CLI_PID=$client_pid
  # shellcheck disable=SC2086
  snapshot "$pdir/begin" $spids $cpids

  in_cli ping -c "$PINGS" -i 0.01 -W 1 "$TUN4_SRV" >"$pdir/ping.txt" 2>&1 || true

  start_bg iperf3-server srv iperf3 -s -B "$TUN4_SRV" -p 5201
  local ipsrv=$BG_PID
  wait_for 50 sh -c "ip netns exec $NS_SRV ss -ltn | grep -q ':5201'" || { pairing_fail "$pdir" "failed: iperf3 server"; stop_all; return; }
  local rep
  echo "$sif" >"$pdir/.sif"
  local dp=${holder:-${conn%% *}}
  for rep in $(seq "$REPS"); do run_window "$pdir" c2s "$rep"; done
  [ -n "$PROFILE" ] && profile_dir "$pdir" c2s "$dp" "$client_pid"
  for rep in $(seq "$REPS"); do run_window "$pdir" s2c "$rep" -R; done
  [ -n "$PROFILE" ] && profile_dir "$pdir" s2c "$dp" "$client_pid" -R
  # shellcheck disable=SC2086
  snapshot "$pdir/end" $spids $cpids
  for p in $conn $cpids; do echo "hwm.$p=$(status_field "$p" VmHWM)"; done >>"$pdir/meta"
  for p in $conn; do echo "pss.$p=$(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)"; done >>"$pdir/meta"
  kill -0 "$client_pid" 2>/dev/null || notes+="the client died during the run; "
  stop_pid "$ipsrv"
  stop_pid "$client_pid"
  stop_pid "$server_pid"
  stop_all
  SNAP_SRV_PID="" SNAP_CLI_PID=""
  cp "$TMP"/client.log "$TMP"/*sshd.log "$pdir/" 2>/dev/null
  echo "$notes" >"$pdir/notes"
  echo ok >"$pdir/status"
}

for p in "${SELECTED[@]}"; do run_pairing "$p"; done

PARAMS=$(python3 -c 'import json,sys; a=sys.argv[1:]; print(json.dumps(dict(mode=a[0], backend=a[1], cipher=a[2], mtu=int(a[3]), time_s=int(a[4]), reps=int(a[5]), pings=int(a[6]), rekey_limit=a[7] or None, max_other=float(a[8]), label=a[9], feth_sshd=a[10], feth_ssh=a[11])))' \
  "$MODE" "$BACKEND" "$CIPHER" "$MTU" "$TIME" "$REPS" "$PINGS" "$REKEY" "$MAX_OTHER" "$LABEL" "$FETH_SSHD" "$FETH_SSH")
echo "$PARAMS" >"$RESULTS/params.json"
echo "${DISTURBED:+1}" >"$RESULTS/disturbed"
python3 "$BENCH_DIR/report.py" final "$RESULTS" "$CLK_TCK" ${JSON_OUT:+--json "$JSON_OUT"}
status=$?
exit "$status"
