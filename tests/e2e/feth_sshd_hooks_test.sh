#!/usr/bin/env bash
# feth-sshd's interface hooks: TunnelUpCommand configures the server's end
# (so the test never touches it), sees the documented environment, and a
# failing or hanging hook refuses the tunnel; TunnelDownCommand runs after
# the device is gone.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

cat >"$TMP/up.sh" <<EOF2
#!/bin/sh
env | grep '^FETH_' | sort >"$TMP/up.env"
ip addr add $TUN4_SRV/24 dev "\$FETH_INTERFACE" && ip link set "\$FETH_INTERFACE" up
echo "configured \$FETH_INTERFACE"
EOF2
cat >"$TMP/down.sh" <<EOF2
#!/bin/sh
if ip link show dev "\$FETH_INTERFACE" >/dev/null 2>&1; then state=present; else state=gone; fi
echo "\$FETH_INTERFACE \$state" >"$TMP/down.out"
EOF2
chmod +x "$TMP/up.sh" "$TMP/down.sh"

E2E_CURRENT="hooks run with the tunnel's environment"
start_feth_sshd -o "TunnelUpCommand=$TMP/up.sh" -o "TunnelDownCommand=$TMP/down.sh"
start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:7 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "tap7 on the server" link_in "$NS_SRV" tap7
wait_until 100 "tap0 on the client" link_in "$NS_CLI" tap0
in_cli ip addr add "$TUN4_CLI/24" dev tap0
in_cli ip link set tap0 up
wait_until 100 "ping through the tunnel the up hook configured" in_cli ping -c 1 -W 1 "$TUN4_SRV"
for want in FETH_INTERFACE=tap7 FETH_IO_INTERFACE= FETH_MODE=ethernet FETH_UNIT=7 FETH_USER=root \
  "FETH_REMOTE_ADDRESS=$UNDERLAY_CLI"; do
  grep -qx "$want" "$TMP/up.env" || fail "up hook environment lacks '$want': $(cat "$TMP/up.env")"
done
grep -q '^FETH_REMOTE_PORT=[0-9][0-9]*$' "$TMP/up.env" || fail "up hook environment lacks FETH_REMOTE_PORT"
# The hook says so after the link is up: its line may come after the ping.
wait_until 50 "the hook's output in the log" grep -q "configured tap7" "$TMP/feth-sshd.log"
pass "TunnelUpCommand configured tap7 with the documented environment; its output is logged"
stop_pid "$ssh_pid" || true
wait_until 50 "the down hook" test -s "$TMP/down.out"
[ "$(cat "$TMP/down.out")" = "tap7 gone" ] || fail "down hook saw: $(cat "$TMP/down.out")"
pass "TunnelDownCommand ran after tap7 was gone"
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"

E2E_CURRENT="failing and hanging up hooks"
printf '#!/bin/sh\necho refusing >&2\nexit 3\n' >"$TMP/fail.sh"
printf '#!/bin/sh\nsleep 60\n' >"$TMP/hang.sh"
chmod +x "$TMP/fail.sh" "$TMP/hang.sh"
for hook in fail hang; do
  # The failing hook must fail, not time out, on a slow machine too.
  start_feth_sshd -o "TunnelUpCommand=$TMP/$hook.sh" -o TunnelCommandTimeout="$(scaled 1)"
  status=0
  in_cli timeout "$(scaled 30)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" \
    >"$TMP/$hook-client.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "$hook hook: ssh exited $status, expected 255"
  if [ $hook = fail ]; then
    wait_until 30 "a log line naming the hook's status" grep -q "TunnelUpCommand.*exited with status 3" "$TMP/feth-sshd.log"
  else
    wait_until 30 "a log line naming the timeout" grep -q "TunnelUpCommand.*timed out" "$TMP/feth-sshd.log"
  fi
  [ -z "$(tunnel_links "$NS_SRV")" ] || fail "$hook hook: a device was left behind"
  stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
  pass "a $hook up hook refuses the tunnel (ssh exit 255) and leaves no device"
done
assert_no_sanitizer_reports
echo "feth_sshd_hooks: all cases passed"
