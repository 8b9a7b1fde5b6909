#!/bin/bash
# Runs a program against the model of xnu: a network namespace of its own
# (the daemon's abstract socket and every modelled interface stay in it),
# darwin-modeld started there, then PROGRAM ARGS... inside it. Root only;
# 77 (skipped) otherwise. Cleanup on every exit path kills only the daemon
# started here and deletes only the namespace made here.
#   darwin_model_test.sh DARWIN_MODELD PROGRAM [ARGS...]
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: the model of xnu needs root (network namespaces)"; exit 77; }
MODELD=$1
shift
NS="fe-dm-$$-$RANDOM"
DIR=$(mktemp -d)
MODELD_PID=""
cleanup() {
  if [ -n "$MODELD_PID" ]; then kill "$MODELD_PID" 2>/dev/null || true; wait "$MODELD_PID" 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# No IPv6 in the namespace: its router and neighbour solicitations would
# add frames the bpf rules count.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS" "$MODELD" > "$DIR/modeld.log" 2>&1 &
MODELD_PID=$!
for _ in $(seq 1 $((100 * ${FETH_E2E_TIME_SCALE:-1}))); do
  grep -q "darwin-modeld ready" "$DIR/modeld.log" && break
  kill -0 "$MODELD_PID" 2>/dev/null || { cat "$DIR/modeld.log"; echo "FAIL: darwin-modeld did not start"; exit 1; }
  sleep 0.05
done
grep -q "darwin-modeld ready" "$DIR/modeld.log" || { echo "FAIL: darwin-modeld not ready within 5 s"; exit 1; }
status=0
ip netns exec "$NS" "$@" || status=$?
kill -0 "$MODELD_PID" 2>/dev/null || { cat "$DIR/modeld.log"; echo "FAIL: darwin-modeld died"; exit 1; }
exit "$status"
