#!/usr/bin/env bash
# feth-ssh -G against stock ssh -G: the same configuration files, -o options
# and destinations must give the same lines for every keyword feth-ssh
# honours. Runs without root and touches no device or network (nothing
# connects). STOCK_SSH is Debian's ssh, or OpenSSH 10.5 under
# tests/peers/with-openssh.sh (the _openssh10 twin).
#
# Compared in every case (COMMON below): host user hostname port
# addressfamily batchmode checkhostip exitonforwardfailure hashknownhosts
# identitiesonly permitlocalcommand stricthostkeychecking connectionattempts
# serveralivecountmax serveraliveinterval bindaddress hostkeyalias
# identityagent ignoreunknown localcommand loglevel certificatefile
# userknownhostsfile addkeystoagent connecttimeout tunneldevice controlmaster
# controlpath.
# serveraliveinterval: Debian's ssh (a Debian patch, not OpenSSH's) makes
# BatchMode imply ServerAliveInterval 300; feth-ssh does as upstream, so the
# cases with BatchMode set ServerAliveInterval themselves.
#
# HOME points elsewhere in every case: both take ~ and %d from the password
# database, never from HOME.
#
# Compared only in the cases that set them (a case's third field), with the
# reason their defaults differ:
#   identityfile   compared as is where the case sets IdentityFile; where
#                  none is set (identityfile-default), ssh's default list
#                  less the key types feth-ssh cannot load and leaves out
#                  (id_ecdsa_sk, id_ed25519_sk; 9.x's id_xmss and id_dsa;
#                  10.x's id_mldsa44_ed25519): the rest, in ssh's order
#                  and with its ~, must be the same.
#   tunnel         feth-ssh's default is ethernet, ssh's no; and ssh's -w
#                  also sets Tunnel (point-to-point, before the files),
#                  feth-ssh's -w only the devices (it always tunnels).
#   ciphers kexalgorithms  the defaults are OpenSSH 10's as far as libssh
#                  implements them, not the peer's own.
#   macs hostkeyalgorithms pubkeyacceptedalgorithms  only as a plain list:
#                  feth-ssh prints +, - and ^ as written (libssh applies them
#                  to its own defaults) and no line for the default.
#   globalknownhostsfile  the default lives in the peer's sysconfdir
#                  (/etc/ssh for Debian's, its install prefix for 10.5).
#   rekeylimit     only without a time: feth-ssh checks the time and does
#                  not keep it (prints 0).
# Not compared here: proxyjump, proxycommand (parsed by the connect path's
# own code and tested with it).
set -euo pipefail
FETH_SSH=${FETH_SSH:?FETH_SSH must point to the feth-ssh binary}
STOCK_SSH=${STOCK_SSH:-ssh}
command -v "$STOCK_SSH" >/dev/null || { echo "SKIP: no stock ssh ($STOCK_SSH)"; exit 77; }
# The comparison is with Debian's or OpenSSH 10.5's ssh on Linux (a Mac's
# ssh carries Apple's changes, and macOS has no getent).
command -v getent >/dev/null || { echo "SKIP: no getent (this test compares with Linux's stock ssh)"; exit 77; }
echo "peer: $("$STOCK_SSH" -V 2>&1)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/feth-G.$$.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Both take ~ and %d from the password database: a HOME elsewhere changes
# nothing.
HOME=$tmp/not-the-home
export HOME
export FETH_G_VAR=/opt/feth-$$
me=$(id -un)

COMMON="host user hostname port addressfamily batchmode checkhostip exitonforwardfailure hashknownhosts
identitiesonly permitlocalcommand stricthostkeychecking connectionattempts serveralivecountmax
serveraliveinterval bindaddress hostkeyalias identityagent ignoreunknown localcommand loglevel certificatefile
userknownhostsfile addkeystoagent connecttimeout tunneldevice controlmaster controlpath"

# keyword_lines SIDE KEYWORDS < -G output: for each keyword, in order, a
# header and its lines. identityfile-default: ssh's default identity files
# only on ssh's side (SIDE a), as the loop in check compares them.
keyword_lines() {
  awk -v side="$1" -v kws="$2" '
    BEGIN {
      n = split(kws, order, " ")
      for (i = 1; i <= n; i++) {
        if (order[i] == "identityfile-default") { order[i] = "identityfile"; if (side == "a") defaults_only = 1 }
        want[order[i]] = 1
      }
    }
    ($1 in want) {
      if ($1 == "identityfile" && defaults_only && $0 !~ /\/id_(rsa|ecdsa|ed25519)$/) next
      lines[$1] = lines[$1] $0 "\n"
    }
    END { for (i = 1; i <= n; i++) printf "== %s\n%s", order[i], lines[order[i]] }'
}

cases=0
fails=0
# check NAME EXTRA_KEYWORDS CONFIG_TEXT ARGS...: ARGS end with the destination.
check() {
  local name=$1 extra=$2 text=$3
  shift 3
  local conf=$tmp/$name.conf kw a b
  printf '%s\n' "$text" >"$conf"
  chmod 600 "$conf"
  cases=$((cases + 1))
  if ! a=$("$STOCK_SSH" -F "$conf" "$@" -G 2>&1 </dev/null); then
    echo "FAIL [$name]: stock ssh -G failed: $a"; fails=$((fails + 1)); return
  fi
  if ! b=$("$FETH_SSH" -F "$conf" -G "$@" 2>&1 </dev/null); then
    echo "FAIL [$name]: feth-ssh -G failed: $b"; fails=$((fails + 1)); return
  fi
  # Fast path: one awk per side gives each keyword's lines, in the list's
  # order; equal means every keyword below would compare equal. The loop
  # (a few processes per keyword) runs only to name what differs.
  if [ "$(keyword_lines a "$COMMON $extra" <<<"$a")" = "$(keyword_lines b "$COMMON $extra" <<<"$b")" ]; then
    echo "ok   [$name]"
    return
  fi
  local bad=0
  for kw in $COMMON $extra; do
    local la lb only='.'
    if [ "$kw" = identityfile-default ]; then
      kw=identityfile only='/id_(rsa|ecdsa|ed25519)$'
    fi
    la=$(printf '%s\n' "$a" | grep -E "^$kw( |\$)" | grep -E "$only" || true)
    lb=$(printf '%s\n' "$b" | grep -E "^$kw( |\$)" || true)
    if [ "$la" != "$lb" ]; then
      echo "FAIL [$name] $kw: ssh: '${la//$'\n'/ | }' feth-ssh: '${lb//$'\n'/ | }'"
      bad=1
    fi
  done
  if [ "$bad" = 0 ]; then echo "ok   [$name]"; else fails=$((fails + 1)); fi
}

check defaults "identityfile-default" "" plainhost
check host-block "" $'Host alpha\n  HostName 198.18.0.10\n  Port 2201\n  User ua\nHost *\n  Port 2299\n  User ub' alpha
check host-other "" $'Host alpha\n  Port 2201\nHost *\n  Port 2299' beta
check host-negate "" $'Host * !alpha\n  Port 2202\nHost *\n  Port 2203' alpha
check host-patterns "" $'Host al?ha b*\n  ConnectTimeout 7\n  ServerAliveInterval 15\n  ServerAliveCountMax 5' alpha
check first-wins "" $'Port 2210\nPort 2211\nHost x\n  Port 2212\n  User first\n  User second' x
check dash-o "" $'Host x\n  Port 2220\n  User cfg' -o Port=2221 -o User=opt -o BatchMode=yes -o ServerAliveInterval=40 x
check dash-p-l "" $'Host x\n  Port 2220\n  User cfg' -p 2222 -l cli x
check user-at "" $'Host x\n  User cfg' someone@x
check match-host "" $'Host x\n  HostName real.example.test\nMatch host real.*\n  Port 2230\nMatch originalhost x\n  User orig' x
check match-user "" $'Host x\n  User joe\nMatch user joe\n  Port 2231\nMatch user !joe\n  Port 2232' x
check match-localuser "" $'Match localuser '"$me"$'\n  Port 2233\nMatch localuser nobody-here\n  User wrong' x
check match-all "" $'Host x\n  Port 2234\nMatch all\n  User all1\n  Port 2235' x
check match-final "" $'ServerAliveInterval 41\nMatch final host x\n  Port 2236\nHost *\n  User fin\nMatch canonical\n  ConnectTimeout 9\nMatch !final\n  BatchMode yes' x
check match-canonical-alone "" $'Match canonical\n  Port 2237\nMatch !canonical\n  User notcanon' x
touch "$tmp/d"
check include "" $'Include '"$tmp"$'/inc-*.conf\nHost *\n  Port 2240' x
printf 'Host x\n  User included\n  Port 2241\n' >"$tmp/inc-a.conf"; chmod 600 "$tmp/inc-a.conf"
check include-order "" $'Host *\n  HostName h.example.test\nInclude '"$tmp"$'/inc-a.conf' x
check tokens "identityfile" $'Host x\n  HostName %h.example.test\n  IdentityFile ~/.ssh/k-%h-%p-%r\n  IdentityFile /k/%u-%n-%d\n  UserKnownHostsFile ~/kh-%h-%r /k2-%n\n  CertificateFile ~/.ssh/c-%h' -l bob x
check env-vars "identityfile" $'Host x\n  IdentityFile ${FETH_G_VAR}/id\n  UserKnownHostsFile ${FETH_G_VAR}/kh\n  IdentityAgent ${FETH_G_VAR}/agent' x
check multi-identity "identityfile" $'Host x\n  IdentityFile ~/.ssh/a\n  IdentityFile ~/.ssh/b\n  IdentityFile ~/.ssh/a\nHost *\n  IdentityFile ~/.ssh/c' -i "$tmp/d" -i "$tmp/missing" x
check none-values "globalknownhostsfile" $'Host x\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n  ConnectTimeout none\n  HostKeyAlias none\n  IdentityAgent none' x
check hostkeys "globalknownhostsfile" $'Host x\n  HostKeyAlias alias-x\n  GlobalKnownHostsFile ~/gk /etc/gk2\n  CheckHostIP yes\n  HashKnownHosts yes\n  StrictHostKeyChecking accept-new' x
check hostkeys-no "" $'Host x\n  CheckHostIP no\n  HashKnownHosts no\n  StrictHostKeyChecking no' x
check agent "" $'Host x\n  AddKeysToAgent confirm 1h\n  IdentitiesOnly yes\n  IdentityAgent ~/agent.sock' x
check agent-time "" $'Host x\n  AddKeysToAgent 10m' x
check agent-yes "" $'Host x\n  AddKeysToAgent yes' x
check bind "" $'Host x\n  BindAddress 198.18.0.5\n  ConnectionAttempts 4\n  AddressFamily inet6' x
check bind-b "" $'Host x\n  BindAddress 198.18.0.5' -b 198.18.0.6 x
check local-command "" $'Host x\n  PermitLocalCommand yes\n  LocalCommand ip link set %T up; echo "%h %p %r %n"' x
check algorithms "ciphers kexalgorithms macs hostkeyalgorithms pubkeyacceptedalgorithms" \
  $'Host x\n  Ciphers aes256-gcm@openssh.com,aes128-ctr\n  KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256\n  MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-256\n  HostKeyAlgorithms ssh-ed25519,rsa-sha2-512\n  PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256' x
check cipher-c "ciphers" "" -c aes128-ctr x
check tunnel-device "tunnel" $'Host x\n  Tunnel point-to-point\n  TunnelDevice 3:7' x
check tunnel-yes "tunnel" $'Host x\n  Tunnel yes' x
check tunnel-w "" $'Host x\n  Tunnel ethernet' -w 5 x
check rekey "rekeylimit" $'Host x\n  RekeyLimit 1G' x
check loglevel "" $'Host x\n  LogLevel DEBUG2\n  IgnoreUnknown Foo*\n  FooBar 1' x
check ignored-keywords "" $'Host x\n  ForwardX11 yes\n  SendEnv LANG\n  ControlPersist 10m\n  VisualHostKey yes\n  ServerAliveInterval 30' x
check control "" $'Host x\n  ControlMaster auto\n  ControlPath ~/.ssh/cm-%C-%r@%h:%p-%n-%L-%l-%u-%i-%d' -l bob x
check control-S "" $'Host x\n  ControlMaster yes\n  ControlPath /tmp/not-this' -o ControlPath=/run/cm-%C x
check control-none "" $'Host x\n  ControlMaster no\n  ControlPath none' x
check case-insensitive "" $'host x\n  hostname 198.18.0.20\n  PORT 2250\n  user=eq\n  ConnectTimeout=3' x
# Match exec runs the command (exit 0 matches), only when the criteria before
# it matched, with ssh's tokens; Match localnetwork looks at the interfaces
# (whatever they are here, both must see the same).
check match-exec "" $'Match exec true\n  Port 2260\nMatch exec false\n  User wrong\nMatch !exec false\n  ConnectTimeout 4\nMatch host nothere exec "touch '"$tmp"$'/ran"\n  User wrong2\nMatch exec "test %h = x -a %n = x -a %u = '"$me"$' -a %d = ~'"$me"$'"\n  ServerAliveCountMax 9' x
[ ! -e "$tmp/ran" ] || { echo "FAIL [match-exec]: an exec after a failed criterion ran"; fails=$((fails + 1)); }
# Match localnetwork came with OpenSSH 9.4: compared where the peer has it.
printf 'Match localnetwork 127.0.0.0/8\n' >"$tmp/probe-localnetwork.conf"
if "$STOCK_SSH" -F "$tmp/probe-localnetwork.conf" -G x >/dev/null 2>&1 </dev/null; then
  check match-localnetwork "" $'Match localnetwork 127.0.0.0/8,::1/128\n  Port 2261\nMatch localnetwork 2001:db8:2929::/48\n  User wrong\nMatch !localnetwork 2001:db8:2929::/48\n  ConnectTimeout 5' x
else
  echo "skip [match-localnetwork]: $("$STOCK_SSH" -V 2>&1) has no Match localnetwork"
fi

echo "$cases cases, $fails failed"
[ "$cases" -ge 20 ] || { echo "FAIL: fewer than 20 cases"; exit 1; }
[ "$fails" = 0 ]
