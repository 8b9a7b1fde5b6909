#!/usr/bin/env bash
# feth-sshd's limits per source and per user (L6): PerSourcePenalties as
# sshd 9.8 (one address that keeps failing logins is refused at once, with
# sshd's log lines, while another address logs in and tunnels), -T, and
# MaxTunnels (a user's third tunnel over three connections is refused; once
# one closes, a new one opens; the same for a user whose name has 64 bytes,
# N12).
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)
OTHER_CLI=198.18.0.3 # a second source on the client side of the underlay
in_cli ip addr add "$OTHER_CLI/24" dev "$(underlay)"
ssh-keygen -q -t ed25519 -N '' -C "e2e-wrong" -f "$TMP/wrong_key"

case_dump() {
  E2E_CURRENT="-T"
  local dump
  dump=$("$FETH_SSHD" -T -f /dev/null -h "$TMP/host_ed25519" -o "PerSourcePenalties=authfail:7s min:20s" \
    -o PerSourceMaxStartups=4 -o PerSourceNetBlockSize=24:56 -o PerSourcePenaltyExemptList=198.18.1.0/24 \
    -o MaxTunnels=3)
  for want in "persourcepenalties crash:90s authfail:7s noauth:1s grace-exceeded:10s max:600s min:20s max-sources4:65536 max-sources6:65536 overflow:permissive overflow6:permissive" \
    "persourcemaxstartups 4" "persourcenetblocksize 24:56" "persourcepenaltyexemptlist 198.18.1.0/24" "maxtunnels 3"; do
    grep -qxF "$want" <<<"$dump" || fail "-T lacks '$want'"
  done
  local err
  err=$("$FETH_SSHD" -t -f /dev/null -h "$TMP/host_ed25519" -o "PerSourcePenalties=invaliduser:5s" 2>&1) &&
    fail "PerSourcePenalties invaliduser was accepted"
  grep -q "invaliduser is not supported" <<<"$err" || fail "no clear refusal of invaliduser: $err"
  pass "-T prints the per-source keywords and MaxTunnels; invaliduser is refused by name"
}

case_penalties() {
  E2E_CURRENT="PerSourcePenalties"
  FETH_SSHD_PENALTIES=yes start_feth_sshd
  local i status refused=0 t0 t1
  # 30 failed logins in a row from one address: after 4 (5 s each, more
  # than min 15 s) the listener refuses the address outright.
  for i in $(seq 30); do
    status=0
    t0=${EPOCHREALTIME/./}
    in_cli timeout "$(scaled 20)" "$STOCK_SSH" -F /dev/null -i "$TMP/wrong_key" -o IdentitiesOnly=yes \
      -o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=no -o BatchMode=yes \
      -o ConnectTimeout="$(scaled 5)" -o LogLevel=ERROR -p "$PORT" -b "$UNDERLAY_CLI" root@"$UNDERLAY_SRV" true \
      >"$TMP/wrong.log" 2>&1 || status=$?
    t1=${EPOCHREALTIME/./}
    [ "$status" = 255 ] || fail "login $i with the wrong key: ssh exited $status, expected 255"
    # Refused before authentication: ssh never got to "Permission denied"
    # (it says kex_exchange_identification or "Connection closed", and
    # does not print the "Not allowed at this time" line it may read).
    grep -q "Permission denied" "$TMP/wrong.log" || refused=$((refused + 1))
  done
  wait_until 30 "the activation line" grep -q \
    "srclimit_penalise: $UNDERLAY_CLI/32: activating ipv4 penalty of .* seconds for penalty: failed authentication" \
    "$TMP/feth-sshd.log"
  local drops
  drops=$(count_of "$TMP/feth-sshd.log" \
    "drop connection #[0-9]+ from \[$UNDERLAY_CLI\]:[0-9]+ on \[$UNDERLAY_SRV\]:$PORT penalty: failed authentication")
  [ "$drops" -ge 20 ] || fail "only $drops of 30 connections were refused for the penalty"
  [ "$refused" -ge 20 ] || fail "ssh was refused before authentication $refused times only"
  # A refused connection never reaches a monitor: it ends in well under a
  # second (the last one was refused).
  [ $(( (t1 - t0) / 1000 )) -lt "$(( $(scaled 1) * 1000 ))" ] || fail "the last refused login took $(( (t1 - t0) / 1000 )) ms"
  # The penalty is the address's, whatever key it brings.
  status=0
  in_cli timeout "$(scaled 20)" $SSH -b "$UNDERLAY_CLI" root@"$UNDERLAY_SRV" true >"$TMP/good-penalised.log" 2>&1 ||
    status=$?
  [ "$status" = 255 ] || fail "the good key from the penalised address: ssh exited $status"
  # Another address logs in at once and tunnels.
  start_bg other cli $SSH -b "$OTHER_CLI" -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local other_pid=$BG_PID
  wait_until 100 "tap0 on the server (other source)" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  configure_tunnel tap0 tap0
  ping_both
  grep -q "Accepted publickey for root from $OTHER_CLI" "$TMP/feth-sshd.log" || fail "no login from $OTHER_CLI logged"
  stop_pid "$other_pid" || true
  wait_until 30 "tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "30 failed logins from $UNDERLAY_CLI: penalised ($drops refused at once, sshd's lines); $OTHER_CLI logs in and tunnels"
}

# start_tunnel NAME UNIT: an ssh with one ethernet tunnel to tapUNIT; pid in $BG_PID.
start_tunnel() {
  start_bg "$1" cli $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w "any:$2" -N root@"$UNDERLAY_SRV"
}

# A user whose name is exactly 64 bytes. Debian's useradd refuses names over
# 32 bytes (--badname too), so the account exists only for feth-sshd: its
# wrapper runs it in a mount namespace of its own with copies of
# /etc/passwd and /etc/shadow that have the user bind-mounted over the
# system's. The system's files are never changed, and the mounts go with
# the server, however the test ends.
LONG_USER=$(printf '%-64s' "fethlong-$E2E_ID-" | tr ' ' x)
long_user_account() {
  local uid=61000 tries=0
  while getent passwd "$uid" >/dev/null; do
    uid=$((uid + 1)) tries=$((tries + 1))
    [ "$tries" -lt 1000 ] || fail "no free uid from 61000"
  done
  cp /etc/passwd "$TMP/passwd"
  echo "$LONG_USER:x:$uid:65534::$TMP:/bin/sh" >>"$TMP/passwd"
  install -m 640 /etc/shadow "$TMP/shadow"
  echo "$LONG_USER:*:19000:0:99999:7:::" >>"$TMP/shadow" # no password, not locked, never expires
  cat >"$TMP/with-long-user" <<WRAP
#!/bin/sh
# The server's command line, run with $TMP/passwd and $TMP/shadow in place.
exec unshare --mount --propagation private sh -c \\
  'mount --bind "\$1" /etc/passwd && mount --bind "\$2" /etc/shadow && shift 2 && exec "\$@"' \\
  with-long-user "$TMP/passwd" "$TMP/shadow" "\$@"
WRAP
  chmod 755 "$TMP/with-long-user"
  chmod 644 "$TMP/authorized_keys" # read as the user logging in
}

case_max_tunnels() {
  E2E_CURRENT="MaxTunnels"
  long_user_account
  FETH_SSHD_WRAPPER="$TMP/with-long-user" start_feth_sshd -o MaxTunnels=2
  start_tunnel t1 1
  local p1=$BG_PID
  wait_until 100 "tap1 on the server" link_in "$NS_SRV" tap1
  start_tunnel t2 2
  local p2=$BG_PID
  wait_until 100 "tap2 on the server" link_in "$NS_SRV" tap2
  # The third connection of the same user: refused as sshd refuses a tunnel.
  local status=0
  in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w any:3 -N root@"$UNDERLAY_SRV" \
    >"$TMP/t3.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "the third tunnel: ssh exited $status, expected 255"
  link_in "$NS_SRV" tap3 && fail "tap3 exists although MaxTunnels is 2"
  wait_until 30 "the refusal naming the limit" grep -q \
    "Refused a tunnel for root from $UNDERLAY_CLI port [0-9]*: user root has 2 tunnels open (MaxTunnels 2)" \
    "$TMP/feth-sshd.log"
  # One closes: a new one opens.
  stop_pid "$p1" || true
  wait_until 30 "tap1 removed" no_link_in "$NS_SRV" tap1
  start_tunnel t4 4
  local p4=$BG_PID
  wait_until 100 "tap4 on the server after one closed" link_in "$NS_SRV" tap4
  [ "$(tunnel_links "$NS_SRV" | sort | tr '\n' ' ')" = "tap2 tap4 " ] || fail "server tunnels: $(tunnel_links "$NS_SRV")"
  stop_pid "$p2" || true
  stop_pid "$p4" || true
  wait_until 30 "root's tunnels removed" no_link_in "$NS_SRV" tap2
  wait_until 30 "root's tunnels removed" no_link_in "$NS_SRV" tap4
  # The same for a user whose name has 64 bytes (N12: the status table once
  # compared 64 of its bytes with the 63 it kept, and counted none of its
  # tunnels).
  [ "${#LONG_USER}" = 64 ] || fail "the long user name has ${#LONG_USER} bytes"
  start_bg long5 cli $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w any:5 -N "$LONG_USER@$UNDERLAY_SRV"
  local l5=$BG_PID
  wait_until 100 "tap5 on the server (the 64-byte user)" link_in "$NS_SRV" tap5
  wait_until 30 "tap5 opened for the 64-byte user" grep -q "Tunnel tap5 (ethernet) opened for $LONG_USER " "$TMP/feth-sshd.log"
  start_bg long6 cli $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w any:6 -N "$LONG_USER@$UNDERLAY_SRV"
  local l6=$BG_PID
  wait_until 100 "tap6 on the server (the 64-byte user)" link_in "$NS_SRV" tap6
  status=0
  in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w any:7 -N \
    "$LONG_USER@$UNDERLAY_SRV" >"$TMP/long7.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "the 64-byte user's third tunnel: ssh exited $status, expected 255"
  link_in "$NS_SRV" tap7 && fail "tap7 exists although MaxTunnels is 2 (the 64-byte user)"
  wait_until 30 "the refusal naming the 64-byte user and the limit" grep -q \
    "Refused a tunnel for $LONG_USER from $UNDERLAY_CLI port [0-9]*: user $LONG_USER has 2 tunnels open (MaxTunnels 2)" \
    "$TMP/feth-sshd.log"
  stop_pid "$l5" || true
  stop_pid "$l6" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "MaxTunnels 2: the third tunnel (third connection) refused with a line naming the limit; after one closed a new one opened; a 64-byte user's third refused too"
}

case_per_source_startups() {
  E2E_CURRENT="PerSourceMaxStartups"
  start_feth_sshd -o PerSourceMaxStartups=2 -o LogLevel=VERBOSE # for "Connection from"
  local holders=() i
  # Two unauthenticated connections from 198.18.0.2 that never speak hold
  # its two slots; the third is dropped at once; another address is served.
  for i in 1 2; do
    start_bg "hold$i" cli bash -c "exec 3<>/dev/tcp/$UNDERLAY_SRV/$PORT && sleep $(scaled 30)"
    holders+=("$BG_PID")
    wait_until 50 "holder $i accepted" count_above "$TMP/feth-sshd.log" "Connection from $UNDERLAY_CLI port" $((i - 1))
  done
  local status=0
  in_cli timeout "$(scaled 20)" $SSH -b "$UNDERLAY_CLI" root@"$UNDERLAY_SRV" true >"$TMP/third.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "the third connection from $UNDERLAY_CLI: ssh exited $status"
  wait_until 30 "the PerSourceMaxStartups drop line" grep -qE \
    "drop connection #2 from \[$UNDERLAY_CLI\]:[0-9]+ on \[$UNDERLAY_SRV\]:$PORT past PerSourceMaxStartups" "$TMP/feth-sshd.log"
  in_cli timeout "$(scaled 20)" $SSH -b "$OTHER_CLI" root@"$UNDERLAY_SRV" true >"$TMP/other-startup.log" 2>&1 || status=$?
  grep -q "Accepted publickey for root from $OTHER_CLI" "$TMP/feth-sshd.log" || fail "$OTHER_CLI was not served"
  for i in "${holders[@]}"; do stop_pid "$i" || true; done
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "PerSourceMaxStartups 2: a third unauthenticated connection from $UNDERLAY_CLI dropped, $OTHER_CLI served"
}

case_dump
case_penalties
case_per_source_startups
case_max_tunnels
