#!/usr/bin/env bash
# Key exchange against stock OpenSSH (Debian's 9.2, or 10.5 through
# tests/peers/with-openssh.sh): both programs offer OpenSSH 10's
# post-quantum defaults, so
#   - ssh 10.5 -> feth-sshd and feth-ssh -> sshd 10.5 agree on
#     mlkem768x25519-sha256, and ssh 10.5 prints no post-quantum warning;
#   - ssh 9.2 -> feth-sshd and feth-ssh -> sshd 9.2 agree on sntrup761:
#     sntrup761x25519-sha512 with Debian 12's 9.2, which has that name too,
#     sntrup761x25519-sha512@openssh.com with upstream 9.2;
#   - KexAlgorithms moves the choice, and a name libssh lacks is an error.
# And the channel window, which OpenSSH 9.6+ enforces ("peer ignored
# channel window", a disconnect once a peer overruns it by 10%): a heavy
# iperf3 run each way, with stock OpenSSH logging at DEBUG1/VERBOSE, shows
# neither the disconnect nor a single "rcvd too much data".
source "$(dirname "$0")/lib.sh"

peer_version=$("$STOCK_SSH" -V 2>&1 | head -n 1)
peer_major=$(echo "$peer_version" | sed -n 's/^OpenSSH_\([0-9]*\)\.\([0-9]*\).*/\1/p')
peer_minor=$(echo "$peer_version" | sed -n 's/^OpenSSH_\([0-9]*\)\.\([0-9]*\).*/\2/p')
[ -n "$peer_major" ] || { echo "SKIP: cannot tell the version of $STOCK_SSH ($peer_version)"; exit 77; }
# What each side picks is the client's first choice the server offers.
# feth-ssh -> sshd: ours (mlkem768x25519-sha256, sntrup761x25519-sha512,
# sntrup761x25519-sha512@openssh.com, ...) against what the peer
# implements (ssh -Q kex: the same binaries' table). Stock ssh -> feth-sshd:
# the peer's first choice (ssh -G), which feth-sshd offers whenever it is
# post-quantum. OpenSSH 10 picks mlkem768x25519-sha256 either way; 9.2 has
# only sntrup761x25519-sha512@openssh.com, except that Debian 12's (since
# 1:9.2p1-2+deb12u4, Debian bug #1088873) also has the plain name, and puts
# it first.
PQ_KEX=(mlkem768x25519-sha256 sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com)
peer_kex=$("$STOCK_SSH" -Q kex 2>/dev/null || true)
EXPECT_TO_SSHD=""
for k in "${PQ_KEX[@]}"; do
  if grep -qxF "$k" <<<"$peer_kex"; then EXPECT_TO_SSHD=$k; break; fi
done
EXPECT_FROM_SSH=$("$STOCK_SSH" -F /dev/null -G feth-kex.invalid 2>/dev/null |
  sed -n 's/^kexalgorithms \([^,]*\).*/\1/p')
is_pq() { local k; for k in "${PQ_KEX[@]}"; do [ "$1" = "$k" ] && return 0; done; return 1; }
if [ -z "$EXPECT_TO_SSHD" ] || ! is_pq "$EXPECT_FROM_SSH"; then
  echo "SKIP: $peer_version has no post-quantum key exchange by default (first: '$EXPECT_FROM_SSH')"; exit 77
fi
if [ "$peer_major" -ge 10 ] && { [ "$EXPECT_TO_SSHD" != mlkem768x25519-sha256 ] ||
  [ "$EXPECT_FROM_SSH" != mlkem768x25519-sha256 ]; }; then
  echo "FAIL: $peer_version should prefer mlkem768x25519-sha256 (ssh -Q kex / ssh -G say otherwise)"; exit 1
fi
# ML-KEM and sntrup761 came with libssh 0.12.
libssh=$("$FETH_SSHD" --version | sed -n 's/.*(libssh \([0-9.]*\).*/\1/p')
case $libssh in
  0.[0-9]|0.[0-9].*|0.1[01]|0.1[01].*) echo "SKIP: feth-sshd is linked with libssh $libssh, which has no post-quantum key exchange (0.12 has)"; exit 77 ;;
  "") echo "FAIL: feth-sshd --version names no libssh version: $("$FETH_SSHD" --version)"; exit 1 ;;
esac

e2e_init
echo "peer: $peer_version; libssh $libssh; expected: ssh -> feth-sshd $EXPECT_FROM_SSH, feth-ssh -> sshd $EXPECT_TO_SSHD"

# Stock ssh with the test's key at DEBUG1 (-v): "kex: algorithm: ...", the
# post-quantum warning and channel window complaints all reach its log.
STOCK=("$STOCK_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout="$(scaled 5)" -p "$PORT" -v)
FSSH=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)" -p "$PORT" -v)
WARNING="connection is not using a post-quantum key exchange algorithm"

# kex_in LOG: the algorithm a log says was agreed ("kex: algorithm: X";
# ssh ends its -v lines with \r\n).
kex_in() { tr -d '\r' <"$1" | sed -n 's/.*kex: algorithm: \([^ ]*\).*/\1/p' | head -n 1; }

assert_kex() { # LOG WHO EXPECTED
  local got
  got=$(kex_in "$1")
  [ "$got" = "$3" ] || fail "$2: key exchange '$got', expected '$3'"
}

# OpenSSH's complaints about a peer that overruns the channel window
# (channels.c: logit "rcvd too much data", then the disconnect).
assert_window_respected() { # LOG WHO
  ! grep -E "rcvd too much data|peer ignored channel window|rcvd big packet" "$1" ||
    fail "$2 says we overran its channel window"
}

# A heavy run each way: four TCP streams at once keep the pump's window
# check busy at every window boundary. Prints "up down" in Mbit/s.
heavy_iperf() {
  local up down
  up=$(iperf_mbit "$TUN4_SRV" -P 4)
  down=$(iperf_mbit "$TUN4_SRV" -P 4 -R)
  [ "${up:-0}" -gt 0 ] && [ "${down:-0}" -gt 0 ] || fail "iperf3 carried nothing (up=$up down=$down)"
  echo "$up $down"
}

case_stock_ssh_to_feth_sshd() {
  E2E_CURRENT="stock ssh -> feth-sshd"
  start_feth_sshd -o LogLevel=DEBUG1
  start_bg ssh cli "${STOCK[@]}" -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local spid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  assert_kex "$TMP/ssh.log" "ssh" "$EXPECT_FROM_SSH"
  assert_kex "$TMP/feth-sshd.log" "feth-sshd" "$EXPECT_FROM_SSH"
  ! grep -q "$WARNING" "$TMP/ssh.log" || fail "ssh warned: $(grep -m1 "$WARNING" "$TMP/ssh.log")"
  pass "$peer_version -> feth-sshd: $EXPECT_FROM_SSH, no post-quantum warning"
  configure_tunnel tap0 tap0
  wait_until 100 "first ping through the tunnel" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  local rates
  rates=$(heavy_iperf)
  kill -0 "$spid" 2>/dev/null || fail "ssh died during iperf3"
  assert_window_respected "$TMP/ssh.log" "ssh"
  pass "heavy iperf3 (4 streams) to and from ssh: ${rates% *} / ${rates#* } Mbit/s, ssh saw the window kept"
  echo "RESULT pairing=stock-ssh/feth-sshd peer=$peer_major.$peer_minor kex=$EXPECT_FROM_SSH c2s_mbit=${rates% *} s2c_mbit=${rates#* }"
  stop_pid "$spid" || true
  wait_until 30 "server tap0 removed" no_link_in "$NS_SRV" tap0
  stop_pid "$SSHD_PID" || true
}

case_feth_ssh_to_stock_sshd() {
  E2E_CURRENT="feth-ssh -> stock sshd"
  start_stock_sshd ethernet
  # Again at DEBUG1, where sshd logs "kex: algorithm:" (the command line
  # wins over the file's LogLevel VERBOSE).
  stop_pid "$SSHD_PID" || true
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config" -o LogLevel=DEBUG1
  SSHD_PID=$BG_PID
  wait_until 50 "stock sshd listening" grep -q "Server listening" "$TMP/stock-sshd.log"
  start_bg feth-ssh cli "${FSSH[@]}" -w 0:0 root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
  wait_until 100 "tap0 on the server (stock sshd)" link_in "$NS_SRV" tap0
  assert_kex "$TMP/feth-ssh.log" "feth-ssh" "$EXPECT_TO_SSHD"
  assert_kex "$TMP/stock-sshd.log" "sshd" "$EXPECT_TO_SSHD"
  pass "feth-ssh -> $peer_version sshd: $EXPECT_TO_SSHD"
  configure_tunnel tap0 tap0
  wait_until 100 "first ping through the tunnel" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  local rates
  rates=$(heavy_iperf)
  kill -0 "$cpid" 2>/dev/null || fail "feth-ssh died during iperf3"
  assert_window_respected "$TMP/stock-sshd.log" "sshd"
  pass "heavy iperf3 (4 streams) to and from sshd: ${rates% *} / ${rates#* } Mbit/s, sshd saw the window kept"
  echo "RESULT pairing=feth-ssh/stock-sshd peer=$peer_major.$peer_minor kex=$EXPECT_TO_SSHD c2s_mbit=${rates% *} s2c_mbit=${rates#* }"
  stop_pid "$cpid" || true
  wait_until 30 "client tap0 removed" no_link_in "$NS_CLI" tap0
  stop_pid "$SSHD_PID" || true
}

# KexAlgorithms on each side moves the agreement to what it leaves.
case_kex_algorithms_keyword() {
  E2E_CURRENT="KexAlgorithms"
  start_feth_sshd -o LogLevel=DEBUG1 -o KexAlgorithms=curve25519-sha256
  start_bg ssh-classic cli "${STOCK[@]}" -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
  local spid=$BG_PID
  wait_until 100 "a tap on the server" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': tap'"
  assert_kex "$TMP/ssh-classic.log" "ssh" curve25519-sha256
  assert_kex "$TMP/feth-sshd.log" "feth-sshd" curve25519-sha256
  # 10.x warns about exactly this: its absence above is a real check.
  local warned=""
  if [ "$peer_major" -ge 10 ]; then
    grep -q "$WARNING" "$TMP/ssh-classic.log" || fail "ssh $peer_major.$peer_minor did not warn about curve25519-sha256"
    warned=" and warned"
  fi
  stop_pid "$spid" || true
  stop_pid "$SSHD_PID" || true
  pass "feth-sshd KexAlgorithms=curve25519-sha256: ssh agreed to it$warned"

  # What upstream 8.5 to 9.8 offer first: the @openssh.com name of sntrup761.
  start_feth_sshd -o LogLevel=DEBUG1
  start_bg ssh-sntrup cli "${STOCK[@]}" -o KexAlgorithms=sntrup761x25519-sha512@openssh.com,curve25519-sha256 \
    -o Tunnel=ethernet -w any:any -N root@"$UNDERLAY_SRV"
  spid=$BG_PID
  wait_until 100 "a tap on the server" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': tap'"
  assert_kex "$TMP/ssh-sntrup.log" "ssh" sntrup761x25519-sha512@openssh.com
  assert_kex "$TMP/feth-sshd.log" "feth-sshd" sntrup761x25519-sha512@openssh.com
  stop_pid "$spid" || true
  stop_pid "$SSHD_PID" || true
  pass "a client offering sntrup761x25519-sha512@openssh.com first (upstream 9.2) gets it"

  start_stock_sshd ethernet
  stop_pid "$SSHD_PID" || true
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config" -o LogLevel=DEBUG1
  SSHD_PID=$BG_PID
  wait_until 50 "stock sshd listening" grep -q "Server listening" "$TMP/stock-sshd.log"
  start_bg feth-ssh-ecdh cli "${FSSH[@]}" -o KexAlgorithms=-mlkem*,sntrup*,curve* -w any:any root@"$UNDERLAY_SRV"
  local cpid=$BG_PID
  wait_until 100 "a tap on the server (stock sshd)" sh -c "ip netns exec $NS_SRV ip -o link | grep -q ': tap'"
  assert_kex "$TMP/feth-ssh-ecdh.log" "feth-ssh" ecdh-sha2-nistp256
  assert_kex "$TMP/stock-sshd.log" "sshd" ecdh-sha2-nistp256
  stop_pid "$cpid" || true
  stop_pid "$SSHD_PID" || true
  pass "feth-ssh KexAlgorithms=-mlkem*,sntrup*,curve*: sshd agreed to ecdh-sha2-nistp256"

  # Names libssh does not implement: configuration errors, before any
  # connection; -T prints the effective list.
  local out status=0
  : >"$TMP/empty_config"
  out=$("$FETH_SSHD" -t -f "$TMP/empty_config" -h "$TMP/host_ed25519" -o KexAlgorithms=+kyber512-sha256 2>&1) || status=$?
  [ "$status" = 255 ] || fail "feth-sshd -t accepted an unknown KexAlgorithms name (exit $status): $out"
  echo "$out" | grep -q "Bad SSH2 KexAlgorithms '+kyber512-sha256': 'kyber512-sha256' is not implemented" ||
    fail "feth-sshd -t: unclear error: $out"
  out=$("$FETH_SSHD" -T -f "$TMP/empty_config" -h "$TMP/host_ed25519" -o 'KexAlgorithms=^curve25519-sha256') ||
    fail "feth-sshd -T failed: $out"
  echo "$out" | grep -qx "kexalgorithms curve25519-sha256,mlkem768x25519-sha256,sntrup761x25519-sha512,.*" ||
    fail "feth-sshd -T: $(echo "$out" | grep kexalgorithms)"
  status=0
  out=$(in_cli timeout 20 "${FSSH[@]}" -o KexAlgorithms=curve25519-sha256,kyber512-sha256 -w any:any \
    root@"$UNDERLAY_SRV" 2>&1) || status=$?
  [ "$status" = 255 ] || fail "feth-ssh accepted an unknown KexAlgorithms name (exit $status): $out"
  echo "$out" | grep -q "Bad SSH2 KexAlgorithms 'curve25519-sha256,kyber512-sha256': 'kyber512-sha256' is not implemented" ||
    fail "feth-ssh: unclear error: $out"
  pass "unknown names: clear errors from feth-sshd -t and feth-ssh; -T prints the effective list"
}

case_stock_ssh_to_feth_sshd
case_feth_ssh_to_stock_sshd
case_kex_algorithms_keyword
assert_no_sanitizer_reports
