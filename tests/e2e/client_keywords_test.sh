#!/usr/bin/env bash
# ssh_config keywords feth-ssh honours on the connection, against stock sshd:
# CertificateFile (a user certificate, the key itself not authorised),
# HostKeyAlias with HashKnownHosts (the key recorded hashed, under the
# alias), BindAddress (the address sshd sees), LocalCommand with
# PermitLocalCommand (%T the local device), CheckHostIP with an address as
# HostName (nothing more recorded, as ssh), AddKeysToAgent (the key then
# in a real ssh-agent), a host certificate trusted through @cert-authority
# (revoked CA refused; another name falls back to the plain key), and a
# refused keyword stopping the connection.
source "$(dirname "$0")/lib.sh"
e2e_init

BIND_CLI=198.18.0.3
in_cli ip addr add "$BIND_CLI/24" dev "$(underlay)"

# A CA, and a user key only the CA vouches for (not in authorized_keys).
ssh-keygen -q -t ed25519 -N '' -C "e2e-ca" -f "$TMP/ca"
ssh-keygen -q -t ed25519 -N '' -C "e2e-cert-user" -f "$TMP/cuser"
ssh-keygen -q -s "$TMP/ca" -I "e2e-cert-$E2E_ID" -n root "$TMP/cuser.pub"
mv "$TMP/cuser-cert.pub" "$TMP/user.cert" # so that only CertificateFile finds it
# A host CA, and sshd's host key certified by it for its address.
ssh-keygen -q -t ed25519 -N '' -C "e2e-host-ca" -f "$TMP/hostca"

case_keywords() {
  E2E_CURRENT="CertificateFile, HostKeyAlias, HashKnownHosts, BindAddress, LocalCommand, CheckHostIP"
  start_stock_sshd ethernet
  stop_pid "$SSHD_PID" || true
  printf 'TrustedUserCAKeys %s\n' "$TMP/ca.pub" >>"$TMP/sshd_config"
  ssh-keygen -q -s "$TMP/hostca" -h -I "e2e-host-$E2E_ID" -n "$UNDERLAY_SRV" "$TMP/host_ed25519.pub"
  printf 'HostCertificate %s\n' "$TMP/host_ed25519-cert.pub" >>"$TMP/sshd_config"
  start_bg stock-sshd srv "$STOCK_SSHD" -D -e -f "$TMP/sshd_config"
  SSHD_PID=$BG_PID
  wait_until 50 "stock sshd listening" grep -q "Server listening" "$TMP/stock-sshd.log"

  local kh=$TMP/kh_hashed
  cat >"$TMP/client.conf" <<EOF
Host tunnelbox
  HostName $UNDERLAY_SRV
  Port $PORT
  User root
  IdentityFile $TMP/cuser
  IdentitiesOnly yes
  CertificateFile $TMP/user.cert
  HostKeyAlias alias-$E2E_ID
  HashKnownHosts yes
  CheckHostIP yes
  UserKnownHostsFile $kh
  StrictHostKeyChecking accept-new
  BindAddress $BIND_CLI
  PermitLocalCommand yes
  LocalCommand echo "dev=%T user=%r host=%n" >$TMP/local.out
  ConnectTimeout $(scaled 5)
EOF
  chmod 600 "$TMP/client.conf"
  # Started by root without sudo, feth-ssh's SSH part, which runs
  # LocalCommand as ssh runs it as the user, is nobody.
  install -m 0666 /dev/null "$TMP/local.out"
  start_bg feth-ssh-kw cli "$FETH_SSH" -F "$TMP/client.conf" -w 0:0 tunnelbox
  local cpid=$BG_PID log="$TMP/feth-ssh-kw.log"
  wait_until 150 "LocalCommand's output" test -s "$TMP/local.out"
  grep -qx "dev=tap0 user=root host=tunnelbox" "$TMP/local.out" ||
    fail "LocalCommand wrote: $(cat "$TMP/local.out")"
  pass "LocalCommand ran once the tunnel was up, %T = tap0"
  grep -q "Accepted certificate ID \"e2e-cert-$E2E_ID\"" "$TMP/stock-sshd.log" ||
    fail "sshd did not accept the certificate: $(grep -E 'Accepted|Failed|cert' "$TMP/stock-sshd.log" | tail -n 3)"
  grep -q "from $BIND_CLI port" "$TMP/stock-sshd.log" ||
    fail "sshd did not see BindAddress $BIND_CLI: $(grep -E 'Accepted|Connection from' "$TMP/stock-sshd.log" | tail -n 2)"
  pass "the certificate authenticated (key not in authorized_keys), from BindAddress $BIND_CLI"
  ! grep -q -e "alias-$E2E_ID" -e "$UNDERLAY_SRV" "$kh" || fail "known_hosts holds a plain name: $(cat "$kh")"
  ssh-keygen -F "alias-$E2E_ID" -f "$kh" >/dev/null || fail "no hashed entry for the alias in: $(cat "$kh")"
  # CheckHostIP: HostName is the address itself, so, as in ssh, there is
  # nothing more to record (the case with a name needs a resolver entry
  # for the namespace, which this test does not make).
  ! ssh-keygen -F "[$UNDERLAY_SRV]:$PORT" -f "$kh" >/dev/null || fail "CheckHostIP recorded the address given as HostName"
  [ "$(grep -c '^|1|' "$kh")" = 1 ] || fail "expected 1 hashed line: $(cat "$kh")"
  pass "HostKeyAlias + HashKnownHosts: one hashed entry, under the alias"
  stop_pid "$cpid" || true
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0

  # Connecting again: the hashed alias entry verifies the key.
  start_bg feth-ssh-kw2 cli "$FETH_SSH" -F "$TMP/client.conf" -o StrictHostKeyChecking=yes -w 0:0 tunnelbox
  cpid=$BG_PID
  wait_until 150 "the second connection's tunnel" link_in "$NS_SRV" tap0
  [ "$(grep -c '^|1|' "$kh")" = 1 ] || fail "the second connection added entries: $(cat "$kh")"
  pass "StrictHostKeyChecking yes: the hashed alias entry verified the host key"
  stop_pid "$cpid" || true
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0

  # AddKeysToAgent: the key that authenticated is then in the agent.
  if command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null; then
    local agent_sock=$TMP/agent.sock
    start_bg ssh-agent cli ssh-agent -D -a "$agent_sock"
    local apid=$BG_PID
    wait_until 50 "the agent's socket" test -S "$agent_sock"
    local arc=0
    SSH_AUTH_SOCK=$agent_sock ssh-add -l >/dev/null 2>&1 || arc=$?
    [ "$arc" = 1 ] || fail "ssh-add -l on the new agent: exit $arc (1: no identities)"
    start_bg feth-ssh-agent cli env SSH_AUTH_SOCK="$agent_sock" "$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" \
      -o IdentitiesOnly=yes -o AddKeysToAgent=1h -o UserKnownHostsFile="$TMP/kh_agent" \
      -o StrictHostKeyChecking=accept-new -p "$PORT" -w 0:0 "root@$UNDERLAY_SRV"
    cpid=$BG_PID
    wait_until 150 "the agent case's tunnel" link_in "$NS_SRV" tap0
    local want listed
    want=$(ssh-keygen -lf "$TMP/id_ed25519.pub" | awk '{print $2}')
    listed=$(SSH_AUTH_SOCK=$agent_sock ssh-add -l 2>&1 || true)
    [[ $listed == *"$want"*"$TMP/id_ed25519"* ]] || fail "the agent lists: $listed (want $want)"
    pass "AddKeysToAgent 1h: the key that authenticated is in the agent, under its path"
    stop_pid "$cpid" || true
    stop_pid "$apid" || true
  else
    echo "SKIP: AddKeysToAgent case: ssh-agent or ssh-add not installed"
  fi
  case_host_certificate
  stop_pid "$SSHD_PID" || true
}

# The stock sshd of case_keywords offers its HostCertificate (the cases
# above knew its plain key only: no certificate was asked for).
case_host_certificate() {
  E2E_CURRENT="@cert-authority host certificate"
  local kh=$TMP/kh_ca out rc cpid
  printf '@cert-authority [%s]:%s,other-%s %s\n' "$UNDERLAY_SRV" "$PORT" "$E2E_ID" "$(cat "$TMP/hostca.pub")" >"$kh"
  cp "$kh" "$TMP/kh_ca.before"
  local -a cli=("$FETH_SSH" -F /dev/null -i "$TMP/id_ed25519" -o IdentitiesOnly=yes -o UserKnownHostsFile="$kh"
    -o ConnectTimeout="$(scaled 5)" -p "$PORT" -w 0:0)
  start_bg feth-ssh-ca cli "${cli[@]}" -o StrictHostKeyChecking=yes "root@$UNDERLAY_SRV"
  cpid=$BG_PID
  wait_until 150 "the host certificate case's tunnel" link_in "$NS_SRV" tap0
  cmp -s "$kh" "$TMP/kh_ca.before" || fail "known_hosts changed: $(cat "$kh")"
  pass "host certificate: only a @cert-authority line, StrictHostKeyChecking yes, tunnel up, known_hosts untouched"
  stop_pid "$cpid" || true
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0

  # The certificate names the address, not this HostKeyAlias: ssh falls
  # back to the plain key, unknown here. (Bounded: were the certificate
  # taken, the tunnel would stay up.)
  rc=0
  out=$(in_cli timeout "$(scaled 10)" "${cli[@]}" -o StrictHostKeyChecking=yes -o HostKeyAlias="other-$E2E_ID" "root@$UNDERLAY_SRV" 2>&1) || rc=$?
  [ "$rc" = 255 ] || fail "exit $rc for a certificate without the name: $out"
  [[ $out == *"Certificate invalid: name is not a listed principal"*"No ED25519 host key is known for other-$E2E_ID and you have requested strict checking."* ]] ||
    fail "not the principal refusal, then the plain key's: $out"
  pass "host certificate for another name: 'not a listed principal', then the unknown plain key refused (exit 255)"
  # accept-new: the plain key is recorded, as ssh records it (through the
  # root part's check of the line).
  start_bg feth-ssh-ca2 cli "${cli[@]}" -o StrictHostKeyChecking=accept-new -o HostKeyAlias="other-$E2E_ID" "root@$UNDERLAY_SRV"
  cpid=$BG_PID
  wait_until 150 "the fallback case's tunnel" link_in "$NS_SRV" tap0
  grep -qxF "other-$E2E_ID $(cut -d' ' -f1-2 "$TMP/host_ed25519.pub")" "$kh" ||
    fail "the plain host key was not recorded for the alias: $(cat "$kh")"
  pass "fallback with accept-new: the plain key recorded under the alias, tunnel up"
  stop_pid "$cpid" || true
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0

  # HostKeyAlgorithms naming a certificate only, no CA for the host, its
  # plain key known: the server must send the certificate, whose plain key
  # is then checked.
  printf '[%s]:%s %s\n' "$UNDERLAY_SRV" "$PORT" "$(cut -d' ' -f1-2 "$TMP/host_ed25519.pub")" >"$TMP/kh_plain"
  cp "$TMP/kh_plain" "$TMP/kh_plain.before"
  start_bg feth-ssh-ca3 cli "${cli[@]}" -o UserKnownHostsFile="$TMP/kh_plain" -o StrictHostKeyChecking=yes \
    -o HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com "root@$UNDERLAY_SRV"
  cpid=$BG_PID
  wait_until 150 "the certificate-only HostKeyAlgorithms case's tunnel" link_in "$NS_SRV" tap0
  cmp -s "$TMP/kh_plain" "$TMP/kh_plain.before" || fail "known_hosts changed: $(cat "$TMP/kh_plain")"
  pass "HostKeyAlgorithms with a certificate only, plain key known: the certificate's plain key verified, tunnel up"
  stop_pid "$cpid" || true
  wait_until 50 "server tap0 removed" no_link_in "$NS_SRV" tap0

  # The CA revoked: refused outright, whatever else is known.
  printf '@revoked * %s\n' "$(cat "$TMP/hostca.pub")" >>"$kh"
  rc=0
  out=$(in_cli timeout "$(scaled 10)" "${cli[@]}" -o StrictHostKeyChecking=yes "root@$UNDERLAY_SRV" 2>&1) || rc=$?
  [ "$rc" = 255 ] || fail "exit $rc with the host CA revoked: $out"
  [[ $out == *"WARNING: REVOKED HOST KEY DETECTED!"*"Revoked key in $kh:"* ]] || fail "not the revoked refusal: $out"
  pass "host CA marked @revoked: refused (exit 255)"
}

case_refused() {
  E2E_CURRENT="a refused keyword"
  local out rc=0
  out=$(in_cli "$FETH_SSH" -F /dev/null -o RevokedHostKeys=/etc/ssh/revoked -p "$PORT" "root@$UNDERLAY_SRV" 2>&1) || rc=$?
  [ "$rc" = 255 ] || fail "exit $rc with a refused keyword"
  [[ $out == *"command-line line 0: RevokedHostKeys /etc/ssh/revoked is not supported by feth-ssh"* ]] ||
    fail "refusal not named: $out"
  pass "RevokedHostKeys refused before connecting, naming keyword and origin"
}

case_keywords
case_refused
assert_no_sanitizer_reports
echo "client_keywords: all cases passed"
