# Shell functions for the macos workflow's end-to-end steps
# (.github/workflows/macos.yml), sourced by each step. Runs on a Mac runner
# as the runner user, with sudo; written for bash 3.2. Every wait polls for
# an event (a log line, a listening port, a process gone) within a bound;
# none is a bare sleep.
#
# Environment (the workflow's): E2E (root-owned directory with
# authorized_keys and the server's state), KEY (the client's private key,
# the runner's), LOGS (log files), FETH_SSHD, FETH_SSH (binaries).

# fail MESSAGE: the step fails, saying why.
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_until() {
  local limit=$1 what=$2 i=0
  shift 2
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -le $((limit * 5)) ] || fail "waited ${limit} s for $what"
    sleep 0.2
  done
}

log_has() { grep -q -- "$2" "$1" 2>/dev/null; }
port_open() { nc -z 127.0.0.1 "$1"; }
alive() { sudo kill -0 "$1" 2>/dev/null; }
gone() { ! alive "$1"; }
exists() { ifconfig "$1" >/dev/null 2>&1; }
absent() { ! exists "$1"; }

# program_of PID NAME: the first process named NAME among PID and its
# descendants, nearest first (sudo forks once, or twice with use_pty,
# before its command runs).
program_of() {
  local queue=$1 next pid
  while [ -n "$queue" ]; do
    next=""
    for pid in $queue; do
      if [ "$(ps -o comm= -p "$pid" | sed 's#.*/##')" = "$2" ]; then
        echo "$pid"
        return 0
      fi
      next="$next $(pgrep -P "$pid" | tr '\n' ' ' || true)"
    done
    queue=$(echo $next)
  done
  return 1
}

# server_of NAME: the listening feth-sshd started as $LOGS/NAME.pid (sudo's).
server_of() { program_of "$(cat "$LOGS/$1.pid")" feth-sshd; }

# start_client NAME ARGS...: feth-ssh as root (through sudo) with the
# test's key against the local server; its pid (sudo's) in $LOGS/NAME.pid,
# its log in $LOGS/NAME.log.
start_client() {
  local name=$1
  shift
  sudo "$FETH_SSH" -i "$KEY" -p 2222 -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null "$@" -N "$(id -un)@127.0.0.1" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$LOGS/$name.pid"
}

# root_part NAME: feth-ssh's root part, the process sudo started (sudo's
# child); its SSH part is the root part's child.
root_part() { program_of "$(cat "$LOGS/$1.pid")" feth-ssh; }

# stop_client NAME: SIGTERM to the root part, then waits for sudo to end.
stop_client() {
  local pid
  pid=$(cat "$LOGS/$1.pid")
  sudo kill -TERM "$(root_part "$1")" 2>/dev/null || true
  wait_until 30 "client $1 to exit" gone "$pid"
}

# tunnel_iface LOG PATTERN: the interface a log line names, e.g.
# "Tunnel up: utun5 <-> ..." or "Tunnel utun6 (point-to-point) opened".
tunnel_iface() { sed -n -E "s/.*$2.*/\\1/p" "$1" | head -n 1; }

# capture IFACE FILTER NAME: tcpdump on IFACE for one packet matching
# FILTER, in the background; returns once tcpdump is listening.
capture() {
  local iface=$1 filter=$2 name=$3
  sudo tcpdump -n -l -e -i "$iface" -c 1 "$filter" >"$LOGS/$name.cap" 2>"$LOGS/$name.tcpdump" &
  echo $! >"$LOGS/$name.dump.pid"
  wait_until 20 "tcpdump on $iface to listen" log_has "$LOGS/$name.tcpdump" "listening on"
}

# captured NAME: waits (bounded) for the capture to see its packet, prints it.
captured() {
  local name=$1 pid
  pid=$(cat "$LOGS/$name.dump.pid")
  if ! (wait_until 20 "the packet of capture $name" gone "$pid"); then
    sudo kill "$pid" 2>/dev/null || true
    cat "$LOGS/$name.tcpdump" >&2
    fail "capture $name saw nothing"
  fi
  echo "seen:"; cat "$LOGS/$name.cap"
  [ -s "$LOGS/$name.cap" ] || fail "capture $name is empty"
}

# cross_arp FROM TO ABSENT: an ARP request for ABSENT (nobody has it) that
# the kernel sends out of FROM must arrive on TO, the tunnel's other end.
cross_arp() {
  local from=$1 to=$2 absent=$3 name="arp-$1-$2"
  capture "$to" "arp and host $absent" "$name"
  ping -c 3 -t 4 "$absent" >/dev/null 2>&1 || true # no reply expected
  captured "$name"
  grep -q "Request who-has $absent" "$LOGS/$name.cap" || fail "no ARP request for $absent on $to"
}

# cross_big FROM TO ADDR: a 9000-byte IP packet (8972 bytes of ICMP data,
# don't fragment) sent out of FROM to ADDR, which a static ARP entry maps
# to TO's MAC address, must arrive on TO whole (an Ethernet frame of 9014
# bytes).
cross_big() {
  local from=$1 to=$2 addr=$3 name="big-$1-$2" mac
  mac=$(ifconfig "$to" | awk '$1 == "ether" { print $2 }')
  [ -n "$mac" ] || fail "no MAC address on $to"
  sudo arp -s "$addr" "$mac" ifscope "$from"
  capture "$to" "icmp and dst host $addr and greater 9014" "$name"
  ping -D -s 8972 -c 3 -t 4 "$addr" >"$LOGS/$name.ping" 2>&1 || true # no reply expected
  grep -q "Message too long" "$LOGS/$name.ping" && fail "ping: 9000 bytes do not fit $from's MTU"
  captured "$name"
}

# interfaces: the feth and utun interfaces, one a line, sorted.
interfaces() { ifconfig -l | tr ' ' '\n' | grep -E '^(feth|utun)[0-9]+$' | sort; }
