#!/usr/bin/env bash
# Running feth-sshd for real: -t and -T on good and bad configurations,
# SIGHUP reloading the configuration for new connections while a live
# tunnel keeps carrying traffic, and Ciphers / RekeyLimit with stock ssh.
source "$(dirname "$0")/lib.sh"
e2e_init
SSH=$(stock_ssh_cmd)

E2E_CURRENT="-t and -T"
cat >"$TMP/good_config" <<CFG
Port $PORT
ListenAddress $UNDERLAY_SRV
HostKey $TMP/host_ed25519
AuthorizedKeysFile $TMP/authorized_keys
PermitTunnel ethernet
StatusSocket $TMP/status.sock
CFG
"$FETH_SSHD" -t -f "$TMP/good_config" >"$TMP/t-good.log" 2>&1 || fail "-t rejected a good configuration: $(cat "$TMP/t-good.log")"
dump=$("$FETH_SSHD" -T -f "$TMP/good_config" -o LogLevel=VERBOSE) || fail "-T failed"
for want in "port $PORT" "listenaddress $UNDERLAY_SRV:$PORT" "permittunnel ethernet" "loglevel VERBOSE" \
  "authorizedkeysfile $TMP/authorized_keys" "hostkey $TMP/host_ed25519"; do
  grep -qx "$want" <<<"$dump" || fail "-T output lacks '$want'"
done
printf 'Port %s\nPermitTunel yes\n' "$PORT" >"$TMP/bad_config"
status=0
"$FETH_SSHD" -t -f "$TMP/bad_config" >"$TMP/t-bad.log" 2>&1 || status=$?
[ "$status" = 255 ] || fail "-t on a bad configuration exited $status, expected 255"
grep -q "$TMP/bad_config line 2: unknown keyword 'PermitTunel'" "$TMP/t-bad.log" ||
  fail "-t does not name file, line and keyword: $(cat "$TMP/t-bad.log")"
pass "-t accepts good and names the bad line; -T prints the effective configuration"

E2E_CURRENT="SIGHUP"
cp "$TMP/good_config" "$TMP/live_config"
# feth-sshd inherits a descriptor (7, of a file of the test's) from whoever
# starts it: closed at startup, it reaches neither the listener nor a
# connection's child.
: >"$TMP/inherited"
exec 7<"$TMP/inherited"
holds_inherited() { ls -l "/proc/$1/fd/" 2>/dev/null | grep -q -- "-> $TMP/inherited\$"; }
start_bg feth-sshd srv "$FETH_SSHD" -D -e -f "$TMP/live_config" --state-dir "$TMP/state"
SSHD_PID=$BG_PID
exec 7<&-
wait_until 50 "feth-sshd listening" grep -q "Server listening" "$TMP/feth-sshd.log"
# The check can fail: this shell holds it right now.
exec 7<"$TMP/inherited"
holds_inherited "$BASHPID" || fail "the inherited-descriptor check cannot see the test shell's descriptor 7"
exec 7<&-
holds_inherited "$SSHD_PID" && fail "feth-sshd kept the inherited descriptor: $(ls -l "/proc/$SSHD_PID/fd/")"
start_bg ssh cli $SSH -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "tap0 on both sides" sh -c "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_CLI ip link show tap0"
configure_tunnel tap0 tap0
ping_both

E2E_CURRENT="sandbox"
# The connection's child (the monitor's child): seccomp filter on, not
# root, no descriptor 7, while it carries the tunnel.
monitor_pid=$(pgrep -P "$SSHD_PID" | head -1)
child_pid=$(pgrep -P "$monitor_pid" | head -1)
[ -n "$child_pid" ] || fail "no connection child under feth-sshd $SSHD_PID"
grep -q $'^Seccomp:\t2$' "/proc/$child_pid/status" ||
  fail "the connection child $child_pid has no seccomp filter: $(grep Seccomp "/proc/$child_pid/status")"
grep -q $'^Uid:\t0\t' "/proc/$child_pid/status" && fail "the connection child $child_pid runs as root"
holds_inherited "$child_pid" && fail "the connection child holds the inherited descriptor"
pass "inherited descriptor closed at startup; the connection child runs under its seccomp filter"
E2E_CURRENT="SIGHUP"

E2E_CURRENT="status socket"
mode=$(stat -c %a "$TMP/status.sock")
[ $((8#$mode & 8#077)) = 0 ] && [ "$(stat -c %U "$TMP/status.sock")" = root ] ||
  fail "the status socket is not root-only: mode $mode"
st1=$("$FETH_SSHD" -S -f "$TMP/live_config") || fail "feth-sshd -S failed"
grep -Eq "^root from $UNDERLAY_CLI port [0-9]+: tap0 ethernet up [0-9]+s out [0-9]+ frames .* dropped 0 oversize 0 device busy [0-9]+$" <<<"$st1" ||
  fail "unexpected status line: $st1"
in_cli ping -c 5 -i 0.05 -w "$(ping_w)" "$TUN4_SRV" >/dev/null
# The connection publishes its counters after it handled a wake-up, which
# may be just after the last reply left: asked until they moved.
status_moved() {
  st2=$("$FETH_SSHD" -S --json -f "$TMP/live_config") || return 1
  python3 - "$st1" "$st2" <<'PY'
import json, re, sys
before = int(re.search(r" in (\d+) frames", sys.argv[1]).group(1))
tunnels = json.loads(sys.argv[2])
assert len(tunnels) == 1, tunnels
t = tunnels[0]
assert t["interface"] == "tap0" and t["mode"] == "ethernet" and t["user"] == "root", t
assert t["frames_in"] >= before + 5, (before, t)
assert t["dropped"] == 0 and t["dropped_oversize"] == 0, t
PY
}
st2=""
wait_until 50 "feth-sshd -S --json: valid, counters up by 5 frames" status_moved
pass "feth-sshd -S lists the live tunnel, root-only socket, counters move, --json parses"
E2E_CURRENT="SIGHUP"
# A ping runs across the reload and must lose nothing: the reload once
# its first replies came.
start_bg ping-across cli ping -c 30 -i 0.1 -w "$(ping_w)" "$TUN4_SRV"
ping_pid=$BG_PID
wait_until 50 "the ping across the reload under way" grep -q "icmp_seq=3 " "$TMP/ping-across.log"
sed -i 's/^PermitTunnel ethernet/PermitTunnel point-to-point/' "$TMP/live_config"
kill -HUP "$SSHD_PID"
wait_until 50 "reload logged" grep -q "configuration reloaded for new connections" "$TMP/feth-sshd.log"
status=0
wait "$ping_pid" || status=$?
[ "$status" = 0 ] || fail "the live tunnel lost pings across SIGHUP: $(tail -3 "$TMP/ping-across.log")"
all_replied 30 <"$TMP/ping-across.log" || fail "pings lost across SIGHUP: $(tail -3 "$TMP/ping-across.log")"
kill -0 "$ssh_pid" 2>/dev/null || fail "the live tunnel's ssh died on SIGHUP"
status=0
in_cli timeout "$(scaled 20)" $SSH -o ExitOnForwardFailure=yes -o Tunnel=ethernet -w 1:1 -N root@"$UNDERLAY_SRV" \
  >"$TMP/after-reload.log" 2>&1 || status=$?
[ "$status" = 255 ] || fail "a new ethernet tunnel after the reload got exit $status; the new PermitTunnel was not applied"
pass "SIGHUP: the live tunnel kept all 30 pings; new connections get the new PermitTunnel"

printf 'Bogus yes\n' >>"$TMP/live_config"
kill -HUP "$SSHD_PID"
wait_until 50 "bad reload logged" grep -q "keeping the running configuration" "$TMP/feth-sshd.log"
kill -0 "$SSHD_PID" 2>/dev/null || fail "feth-sshd died on a bad reload"
in_cli ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "the tunnel stopped after a bad reload"
pass "SIGHUP with a broken file: old configuration kept, tunnel alive"
stop_pid "$ssh_pid" || true
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"

E2E_CURRENT="Ciphers and RekeyLimit"
status=0
"$FETH_SSHD" -t -f "$TMP/good_config" -o Ciphers=no-such-cipher >"$TMP/t-cipher.log" 2>&1 || status=$?
[ "$status" = 255 ] || fail "-t with an unknown cipher exited $status, expected 255"
grep -q "Bad SSH2 cipher spec 'no-such-cipher'" "$TMP/t-cipher.log" ||
  fail "-t does not name the bad cipher: $(cat "$TMP/t-cipher.log")"
# 64 KiB: the server itself must start a key exchange every few dozen
# frames (stock ssh's default limit for AES-GCM is far above that).
start_feth_sshd -o Ciphers=aes256-gcm@openssh.com -o "RekeyLimit=64K"
status=0
in_cli timeout "$(scaled 20)" $SSH -v -c chacha20-poly1305@openssh.com -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV" \
  >"$TMP/cipher-refused.log" 2>&1 || status=$?
[ "$status" = 255 ] && grep -q "no matching cipher found" "$TMP/cipher-refused.log" ||
  fail "a client offering only chacha20 was not refused (exit $status): $(tail -3 "$TMP/cipher-refused.log")"
start_bg ssh-rekey cli $SSH -v -o Tunnel=ethernet -w 0:0 -N root@"$UNDERLAY_SRV"
ssh_pid=$BG_PID
wait_until 100 "tap0 on both sides" sh -c "ip netns exec $NS_SRV ip link show tap0 && ip netns exec $NS_CLI ip link show tap0"
configure_tunnel tap0 tap0
ping_both
grep -q "server->client cipher: aes256-gcm@openssh.com" "$TMP/ssh-rekey.log" || fail "the server's Ciphers was not used"
kex_before=$(grep -c "SSH2_MSG_KEXINIT received" "$TMP/ssh-rekey.log")
out=$(in_cli ping -c 300 -i 0.01 -s 1400 -w $((3 + $(ping_w))) "$TUN4_SRV") || fail "pings lost across re-keys: $(tail -2 <<<"$out")"
all_replied 300 <<<"$out" || fail "pings lost across re-keys: $(tail -2 <<<"$out")"
# ssh logs the server's KEXINIT as it reads it: wait for the third.
wait_until 50 "3 server-initiated key exchanges over ~850 KB with RekeyLimit 64K" \
  count_above "$TMP/ssh-rekey.log" "SSH2_MSG_KEXINIT received" $((kex_before + 2))
kex_after=$(grep -c "SSH2_MSG_KEXINIT received" "$TMP/ssh-rekey.log")
pass "Ciphers chooses the cipher and refuses others; RekeyLimit 64K: $((kex_after - kex_before)) server-initiated re-keys, 300 pings of 1400 bytes, none lost"
stop_pid "$ssh_pid" || true
stop_pid "$SSHD_PID" || fail "feth-sshd did not exit cleanly"
assert_no_sanitizer_reports
echo "feth_sshd_ops: all cases passed"
