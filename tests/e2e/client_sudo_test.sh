#!/usr/bin/env bash
# feth-ssh started through sudo by an ordinary user, against Debian's stock
# sshd: sudo is invisible (the user's name, ~/.ssh/config, key and
# known_hosts, which stays the user's), the SSH-speaking process runs as the
# user while the root part that holds the device is uid 0, the root hooks
# run as root, killing either part removes the device and leaves no
# process, root@host still logs in as root, and SUDO_* that disagree with
# the password database are refused.
source "$(dirname "$0")/lib.sh"
e2e_init

if ! command -v sudo >/dev/null || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
  echo "SKIP: needs sudo, useradd and runuser (.ci/install-deps installs sudo)"
  exit 77
fi

# A user and a sudoers drop-in of this run's own, removed on every exit.
TUSER="fethsu$E2E_ID"
TUSER=${TUSER:0:31}
SUDOERS="/etc/sudoers.d/feth-e2e-$E2E_ID"
sudo_cleanup() {
  local status=$?
  rm -f "$SUDOERS"
  e2e_cleanup
  local rc=$?
  # After e2e_cleanup: no process of the user is left to keep it busy.
  if id "$TUSER" >/dev/null 2>&1; then
    pkill -KILL -u "$TUSER" 2>/dev/null || true
    userdel -r "$TUSER" >/dev/null 2>&1 || userdel "$TUSER" >/dev/null 2>&1 || true
  fi
  [ "$status" != 0 ] && return "$status"
  return "$rc"
}
trap sudo_cleanup EXIT

THOME="$TMP/home-$TUSER"
useradd -M -d "$THOME" -s /bin/sh "$TUSER"
# Not locked: sshd (UsePAM no) refuses a locked account even for a key.
usermod -p '*' "$TUSER"
mkdir -p "$THOME/.ssh"
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
chown -R "$TUSER:$TGID" "$THOME"
chmod 700 "$THOME" "$THOME/.ssh"
runuser -u "$TUSER" -- ssh-keygen -q -t ed25519 -N '' -C "$TUSER-key" -f "$THOME/.ssh/key_$TUSER"
# Only the user's key opens the server (for the user and for root).
cp "$THOME/.ssh/key_$TUSER.pub" "$TMP/authorized_keys"
# sshd reads it as the user logging in.
chmod 644 "$TMP/authorized_keys"
cat >"$THOME/.ssh/config" <<EOF
# The local user is the sudo user for Match localuser and %u too: as root
# there would be no HostName and no key.
Match localuser $TUSER
  HostName $UNDERLAY_SRV
  IdentityFile ~/.ssh/key_%u
Host srv
  Port $PORT
  StrictHostKeyChecking accept-new
  ConnectTimeout $(scaled 5)
  TunnelUpCommand id -u >$TMP/up-hook.uid
  TunnelDownCommand id -u >$TMP/down-hook.uid
EOF
chown "$TUSER:$TGID" "$THOME/.ssh/config"
chmod 600 "$THOME/.ssh/config"

{
  printf 'Defaults:%s env_keep += "SSH_AUTH_SOCK"\n' "$TUSER"
  printf '%s ALL=(root) NOPASSWD: %s\n' "$TUSER" "$FETH_SSH"
} >"$SUDOERS.tmp"
chmod 440 "$SUDOERS.tmp"
visudo -cqf "$SUDOERS.tmp" || fail "the test's sudoers line does not parse"
mv "$SUDOERS.tmp" "$SUDOERS"

# pids of every descendant of $1.
descendants() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    echo "$c"
    descendants "$c"
  done
}

# feth_ssh_pids PID: the feth-ssh processes below PID.
feth_ssh_pids() {
  local p
  for p in $(descendants "$1"); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$FETH_SSH")" ] && echo "$p"
  done
  return 0
}

uid_line() { awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$1/status"; }

# find_parts PID: sets ROOT_PART and SSH_PART from the feth-ssh processes
# below PID (the SSH part is the root part's child).
find_parts() {
  local p
  ROOT_PART="" SSH_PART=""
  for p in $(feth_ssh_pids "$1"); do
    if [ "$(uid_line "$p")" = "0 0 0 0" ]; then ROOT_PART=$p; else SSH_PART=$p; fi
  done
  [ -n "$ROOT_PART" ] && [ -n "$SSH_PART" ] &&
    [ "$(ps -o ppid= -p "$SSH_PART" | tr -d ' ')" = "$ROOT_PART" ]
}

# As the user: sudo feth-ssh ARGS, in the client namespace.
start_sudo_feth_ssh() {
  local name=$1
  shift
  start_bg "$name" cli runuser -u "$TUSER" -- sudo -n "$FETH_SSH" "$@"
}

# sshd opens the server's tap as the user who logged in: an ordinary user
# may open only a persistent one that is theirs (the namespace takes it
# with it), through a /dev/net/tun they may open. Here that node is root's
# alone (0600), so sshd runs in a mount namespace of its own where a node
# of the same device, 0666 on a tmpfs of this run, is bound over it; the
# system's node is not touched.
REAL_SSHD=$STOCK_SSHD
mkdir "$TMP/tundev"
cat >"$TMP/sshd-wrap.sh" <<EOF
#!/bin/sh
exec unshare -m sh -c 'd=\$1; shift; mount -t tmpfs -o mode=755 feth-e2e-tun "\$d" &&
  mknod -m 666 "\$d/tun" c 10 200 && mount --bind "\$d/tun" /dev/net/tun && exec "\$@"' sh "$TMP/tundev" "$REAL_SSHD" "\$@"
EOF
chmod 755 "$TMP/sshd-wrap.sh"
STOCK_SSHD="$TMP/sshd-wrap.sh"
in_srv ip tuntap add dev tap0 mode tap user "$TUSER"
# Up already: sshd would set IFF_UP itself, which needs CAP_NET_ADMIN.
in_srv ip link set tap0 up

tunnel_up_in() { grep -q "Tunnel up: tap0 <-> $2@" "$TMP/$1.log"; }

case_sudo_invisible() {
  E2E_CURRENT="sudo feth-ssh as $TUSER"
  start_stock_sshd ethernet
  rm -f "$TMP/up-hook.uid" "$TMP/down-hook.uid"
  start_sudo_feth_ssh sudo-ssh -w 0:0 srv
  local top=$BG_PID
  wait_until 100 "the tunnel up" tunnel_up_in sudo-ssh "$TUSER"
  grep -q "Accepted publickey for $TUSER from" "$TMP/stock-sshd.log" ||
    fail "sshd did not log the user's login: $(grep -i accepted "$TMP/stock-sshd.log" || echo none)"
  local kh="$THOME/.ssh/known_hosts"
  [ -f "$kh" ] || fail "no known_hosts in the user's ~/.ssh"
  [ "$(stat -c %U "$kh")" = "$TUSER" ] || fail "known_hosts is owned by $(stat -c %U "$kh"), not $TUSER"
  ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f "$kh" >/dev/null || fail "the server's key is not in the user's known_hosts"
  [ ! -e /root/.ssh/known_hosts ] || ! ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f /root/.ssh/known_hosts >/dev/null ||
    fail "the server's key went to root's known_hosts"

  wait_until 50 "the root part and the SSH part" find_parts "$top"
  [ "$(uid_line "$SSH_PART")" = "$TUID $TUID $TUID $TUID" ] ||
    fail "the SSH part's Uid line is '$(uid_line "$SSH_PART")', expected $TUID everywhere"
  [ "$(uid_line "$ROOT_PART")" = "0 0 0 0" ] || fail "the root part is not uid 0"
  # The SSH part holds the libssh session: its socket to the server.
  in_cli ss -tnp | grep "$UNDERLAY_SRV:$PORT" | grep -q "pid=$SSH_PART," ||
    fail "the TCP connection to the server is not the SSH part's"
  in_cli ss -tnp | grep "$UNDERLAY_SRV:$PORT" | grep -q "pid=$ROOT_PART," &&
    fail "the root part holds the connection to the server"

  wait_until 50 "the up hook's output" test -s "$TMP/up-hook.uid"
  [ "$(cat "$TMP/up-hook.uid")" = 0 ] || fail "TunnelUpCommand ran as uid $(cat "$TMP/up-hook.uid"), not root"
  configure_tunnel tap0 tap0
  in_srv ip link set tap0 address 02:fe:18:00:00:01
  in_cli ping -c 3 -i 0.2 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "no ping through the tunnel"
  pass "sudo feth-ssh: logged in as $TUSER with the user's key and config (Match localuser, %u), known_hosts the user's, SSH part uid $TUID (root part uid 0), up hook as root, ping through"

  # SIGKILL of the SSH part: the root part removes the device, runs the
  # down hook and exits; nothing is left.
  kill -KILL "$SSH_PART"
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  wait_until 100 "the root part gone" sh -c "! kill -0 $ROOT_PART 2>/dev/null"
  wait_until 50 "the down hook's output" test -s "$TMP/down-hook.uid"
  [ "$(cat "$TMP/down-hook.uid")" = 0 ] || fail "TunnelDownCommand ran as uid $(cat "$TMP/down-hook.uid")"
  local status
  wait_exit "$top" 50 >"$TMP/exit.status" # not in $(...): $top is this shell's child
  status=$(cat "$TMP/exit.status")
  [ "$status" != timeout ] || fail "sudo feth-ssh still running after its SSH part was killed"
  ! pgrep -u "$TUID" >/dev/null || fail "a process of $TUSER is left: $(pgrep -a -u "$TUID")"
  pass "SSH part SIGKILLed: device removed, down hook ran as root, the root part exited ($status)"
  stop_pid "$SSHD_PID" || true
}

case_root_part_killed() {
  E2E_CURRENT="root part killed"
  start_stock_sshd ethernet
  start_sudo_feth_ssh sudo-ssh2 -o TunnelUpCommand=none -o TunnelDownCommand=none -w 0:0 srv
  local top=$BG_PID
  wait_until 100 "the tunnel up" tunnel_up_in sudo-ssh2 "$TUSER"
  wait_until 50 "the root part and the SSH part" find_parts "$top"
  local ssh_part=$SSH_PART
  kill -KILL "$ROOT_PART"
  wait_until 50 "the SSH part gone with its root part" sh -c "! kill -0 $ssh_part 2>/dev/null"
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  wait_exit "$top" 50 >/dev/null
  pass "root part SIGKILLed: the SSH part died with it, device removed"
  stop_pid "$SSHD_PID" || true
}

case_root_login() {
  E2E_CURRENT="sudo feth-ssh root@srv"
  start_stock_sshd ethernet
  start_sudo_feth_ssh sudo-root -o TunnelUpCommand=none -o TunnelDownCommand=none -w 0:0 root@srv
  local top=$BG_PID
  wait_until 100 "the tunnel up (root@)" tunnel_up_in sudo-root root
  grep -q "Accepted publickey for root from" "$TMP/stock-sshd.log" || fail "root@srv did not log in as root"
  wait_until 50 "the root part and the SSH part (root@)" find_parts "$top"
  [ "$(uid_line "$SSH_PART")" = "$TUID $TUID $TUID $TUID" ] || fail "root@srv: the SSH part is not $TUSER"
  # What a user's kill does: SIGTERM to the feth-ssh that sudo started.
  kill -TERM "$ROOT_PART"
  local status
  wait_exit "$top" 100 >"$TMP/exit.status"
  status=$(cat "$TMP/exit.status")
  [ "$status" = 0 ] || fail "sudo feth-ssh exited $status on SIGTERM, expected 0"
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  pass "sudo feth-ssh root@srv logged in as root with $TUSER's key; SIGTERM: exit 0, device removed"
  stop_pid "$SSHD_PID" || true
}

case_background() {
  E2E_CURRENT="sudo feth-ssh -f"
  start_stock_sshd ethernet
  rm -f "$TMP/up-hook.uid"
  start_sudo_feth_ssh sudo-bg -f -o TunnelDownCommand=none -w 0:0 srv
  local top=$BG_PID status
  # sudo returns once the tunnel is up and TunnelUpCommand succeeded.
  wait_exit "$top" 150 >"$TMP/exit.status"
  status=$(cat "$TMP/exit.status")
  [ "$status" = 0 ] || fail "sudo feth-ssh -f exited '$status', expected 0 once the tunnel was up"
  [ "$(cat "$TMP/up-hook.uid" 2>/dev/null)" = 0 ] || fail "-f returned before the up hook ran as root"
  # Both parts go on in the background: the user's SSH part, whose parent
  # is the root part. They are found by the test user's unique uid.
  local ssh_part root_part
  ssh_part=$(pgrep -u "$TUID" -x feth-ssh || true)
  [ -n "$ssh_part" ] && [ "$(echo "$ssh_part" | wc -l)" = 1 ] || fail "no single SSH part of $TUSER after -f: '$ssh_part'"
  root_part=$(ps -o ppid= -p "$ssh_part" | tr -d ' ')
  [ "$(readlink "/proc/$root_part/exe")" = "$(readlink -f "$FETH_SSH")" ] && [ "$(uid_line "$root_part")" = "0 0 0 0" ] ||
    fail "the SSH part's parent after -f is not the root part"
  link_in "$NS_CLI" tap0 || fail "no client tap0 after -f"
  # The server's persistent tap0 kept its address from the first case.
  in_cli ip addr add "$TUN4_CLI/24" dev tap0
  in_cli ip link set tap0 up
  in_cli ping -c 2 -i 0.2 -w "$(ping_w)" "$TUN4_SRV" >/dev/null || fail "no ping through the tunnel after -f"
  kill -TERM "$root_part"
  wait_until 100 "both parts gone after SIGTERM" sh -c "! kill -0 $root_part 2>/dev/null && ! kill -0 $ssh_part 2>/dev/null"
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  pass "sudo feth-ssh -f: returned 0 after the root up hook, both parts in the background carried ping, SIGTERM removed everything"
  stop_pid "$SSHD_PID" || true
}

agent_answers() {
  local rc=0
  runuser -u "$TUSER" -- env SSH_AUTH_SOCK="$THOME/agent.sock" ssh-add -l >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 1 ]
}

case_agent() {
  E2E_CURRENT="sudo feth-ssh with the user's agent"
  start_bg agent cli runuser -u "$TUSER" -- ssh-agent -D -a "$THOME/agent.sock"
  local apid=$BG_PID
  wait_until 50 "the user's agent answering" agent_answers
  runuser -u "$TUSER" -- ssh-keygen -q -t ed25519 -N '' -C agent-only -f "$THOME/agent_key"
  runuser -u "$TUSER" -- env SSH_AUTH_SOCK="$THOME/agent.sock" ssh-add -q "$THOME/agent_key" 2>/dev/null ||
    fail "ssh-add failed"
  local fp
  fp=$(ssh-keygen -l -f "$THOME/agent_key.pub" | awk '{print $2}')
  rm -f "$THOME/agent_key"
  cp "$THOME/.ssh/key_$TUSER.pub" "$TMP/authorized_keys.saved"
  cp "$THOME/agent_key.pub" "$TMP/authorized_keys" # only the agent's key opens it now
  start_stock_sshd ethernet
  # The sudoers drop-in keeps SSH_AUTH_SOCK (env_keep), as feth-ssh(1) says.
  start_bg sudo-agent cli runuser -u "$TUSER" -- env SSH_AUTH_SOCK="$THOME/agent.sock" \
    sudo -n "$FETH_SSH" -o TunnelUpCommand=none -o TunnelDownCommand=none -w 0:0 srv
  local top=$BG_PID
  wait_until 100 "the tunnel up (agent)" tunnel_up_in sudo-agent "$TUSER"
  grep -q "Accepted publickey for $TUSER from .*$fp" "$TMP/stock-sshd.log" || fail "sshd did not log the agent's key"
  wait_until 50 "the root part and the SSH part (agent)" find_parts "$top"
  kill -TERM "$ROOT_PART"
  wait_exit "$top" 100 >/dev/null
  stop_pid "$SSHD_PID" || true
  stop_pid "$apid" || true
  cp "$TMP/authorized_keys.saved" "$TMP/authorized_keys"
  pass "sudo feth-ssh used the user's agent (SSH_AUTH_SOCK kept by env_keep) from the SSH part running as $TUSER"
}

case_root_direct() {
  E2E_CURRENT="feth-ssh started by root (no sudo)"
  cat "$THOME/.ssh/key_$TUSER.pub" "$TMP/id_ed25519.pub" >"$TMP/authorized_keys"
  start_stock_sshd ethernet
  local nobody_uid
  nobody_uid=$(id -u nobody)
  # Root's key and known_hosts, where nobody may not read them (0600 files).
  rm -f "$TMP/root_known_hosts"
  [ "$(stat -c %a "$TMP/id_ed25519")" = 600 ] || fail "the test key is not 0600"
  start_bg root-direct cli "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o UserKnownHostsFile="$TMP/root_known_hosts" \
    -o StrictHostKeyChecking=accept-new -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV"
  local top=$BG_PID ssh_part
  wait_until 100 "the tunnel up (root directly)" tunnel_up_in root-direct root
  grep -q "Started by root without sudo: the SSH part runs as nobody" "$TMP/root-direct.log" ||
    fail "no note about the SSH part running as nobody"
  ssh_part=$(pgrep -P "$top" -x feth-ssh || true)
  [ -n "$ssh_part" ] || fail "no SSH part below the root part"
  [ "$(uid_line "$ssh_part")" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] ||
    fail "the SSH part of root's feth-ssh is '$(uid_line "$ssh_part")', not nobody ($nobody_uid)"
  [ "$(uid_line "$top")" = "0 0 0 0" ] || fail "the root part is not uid 0"
  # Root's key never entered the SSH part (N7): its whole memory, after a
  # real login with that key, holds no private byte of it; the root part,
  # which signed, does (the scanner finds what is there; a sanitizer
  # build's heap is too large a reservation to read: then it says so).
  local scan="$REPO_ROOT/tests/e2e/scan_memory.py" out
  out=$(python3 "$scan" "$ssh_part" --key "$TMP/id_ed25519" 2>&1) ||
    fail "the SSH part (nobody) holds root's private key: $out"
  log "SSH part: $out"
  out=$(python3 "$scan" "$top" --key "$TMP/id_ed25519" 2>&1) &&
    case $out in
      *"sanitizer reservations"*) log "root part: $out" ;;
      *) fail "the scanner found no private key in the root part, which signed with it: $out" ;;
    esac
  ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f "$TMP/root_known_hosts" >/dev/null ||
    fail "accept-new did not reach root's known_hosts (written by the root part)"
  [ "$(stat -c %U "$TMP/root_known_hosts")" = root ] || fail "root's known_hosts is not root's"
  kill -TERM "$top"
  local status
  wait_exit "$top" 100 >"$TMP/exit.status"
  status=$(cat "$TMP/exit.status")
  [ "$status" = 0 ] || fail "feth-ssh exited $status on SIGTERM"
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  stop_pid "$SSHD_PID" || true
  pass "started by root: the SSH part ran as nobody (uid $nobody_uid) and logged in with root's 0600 key through the root part's agent, none of whose private bytes are in its memory; accept-new wrote root's known_hosts through the root part"
}

# The SSH part has no terminal (N7): started by root on a pty, feth-ssh's
# questions -- the unknown host key with StrictHostKeyChecking ask, then the
# passphrase of an encrypted key -- are asked by the root part on the pty and
# answered there; the SSH part (nobody) is a session leader with no
# controlling terminal, stdin /dev/null and stdout/stderr a pipe.
case_root_direct_terminal() {
  E2E_CURRENT="started by root on a terminal: questions through the root part"
  cp "$TMP/id_ed25519" "$TMP/id_pass"
  ssh-keygen -q -p -N 'pass phrase 1' -f "$TMP/id_pass" >/dev/null
  cp "$TMP/id_ed25519.pub" "$TMP/id_pass.pub"
  cat "$TMP/id_ed25519.pub" >"$TMP/authorized_keys"
  start_stock_sshd ethernet
  rm -f "$TMP/ask_known_hosts"
  cat >"$TMP/drive.py" <<'PY'
import os, pty, sys, time, select
log = open(sys.argv[1], "wb")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
def expect(what, deadline):
    buf = b""
    end = time.time() + deadline
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            log.write(data); log.flush(); buf += data
            if what in buf:
                return True
    return False
scale = int(os.environ.get("FETH_E2E_TIME_SCALE", "1"))
if not expect(b"(yes/no)? ", 20 * scale): sys.exit(3)
os.write(fd, b"yes\n")
if not expect(b"assphrase", 20 * scale): sys.exit(4)
os.write(fd, b"pass phrase 1\n")
expect(b"\x00never", 3600)  # the log until feth-ssh ends (the test stops it)
os.waitpid(pid, 0)
PY
  start_bg root-tty cli python3 "$TMP/drive.py" "$TMP/root-tty.pty" "$FETH_SSH" -F /dev/null -i "$TMP/id_pass" \
    -o UserKnownHostsFile="$TMP/ask_known_hosts" -o StrictHostKeyChecking=ask -o IdentitiesOnly=yes \
    -p "$PORT" -w 0:0 root@"$UNDERLAY_SRV"
  local driver=$BG_PID top ssh_part
  wait_until 200 "the tunnel up after the answers on the terminal" grep -q "Tunnel up: tap0 <-> root@" "$TMP/root-tty.pty"
  grep -q "The authenticity of host" "$TMP/root-tty.pty" || fail "no host key question on the terminal"
  ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f "$TMP/ask_known_hosts" >/dev/null || fail "the 'yes' did not record the host"
  top=$(pgrep -P "$driver" -x feth-ssh || true)
  [ -n "$top" ] || fail "no root part below the driver"
  ssh_part=$(pgrep -P "$top" -x feth-ssh || true)
  [ -n "$ssh_part" ] || fail "no SSH part below the root part"
  # /proc/PID/stat: field 6 the session, field 7 tty_nr (0: none).
  read -r -a stat <<<"$(sed 's/^.*) //' "/proc/$ssh_part/stat")"
  [ "${stat[3]}" = "$ssh_part" ] || fail "the SSH part is not in a session of its own (session ${stat[3]})"
  [ "${stat[4]}" = 0 ] || fail "the SSH part has a controlling terminal (tty_nr ${stat[4]})"
  read -r -a rstat <<<"$(sed 's/^.*) //' "/proc/$top/stat")"
  [ "${rstat[4]}" != 0 ] || fail "the root part has no terminal: the test did not give it one"
  [ "$(readlink "/proc/$ssh_part/fd/0")" = /dev/null ] || fail "the SSH part's stdin is $(readlink "/proc/$ssh_part/fd/0")"
  local fd
  for fd in 1 2; do
    case $(readlink "/proc/$ssh_part/fd/$fd") in pipe:*) ;; *) fail "the SSH part's fd $fd is $(readlink "/proc/$ssh_part/fd/$fd")" ;; esac
  done
  for fd in /proc/"$ssh_part"/fd/*; do
    case $(readlink "$fd") in /dev/pts/* | /dev/tty*) fail "the SSH part holds a terminal: $fd" ;; esac
  done
  kill -TERM "$top"
  wait_exit "$driver" 100 >/dev/null
  wait_until 100 "the client's tap0 removed" no_link_in "$NS_CLI" tap0
  stop_pid "$SSHD_PID" || true
  pass "started by root on a pty: host key question and passphrase asked by the root part; the SSH part has no terminal (own session, tty_nr 0, stdin /dev/null, stdout/stderr a pipe)"
}

case_lying_sudo_env() {
  E2E_CURRENT="SUDO_* checked"
  local status=0
  in_cli env SUDO_USER="$TUSER" SUDO_UID=0 SUDO_GID="$TGID" "$FETH_SSH" -F /dev/null -w 0:0 "$UNDERLAY_SRV" \
    >"$TMP/lying.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "SUDO_UID 0 for $TUSER gave exit $status, expected 255"
  grep -q "SUDO_UID 0 is not the uid of SUDO_USER $TUSER" "$TMP/lying.log" || fail "no clear message: $(cat "$TMP/lying.log")"
  [ -z "$(tunnel_links "$NS_CLI")" ] || fail "a device was made despite the lie"
  status=0
  in_cli env SUDO_USER="$TUSER" "$FETH_SSH" -F /dev/null -w 0:0 "$UNDERLAY_SRV" >"$TMP/lying2.log" 2>&1 || status=$?
  [ "$status" = 255 ] || fail "SUDO_USER without SUDO_UID gave exit $status, expected 255"
  pass "SUDO_UID that is not SUDO_USER's uid, or SUDO_* incomplete: refused (255), nothing made"
}

case_sudo_invisible
case_root_part_killed
case_root_login
case_background
case_agent
case_root_direct
case_root_direct_terminal
case_lying_sudo_env
echo "client_sudo: all cases passed"
