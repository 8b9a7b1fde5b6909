#!/usr/bin/env bash
# Each folder is one layer (docs/architecture.md): a folder includes only
# the layers below it, and server/ and client/ never see a backend (they
# open devices through tunnel/device.hpp). Fails naming every include that
# breaks the rule, so a wrong include is caught where it is written.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

# folder: the project folders its files may include (besides its own).
# A function, not an associative array: macOS's bash is 3.2.
folders="base tunnel config server client"
allowed() {
  case $1 in
    base) echo "" ;;
    tunnel) echo "base" ;;
    config) echo "base tunnel" ;;
    server | client) echo "base tunnel config" ;;
  esac
}
# Included from outside tunnel/, these are a backend's insides.
backend_re='^tunnel/(linux|darwin)/'

bad=0 checked=0
for folder in $folders; do
  while IFS= read -r -d '' file; do
    while IFS= read -r inc; do
      checked=$((checked + 1))
      top=${inc%%/*}
      [[ $inc == */* ]] || continue                 # same-folder include ("fd.hpp")
      [[ -d $root/$top ]] || continue               # not a project folder
      [[ $top == third_party ]] && continue         # libssh's headers
      ok=0
      [[ $top == "$folder" ]] && ok=1
      for a in $(allowed "$folder"); do [[ $top == "$a" ]] && ok=1; done
      if [[ $ok == 1 && $folder != tunnel && $inc =~ $backend_re ]]; then ok=0; fi
      if [[ $ok == 0 ]]; then
        echo "layer violation: ${file#"$root"/} includes \"$inc\" ($folder/ may include: $(allowed "$folder" | sed 's/^$/nothing/') besides itself${folder:+, and no backend})"
        bad=$((bad + 1))
      fi
    done < <(sed -n -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$file")
  done < <(find "$root/$folder" -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0)
done
if [[ $checked -lt 100 ]]; then
  echo "only $checked includes found under $root: the source tree is not where this test expects it"
  exit 1
fi
[[ $bad == 0 ]] || { echo "$bad include(s) break the layers"; exit 1; }
echo "layers hold: $checked includes checked"
