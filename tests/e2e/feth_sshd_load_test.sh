#!/usr/bin/env bash
# Load: 10 authenticated tunnels carry pings while 50 connections that never
# authenticate hold their slots and 200 logins with an unknown key fail.
# The tunnels must lose nothing more than they did before the attack,
# MaxStartups must cap the unauthenticated connections (and log its drops),
# every failed login must end (denied or dropped, never hang), memory must
# stay bounded, and afterwards the server is back to where it started.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

TUNNELS=10
HOLDERS=50
BAD_LOGINS=200
BAD_PARALLEL=8
# sshd's default MaxStartups, 10:30:100: past 10 unauthenticated
# connections, new ones are dropped with a probability rising from 30% to
# 100% at 100. The 50 holders push it well into the random early drop, so
# some failed logins are dropped and some get as far as authentication.
MS_FULL=100
declare -a HOLDER_PIDS=() PING_PIDS=()

tun_addr() { echo "198.19.$((10 + $1)).$2"; } # tunnel N, host 1 (srv) or 2 (cli)

# total_rss_kb: VmRSS of the listener and every process below it, from one
# ps snapshot (cheap enough to sample often with 100 processes).
total_rss_kb() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$SSHD_PID" '
    { parent[$1] = $2; rss[$1] = $3 }
    END {
      for (p in parent) {
        q = p
        for (depth = 0; depth < 8 && q != "" && q != root && q > 1; depth++) q = parent[q]
        if (q == root) sum += rss[p]
      }
      print sum + 0
    }'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
connections() { pgrep -c -P "$SSHD_PID" || true; } # one monitor per connection
fd_count() { ls "/proc/$1/fd" | wc -l; }

# ping_all COUNT TAG: COUNT pings at 10/s through every tunnel at once, in
# the background; the pids go to PING_PIDS, the output to ping-TAG-N.log.
ping_all() {
  local count=$1 tag=$2 i
  PING_PIDS=()
  for i in $(seq 0 $((TUNNELS - 1))); do
    start_bg "ping-$tag-$i" cli ping -c "$count" -i 0.1 -W 5 "$(tun_addr "$i" 1)"
    PING_PIDS+=("$BG_PID")
  done
}
# lost_total TAG: packets lost over every tunnel's ping log of that phase.
lost_total() {
  local tag=$1 i tx rx lost=0
  for i in $(seq 0 $((TUNNELS - 1))); do
    tx=$(awk '/packets transmitted/ {print $1}' "$TMP/ping-$tag-$i.log")
    rx=$(awk '/packets transmitted/ {print $4}' "$TMP/ping-$tag-$i.log")
    [ -n "$tx" ] && [ -n "$rx" ] || fail "ping through tunnel $i ($tag) printed no summary: $(tail -2 "$TMP/ping-$tag-$i.log")"
    lost=$((lost + tx - rx))
  done
  echo "$lost"
}
# wait_ours TENTHS WHAT PID...: waits for our own children to exit, bounded
# (not in a subshell: our_child compares with this shell's pid).
wait_ours() {
  local tenths=$1 what=$2 p; shift 2
  for p in "$@"; do
    for _ in $(seq "$tenths"); do our_child "$p" || break; sleep 0.1; done
    our_child "$p" && fail "$what did not end"
    wait "$p" 2>/dev/null || true
  done
}
wait_pings() { wait_ours 600 "a ping through a tunnel" "${PING_PIDS[@]}"; }

E2E_CURRENT="10 tunnels"
start_feth_sshd -o LoginGraceTime=60
for i in $(seq 0 $((TUNNELS - 1))); do
  start_bg "tunnel-$i" cli $SSH -o Tunnel=ethernet -w "$i:$i" -N root@"$UNDERLAY_SRV"
  eval "TUNNEL_PID_$i=$BG_PID"
  wait_until 150 "tap$i on both sides" sh -c "ip netns exec $NS_SRV ip link show tap$i && ip netns exec $NS_CLI ip link show tap$i"
  in_srv ip addr add "$(tun_addr "$i" 1)/24" dev "tap$i"
  in_cli ip addr add "$(tun_addr "$i" 2)/24" dev "tap$i"
  in_srv ip link set "tap$i" up
  in_cli ip link set "tap$i" up
done
for i in $(seq 0 $((TUNNELS - 1))); do
  wait_until 100 "first ping through tunnel $i" in_cli ping -c 1 -W 1 "$(tun_addr "$i" 1)"
done
[ "$(connections)" = "$TUNNELS" ] || fail "expected $TUNNELS connection processes, found $(connections)"
fds_before=$(fd_count "$SSHD_PID")
listener_rss_before=$(rss_kb "$SSHD_PID")
total_rss_before=$(total_rss_kb)
per_conn_kb=$(( (total_rss_before - listener_rss_before) / TUNNELS ))

E2E_CURRENT="baseline pings"
ping_all 50 base
wait_pings
lost_base=$(lost_total base)
pass "baseline: $((TUNNELS * 50)) pings through $TUNNELS tunnels, $lost_base lost; $per_conn_kb kB RSS per connection"

E2E_CURRENT="attack"
ping_all 300 attack
# Connections that send nothing and hold their slot until LoginGraceTime;
# bash's /dev/tcp, from the client namespace. Ended by timeout (bounded).
for _ in $(seq "$HOLDERS"); do
  in_cli timeout 25 bash -c "exec 3<>/dev/tcp/$UNDERLAY_SRV/$PORT && sleep 25" >/dev/null 2>&1 &
  E2E_PIDS+=("$!")
  HOLDER_PIDS+=("$!")
done
ssh-keygen -q -t ed25519 -N '' -C "unknown" -f "$TMP/id_unknown"
cat >"$TMP/bad_login.sh" <<SH
#!/usr/bin/env bash
# One login with a key the server does not know: DENIED, DROPPED or HANG.
out=\$(ip netns exec $NS_CLI timeout 30 $STOCK_SSH -F /dev/null -i $TMP/id_unknown -o IdentitiesOnly=yes \\
  -o UserKnownHostsFile=$TMP/known_hosts_bad -o StrictHostKeyChecking=no -o BatchMode=yes \\
  -o ConnectTimeout=20 -p $PORT root@$UNDERLAY_SRV true 2>&1)
rc=\$?
if [ \$rc = 124 ]; then echo HANG
elif [ \$rc = 0 ]; then echo LOGGED-IN
elif grep -q "Permission denied" <<<"\$out"; then echo DENIED
else echo DROPPED; fi
SH
chmod +x "$TMP/bad_login.sh"
sleep 1 # the holders first, so that the logins meet a full server
seq "$BAD_LOGINS" | xargs -P "$BAD_PARALLEL" -n 1 "$TMP/bad_login.sh" >"$TMP/bad_logins.out" 2>&1 &
xargs_pid=$!
E2E_PIDS+=("$xargs_pid")

# Sample while the attack runs: connection processes and memory.
max_conns=0 max_total_rss=0 samples=0
deadline=$(( ${EPOCHREALTIME/./} + 120 * 1000000 ))
# Until the logins are done and the idle connections have given up.
attack_running() {
  local p
  for p in "$xargs_pid" "${HOLDER_PIDS[@]}"; do our_child "$p" && return 0; done
  return 1
}
while attack_running; do
  [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || fail "the attack did not end within 120 s"
  c=$(connections); r=$(total_rss_kb)
  [ "$c" -le "$max_conns" ] || max_conns=$c
  [ "$r" -le "$max_total_rss" ] || max_total_rss=$r
  samples=$((samples + 1))
  sleep 0.2
done
wait "$xargs_pid" || fail "the failed-login driver failed: $(tail -3 "$TMP/bad_logins.out")"
denied=$(grep -c '^DENIED$' "$TMP/bad_logins.out" || true)
dropped=$(grep -c '^DROPPED$' "$TMP/bad_logins.out" || true)
hung=$(grep -c '^HANG$' "$TMP/bad_logins.out" || true)
logged_in=$(grep -c '^LOGGED-IN$' "$TMP/bad_logins.out" || true)
[ "$logged_in" = 0 ] || fail "$logged_in logins with an unknown key succeeded"
[ "$hung" = 0 ] || fail "$hung failed logins hung"
[ $((denied + dropped)) = "$BAD_LOGINS" ] || fail "only $((denied + dropped)) of $BAD_LOGINS logins ended: $(sort "$TMP/bad_logins.out" | uniq -c)"
[ "$denied" -gt 0 ] || fail "no login even got to authentication: MaxStartups shut everyone out"
wait_pings
lost_attack=$(lost_total attack)

# MaxStartups: the unauthenticated connections never exceeded "full" on top
# of the tunnels, and the server said it dropped some.
[ "$max_conns" -le $((TUNNELS + MS_FULL)) ] ||
  fail "$max_conns connection processes at peak: more than $TUNNELS tunnels + MaxStartups full $MS_FULL"
drops_logged=$(grep -c "past MaxStartups" "$TMP/feth-sshd.log" || true)
[ "$drops_logged" -gt 0 ] || fail "no 'past MaxStartups' drop logged"
# Memory: MaxStartups bounds the number of connections; each may cost about
# what a tunnel connection costs (1.5x for slack), the listener a few MB of
# growth. So the peak is bounded by the peak number of connections.
rss_bound=$(( listener_rss_before + 6144 + max_conns * per_conn_kb * 3 / 2 ))
[ "$max_total_rss" -le "$rss_bound" ] ||
  fail "peak RSS of all feth-sshd processes $max_total_rss kB above the bound $rss_bound kB"
# The tunnels: no more loss under attack than in the quiet baseline (which
# was expected to be 0, and is on an unloaded machine).
[ "$lost_attack" -le "$lost_base" ] ||
  fail "tunnels lost $lost_attack pings under attack (baseline $lost_base): $(grep -h 'packet loss' "$TMP"/ping-attack-*.log | head -3)"
pass "attack: $HOLDERS idle connections + $BAD_LOGINS failed logins ($denied denied, $dropped dropped by MaxStartups, $drops_logged drops logged); $((TUNNELS * 300)) tunnel pings, $lost_attack lost; peak $max_conns connections (cap $((TUNNELS + MS_FULL))), peak RSS $((max_total_rss / 1024)) MB (bound $((rss_bound / 1024)) MB, $samples samples)"

E2E_CURRENT="after the attack"
wait_ours 400 "an idle connection" "${HOLDER_PIDS[@]}"
wait_until 300 "only the $TUNNELS tunnel connections left" sh -c "[ \$(pgrep -c -P $SSHD_PID) = $TUNNELS ]"
wait_until 50 "listener fds back to $fds_before" sh -c "[ \$(ls /proc/$SSHD_PID/fd | wc -l) -le $fds_before ]"
listener_rss_after=$(rss_kb "$SSHD_PID")
[ $((listener_rss_after - listener_rss_before)) -le 6144 ] ||
  fail "listener RSS grew from $listener_rss_before to $listener_rss_after kB"
for i in $(seq 0 $((TUNNELS - 1))); do
  in_cli ping -c 3 -i 0.1 -W 2 "$(tun_addr "$i" 1)" >/dev/null || fail "tunnel $i stopped working after the attack"
done
for i in $(seq 0 $((TUNNELS - 1))); do
  pid_var="TUNNEL_PID_$i"
  stop_pid "${!pid_var}" || true
done
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
[ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left in the server namespace: $(tunnel_links "$NS_SRV")"
pass "after: $TUNNELS tunnels still carry pings, listener fds $fds_before -> back, listener RSS $listener_rss_before -> $listener_rss_after kB, no device left"
assert_no_sanitizer_reports
echo "feth_sshd_load: all cases passed"
