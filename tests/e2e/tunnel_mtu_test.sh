#!/usr/bin/env bash
# TunnelMTU: feth-sshd's keyword (global and in Match blocks) and feth-ssh's
# (-o and ssh_config) give the tunnel devices their MTU, so that 9000-byte
# packets cross unfragmented (ping -M do); bad values are refused with file,
# line and the limit; a device that existed before gets the MTU asked for.
# The underlay keeps MTU 1500: frames travel inside the SSH connection's TCP.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT")
# The largest limit on this platform, as the programs print it.
RANGE="default or a number from 68 to 16370"

mtu_of() { ip netns exec "$1" cat "/sys/class/net/$2/mtu"; }

# expect_mtu NS IF MTU: the interface's MTU as `ip -o link` shows it.
expect_mtu() {
  local ns=$1 dev=$2 want=$3 line
  line=$(ip netns exec "$ns" ip -o link show dev "$dev") || fail "no $dev in $ns"
  grep -q " mtu $want " <<<"$line" || fail "$dev in $ns: expected mtu $want, ip -o link says: $line"
}

# big_ping_both SIZE: IPv4 pings of SIZE payload bytes with DF set, both ways.
big_ping_both() {
  local size=$1 out
  wait_until 100 "first ping through the tunnel" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  out=$(in_cli ping -M do -s "$size" -c 3 -i 0.2 -w "$(ping_w)" "$TUN4_SRV" 2>&1) ||
    fail "ping -M do -s $size client->server: $out"
  out=$(in_srv ping -M do -s "$size" -c 3 -i 0.2 -w "$(ping_w)" "$TUN4_CLI" 2>&1) ||
    fail "ping -M do -s $size server->client: $out"
}

# One byte more than the MTU allows is refused by the sender's own kernel:
# the device really has that MTU, not a larger one.
too_big_refused() { # NS ADDR SIZE
  local ns=$1 addr=$2 size=$3 out status=0
  out=$(ip netns exec "$ns" ping -M do -s "$size" -c 1 -W 1 "$addr" 2>&1) || status=$?
  [ "$status" != 0 ] || fail "ping -M do -s $size crossed a device that should be smaller: $out"
  grep -qi "message too long\|mtu" <<<"$out" || fail "ping -M do -s $size failed, but not for the MTU: $out"
}

case_config_check() {
  E2E_CURRENT="feth-sshd -t / -T"
  cat >"$TMP/good.conf" <<CFG
HostKey $TMP/host_ed25519
TunnelMTU 9000
Match User alice
  TunnelMTU 1400
CFG
  local dump
  dump=$("$FETH_SSHD" -T -f "$TMP/good.conf") || fail "-T rejected a good configuration"
  grep -qx "tunnelmtu 9000" <<<"$dump" || fail "-T lacks 'tunnelmtu 9000': $dump"
  grep -qx "match user alice tunnelmtu 1400" <<<"$dump" || fail "-T lacks the Match line: $dump"
  : >"$TMP/empty.conf"
  dump=$("$FETH_SSHD" -T -f "$TMP/empty.conf" -o HostKey="$TMP/host_ed25519") || fail "-T failed"
  grep -qx "tunnelmtu default" <<<"$dump" || fail "-T without TunnelMTU lacks 'tunnelmtu default'"

  local status
  for bad in 0 67 16371 65536 9k default9000; do
    printf 'HostKey %s\nPermitTunnel yes\nTunnelMTU %s\n' "$TMP/host_ed25519" "$bad" >"$TMP/bad.conf"
    status=0
    "$FETH_SSHD" -t -f "$TMP/bad.conf" >"$TMP/t-bad.log" 2>&1 || status=$?
    [ "$status" = 255 ] || fail "-t with TunnelMTU $bad exited $status, expected 255"
    grep -qF "$TMP/bad.conf line 3: bad value '$bad' for TunnelMTU (expected $RANGE)" "$TMP/t-bad.log" ||
      fail "-t with TunnelMTU $bad does not name file, line and limit: $(cat "$TMP/t-bad.log")"
  done
  printf 'HostKey %s\nMatch User bob\n  TunnelMTU 20000\n' "$TMP/host_ed25519" >"$TMP/bad-match.conf"
  status=0
  "$FETH_SSHD" -t -f "$TMP/bad-match.conf" >"$TMP/t-bad.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "-t with a bad TunnelMTU in Match exited $status"
  grep -qF "$TMP/bad-match.conf line 3: bad value '20000' for TunnelMTU" "$TMP/t-bad.log" ||
    fail "bad TunnelMTU in a Match block not named: $(cat "$TMP/t-bad.log")"
  status=0
  "$FETH_SSHD" -t -f "$TMP/empty.conf" -o HostKey="$TMP/host_ed25519" -o TunnelMTU=16371 >"$TMP/t-bad.log" 2>&1 || status=$?
  [ "$status" = 255 ] && grep -qF "command line: -o 'TunnelMTU=16371': bad value '16371'" "$TMP/t-bad.log" ||
    fail "-o TunnelMTU=16371 not refused by name: $(cat "$TMP/t-bad.log")"

  # feth-ssh refuses before it touches the network or a device.
  printf 'Host *\n  TunnelMTU 99999\n' >"$TMP/client.conf"
  chmod 600 "$TMP/client.conf"
  status=0
  in_cli "$FETH_SSH" -F "$TMP/client.conf" -w 0:0 root@"$UNDERLAY_SRV" >"$TMP/c-bad.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "feth-ssh with TunnelMTU 99999 exited $status, expected 255"
  grep -qF "$TMP/client.conf line 2: bad value '99999' for TunnelMTU (expected $RANGE)" "$TMP/c-bad.log" ||
    fail "feth-ssh does not name file, line and limit: $(cat "$TMP/c-bad.log")"
  [ -z "$(tunnel_links "$NS_CLI")" ] || fail "feth-ssh made a device despite the bad value"
  pass "bad values refused with file, line and limit (server and client); -T prints tunnelmtu"
}

case_feth_ssh_to_feth_sshd() {
  E2E_CURRENT="feth-ssh -o TunnelMTU=9000 -> feth-sshd TunnelMTU 9000"
  start_feth_sshd -o TunnelMTU=9000
  start_bg feth-ssh cli "${FSSH[@]}" -o TunnelMTU=9000 -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  expect_mtu "$NS_SRV" tap0 9000
  expect_mtu "$NS_CLI" tap0 9000
  [ "$(mtu_of "$NS_SRV" "$(underlay)")" = 1500 ] || fail "the underlay's MTU changed"
  configure_tunnel tap0 tap0
  big_ping_both 8972
  too_big_refused "$NS_CLI" "$TUN4_SRV" 8973
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died"
  stop_pid "$cpid" || fail "feth-ssh did not exit cleanly"
  wait_until 30 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "both taps MTU 9000; ping -M do -s 8972 crosses both ways, 8973 does not leave"
}

case_stock_ssh_to_feth_sshd() {
  E2E_CURRENT="stock ssh -> feth-sshd TunnelMTU 9000"
  cat >"$TMP/mtu.conf" <<CFG
TunnelMTU 9000
CFG
  start_feth_sshd -f "$TMP/mtu.conf"
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local spid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  expect_mtu "$NS_SRV" tap0 9000
  # Stock ssh sets no MTU: the client side's admin does.
  expect_mtu "$NS_CLI" tap0 1500
  in_cli ip link set dev tap0 mtu 9000
  configure_tunnel tap0 tap0
  big_ping_both 8972
  stop_pid "$spid" || true
  wait_until 30 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "stock ssh: the server's tap0 MTU 9000 from the file; ping -M do -s 8972 crosses"
}

case_match_block() {
  E2E_CURRENT="Match User/Address TunnelMTU"
  cat >"$TMP/match.conf" <<CFG
TunnelMTU 9000
Match User alice
  TunnelMTU 1400
Match User root Address 198.18.0.0/24
  TunnelMTU 4000
CFG
  start_feth_sshd -f "$TMP/match.conf"
  start_bg feth-ssh cli "${FSSH[@]}" -o TunnelMTU=4000 -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  expect_mtu "$NS_SRV" tap0 4000
  expect_mtu "$NS_CLI" tap0 4000
  configure_tunnel tap0 tap0
  big_ping_both 3972
  too_big_refused "$NS_SRV" "$TUN4_CLI" 3973
  stop_pid "$cpid" || fail "feth-ssh did not exit cleanly"
  wait_until 30 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "Match User root Address ...: tap0 gets 4000, not the global 9000 or alice's 1400"
}

case_pair_backend() {
  E2E_CURRENT="TunnelBackend pair, TunnelMTU 9000"
  start_feth_sshd -o TunnelBackend=pair -o TunnelMTU=9000
  start_bg feth-ssh cli "${FSSH[@]}" -o TunnelBackend=pair -o TunnelMTU=9000 -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "feth0 on the server" link_in "$NS_SRV" feth0
  wait_until 100 "feth0 on the client" link_in "$NS_CLI" feth0
  local ns
  for ns in "$NS_SRV" "$NS_CLI"; do
    expect_mtu "$ns" feth0 9000
    expect_mtu "$ns" feth5000 9000
  done
  configure_tunnel feth0 feth0
  big_ping_both 8972
  stop_pid "$cpid" || fail "feth-ssh did not exit cleanly"
  wait_until 30 "server feth0 removed" no_link_in "$NS_SRV" feth0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "pair backend: both veth ends MTU 9000 on both hosts; ping -M do -s 8972 crosses"
}

case_existing_device() {
  E2E_CURRENT="existing tap and pair get the MTU asked for"
  start_feth_sshd
  # The admin's persistent tap3 and veth pair feth1/feth5001, at MTU 1500.
  in_cli ip tuntap add dev tap3 mode tap
  in_cli ip link add feth1 type veth peer name feth5001
  in_cli ip link set feth5001 up
  expect_mtu "$NS_CLI" tap3 1500
  start_bg feth-ssh-tap cli "${FSSH[@]}" -o TunnelMTU=9000 -w 3:0 root@"$UNDERLAY_SRV"
  local tpid=$BG_PID
  wait_until 100 "feth-ssh attached to tap3" grep -q "device tap3: MTU 1500 -> 9000 (existing device)" \
    "$TMP/feth-ssh-tap.log"
  expect_mtu "$NS_CLI" tap3 9000
  stop_pid "$tpid" || fail "feth-ssh (tap3) did not exit cleanly"
  link_in "$NS_CLI" tap3 || fail "the admin's tap3 was removed"
  expect_mtu "$NS_CLI" tap3 9000 # kept: documented
  start_bg feth-ssh-pair cli "${FSSH[@]}" -o TunnelBackend=pair -o TunnelMTU=9000 -w 1:0 root@"$UNDERLAY_SRV"
  local ppid=$BG_PID
  wait_until 100 "feth-ssh on the existing pair" grep -q "device feth1: MTU 1500 -> 9000 (existing pair" \
    "$TMP/feth-ssh-pair.log"
  expect_mtu "$NS_CLI" feth1 9000
  expect_mtu "$NS_CLI" feth5001 9000
  stop_pid "$ppid" || fail "feth-ssh (pair) did not exit cleanly"
  link_in "$NS_CLI" feth1 || fail "the admin's pair was removed"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "an existing tap and veth pair are set to the MTU asked for, logged, and kept"
}

# The client's side of the MTU rule (issue 15): feth-sshd's tap0 has MTU
# 9000, feth-ssh's the default 1500. The server sends 3000-byte pings
# without DF (ping -M dont), one 3042-byte frame each: feth-ssh's pump drops
# them (above 1500 plus the Ethernet header) and counts them in its SIGUSR1
# status line; pings of normal size still cross both ways.
status_lines() { grep -c -E "$STATUS_RE" "$STATUS_LOG" || true; }
more_status_lines() { [ "$(status_lines)" -gt "$1" ]; }
# usr1_drops PID: sends feth-ssh a SIGUSR1 and prints its status line's
# count of frames dropped above the MTU.
usr1_drops() {
  local n
  n=$(status_lines)
  kill -USR1 "$1"
  wait_until 50 "a status line after SIGUSR1" more_status_lines "$n"
  grep -o -E "$STATUS_RE" "$STATUS_LOG" | tail -1 | sed -E 's/.* ([0-9]+) above the MTU$/\1/'
}

case_client_drops_oversize() {
  E2E_CURRENT="feth-ssh (MTU 1500) drops frames from a TunnelMTU 9000 server"
  start_feth_sshd -o TunnelMTU=9000
  start_bg feth-ssh cli "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID log="$TMP/feth-ssh.log" before after out
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  expect_mtu "$NS_SRV" tap0 9000
  expect_mtu "$NS_CLI" tap0 1500
  configure_tunnel tap0 tap0
  ping_both
  STATUS_RE='dropped [0-9]+ from device, [0-9]+ from server, [0-9]+ above the MTU'
  STATUS_LOG=$log
  before=$(usr1_drops "$cpid")
  [ "$before" = 0 ] || fail "feth-ssh counted $before frames above the MTU before any was sent"
  out=$(in_srv ping -M dont -s 3000 -c 3 -i 0.2 -W 1 "$TUN4_CLI" 2>&1) &&
    fail "3000-byte pings crossed a client device of MTU 1500: $out"
  after=$(usr1_drops "$cpid")
  [ "$after" -ge 3 ] || fail "feth-ssh counted $after frames above the MTU after 3 were sent, expected at least 3"
  ping_both
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died"
  stop_pid "$cpid" || fail "feth-ssh did not exit cleanly"
  wait_until 30 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "client tap0 MTU 1500: $after 3042-byte frames from the server dropped and counted (status line); normal pings cross"
}

case_config_check
case_feth_ssh_to_feth_sshd
case_stock_ssh_to_feth_sshd
case_match_block
case_pair_backend
case_existing_device
case_client_drops_oversize
assert_no_sanitizer_reports
echo "tunnel_mtu: all cases passed"
