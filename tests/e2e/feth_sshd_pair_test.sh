#!/usr/bin/env bash
# The Linux twin of macOS feth pairs: feth-sshd with TunnelBackend pair makes
# a veth pair per tunnel (visible fethN for the user, fethN+5000 for I/O)
# and moves frames through two AF_PACKET sockets, as bpf + NDRV do on a Mac.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

E2E_CURRENT="pair backend"
start_feth_sshd -o TunnelBackend=pair
start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "feth0 on the server" link_in "$NS_SRV" feth0
link_in "$NS_SRV" feth5000 || fail "the I/O peer feth5000 is missing"
wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
configure_tunnel feth0 tap0
ping_both
ping6_both
up=$(iperf_mbit "$TUN4_SRV")
down=$(iperf_mbit "$TUN4_SRV" -R)
[ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
kill -0 "$ssh_pid" 2>/dev/null || fail "ssh died during iperf3"
pass "pair backend iperf3: client->server $up Mbit/s, server->client $down Mbit/s"
echo "RESULT backend=pair ping_avg_ms=$PING_AVG_MS c2s_mbit=$up s2c_mbit=$down"

# One owner per unit (N2): another user asking for feth0 while root's tunnel
# holds it is refused, as sshd refuses a busy tun; root's frames still reach
# only root's two packet sockets on feth5000; "any" gets another unit.
E2E_CURRENT="one owner per unit"
OUSER="fethp$E2E_ID"
OUSER=${OUSER:0:31}
pair_cleanup() {
  local status=$?
  e2e_cleanup
  local rc=$?
  if id "$OUSER" >/dev/null 2>&1; then userdel "$OUSER" >/dev/null 2>&1 || true; fi
  [ "$status" != 0 ] && return "$status"
  return "$rc"
}
trap pair_cleanup EXIT
useradd -M -d "$TMP" -s /bin/sh "$OUSER"
usermod -p '*' "$OUSER" # not locked (a locked account is refused)
chmod 644 "$TMP/authorized_keys" # read as the user logging in
# packet_sockets_on IF: the AF_PACKET sockets bound to IF in the server.
packet_sockets_on() {
  local index
  index=$(in_srv cat "/sys/class/net/$1/ifindex")
  in_srv awk -v i="$index" 'NR > 1 && $5 == i' /proc/net/packet | wc -l
}
[ "$(packet_sockets_on feth5000)" = 2 ] || fail "feth5000 has $(packet_sockets_on feth5000) packet sockets, not root's 2"
start_bg ssh-other cli $SSH -o Tunnel=ethernet -o ExitOnForwardFailure=yes -w 1:0 -N "$OUSER@$UNDERLAY_SRV"
other_pid=$BG_PID
wait_until 100 "$OUSER's ssh to end" sh -c "! kill -0 $other_pid 2>/dev/null"
status=0
wait "$other_pid" || status=$?
[ "$status" != 0 ] || fail "$OUSER's ssh -w 1:0 was not refused"
grep -q "Tunnel forwarding failed" "$TMP/ssh-other.log" || fail "ssh did not see the tunnel open fail"
grep -qE "Refused a tunnel for $OUSER from .*device feth0: in use by another tunnel, pid [0-9]+ \(feth-sshd: root from $UNDERLAY_CLI" \
  "$TMP/feth-sshd.log" || fail "the server log does not name feth0 and its holder"
[ "$(packet_sockets_on feth5000)" = 2 ] || fail "another socket was bound to feth5000"
in_srv ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_CLI" >/dev/null || fail "root's tunnel stopped carrying frames"
pass "$OUSER refused feth0 held by root (logged with the holder); only root's 2 sockets on feth5000; root's tunnel carries on"
start_bg ssh-any cli $SSH -o Tunnel=ethernet -o ExitOnForwardFailure=yes -w 1:any -N "$OUSER@$UNDERLAY_SRV"
any_pid=$BG_PID
wait_until 100 "$OUSER's tunnel on feth1" grep -q "Tunnel feth1 (ethernet) opened for $OUSER" "$TMP/feth-sshd.log"
stop_pid "$any_pid" || true
wait_until 50 "feth1 removed" no_link_in "$NS_SRV" feth1
pass "any skips the held feth0: $OUSER got feth1"

# A SIGKILLed monitor leaves its pair: asking for its unit again removes it
# and makes it anew; killed again, the next feth-sshd start removes it.
E2E_CURRENT="monitor SIGKILLed"
one_monitor() { [ "$(pgrep -P "$SSHD_PID" | wc -w)" = 1 ]; }
kill_monitor() { # the listener's only connection (root's)
  local monitor
  # A connection that just closed (the refused and the 'any' ones) may
  # still be exiting: its monitor is gone in a moment (slowly under ASan).
  wait_until 100 "one monitor left under the listener" one_monitor
  monitor=$(pgrep -P "$SSHD_PID")
  kill -KILL "$monitor"
  wait_until 100 "ssh to end with its connection" sh -c "! kill -0 $ssh_pid 2>/dev/null"
  wait "$ssh_pid" 2>/dev/null || true
}
kill_monitor
link_in "$NS_SRV" feth0 || fail "feth0 did not outlive its monitor (nothing to sweep)"
start_bg ssh-again cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "the leftover removed when feth0 is asked for" \
  grep -q "device feth0: removing the pair feth0/feth5000 a tunnel that ended left behind" "$TMP/feth-sshd.log"
wait_until 100 "feth0 opened again" grep -q "Tunnel feth0 (ethernet) opened for root" "$TMP/feth-sshd.log"
kill_monitor
stop_pid "$SSHD_PID" 50 || true
start_feth_sshd -o TunnelBackend=pair
grep -q "removed the pair feth0/feth5000 a tunnel that ended left behind" "$TMP/feth-sshd.log" || fail "no sweep at start"
no_link_in "$NS_SRV" feth0 && no_link_in "$NS_SRV" feth5000 || fail "the pair outlived the next feth-sshd start"
start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "feth0 on the server" link_in "$NS_SRV" feth0
wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
configure_tunnel feth0 tap0
ping_both
pass "SIGKILLed monitors: the pair removed when its unit was asked for and at the next start; feth0 usable again"

# feth-ssh's root part SIGKILLed with its own pair: the next feth-ssh start
# removes it.
E2E_CURRENT="feth-ssh root part SIGKILLed"
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT" -o TunnelBackend=pair)
start_bg feth-ssh cli "${FSSH[@]}" -w 0:any root@"$UNDERLAY_SRV"
fssh_pid=$BG_PID
wait_until 100 "feth-ssh's pair feth0" link_in "$NS_CLI" feth0
kill -KILL "$fssh_pid"
wait "$fssh_pid" 2>/dev/null || true
link_in "$NS_CLI" feth0 || fail "feth0 did not outlive feth-ssh's root part (nothing to sweep)"
start_bg feth-ssh-2 cli "${FSSH[@]}" -w 1:any root@"$UNDERLAY_SRV"
fssh_pid=$BG_PID
wait_until 100 "the next feth-ssh's pair feth1" link_in "$NS_CLI" feth1
no_link_in "$NS_CLI" feth0 && no_link_in "$NS_CLI" feth5000 || fail "feth-ssh's leftover pair outlived its next start"
stop_pid "$fssh_pid" || true
pass "feth-ssh root part SIGKILLed: its pair removed when the next feth-ssh started"

E2E_CURRENT="pair backend"
kill -KILL "$ssh_pid"
wait "$ssh_pid" 2>/dev/null || true
wait_until 20 "feth0 removed after client SIGKILL" no_link_in "$NS_SRV" feth0
no_link_in "$NS_SRV" feth5000 || fail "feth5000 left behind"
pass "client SIGKILL: both veth ends gone within $(scaled 2) s"

# A second tunnel, then SIGTERM to the server with the tunnel up.
start_bg ssh2 cli $SSH -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
wait_until 100 "a feth on the server" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': feth'"
status=0
stop_pid "$SSHD_PID" 50 || status=$?
[ "$status" = 0 ] || fail "feth-sshd exited $status on SIGTERM"
[ -z "$(tunnel_links "$NS_SRV")" ] || fail "devices left after SIGTERM: $(tunnel_links "$NS_SRV" | tr '\n' ' ')"
pass "server SIGTERM: no veth left"

# Every name let go: each namespace's lock directory (tunnel/device_lock.cpp,
# /run/feth-ssh/net-<inode>) went with its last lock, the killed holders'
# files included (their units were asked for again, or swept at start).
E2E_CURRENT="lock directories"
for ns in "$NS_SRV" "$NS_CLI"; do
  lockdir=/run/feth-ssh/net-$(stat -L -c %i "/run/netns/$ns")
  [ ! -e "$lockdir" ] || fail "$lockdir is left: $(ls -A "$lockdir" | tr '\n' ' ')"
done
pass "no device lock directory left for either namespace"
assert_no_sanitizer_reports
