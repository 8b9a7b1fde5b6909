#!/usr/bin/env bash
# Idle cost of one tunnel (issue 7): the tunnel is up, addressed and carries
# nothing. For stock sshd and feth-sshd, over --seconds (default 30): the
# resident memory of the server's per-connection processes, their wake-ups
# (voluntary + involuntary context switches) and CPU time, then (optional)
# their system calls with strace -c. Keepalives are off on both sides unless
# --keepalive N (then ServerAliveInterval N on the client, which the server
# answers: expect about 1/N wake-ups per second). See docs/performance.md.
# shellcheck source=bench/lib.sh disable=SC2034
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF'
usage: bench/idle.sh [options]
  --seconds S         idle window (default 30)
  --strace-seconds S  then count system calls with strace -c -f for S seconds (default 10; 0: skip)
  --servers LIST      comma list of stock-sshd,feth-sshd (default both)
  --client stock|feth the client for every server (default stock: the same for both)
  --mode ethernet|point-to-point   (default ethernet)
  --backend tap|pair  feth-sshd's TunnelBackend (default tap)
  --keepalive N       ServerAliveInterval N on the client (default 0: off)
  --json FILE         JSON result to FILE ('-': stdout, the table to stderr)
  --keep              keep the temporary directory
EOF
}

SECONDS_IDLE=30 STRACE_S=10 SERVERS=stock-sshd,feth-sshd CLIENT=stock MODE=ethernet BACKEND=tap KEEPALIVE=0
JSON_OUT="" BENCH_KEEP=""
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_IDLE=$2; shift 2 ;;
    --strace-seconds) STRACE_S=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --client) CLIENT=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    --keepalive) KEEPALIVE=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $SECONDS_IDLE =~ ^[0-9]+$ ]] && [ "$SECONDS_IDLE" -ge 1 ] || die "--seconds: whole seconds"
[[ $STRACE_S =~ ^[0-9]+$ ]] || die "--strace-seconds: whole seconds"
case $CLIENT in stock|feth) ;; *) die "--client stock|feth" ;; esac

bench_init
[ "$CLIENT" = feth ] && [ -z "$FETH_SSH_OK" ] && die "feth-ssh unavailable ($FETH_SSH)"
HAVE_STRACE=""
command -v strace >/dev/null && HAVE_STRACE=1
[ "$STRACE_S" -gt 0 ] && [ -z "$HAVE_STRACE" ] && log "strace not installed (apt-get install strace): syscall counts skipped"

quiet=$(quiet_sample 2)
log "other processes used $quiet of one core (idle counts do not depend on it much; reported only)"

tunnel_if() {
  ip netns exec "$1" ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E '^(tap|tun|feth)[0-9]+$' | while read -r d; do [ "${d##*[a-z]}" -lt 5000 ] && { echo "$d"; break; }; done
}
have_tunnel_if() { [ -n "$(tunnel_if "$1")" ]; }

# One JSON object per server, built by python from key=value lines.
declare -a ENTRIES=()
measure() { # SERVER
  local server=$1 out="$TMP/idle.$1" sif cif p
  rm -f "$TMP"/*.log
  : >"$out"
  echo "server=$server" >>"$out"
  if [ "$server" = feth-sshd ]; then
    [ -n "$FETH_SSHD_BIN" ] || { echo "status=n/a (feth-sshd unavailable)" >>"$out"; ENTRIES+=("$out"); return; }
    start_feth_sshd "$BACKEND" "" "" || { echo "status=failed: feth-sshd did not start" >>"$out"; ENTRIES+=("$out"); stop_all; return; }
  else
    start_stock_sshd "$MODE" "" "" INFO || { echo "status=failed: sshd did not start" >>"$out"; ENTRIES+=("$out"); stop_all; return; }
  fi
  local spid=$SSHD_PID
  CLIENT_EXTRA=(-o ServerAliveInterval="$KEEPALIVE")
  start_client "$CLIENT" "$MODE" "" ""
  local cpid=$CLIENT_PID
  if ! wait_for 150 have_tunnel_if "$NS_SRV" || ! wait_for 50 have_tunnel_if "$NS_CLI"; then
    echo "status=failed: no tunnel device" >>"$out"; ENTRIES+=("$out"); stop_all; return
  fi
  sif=$(tunnel_if "$NS_SRV"); cif=$(tunnel_if "$NS_CLI")
  # No IPv6 on the tunnel: router solicitations, DAD and MLD reports would be
  # traffic; the measurement is of a tunnel that carries nothing.
  in_srv sysctl -qw "net.ipv6.conf.$sif.disable_ipv6=1" 2>/dev/null || true
  in_cli sysctl -qw "net.ipv6.conf.$cif.disable_ipv6=1" 2>/dev/null || true
  in_srv ip addr add "$TUN4_SRV/24" dev "$sif"; in_srv ip link set "$sif" up
  in_cli ip addr add "$TUN4_CLI/24" dev "$cif"; in_cli ip link set "$cif" up
  wait_for 100 in_cli ping -c 1 -W 1 "$TUN4_SRV" || { echo "status=failed: no ping through the tunnel" >>"$out"; ENTRIES+=("$out"); stop_all; return; }
  # Forget the ARP entries' refresh: static neighbours, so no ARP while idle.
  local smac cmac
  smac=$(in_srv cat "/sys/class/net/$sif/address" 2>/dev/null); cmac=$(in_cli cat "/sys/class/net/$cif/address" 2>/dev/null)
  if [ "$MODE" = ethernet ]; then
    in_cli ip neigh replace "$TUN4_SRV" lladdr "$smac" dev "$cif" nud permanent 2>/dev/null || true
    in_srv ip neigh replace "$TUN4_CLI" lladdr "$cmac" dev "$sif" nud permanent 2>/dev/null || true
  fi
  sleep 3 # let the connection settle (the ping's replies, the last auth logging)
  local conn
  conn=$(descendants "$spid" | grep -vx "$spid" | sort -n | tr '\n' ' ')
  local -A ctx0 cpu0
  local frames0 frames1
  frames0=$(awk -v d="$sif:" '$1 == d { print $3 + $11 }' "/proc/$spid/net/dev")
  for p in $conn $spid; do
    ctx0[$p]=$(( $(status_field "$p" voluntary_ctxt_switches) + $(status_field "$p" nonvoluntary_ctxt_switches) ))
    cpu0[$p]=$(ticks_of "$p")
  done
  sleep "$SECONDS_IDLE"
  frames1=$(awk -v d="$sif:" '$1 == d { print $3 + $11 }' "/proc/$spid/net/dev")
  {
    echo "status=ok"; echo "seconds=$SECONDS_IDLE"; echo "listener=$spid"; echo "conn=$conn"
    echo "frames=$(( frames1 - frames0 ))"
    for p in $conn $spid; do
      echo "comm.$p=$(cat "/proc/$p/comm" 2>/dev/null)"
      echo "ctx.$p=$(( $(status_field "$p" voluntary_ctxt_switches) + $(status_field "$p" nonvoluntary_ctxt_switches) - ctx0[$p] ))"
      echo "cpu.$p=$(( $(ticks_of "$p") - cpu0[$p] ))"
      echo "rss.$p=$(status_field "$p" VmRSS)"
      echo "hwm.$p=$(status_field "$p" VmHWM)"
      echo "pss.$p=$(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)"
      echo "private.$p=$(awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {t += $2} END {print t}' "/proc/$p/smaps_rollup" 2>/dev/null)"
      echo "threads.$p=$(status_field "$p" Threads)"
    done
  } >>"$out"
  if [ "$STRACE_S" -gt 0 ] && [ -n "$HAVE_STRACE" ]; then
    for p in $conn; do
      timeout -s INT "$STRACE_S" strace -c -f -p "$p" -o "$TMP/strace.$p" >/dev/null 2>&1 || true
      # the summary's last line: "100.00 ... total" with the call count
      # strace -c writes nothing at all when no call completed: that is 0.
      [ -f "$TMP/strace.$p" ] && echo "syscalls.$p=$(awk '$NF == "total" { n = $4 } END { print n + 0 }' "$TMP/strace.$p")" >>"$out"
      echo "syscall_summary.$p=$(awk 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" { printf "%s%s:%s", sep, $NF, $4; sep=" " }' "$TMP/strace.$p" 2>/dev/null)" >>"$out"
    done
    echo "strace_seconds=$STRACE_S" >>"$out"
  fi
  kill -0 "$cpid" 2>/dev/null || echo "note=the client died while idle" >>"$out"
  stop_pid "$cpid"; stop_pid "$spid"; stop_all
  ENTRIES+=("$out")
}

IFS=, read -ra SRV_LIST <<<"$SERVERS"
for s in "${SRV_LIST[@]}"; do
  case $s in stock-sshd|feth-sshd) ;; *) die "unknown server '$s'" ;; esac
  log "== idle tunnel: ${CLIENT}-ssh -> $s, ${SECONDS_IDLE} s"
  measure "$s"
done

python3 - "$TMP/results" "$quiet" "$SECONDS_IDLE" "$MODE" "$BACKEND" "$CLIENT" "$KEEPALIVE" "${ENTRIES[@]}" <<'PY'
import json, os, sys
rdir, quiet, secs, mode, backend, client, keepalive = sys.argv[1:8]
os.makedirs(rdir, exist_ok=True)
servers = []
for path in sys.argv[8:]:
    kv = {}
    for line in open(path):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            kv[k] = v
    s = {"server": kv.get("server"), "status": kv.get("status", "incomplete")}
    if s["status"] == "ok":
        conn = kv["conn"].split()
        n = lambda k: int(kv[k]) if kv.get(k, "").lstrip("-").isdigit() else None
        procs = [{"pid": p, "comm": kv.get("comm." + p), "ctx": n("ctx." + p), "cpu_ms": (n("cpu." + p) or 0) * 1000 // int(os.sysconf("SC_CLK_TCK")),
                  "rss_kb": n("rss." + p), "vmhwm_kb": n("hwm." + p), "pss_kb": n("pss." + p), "private_kb": n("private." + p), "threads": n("threads." + p),
                  "syscalls": n("syscalls." + p), "syscall_summary": kv.get("syscall_summary." + p)} for p in conn]
        lst = kv["listener"]
        s.update({"processes": procs, "rss_kb": sum(p["rss_kb"] or 0 for p in procs), "pss_kb": sum(p["pss_kb"] or 0 for p in procs),
                  "private_kb": sum(p["private_kb"] or 0 for p in procs),
                  "wakeups_per_s": sum(p["ctx"] or 0 for p in procs) / int(secs), "cpu_ms": sum(p["cpu_ms"] for p in procs),
                  "syscalls": sum(p["syscalls"] or 0 for p in procs) if any(p["syscalls"] is not None for p in procs) else None,
                  "strace_seconds": n("strace_seconds"), "frames_while_idle": n("frames"),
                  "listener": {"pid": lst, "ctx": n("ctx." + lst), "rss_kb": n("rss." + lst)},
                  "keepalive_interval": int(keepalive) or None, "note": kv.get("note")})
    servers.append(s)
doc = {"params": {"seconds": int(secs), "mode": mode, "backend": backend, "client": client + "-ssh", "keepalive": int(keepalive)},
       "quietness": float(quiet), "servers": servers}
json.dump(doc, open(os.path.join(rdir, "idle.json"), "w"), indent=2)
PY
machine_json >"$TMP/results/machine.json"
python3 "$BENCH_DIR/report.py" idle "$TMP/results" "$CLK_TCK" ${JSON_OUT:+--json "$JSON_OUT"}
