#!/usr/bin/env bash
# The manual pages in docs/ render without a warning (groff -ww, and man
# --warnings when man-db is there), and feth-ssh(1) / feth-sshd(8) document
# every option their --help lists (FETH_SSH / FETH_SSHD from ctest).
# Skipped (77) without groff.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
status=0
for page in feth-ssh.1 feth-sshd.8 feth-sshd_config.5; do
  f=$REPO_ROOT/docs/$page
  [ -f "$f" ] || { echo "FAIL: docs/$page missing"; status=1; continue; }
  warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1 || true)
  [ -z "$warn" ] || { echo "FAIL: groff warnings in $page:"; echo "$warn"; status=1; }
  if command -v man >/dev/null; then
    warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null || true)
    [ -z "$warn" ] || { echo "FAIL: man --warnings in $page:"; echo "$warn"; status=1; }
  fi
done

# options_in_help BINARY: the short and long options --help lists.
options_in_help() {
  "$1" --help | grep -oE '^  +-[-A-Za-z0-9]+(,-[A-Za-z0-9]+)*' | tr ',' '\n' | tr -d ' '
}
check_options() {
  local bin=$1 page=$REPO_ROOT/docs/$2 opt esc
  [ -x "$bin" ] || { echo "note: $bin not built, option check for $2 skipped"; return 0; }
  for opt in $(options_in_help "$bin"); do
    esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    grep -Eq "^\.(B|BI|BR) $esc( |$)" "$page" || { echo "FAIL: $2 does not document $opt"; status=1; }
  done
}
check_options "${FETH_SSH:-$REPO_ROOT/build/client/feth-ssh}" feth-ssh.1
check_options "${FETH_SSHD:-$REPO_ROOT/build/server/feth-sshd}" feth-sshd.8
[ "$status" = 0 ] && echo "PASS: manual pages render cleanly and cover every option"
exit "$status"
