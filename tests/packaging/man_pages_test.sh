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
  # man-db's man only: macOS's (mandoc) has no --warnings or -l.
  if man --version 2>/dev/null | grep -q man-db; then
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
# feth-ssh(1)'s keyword groups are the table in config/client_keywords.cpp:
# every keyword in the group the table puts it in, and no other.
table=$REPO_ROOT/config/client_keywords.cpp
man1=$REPO_ROOT/docs/feth-ssh.1
# from_table H|I|R: the names, sorted.
from_table() { grep -oE '^ +\{"[A-Za-z0-9]+", '"$1"',' "$table" | sed -E 's/^ +\{"([A-Za-z0-9]+)".*/\1/' | sort; }
# from_man honoured|refused|ignored: the names between the group's markers.
from_man() {
  sed -n "/^\\.\\\\\" keywords $1\$/,/^\\.\\\\\" end keywords\$/p" "$man1" |
    grep -oE '^\.BR? [A-Za-z0-9]+' | sed -E 's/^\.BR? //' | sort
}
for pair in H:honoured I:ignored R:refused; do
  t=$(from_table "${pair%%:*}")
  m=$(from_man "${pair#*:}")
  if [ -z "$t" ]; then echo "FAIL: no ${pair#*:} keywords found in $table"; status=1; continue; fi
  if [ "$t" != "$m" ]; then
    echo "FAIL: feth-ssh.1's ${pair#*:} keywords differ from the table in config/client_keywords.cpp:"
    diff <(printf '%s\n' "$t") <(printf '%s\n' "$m") | sed -n 's/^</  table only:/p; s/^>/  man page only:/p'
    status=1
  else
    echo "ok: $(printf '%s\n' "$t" | wc -l) ${pair#*:} keywords agree"
  fi
done
[ "$status" = 0 ] && echo "PASS: manual pages render cleanly and cover every option"
exit "$status"
