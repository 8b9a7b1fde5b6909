#!/usr/bin/env bash
# feth-sshd's policy as sshd's: authorized_keys options (tunnel=, restrict,
# from=, expiry-time, unknown options), DenyUsers, Match User PermitTunnel,
# and that the connection really runs as the unprivileged user.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)
KEY=$(cat "$TMP/id_ed25519.pub")

set_key_options() { # OPTIONS (empty: none)
  if [ -n "$1" ]; then echo "$1 $KEY" >"$TMP/authorized_keys"; else echo "$KEY" >"$TMP/authorized_keys"; fi
  chmod 600 "$TMP/authorized_keys"
}

expect_refused() { # NAME W LOGPATTERN
  local status=0
  in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w "$2" -N root@"$UNDERLAY_SRV" \
    >"$TMP/$1.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "$1: ssh exited $status, expected 255"
  # Another process of the server (monitor or child) may log it just after
  # ssh saw the refusal.
  wait_until 30 "$1: a log line matching '$3'" grep -q -- "$3" "$TMP/feth-sshd.log"
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "$1: a device was left on the server"
}

expect_tunnel() { # NAME W DEVICE
  start_bg "$1" cli $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w "$2" -N root@"$UNDERLAY_SRV"
  local pid=$BG_PID
  wait_until 100 "$3 on the server ($1)" link_in "$NS_SRV" "$3"
  stop_pid "$pid" || true
  wait_until 30 "$3 removed ($1)" no_link_in "$NS_SRV" "$3"
}

case_privsep_user() {
  E2E_CURRENT="privilege separation"
  set_key_options ""
  start_feth_sshd
  start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
  local ssh_pid=$BG_PID
  wait_until 100 "tap0 on the server" link_in "$NS_SRV" tap0
  # The listener's grandchild speaks SSH: it must not be root and must be chrooted.
  local child users
  users=$(ps -o user= --ppid "$(pgrep -P "$SSHD_PID" | head -1)" | sort -u)
  [ -n "$users" ] && ! echo "$users" | grep -qx root || fail "the SSH-speaking child runs as '$users'"
  child=$(pgrep -P "$(pgrep -P "$SSHD_PID" | head -1)" | head -1)
  [ "$(readlink "/proc/$child/root")" = /run/feth-sshd/empty ] || fail "child $child is not chrooted"
  grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$child/status" || fail "child $child lacks no_new_privs"
  stop_pid "$ssh_pid" || true
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "the child runs as $users, chrooted to /run/feth-sshd/empty, no_new_privs"
}

case_tunnel_option() {
  E2E_CURRENT='tunnel="3"'
  set_key_options 'tunnel="3"'
  start_feth_sshd
  expect_tunnel forced-any any:any tap3
  expect_refused forced-other 0:0 "the key's tunnel=\"3\" option forbids unit 0"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass 'tunnel="3": any gives tap3, unit 0 refused'
}

case_restrict() {
  E2E_CURRENT="restrict"
  set_key_options 'restrict,pty,port-forwarding'
  start_feth_sshd
  expect_refused restrict 0:0 'the key.s "restrict" option forbids tunnels'
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "restrict blocks tunnels even with pty,port-forwarding after it"
}

case_from() {
  E2E_CURRENT="from="
  set_key_options 'from="198.18.0.0/24,!198.18.0.2"'
  start_feth_sshd
  expect_refused from-negated 0:0 "not from a permitted host (host=$UNDERLAY_CLI"
  wait_until 30 "a Failed publickey line" grep -q "Failed publickey for root from $UNDERLAY_CLI" "$TMP/feth-sshd.log"
  stop_pid "$SSHD_PID" || true
  set_key_options 'from="198.18.0.0/24"'
  start_feth_sshd
  expect_tunnel from-ok 0:0 tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "from=: negated address refused, CIDR accepted"
}

case_expiry_and_unknown() {
  E2E_CURRENT="expiry-time / unknown option"
  set_key_options 'expiry-time="20200101"'
  start_feth_sshd
  expect_refused expired 0:0 "entry expired at 2020-01-01"
  stop_pid "$SSHD_PID" || true
  set_key_options 'no-pty,frobnicate'
  start_feth_sshd
  expect_refused unknown-option 0:0 "bad key options: unknown key option"
  stop_pid "$SSHD_PID" || true
  set_key_options 'expiry-time="29991231",no-pty,no-agent-forwarding,command="true",environment="A=b"'
  start_feth_sshd
  expect_tunnel future 0:0 tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "expired key and unknown option refused; accepted options ignored"
}

case_deny_users_and_match() {
  E2E_CURRENT="DenyUsers / Match"
  set_key_options ""
  start_feth_sshd -o DenyUsers=root
  expect_refused deny 0:0 "User root from $UNDERLAY_CLI not allowed because listed in DenyUsers"
  stop_pid "$SSHD_PID" || true
  cat >"$TMP/match.conf" <<CFG
PermitTunnel yes
Match User root Address 198.18.0.0/24
  PermitTunnel point-to-point
CFG
  start_feth_sshd -f "$TMP/match.conf"
  expect_refused match 0:0 "PermitTunnel does not allow ethernet tunnels"
  stop_pid "$SSHD_PID" || true
  cat >"$TMP/match2.conf" <<CFG
PermitTunnel no
Match User alice
  PermitTunnel yes
Match User root
  PermitTunnel ethernet
CFG
  start_feth_sshd -f "$TMP/match2.conf"
  expect_tunnel match-ok 0:0 tap0
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "DenyUsers refuses root; Match User/Address PermitTunnel decides"
}

case_privsep_user
case_tunnel_option
case_restrict
case_from
case_expiry_and_unknown
case_deny_users_and_match
assert_no_sanitizer_reports
echo "feth_sshd_policy: all cases passed"
