#!/usr/bin/env bash
# The CPU cost of one key exchange per method (issue 13): --clients stock ssh
# clients hold idle tunnels to feth-sshd and re-key every second
# (RekeyLimit "default 1", the client's timer; its KexAlgorithms chooses the
# method, feth-sshd offers them all). OpenSSH re-keys on time only after a
# packet since the last exchange, so the clients send a keepalive every
# second (ServerAliveInterval 1). Over --seconds the CPU time
# (/proc/PID/task/*/schedstat, ns) of feth-sshd's processes and of the clients,
# divided by the key exchanges the clients logged (SSH2_MSG_NEWKEYS at
# LogLevel DEBUG1), is the cost of one re-key on each side. A window without
# re-keys (keepalives only) gives what the connections cost anyway (subtracted).
# --side client measures our client instead: feth-ssh connections to stock
# sshd, whose KexAlgorithms chooses the method and whose RekeyLimit timer
# re-keys (feth-ssh sends the keepalives). Methods alternate per round so that
# all see the same load. ML-KEM needs OpenSSH >= 9.9: STOCK_SSH=/path/to/ssh
# or STOCK_SSHD=/path/to/sshd. See docs/performance.md.
# shellcheck source=bench/lib.sh disable=SC2034
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF'
usage: bench/rekey.sh [options]
  --kex LIST       comma list of key exchange methods (default
                   curve25519-sha256,sntrup761x25519-sha512,mlkem768x25519-sha256)
  --clients K      connections at once (default 4)
  --seconds S      measured window per method and round (default 20)
  --rounds R       rounds; the methods alternate in each (default 3)
  --side server|client  ours that is measured: feth-sshd with stock ssh clients (default),
                   or feth-ssh clients against stock sshd
  --json FILE      JSON result to FILE ('-': stdout, the table to stderr)
  --keep           keep the temporary directory (client logs)
Environment: FETH_SSHD, FETH_SSH (default build/server/feth-sshd, build/client/feth-ssh),
STOCK_SSH, STOCK_SSHD (default /usr/bin/ssh, /usr/sbin/sshd).
EOF
}

KEX_LIST=curve25519-sha256,sntrup761x25519-sha512,mlkem768x25519-sha256 CLIENTS=4 WINDOW=20 ROUNDS=3
SIDE=server JSON_OUT="" BENCH_KEEP=""
while [ $# -gt 0 ]; do
  case $1 in
    --kex) KEX_LIST=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) WINDOW=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --side) SIDE=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$CLIENTS" "$WINDOW" "$ROUNDS"; do { [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ]; } || die "'$n': a whole number >= 1"; done
case $SIDE in server|client) ;; *) die "--side server|client" ;; esac
IFS=, read -ra METHODS <<<"$KEX_LIST"
# the stock program that chooses the method must know it
chooser=$STOCK_SSH
[ "$SIDE" = client ] && chooser=$(dirname "$STOCK_SSHD")/../bin/ssh
[ -x "$chooser" ] || chooser=$STOCK_SSH
for m in "${METHODS[@]}"; do
  "$chooser" -Q kex | grep -qx -- "$m" || die "$chooser does not know $m ($("$chooser" -V 2>&1))"
done

# shellcheck disable=SC2119 # no tools beyond the defaults
bench_init
LISTENER=""
if [ "$SIDE" = server ]; then
  [ -n "$FETH_SSHD_BIN" ] || die "feth-sshd unavailable ($FETH_SSHD)"
  cp "$STOCK_SSH" "$TMP/ssh" && STOCK_SSH=$TMP/ssh # measure a copy, as run.sh does
  start_feth_sshd tap "" "" || die "feth-sshd did not start: $(tail -n 3 "$TMP/feth-sshd.log")"
  LISTENER=$SSHD_PID
  SERVER_NAME="feth-sshd ($("$FETH_SSHD_BIN" --version 2>&1 | head -n 1))" CLIENT_NAME=$("$STOCK_SSH" -V 2>&1)
else
  [ -n "$FETH_SSH_OK" ] || die "feth-ssh unavailable ($FETH_SSH)"
  SERVER_NAME="sshd $("$STOCK_SSHD" -V 2>&1 | head -n 1)" CLIENT_NAME="feth-ssh ($("$FETH_SSH_BIN" --version 2>&1 | head -n 1))"
fi
RAW=$TMP/results/raw
mkdir -p "$TMP/results"
: >"$RAW"

cpu_ns() { # PIDS...: on-CPU time of all their threads, ns
  local p t v sum=0
  for p in "$@"; do
    for t in /proc/"$p"/task/*/schedstat; do
      read -r v _ 2>/dev/null <"$t" && sum=$((sum + v))
    done
  done
  echo "$sum"
}
newkeys() { # LOGS...: key exchanges the clients completed
  cat "$@" 2>/dev/null | grep -c "SSH2_MSG_NEWKEYS received"
}

# window METHOD REKEY ROUND: CLIENTS connections with KexAlgorithms METHOD and
# RekeyLimit REKEY; one line of raw figures.
window() {
  local method=$1 rekey=$2 round=$3 i logs=() cpids=() spids
  rm -f "$TMP"/kex-*.log
  if [ "$SIDE" = client ]; then window_client "$@"; return; fi
  for i in $(seq "$CLIENTS"); do
    start_bg "kex-$i" cli "$STOCK_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts" \
      -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=5 -p "$PORT" -o Tunnel=ethernet -w any:any \
      -o KexAlgorithms="$method" -o RekeyLimit="$rekey" -o ServerAliveInterval=1 -o LogLevel=DEBUG1 -N root@"$UNDERLAY_SRV"
    cpids+=("$BG_PID"); logs+=("$TMP/kex-$i.log")
  done
  for i in "${logs[@]}"; do
    wait_for 150 grep -q "Authenticated to" "$i" || { log "a client did not authenticate: $(tail -n 2 "$i" | tr '\n' ' ')"; stop_all; return 1; }
  done
  sleep 1.5 # past the first exchange and the tunnel's opening
  spids=$(descendants "$LISTENER" | tr '\n' ' ')
  local s0 c0 k0 t0 s1 c1 k1 t1
  # shellcheck disable=SC2086
  s0=$(cpu_ns $spids); c0=$(cpu_ns "${cpids[@]}"); k0=$(newkeys "${logs[@]}"); t0=$EPOCHREALTIME
  sleep "$WINDOW"
  # shellcheck disable=SC2086
  s1=$(cpu_ns $spids); c1=$(cpu_ns "${cpids[@]}"); k1=$(newkeys "${logs[@]}"); t1=$EPOCHREALTIME
  local used
  used=$(grep -h "kex: algorithm:" "${logs[@]}" | sed 's/.*kex: algorithm: \([^ ]*\).*/\1/' | sort -u | tr '\n' ' ')
  local kind=rekey
  [ "$rekey" = "default none" ] && kind=idle
  echo "$kind $method $round $((s1 - s0)) $((c1 - c0)) $((k1 - k0)) $t0 $t1 ${used:-?}" >>"$RAW"
  log "$method (RekeyLimit $rekey) round $round: $((k1 - k0)) key exchanges, server $(((s1 - s0) / 1000000)) ms, clients $(((c1 - c0) / 1000000)) ms; negotiated: ${used:-?}"
  local p
  for p in "${cpids[@]}"; do stop_pid "$p"; done
  B_PIDS=("$LISTENER")
  sleep 0.5
}

# window_client METHOD REKEY ROUND: stock sshd with KexAlgorithms METHOD and
# RekeyLimit REKEY, CLIENTS feth-ssh connections to it.
window_client() {
  local method=$1 rekey=$2 round=$3 i cpids=() spids log=$TMP/stock-sshd.log
  STOCK_SSHD_EXTRA="KexAlgorithms $method"
  start_stock_sshd ethernet "" "$rekey" DEBUG1 || { log "sshd did not start: $(tail -n 2 "$log" | tr '\n' ' ')"; stop_all; return 1; }
  LISTENER=$SSHD_PID
  for i in $(seq "$CLIENTS"); do
    start_bg "kex-$i" cli "$FETH_SSH_BIN" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts" \
      -o StrictHostKeyChecking=no -o ConnectTimeout=5 -p "$PORT" -o Tunnel=ethernet -w any:any \
      -o ServerAliveInterval=1 root@"$UNDERLAY_SRV"
    cpids+=("$BG_PID")
  done
  accepted() { [ "$(grep -c "Accepted publickey" "$log")" -ge "$CLIENTS" ]; }
  wait_for 150 accepted || { log "the clients did not authenticate: $(tail -n 2 "$log" | tr '\n' ' ')"; stop_all; return 1; }
  sleep 1.5
  spids=$(descendants "$LISTENER" | tr '\n' ' ')
  local s0 c0 k0 t0 s1 c1 k1 t1 cpids_all
  cpids_all=$(for i in "${cpids[@]}"; do descendants "$i"; done | tr '\n' ' ')
  # shellcheck disable=SC2086 # pid lists
  { s0=$(cpu_ns $spids); c0=$(cpu_ns $cpids_all); k0=$(newkeys "$log"); t0=$EPOCHREALTIME; }
  sleep "$WINDOW"
  # shellcheck disable=SC2086 # pid lists
  { s1=$(cpu_ns $spids); c1=$(cpu_ns $cpids_all); k1=$(newkeys "$log"); t1=$EPOCHREALTIME; }
  local used kind=rekey
  used=$(grep -h "kex: algorithm:" "$log" | sed 's/.*kex: algorithm: \([^ ]*\).*/\1/' | sort -u | tr '\n' ' ')
  [ "$rekey" = "default none" ] && kind=idle
  echo "$kind $method $round $((s1 - s0)) $((c1 - c0)) $((k1 - k0)) $t0 $t1 ${used:-?}" >>"$RAW"
  log "$method (RekeyLimit $rekey) round $round: $((k1 - k0)) key exchanges, server $(((s1 - s0) / 1000000)) ms, clients $(((c1 - c0) / 1000000)) ms; negotiated: ${used:-?}"
  stop_all
  sleep 0.5
}

quiet=$(quiet_sample 2)
log "other processes used $quiet of one core"
for round in $(seq "$ROUNDS"); do
  # the order turns each round: no method always first after the idle window
  n=${#METHODS[@]}
  window "${METHODS[0]}" "default none" "$round" || die "the idle window failed"
  for j in $(seq 0 $((n - 1))); do
    window "${METHODS[$(((j + round - 1) % n))]}" "default 1" "$round" || die "a window failed"
  done
done
quiet_after=$(quiet_sample 2)

python3 - "$RAW" "$quiet" "$quiet_after" "$CLIENTS" "$WINDOW" "$ROUNDS" "$CLIENT_NAME" "${JSON_OUT:-}" "$SERVER_NAME" <<'PY'
import json, statistics, sys
raw, quiet, quiet_after, clients, window, rounds, client_version, json_out, server_version = sys.argv[1:10]
runs = []
for line in open(raw):
    f = line.split()
    if len(f) < 8:
        continue
    runs.append({"kind": f[0], "method": f[1], "round": int(f[2]), "server_ns": int(f[3]), "client_ns": int(f[4]),
                 "kex": int(f[5]), "seconds": float(f[7]) - float(f[6]), "negotiated": f[8:]})
# What idle connections cost anyway, per second of a window (no re-keys in it).
idle = [r for r in runs if r["kind"] == "idle"]
idle_s = sum(r["server_ns"] for r in idle) / max(sum(r["seconds"] for r in idle), 1e-9)
idle_c = sum(r["client_ns"] for r in idle) / max(sum(r["seconds"] for r in idle), 1e-9)
methods = []
for r in runs:
    if r["kind"] == "rekey" and r["method"] not in methods:
        methods.append(r["method"])
res = []
for m in methods:
    rs = [r for r in runs if r["kind"] == "rekey" and r["method"] == m]
    per = lambda key, base: [(r[key] - base * r["seconds"]) / r["kex"] / 1e6 for r in rs if r["kex"] > 0]
    sv, cv = per("server_ns", idle_s), per("client_ns", idle_c)
    stat = lambda xs: {"median": statistics.median(xs), "min": min(xs), "max": max(xs)} if xs else None
    res.append({"method": m, "kex": sum(r["kex"] for r in rs), "windows": len(rs),
                "negotiated": sorted({x for r in rs for x in r["negotiated"]}),
                "server_ms_per_kex": stat(sv), "client_ms_per_kex": stat(cv)})
ref = next((x for x in res if x["method"].startswith("curve25519")), None)
out = sys.stderr if json_out == "-" else sys.stdout
print(f"{clients} connections re-keying every second, {rounds} rounds x {window} s per method; server {server_version}, client {client_version}; "
      f"other load {float(quiet):.2f} core before, {float(quiet_after):.2f} after; idle connections: server "
      f"{idle_s / 1e6:.3f} ms/s, clients {idle_c / 1e6:.3f} ms/s (subtracted)", file=out)
hdr = ["method", "key exchanges", "server ms/kex", "client ms/kex", "server - curve25519", "client - curve25519", "negotiated"]
rows = []
for x in res:
    c = lambda s: "-" if s is None else f"{s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}]"
    d = lambda k: "-" if not (ref and x[k] and ref[k]) else f"{x[k]['median'] - ref[k]['median']:+.2f}"
    rows.append([x["method"], str(x["kex"]), c(x["server_ms_per_kex"]), c(x["client_ms_per_kex"]),
                 d("server_ms_per_kex"), d("client_ms_per_kex"), ",".join(x["negotiated"])])
w = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
print(line(hdr), file=out)
print("|" + "|".join("-" * (n + 2) for n in w) + "|", file=out)
for r in rows:
    print(line(r), file=out)
doc = {"params": {"clients": int(clients), "seconds": int(window), "rounds": int(rounds), "server": server_version, "client": client_version},
       "quietness": {"before": float(quiet), "after": float(quiet_after)},
       "idle_ns_per_s": {"server": idle_s, "client": idle_c}, "methods": res, "windows": runs}
if json_out:
    text = json.dumps(doc, indent=2)
    if json_out == "-":
        print(text)
    else:
        open(json_out, "w").write(text + "\n")
PY
