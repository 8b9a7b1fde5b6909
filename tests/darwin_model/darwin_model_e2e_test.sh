#!/usr/bin/env bash
# The Darwin backends end to end, against the model of xnu: feth-sshd and
# feth-ssh built with the feth and utun backends (tests/darwin_model), a
# darwin-modeld in each namespace, stock OpenSSH on the other side. The
# monitor opens the devices through the model and passes the descriptors
# to the sandboxed child over SCM_RIGHTS, which runs the exact Darwin
# bpf/NDRV/utun code on them. Usage (ctest sets the variables):
#   DARWIN_MODELD=... FETH_SSHD=<model feth-sshd> FETH_SSH=<model feth-ssh> darwin_model_e2e_test.sh [CASE...]
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT")

start_bg modeld-srv srv "$DARWIN_MODELD"
start_bg modeld-cli cli "$DARWIN_MODELD"
wait_until 50 "darwin-modeld in both namespaces" sh -c \
  "grep -q ready '$TMP/modeld-srv.log' && grep -q ready '$TMP/modeld-cli.log'"

feth_links() { ip netns exec "$1" ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^feth' || true; }

# peered_in NS A B: the model made A and B a pair (its veth stand-in): the
# interfaces appear one by one while the pair is being made.
peered_in() { ip netns exec "$1" ip -o link show dev "$2" 2>/dev/null | grep -q ": $2@$3:"; }

# The server's tunnel counters (its status socket), for a failure message.
server_status() { "$FETH_SSHD" -S -f /dev/null -o StatusSocket="$TMP/status.sock" 2>&1 || true; }

# 300 echo requests at once from the server: their frames reach the
# server's bpf descriptor many records per read, more than the pump takes
# per wakeup; the rest wait in user space where poll() cannot see them.
# IPv6 is off on both ends first, so that no later frame (neighbour
# discovery, MLD) wakes the pump and hides frames left behind.
# (A burst from the client, through stock ssh's tap, was seen to lose some
# 15% of its first replies in about one run in four, with either backend:
# not understood, so not asserted. 15 such bursts through this model in 5
# fresh tunnels all got their 300 first replies, and the ARP queue
# discarded nothing; ping's own summary, which counts the extra requests
# -w sends as lost, said 2-58% loss.) burst_300 SRV_IF CLI_IF
burst_300() {
  in_srv sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1"
  in_cli sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  local out
  out=$(in_srv ping -c 300 -l 300 -i 0.001 -w "$(ping_w)" "$TUN4_CLI") || true
  echo "$out" | all_replied 300 || fail "a 300-frame burst from the server lost replies: $(echo "$out" | tail -2); $(server_status)"
  pass "300 echo requests in one burst from the server: all answered"
}

# Echo requests the client's kernel has received (its namespace's ICMP
# counters): counts what reached it, whatever the sender makes of replies.
client_in_echos() { in_cli awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else print $c }' /proc/net/snmp; }

# The same burst handed to the server's reader in one bpf read: the model's
# batch knob announces nothing until all 300 records wait, as on a Mac
# whose reader was not scheduled while they arrived. The pump takes 64 per
# wakeup; the other 236 wait in user space, where poll() cannot announce
# them (macOS review item 4: the pump must take them without POLLIN). Only
# the pump may bring them: no frame may follow to wake it. So exactly 300
# requests (no -w: ping would send more while replies are missing) and no
# ARP either way (neighbours pinned for the burst).
# stranded_burst_300 SRV_IF SRV_IO_IF CLI_IF
stranded_burst_300() {
  local before srv_mac cli_mac
  srv_mac=$(in_srv cat "/sys/class/net/$1/address")
  cli_mac=$(in_cli cat "/sys/class/net/$3/address")
  in_srv ip neigh replace "$TUN4_CLI" lladdr "$cli_mac" dev "$1" nud permanent
  in_cli ip neigh replace "$TUN4_SRV" lladdr "$srv_mac" dev "$3" nud permanent
  before=$(client_in_echos)
  in_srv "$DARWIN_MODELD" --inject bpf-batch 300 "$2"
  in_srv ping -q -c 300 -l 300 -i 0.001 -W 1 "$TUN4_CLI" >/dev/null 2>&1 || true # its own count does not matter
  local got=0 _
  for _ in $(seq 1 "$(scaled 30)"); do
    got=$(($(client_in_echos) - before))
    [ "$got" -lt 300 ] || break
    sleep 0.1
  done
  [ "$got" -ge 300 ] ||
    fail "300 frames handed over in one bpf read: $got reached the client within $(($(scaled 30) / 10)) s, the rest stayed in the read buffer; $(server_status)"
  in_srv ip neigh del "$TUN4_CLI" dev "$1"
  in_cli ip neigh del "$TUN4_SRV" dev "$3"
  pass "300 frames handed to the pump in one bpf read: all reached the client within $(($(scaled 30) / 10)) s"
}

# Errors the server logged, but for the test machine's missing
# privilege-separation user (start_feth_sshd runs without it).
server_errors() { grep -iE "error|fatal|sanitizer" "$TMP/feth-sshd.log" | grep -v "privilege separation user" || true; }

# iperf3 through the tunnel for 2 s (the later -t wins over iperf_mbit's
# 5): TCP both ways at once, the data to the server through NDRV, its ACKs
# back through bpf.
iperf_through_tunnel() {
  local mbit
  mbit=$(iperf_mbit "$TUN4_SRV" -t 2)
  [ "${mbit:-0}" -gt 0 ] || fail "iperf3 through the tunnel: ${mbit:-no} Mbit/s"
  pass "iperf3 through stock ssh -w and the feth backend: $mbit Mbit/s"
}

# The pids of PID and its descendants (feth-sshd: its connection monitors
# and their per-connection programs), and the memory they hold.
tree_pids() {
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do tree_pids "$c"; done
}
tree_rss_kb() { ps -o rss= -p "$(tree_pids "$1" | paste -sd,)" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

# The server tunnel's frames and bytes sent to the peer (its status line).
server_out_bytes() { server_status | sed -n 's/.* out [0-9]* frames \([0-9]*\) bytes .*/\1/p' | head -1; }
# Frames the client's ssh wrote to its tap (the kernel took them or its
# backlog dropped them).
tap_written() { in_cli sh -c "echo \$((\$(cat /sys/class/net/$1/statistics/rx_packets) + \$(cat /sys/class/net/$1/statistics/rx_dropped)))"; }
tap_written_above() { [ "$(tap_written "$1")" -gt "$2" ]; }

# udp_flood ADDR SECONDS: from the server, 1400-byte datagrams to ADDR's
# discard port at some 5000 a second (7 MB/s), whatever becomes of them
# (ping would slow down while no reply comes).
udp_flood() {
  in_srv python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + float(sys.argv[2])
data = bytes(1400)
while time.monotonic() < end:
    for _ in range(50):
        try:
            s.sendto(data, (sys.argv[1], 9))
        except OSError:
            pass
    time.sleep(0.01)
' "$1" "$2"
}

# The SSH peer stops reading (SIGSTOP of the client's ssh) while the server
# sends 2 s of 1400-byte datagrams, some 14 MB, into the tunnel. The channel
# window (2 MB, OpenSSH's for a tun channel) fills, the pump stops reading
# the bpf and the kernel's bpf buffer drops the rest (counted there): the
# server sends no more than the window and its memory holds no more than a
# read batch. After SIGCONT the client's tap receives again. (Stock ssh
# then spends some 7 s of CPU on the 2 MB backlog, 9.2 and 10.5 alike,
# strace showing a ~700 kB buffer allocated and freed again and again: too
# slow to wait for here, so this runs last, before the client is killed.)
# window_fills SSH_PID SRV_IF CLI_IF
window_fills() {
  local ssh_pid=$1 srv_if=$2 cli_if=$3 rss_before rss_after out_before out_after written
  # The client's MAC pinned: with its ssh stopped, ARP would get no answer
  # and the kernel would send nothing into the tunnel.
  in_srv ip neigh replace "$TUN4_CLI" lladdr "$(in_cli cat "/sys/class/net/$cli_if/address")" dev "$srv_if" nud permanent
  rss_before=$(tree_rss_kb "$SSHD_PID")
  out_before=$(server_out_bytes)
  kill -STOP "$ssh_pid"
  udp_flood "$TUN4_CLI" 2
  out_after=$(server_out_bytes)
  rss_after=$(tree_rss_kb "$SSHD_PID")
  written=$(tap_written "$cli_if")
  kill -CONT "$ssh_pid"
  [ $((out_after - out_before)) -lt $((3 * 1024 * 1024)) ] ||
    fail "the server sent $((out_after - out_before)) bytes to a peer that read nothing (its window is 2 MB)"
  [ $((out_after - out_before)) -gt $((1024 * 1024)) ] ||
    fail "the window did not fill: $((out_after - out_before)) bytes sent while the peer was stopped"
  [ $((rss_after - rss_before)) -lt $((8 * 1024)) ] ||
    fail "feth-sshd grew from $rss_before to $rss_after kB while its peer's window was full"
  wait_until 100 "the client's $cli_if receiving again after SIGCONT" tap_written_above "$cli_if" "$written"
  kill -0 "$ssh_pid" 2>/dev/null || fail "ssh ended while its window was full"
  in_srv ip neigh del "$TUN4_CLI" dev "$srv_if"
  pass "peer stopped 2 s under 7 MB/s: $(((out_after - out_before) / 1024)) kB sent (its window), feth-sshd $rss_before -> $rss_after kB, frames flow again after SIGCONT"
}

case_ethernet_feth() {
  E2E_CURRENT="stock ssh -w, feth backend"
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "feth0 peered with feth5000 on the server" peered_in "$NS_SRV" feth0 feth5000
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  configure_tunnel feth0 tap0
  ping_both
  ping6_both
  burst_300 feth0 tap0
  iperf_through_tunnel
  stranded_burst_300 feth0 feth5000 tap0
  # The driver's queue full: NDRV says ENOBUFS, the pump retries on its
  # timer and nothing is lost.
  in_srv "$DARWIN_MODELD" --inject ndrv-enobufs 20 feth5000
  local out
  out=$(in_srv ping -c 10 -i 0.05 -w "$(ping_w)" "$TUN4_CLI") || true
  echo "$out" | all_replied 10 || fail "pings lost to 20 injected ENOBUFS: $(echo "$out" | tail -2)"
  kill -0 "$ssh_pid" 2>/dev/null || fail "the tunnel ended on ENOBUFS"
  pass "20 NDRV sends refused with ENOBUFS: retried, all 10 pings answered"
  window_fills "$ssh_pid" feth0 tap0
  server_errors | grep -q . && fail "errors in the server log: $(server_errors)"
  kill -KILL "$ssh_pid"
  wait "$ssh_pid" 2>/dev/null || true
  wait_until 50 "feth0 and feth5000 removed after the client's SIGKILL" sh -c \
    "! ip netns exec $NS_SRV ip link show feth0 && ! ip netns exec $NS_SRV ip link show feth5000"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "feth backend through the sandboxed child: ping, ping6, burst; pair removed"
}

# Stock ssh 10.5 (post-quantum key exchange, its own channel code) against
# the feth backend: the tunnel and a burst. Skipped, saying why, where the
# peer is absent (tests/e2e's fixture builds it from ../shared/peers).
case_openssh10_feth() {
  E2E_CURRENT="stock ssh 10.5 -w, feth backend"
  local prefix
  prefix=$(head -n 1 "${OPENSSH10_PREFIX_FILE:-/nonexistent}" 2>/dev/null || true)
  case $prefix in
    '') echo "SKIP [$E2E_CURRENT]: no OpenSSH 10.5 peer (${OPENSSH10_PREFIX_FILE:-OPENSSH10_PREFIX_FILE unset} is missing)"; return 0 ;;
    SKIP:*) echo "SKIP [$E2E_CURRENT]: $prefix"; return 0 ;;
  esac
  [ -x "$prefix/bin/ssh" ] || fail "the OpenSSH 10.5 peer in $prefix has no bin/ssh"
  start_feth_sshd
  start_bg ssh10 cli $(STOCK_SSH=$prefix/bin/ssh stock_ssh_cmd) -o Tunnel=ethernet -w 3:3 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "feth3 peered with feth5003 on the server" peered_in "$NS_SRV" feth3 feth5003
  wait_until 100 "tap3 on the client" link_in "$NS_CLI" tap3
  configure_tunnel feth3 tap3
  ping_both
  burst_300 feth3 tap3
  stop_pid "$ssh_pid" || true
  wait_until 50 "feth3 removed" no_link_in "$NS_SRV" feth3
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "$("$prefix/bin/ssh" -V 2>&1 | cut -d, -f1) -w through the feth backend: ping both ways, 300-frame burst; pair removed"
}

case_point_to_point_utun() {
  E2E_CURRENT="stock ssh -w, utun backend"
  start_feth_sshd -o PermitTunnel=yes
  start_bg ssh-p2p cli $SSH -o Tunnel=point-to-point -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "utun0 on the server" link_in "$NS_SRV" utun0
  wait_until 100 "tun0 on the client" link_in "$NS_CLI" tun0
  in_srv ip addr add "$TUN4_SRV" peer "$TUN4_CLI" dev utun0
  in_srv ip link set utun0 up
  in_cli ip addr add "$TUN4_CLI" peer "$TUN4_SRV" dev tun0
  in_cli ip link set tun0 up
  ping_both
  burst_300 utun0 tun0
  stop_pid "$ssh_pid" || true
  wait_until 50 "utun0 gone with its last descriptor" no_link_in "$NS_SRV" utun0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "utun backend: ping both ways, burst; utun0 gone when the tunnel closed"
}

case_tunnel_mtu_9000() {
  E2E_CURRENT="TunnelMTU 9000"
  start_feth_sshd -o TunnelMTU=9000
  start_bg ssh-mtu cli $SSH -o Tunnel=ethernet -w 1:1 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "feth1 peered with feth5001 on the server" peered_in "$NS_SRV" feth1 feth5001
  wait_until 100 "tap1 on the client" link_in "$NS_CLI" tap1
  grep -q "raised net.link.fake.max_mtu to 9000" "$TMP/feth-sshd.log" || fail "the sysctl was not raised"
  # The device appears before its MTU is set.
  wait_until 50 "feth1 and feth5001 at MTU 9000" sh -c "ip netns exec $NS_SRV ip link show feth1 | grep -q 'mtu 9000' &&
    ip netns exec $NS_SRV ip link show feth5001 | grep -q 'mtu 9000'"
  in_cli ip link set tap1 mtu 9000
  configure_tunnel feth1 tap1
  wait_until 100 "first ping" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  in_cli ping -c 3 -s 8900 -M do -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "8900-byte pings did not cross"
  stop_pid "$ssh_pid" || true
  wait_until 50 "feth1 removed" no_link_in "$NS_SRV" feth1
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "TunnelMTU 9000: max_mtu raised, pair at 9000, 8900-byte pings unfragmented"
}

kill_stock_sshd_tree() {
  local tree
  tree=$(ps -o pid= --ppid "$SSHD_PID" 2>/dev/null || true)
  # shellcheck disable=SC2086
  kill -KILL "$SSHD_PID" $tree 2>/dev/null || true
  wait "$SSHD_PID" 2>/dev/null || true
}

configure_server_tap() {
  local t
  t=$(tunnel_links "$NS_SRV" | head -1)
  [ -n "$t" ] || return 1
  in_srv ip addr replace "$TUN4_SRV/24" dev "$t" && in_srv ip link set "$t" up
}

# The restarted sshd's tap is a new interface with a new MAC: the client's
# neighbour entry for it is stale, not a fault of the tunnel.
server_tap_pings() { configure_server_tap && in_cli ip neigh flush dev feth0 && in_cli ping -c 1 -W 1 "$TUN4_SRV"; }

case_root_part_reconnect() {
  E2E_CURRENT="feth-ssh root part, feth backend, --reconnect"
  start_stock_sshd ethernet
  echo "ClientAliveInterval 1" >>"$TMP/sshd_config"
  start_bg feth-ssh-rc cli "${FSSH[@]}" --reconnect -o ServerAliveInterval=1 -o ServerAliveCountMax=2 \
    -w 0:any root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "client feth0 peered with feth5000" peered_in "$NS_CLI" feth0 feth5000
  wait_until 100 "a server tap" configure_server_tap
  in_cli ip addr add "$TUN4_CLI/24" dev feth0
  in_cli ip link set feth0 up
  wait_until 100 "first ping" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  local cindex log=$TMP/feth-ssh-rc.log reconnects
  cindex=$(in_cli cat /sys/class/net/feth0/ifindex)
  reconnects=$(count_of "$log" "Reconnecting to")
  kill_stock_sshd_tree
  wait_until 100 "feth-ssh noticing sshd gone" count_above "$log" "Reconnecting to" "$reconnects"
  # Traffic queued while the server is away goes to the bpf buffer, and
  # the reconnect must drain it all: none of it may reach the new session
  # (macOS review 2, defect 11). The batch knob hands the 1000 frames over
  # in one read, as a Mac does after a busy spell; the drain takes 256 per
  # call, and what it leaves in the read buffer poll() cannot announce. No
  # later frame may wake the drain (ARP probes for the vanished server,
  # IPv6): IPv6 off, and the server pinned to a made-up MAC while the
  # burst is sent (its tap is gone with sshd: any address will do).
  in_cli sysctl -qw net.ipv6.conf.feth0.disable_ipv6=1
  in_cli ip neigh replace "$TUN4_SRV" lladdr 02:00:00:00:00:01 dev feth0 nud permanent
  in_cli "$DARWIN_MODELD" --inject bpf-batch 1000 feth5000
  in_cli ping -q -c 1000 -l 1000 -i 0.001 -W 1 "$TUN4_SRV" >/dev/null 2>&1 || true
  in_cli ip neigh del "$TUN4_SRV" dev feth0
  start_bg stock-sshd-2 srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config"
  SSHD_PID=$BG_PID
  wait_until 100 "ping after sshd came back" server_tap_pings
  # The new session carried the few frames since (ARP, the pings above),
  # not the 1000 from before.
  local statuses sent
  statuses=$(count_of "$log" "Status: tunnel")
  kill -USR1 "$cpid"
  wait_until 50 "feth-ssh's status line" count_above "$log" "Status: tunnel" "$statuses"
  sent=$(grep "Status: tunnel" "$log" | tail -1 | sed -n 's/.*to server \([0-9]*\) frames.*/\1/p')
  [ -n "$sent" ] && [ "$sent" -lt 500 ] ||
    fail "frames queued while disconnected reached the new session (the drain left them in the read buffer): $(grep "Status: tunnel" "$log" | tail -1)"
  pass "the 1000 frames queued while sshd was away were drained, not forwarded: the new session carried $sent"
  [ "$(in_cli cat /sys/class/net/feth0/ifindex)" = "$cindex" ] || fail "the client's feth0 was replaced"
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh exited"
  stop_pid "$cpid" || true
  wait_until 50 "client feth0 removed" no_link_in "$NS_CLI" feth0
  [ -z "$(feth_links "$NS_CLI")" ] || fail "feth interfaces left on the client: $(feth_links "$NS_CLI")"
  kill_stock_sshd_tree
  pass "feth-ssh's root part with the feth backend: tunnel, sshd restart, same feth0 again, nothing left"
}

# kill -9 of a connection's monitor: nothing destroys its feth pair (feth
# interfaces are not tied to a descriptor, if_fake.c:3686-3712), so the
# next feth-sshd must sweep it at start-up (the pair carries this host's
# MAC marks, tunnel/darwin/feth_pair.cpp; review defect 6).
case_kill9_monitor() {
  E2E_CURRENT="kill -9 of the monitor"
  start_feth_sshd
  start_bg ssh-k9 cli $SSH -o Tunnel=ethernet -w 2:2 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID monitor
  wait_until 100 "feth2 peered with feth5002 on the server" peered_in "$NS_SRV" feth2 feth5002
  monitor=$(ps -o pid= --ppid "$SSHD_PID" | head -1 | tr -d ' ')
  [ -n "$monitor" ] || fail "no connection monitor under feth-sshd"
  kill -KILL "$monitor"
  wait_until 50 "ssh ending with its connection" sh -c "! kill -0 $ssh_pid 2>/dev/null"
  stop_pid "$SSHD_PID" || true
  start_feth_sshd
  [ -z "$(feth_links "$NS_SRV")" ] || fail "feth interfaces left after kill -9 and a restart: $(feth_links "$NS_SRV" | tr '\n' ' ')"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "kill -9 of the monitor: the restarted feth-sshd swept the pair"
}

# One owner per unit (issue 26), on the feth backend: another user asking
# for feth0 while root's tunnel holds it is refused, as sshd refuses a busy
# tun, and the server log names the holder; root's tunnel carries on; the
# other user's "any" gets feth1.
OUSER=""
model_cleanup() {
  local status=$?
  e2e_cleanup
  local rc=$?
  if [ -n "$OUSER" ] && id "$OUSER" >/dev/null 2>&1; then userdel "$OUSER" >/dev/null 2>&1 || true; fi
  [ "$status" != 0 ] && return "$status"
  return "$rc"
}
trap model_cleanup EXIT
case_two_users_one_unit() {
  E2E_CURRENT="two users, one feth unit"
  start_feth_sshd
  start_bg ssh-root cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local root_pid=$BG_PID other_pid any_pid status=0
  wait_until 100 "feth0 peered with feth5000 on the server" peered_in "$NS_SRV" feth0 feth5000
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  configure_tunnel feth0 tap0
  ping_both
  OUSER="fethm$E2E_ID"
  OUSER=${OUSER:0:31}
  useradd -M -d "$TMP" -s /bin/sh "$OUSER"
  usermod -p '*' "$OUSER" # not locked (a locked account is refused)
  chmod 644 "$TMP/authorized_keys" # read as the user logging in
  start_bg ssh-other cli $SSH -o Tunnel=ethernet -o ExitOnForwardFailure=yes -w 1:0 -N "$OUSER@$UNDERLAY_SRV"
  other_pid=$BG_PID
  wait_until 100 "$OUSER's ssh to end" sh -c "! kill -0 $other_pid 2>/dev/null"
  wait "$other_pid" || status=$?
  [ "$status" != 0 ] || fail "$OUSER's ssh -w 1:0 was not refused"
  grep -qE "Refused a tunnel for $OUSER from .*device feth0: in use by another tunnel, pid [0-9]+" \
    "$TMP/feth-sshd.log" || fail "the server log does not name feth0 and its holder"
  ping_both
  pass "$OUSER refused feth0 held by root; root's tunnel carries on"
  start_bg ssh-any cli $SSH -o Tunnel=ethernet -o ExitOnForwardFailure=yes -w 1:any -N "$OUSER@$UNDERLAY_SRV"
  any_pid=$BG_PID
  wait_until 100 "$OUSER's tunnel on feth1" grep -q "Tunnel feth1 (ethernet) opened for $OUSER" "$TMP/feth-sshd.log"
  stop_pid "$any_pid" || true
  stop_pid "$root_pid" || true
  wait_until 50 "feth0, feth1 and their peers removed" sh -c "[ -z \"\$(ip netns exec $NS_SRV ip -o link show | grep -E ': feth')\" ]"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "any skips the held feth0: $OUSER got feth1; every pair removed"
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(ethernet_feth openssh10_feth point_to_point_utun tunnel_mtu_9000 root_part_reconnect kill9_monitor
  two_users_one_unit)
for c in "${cases[@]}"; do "case_$c"; done
