#!/usr/bin/env bash
# Two builds side by side in one run (issue 13): bench/run.sh once per
# pairing, build and round, the builds alternating (A B, then B A in the next
# round, ...) so that both see the same load on a busy machine. Every run's
# JSON is kept; report.py compare prints per pairing and build the median of
# the rounds and their spread (min-max), and the change of B against A.
# stock-ssh/stock-sshd runs the same binaries in both builds: its change is
# the noise. See docs/performance.md.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<'EOF'
usage: bench/compare.sh --a LABEL=BUILD_DIR --b LABEL=BUILD_DIR [options] [-- run.sh options]
  --a, --b LABEL=BUILD_DIR   a build: BUILD_DIR/server/feth-sshd and BUILD_DIR/client/feth-ssh
  --rounds N                 runs per pairing and build (default 3); one iperf3 run per direction each
  --time S                   seconds per iperf3 run (default 5)
  --pairings LIST            as run.sh (ss,sf,fs,ff; default all four)
  --out DIR                  where the runs' JSON and logs go (default a new /tmp/feth-compare.*)
Options after -- go to every run.sh (e.g. --mtu 9000, --cipher NAME). run.sh runs with
--force --reps 1: a busy machine is reported (other load per run), not refused.
EOF
}

A="" B="" ROUNDS=3 TIME=5 PAIRINGS=ss,sf,fs,ff OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --a) A=$2; shift 2 ;;
    --b) B=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --time) TIME=$2; shift 2 ;;
    --pairings) PAIRINGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
die() { echo "compare: $*" >&2; exit 2; }
log() { echo "[$(date +%T)] $*" >&2; }
{ [ -n "$A" ] && [ -n "$B" ]; } || die "--a and --b are required"
{ [[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ]; } || die "--rounds: at least 1"

declare -A DIR_OF=()
LABELS=()
for spec in "$A" "$B"; do
  label=${spec%%=*} dir=${spec#*=}
  { [ "$label" != "$spec" ] && [ -n "$label" ]; } || die "'$spec': LABEL=BUILD_DIR"
  [[ $label =~ ^[A-Za-z0-9._-]+$ ]] || die "label '$label': letters, digits, . _ - only"
  [ -z "${DIR_OF[$label]:-}" ] || die "the two labels are the same"
  { [ -x "$dir/server/feth-sshd" ] && [ -x "$dir/client/feth-ssh" ]; } || die "$dir: no server/feth-sshd and client/feth-ssh"
  DIR_OF[$label]=$(cd "$dir" && pwd)
  LABELS+=("$label")
done
if [ -z "$OUT" ]; then OUT=$(mktemp -d /tmp/feth-compare.XXXXXX) || die "mktemp"; fi
mkdir -p "$OUT" || die "cannot create $OUT"
IFS=, read -ra PLIST <<<"$PAIRINGS"

log "builds: ${LABELS[0]}=${DIR_OF[${LABELS[0]}]} ${LABELS[1]}=${DIR_OF[${LABELS[1]}]}; $ROUNDS rounds x ${#PLIST[@]} pairings, $TIME s per direction; out $OUT"
for round in $(seq "$ROUNDS"); do
  order=("${LABELS[@]}")
  [ $((round % 2)) = 0 ] && order=("${LABELS[1]}" "${LABELS[0]}")
  for p in "${PLIST[@]}"; do
    for label in "${order[@]}"; do
      base="$OUT/$label.$p.$round"
      log "round $round, $p, $label"
      FETH_SSHD=${DIR_OF[$label]}/server/feth-sshd FETH_SSH=${DIR_OF[$label]}/client/feth-ssh \
        "$BENCH_DIR/run.sh" --pairings "$p" --reps 1 --time "$TIME" --force \
        --label "$label round $round" --json "$base.json" "$@" >"$base.txt" 2>&1
      status=$?
      # run.sh exits 1 when the machine was busy (--force: still reported)
      [ "$status" -le 1 ] || log "run.sh exit $status for $label $p round $round: $(tail -n 2 "$base.txt" | tr '\n' ' ')"
    done
  done
done
python3 "$BENCH_DIR/report.py" compare "$OUT" "${LABELS[0]}" "${LABELS[1]}"
