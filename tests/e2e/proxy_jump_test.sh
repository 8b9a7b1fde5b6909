#!/usr/bin/env bash
# feth-ssh through a jump host: -J (ProxyJump) and ProxyCommand, against
# stock sshd on both the jump host and the target. Three namespaces: the
# client reaches only the jump host (198.18.0.0/24), the jump host also
# reaches the target (198.18.1.0/24), the client has no route there.
# feth-ssh runs as root, so its SSH part, and the proxy ssh with it, runs
# as nobody: the proxy's config is readable by nobody; its key is either
# readable by nobody too, or root's alone (0600), which the proxy ssh uses
# through the agent socket the root part makes for it (the last -J case).
source "$(dirname "$0")/lib.sh"
e2e_init

NS_TGT="fe-tgt-$E2E_ID"
JUMP=$UNDERLAY_SRV    # the jump host, in $NS_SRV
JUMP_INNER=198.18.1.1 # the jump host's address towards the target
TARGET=198.18.1.2

target_cleanup() {
  local pids
  pids=$(ip netns pids "$NS_TGT" 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  ip netns del "$NS_TGT" 2>/dev/null || true
}
# The target's namespace first, then lib.sh's cleanup with the exit status.
on_exit() {
  local st=$?
  set +e
  target_cleanup
  (exit "$st")
  e2e_cleanup
}
trap on_exit EXIT

in_tgt() { ip netns exec "$NS_TGT" "$@"; }

ip netns add "$NS_TGT"
in_tgt ip link set lo up
ip link add "t$E2E_ID" netns "$NS_SRV" type veth peer name "t$E2E_ID" netns "$NS_TGT"
in_srv ip addr add "$JUMP_INNER/24" dev "t$E2E_ID"
in_tgt ip addr add "$TARGET/24" dev "t$E2E_ID"
in_srv ip link set "t$E2E_ID" up
in_tgt ip link set "t$E2E_ID" up
wait_until 50 "jump host -> target ping" in_srv ping -c 1 -W 1 "$TARGET"
! in_cli ping -c 1 -W 1 "$TARGET" >/dev/null 2>&1 || fail "the client reaches the target directly"
pass "client reaches only the jump host"

# stock sshd, jump host (no tunnels) and target (PermitTunnel yes).
mkdir -p /run/sshd
sshd_config() { # ADDRESS PERMIT_TUNNEL AUTHORIZED_KEYS
  cat <<CFG
Port $PORT
ListenAddress $1
HostKey $TMP/host_ed25519
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $3
StrictModes no
UsePAM no
PidFile none
PermitTunnel $2
AllowTcpForwarding yes
LogLevel VERBOSE
CFG
}
cp "$TMP/authorized_keys" "$TMP/jump_authorized_keys"
sshd_config "$JUMP" no "$TMP/jump_authorized_keys" >"$TMP/jump_sshd_config"
sshd_config "$TARGET" yes "$TMP/authorized_keys" >"$TMP/target_sshd_config"
start_bg jump-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/jump_sshd_config"
: >"$TMP/target-sshd.log"
ip netns exec "$NS_TGT" "$STOCK_SSHD" -D -e -f "$TMP/target_sshd_config" >>"$TMP/target-sshd.log" 2>&1 &
TARGET_SSHD=$!
E2E_PIDS+=("$TARGET_SSHD")
wait_until 50 "jump sshd listening" grep -q "Server listening" "$TMP/jump-sshd.log"
wait_until 50 "target sshd listening" grep -q "Server listening" "$TMP/target-sshd.log"

# What the proxy ssh (as nobody) uses: -F is passed down to it, as ssh does.
cp "$TMP/id_ed25519" "$TMP/proxy_key"
chmod 644 "$TMP/proxy_key"
cat >"$TMP/proxy_config" <<CFG
Port $PORT
IdentityFile $TMP/proxy_key
UserKnownHostsFile /dev/null
StrictHostKeyChecking no
BatchMode yes
ConnectTimeout $(scaled 5)
CFG
chmod 644 "$TMP/proxy_config"
FSSH=("$FETH_SSH" -F "$TMP/proxy_config" -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)")

# An ssh -W to the target running in the client's namespace (a proxy).
proxy_running() {
  local p
  for p in $(ip netns pids "$NS_CLI" 2>/dev/null); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-W .*$TARGET" && return 0
  done
  return 1
}
no_proxy_running() { ! proxy_running; }

tunnel_through() { # NAME ARGS...
  local name=$1
  shift
  local from
  from=$(count_of "$TMP/target-sshd.log" "Accepted publickey for root from $JUMP_INNER")
  start_bg "$name" cli "${FSSH[@]}" -w 0:0 "$@" root@"$TARGET"
  local cpid=$BG_PID
  wait_until 150 "tap0 on the client ($name)" link_in "$NS_CLI" tap0
  wait_until 150 "tap0 on the target ($name)" link_in "$NS_TGT" tap0
  in_tgt ip addr add "$TUN4_SRV/24" dev tap0
  in_tgt ip link set tap0 up
  in_cli ip addr add "$TUN4_CLI/24" dev tap0
  in_cli ip link set tap0 up
  wait_until 100 "first ping through the tunnel ($name)" in_cli ping -c 1 -W 1 "$TUN4_SRV"
  in_cli ping -c 5 -i 0.1 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "ping through the tunnel ($name)"
  in_tgt ping -c 3 -i 0.1 -w "$(ping_w)" "$TUN4_CLI" >/dev/null || fail "ping back through the tunnel ($name)"
  count_above "$TMP/target-sshd.log" "Accepted publickey for root from $JUMP_INNER" "$from" ||
    fail "the target did not see the connection from the jump host ($JUMP_INNER)"
  ! grep -q "from $UNDERLAY_CLI" "$TMP/target-sshd.log" || fail "the target saw the client's address"
  proxy_running || fail "no proxy process while the tunnel is up ($name)"
  [ -z "${WHILE_UP:-}" ] || "$WHILE_UP"
  local status=0
  stop_pid "$cpid" || status=$?
  [ "$status" = 0 ] || fail "feth-ssh ($name) exited $status on SIGTERM, expected 0"
  wait_until 50 "the proxy gone after feth-ssh ($name)" no_proxy_running
  wait_until 30 "client tap0 removed ($name)" no_link_in "$NS_CLI" tap0
  wait_until 50 "target tap0 removed ($name)" no_link_in "$NS_TGT" tap0
}

E2E_CURRENT="-J"
tunnel_through feth-ssh-jump -J root@"$JUMP"
pass "-J root@$JUMP: tunnel up, ping both ways, target saw $JUMP_INNER, proxy and devices gone after SIGTERM"

E2E_CURRENT="ProxyCommand"
tunnel_through feth-ssh-pc -o ProxyCommand="ssh -F $TMP/proxy_config -l root -W %h:%p $JUMP"
pass "ProxyCommand ssh -W %h:%p: tunnel up, ping both ways, target saw $JUMP_INNER, proxy and devices gone"

# The pid of the ssh -W to the target in the client's namespace, if any.
proxy_pid() {
  local p
  for p in $(ip netns pids "$NS_CLI" 2>/dev/null); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-W .*$TARGET"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
new_proxy() { local p; p=$(proxy_pid) && [ "$p" != "$1" ]; }
# Configures whichever tap the target made, with the same MAC every time
# (the client's neighbour cache stays right), and pings through it.
target_tap_pings() {
  local t found=1
  for t in $(tunnel_links "$NS_TGT"); do
    in_tgt ip link set dev "$t" address 02:fe:18:00:01:01 2>/dev/null || true
    in_tgt ip addr add "$TUN4_SRV/24" dev "$t" 2>/dev/null || true
    in_tgt ip link set "$t" up
    found=0
  done
  [ "$found" = 0 ] && in_cli ping -c 1 -W 1 "$TUN4_SRV"
}

# Started by root directly, through a jump host that knows only root's key
# (0600, not readable by the nobody the proxy ssh runs as, and in no config
# the proxy reads): the proxy ssh signs through the root part's agent, at
# a socket in a directory of nobody's own, which is gone afterwards.
E2E_CURRENT="-J as root, the jump host knowing only root's key"
ssh-keygen -q -t ed25519 -N '' -C e2e-root-only -f "$TMP/root_only"
chmod 600 "$TMP/root_only"
cp "$TMP/root_only.pub" "$TMP/jump_authorized_keys"
cat "$TMP/root_only.pub" >>"$TMP/authorized_keys"
cat >"$TMP/root_proxy_config" <<CFG
Port $PORT
UserKnownHostsFile /dev/null
StrictHostKeyChecking no
BatchMode yes
ConnectTimeout $(scaled 5)
CFG
chmod 644 "$TMP/root_proxy_config"
nobody_uid=$(id -u nobody)
agent_socket_of_proxy() {
  local p sock dir
  p=$(proxy_pid) || fail "no proxy"
  [ "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" = "$nobody_uid" ] || fail "the proxy ssh is not nobody's"
  sock=$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^SSH_AUTH_SOCK=//p')
  dir=${sock%/*}
  [ -S "$sock" ] || fail "the proxy's SSH_AUTH_SOCK '$sock' is no socket"
  # The run's directory (client/run_dir.hpp), named after the root part.
  [[ $dir == /run/feth-ssh-client/[0-9]*.?????? ]] || fail "the agent socket $sock is not in a run directory"
  [ "$(stat -c '%u %a' /run/feth-ssh-client)" = "0 755" ] || fail "/run/feth-ssh-client is not root's 755"
  [ "$(stat -c '%u %a' "$dir")" = "$nobody_uid 700" ] || fail "$dir is $(stat -c '%u %a' "$dir"), not nobody's 700"
  ROOT_RUN_DIR=$dir
  [ "$(stat -c '%u %a' "$sock")" = "$nobody_uid 600" ] || fail "$sock is $(stat -c '%u %a' "$sock")"
  ROOT_AGENT_SOCKET=$sock
}
before=$(count_of "$TMP/jump-sshd.log" "Accepted publickey for root from $UNDERLAY_CLI")
FSSH_SAVED=("${FSSH[@]}")
FSSH=("$FETH_SSH" -F "$TMP/root_proxy_config" -i "$TMP/root_only" -o UserKnownHostsFile="$TMP/known_hosts"
  -o StrictHostKeyChecking=no -o ConnectTimeout="$(scaled 5)")
WHILE_UP=agent_socket_of_proxy tunnel_through feth-ssh-root-jump -J root@"$JUMP"
FSSH=("${FSSH_SAVED[@]}")
count_above "$TMP/jump-sshd.log" "Accepted publickey for root from $UNDERLAY_CLI" "$before" ||
  fail "the jump host did not accept root's key"
grep -q "Accepted publickey for root from $UNDERLAY_CLI.*$(ssh-keygen -lf "$TMP/root_only.pub" | awk '{print $2}')" \
  "$TMP/jump-sshd.log" || fail "the jump host accepted another key than root's"
[ ! -e "$ROOT_AGENT_SOCKET" ] || fail "the agent socket $ROOT_AGENT_SOCKET is left"
[ ! -e "$ROOT_RUN_DIR" ] || fail "the run directory $ROOT_RUN_DIR is left: $(ls -la "$ROOT_RUN_DIR")"
cat "$TMP/id_ed25519.pub" >>"$TMP/jump_authorized_keys" # for the cases below
pass "-J as root: the jump host, knowing only root's 0600 key, accepted it from the nobody proxy ssh through the root part's agent socket (nobody's 0700 directory), tunnel up, socket and run directory gone after SIGTERM"

E2E_CURRENT="Reconnect through -J"
start_bg feth-ssh-rc cli "${FSSH[@]}" --reconnect -o ServerAliveInterval=1 -o ServerAliveCountMax=2 -w 0:any \
  -J root@"$JUMP" root@"$TARGET"
rcpid=$BG_PID
wait_until 150 "tap0 on the client (reconnect)" link_in "$NS_CLI" tap0
in_cli ip addr add "$TUN4_CLI/24" dev tap0
in_cli ip link set tap0 up
wait_until 150 "first ping (reconnect)" target_tap_pings
first_proxy=$(proxy_pid) || fail "no proxy process"
# The proxy dies (a lost jump connection): feth-ssh reconnects with a new one.
kill -KILL "$first_proxy"
wait_until 200 "a new proxy" new_proxy "$first_proxy"
wait_until 200 "ping after the reconnect" target_tap_pings
grep -q "Reconnecting to" "$TMP/feth-ssh-rc.log" || fail "no reconnect logged"
status=0
stop_pid "$rcpid" || status=$?
[ "$status" = 0 ] || fail "feth-ssh --reconnect exited $status on SIGTERM, expected 0"
wait_until 50 "the proxy gone (reconnect)" no_proxy_running
pass "--reconnect -J: the proxy killed, a new proxy started (pid $first_proxy -> another), ping again, none left after SIGTERM"

E2E_CURRENT="ProxyCommand=false"
status=0
in_cli timeout "$(scaled 30)" "${FSSH[@]}" -w 0:0 -o ProxyCommand=false root@"$TARGET" >"$TMP/false.log" 2>&1 ||
  status=$?
[ "$status" = 255 ] || fail "ProxyCommand=false: exit $status, expected 255"
grep -q "ProxyCommand 'false' exited with status 1" "$TMP/false.log" || fail "the error does not name the command and its status"
[ -z "$(tunnel_links "$NS_CLI")" ] || fail "a device was left behind"
[ -z "$(ip netns pids "$NS_CLI")" ] || fail "a process was left in the client namespace"
pass "ProxyCommand=false: exit 255, '$(grep -o "ProxyCommand 'false' exited with status 1" "$TMP/false.log" | head -1)', nothing left"
