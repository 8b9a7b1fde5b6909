#!/usr/bin/env bash
# fetch-libssh.sh - obtain the pinned libssh release tarball and verify it.
#
# Prints the absolute path of a sha256-verified libssh-0.11.5.tar.xz on
# stdout; progress and errors go to stderr.  Sources, in order:
#
#   1. $FETH_LIBSSH_TARBALL (an existing file), or libssh-0.11.5.tar.xz in
#      $FETH_LIBSSH_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh)
#   2. the upstream release address, with curl
#   3. on Debian, the byte-identical orig tarball of trixie's source package,
#      fetched with apt-get through a private, temporary apt state directory
#      (the mirror is taken from this machine's own apt configuration; the
#      system apt configuration is never modified)
#
# Every candidate is sha256-verified.  A downloaded tarball is stored in the
# cache directory, so later builds work offline.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

readonly VERSION="0.11.5"
readonly TARBALL="libssh-${VERSION}.tar.xz"
readonly SHA256="6898ba9dd836d618b71dc7a4bb786a502c173cef5cafbf20fe5e0567ba4ea30c"
readonly UPSTREAM_URL="https://www.libssh.org/files/0.11/${TARBALL}"
readonly DEBIAN_SUITE="trixie"
readonly DEBIAN_VERSION="0.11.5-0+deb13u1"
readonly DEBIAN_ORIG="libssh_${VERSION}.orig.tar.xz"

CACHE_DIR="${FETH_LIBSSH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh}"
TMP_DIR=""
TRIED=()

log() { printf 'fetch-libssh: %s\n' "$*" >&2; }

cleanup() {
    if [[ -n "$TMP_DIR" ]]; then
        rm -rf -- "$TMP_DIR"
    fi
}
trap cleanup EXIT

# verify FILE: succeed if FILE has the pinned sha256; otherwise explain and
# fail.
verify() {
    local file="$1" actual
    actual="$(sha256sum -- "$file" | cut -d' ' -f1)"
    if [[ "$actual" != "$SHA256" ]]; then
        log "sha256 mismatch for $file"
        log "  expected: $SHA256"
        log "  actual:   $actual"
        return 1
    fi
}

# found FILE: print FILE's absolute path and exit successfully.
found() {
    log "using $1"
    printf '%s\n' "$(realpath -- "$1")"
    exit 0
}

# store FILE: copy a verified download into the cache (best effort) and
# report the cached copy, or FILE itself if the cache is not writable.
store() {
    local file="$1" part
    if mkdir -p -- "$CACHE_DIR" 2>/dev/null; then
        part="$CACHE_DIR/$TARBALL.part.$$"
        if cp -- "$file" "$part" 2>/dev/null && mv -f -- "$part" "$CACHE_DIR/$TARBALL"; then
            log "cached in $CACHE_DIR"
            found "$CACHE_DIR/$TARBALL"
        fi
        rm -f -- "$part"
    fi
    log "warning: could not write to cache directory $CACHE_DIR"
    found "$file"
}

tmp_dir() {
    if [[ -z "$TMP_DIR" ]]; then
        TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/feth-libssh.XXXXXX")"
    fi
}

# 1. An explicitly given file, or the cache.  A bad explicit file is an
#    error (the user asked for exactly that file); a bad cached file is
#    reported and replaced by a fresh download.
if [[ -n "${FETH_LIBSSH_TARBALL:-}" ]]; then
    if [[ ! -f "$FETH_LIBSSH_TARBALL" ]]; then
        log "error: FETH_LIBSSH_TARBALL=$FETH_LIBSSH_TARBALL is not a file"
        exit 1
    fi
    verify "$FETH_LIBSSH_TARBALL" || {
        log "error: refusing FETH_LIBSSH_TARBALL=$FETH_LIBSSH_TARBALL"
        exit 1
    }
    found "$FETH_LIBSSH_TARBALL"
fi

if [[ -f "$CACHE_DIR/$TARBALL" ]]; then
    if verify "$CACHE_DIR/$TARBALL"; then
        found "$CACHE_DIR/$TARBALL"
    fi
    log "ignoring corrupt cached copy, fetching it again"
fi
TRIED+=("cache: $CACHE_DIR/$TARBALL")

# 2. Upstream release, with tight timeouts so that a closed network fails
#    within seconds instead of hanging the configure step.
TRIED+=("upstream: $UPSTREAM_URL")
if command -v curl >/dev/null 2>&1; then
    tmp_dir
    log "downloading $UPSTREAM_URL"
    if curl --fail --silent --show-error --location \
            --proto '=https' --tlsv1.2 \
            --connect-timeout 5 --max-time 120 \
            --output "$TMP_DIR/$TARBALL" "$UPSTREAM_URL"; then
        if verify "$TMP_DIR/$TARBALL"; then
            store "$TMP_DIR/$TARBALL"
        fi
        log "error: download from $UPSTREAM_URL does not match the pinned hash"
        exit 1
    fi
    log "upstream download failed"
else
    log "curl not found, skipping upstream download"
fi

# Print the URI of the apt repository that serves this machine's main
# release (for example "bookworm", not "bookworm-security"), as configured
# in the system's own apt sources.
debian_archive_uri() {
    local codename="" uri suite
    if [[ -r /etc/os-release ]]; then
        codename="$(sed -n 's/^VERSION_CODENAME=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' \
                        /etc/os-release)"
    fi
    # apt itself parses sources.list and deb822 *.sources files for us.
    while read -r uri suite; do
        if [[ -n "$codename" && "$suite" == "$codename" ]] ||
           [[ -z "$codename" && -n "$suite" && "$suite" != *-* && "$suite" != */* ]]; then
            printf '%s\n' "${uri%/}"
            return 0
        fi
    done < <(apt-get indextargets --no-release-info \
                 --format '$(REPO_URI) $(RELEASE)' 2>/dev/null | sort -u)
    return 1
}

# 3. Debian: trixie's source package ships the very same bytes as the
#    upstream release.  Use a private apt state so nothing on the system
#    changes.
if command -v apt-get >/dev/null 2>&1; then
    if archive="$(debian_archive_uri)"; then
        TRIED+=("Debian source package libssh=$DEBIAN_VERSION from $archive")
        tmp_dir
        mkdir -p "$TMP_DIR/apt/lists/partial" "$TMP_DIR/dl"
        printf 'deb-src %s %s main\n' "$archive" "$DEBIAN_SUITE" \
            > "$TMP_DIR/apt/sources.list"
        apt_opts=(
            -o "Dir::Etc::SourceList=$TMP_DIR/apt/sources.list"
            -o "Dir::Etc::SourceParts=/nonexistent"
            -o "Dir::State::Lists=$TMP_DIR/apt/lists"
            -o "Acquire::Retries=0"
            -o "Acquire::http::Timeout=20"
            -o "Acquire::https::Timeout=20"
        )
        if [[ "$(id -u)" -eq 0 ]]; then
            # The private directories are not accessible to the _apt user.
            apt_opts+=(-o "APT::Sandbox::User=root")
        fi
        log "fetching source package libssh=$DEBIAN_VERSION ($DEBIAN_SUITE) from $archive"
        if apt-get "${apt_opts[@]}" -q update >&2 &&
           (cd "$TMP_DIR/dl" &&
            apt-get "${apt_opts[@]}" -q source --download-only \
                "libssh=$DEBIAN_VERSION") >&2; then
            if [[ -f "$TMP_DIR/dl/$DEBIAN_ORIG" ]]; then
                if verify "$TMP_DIR/dl/$DEBIAN_ORIG"; then
                    mv -- "$TMP_DIR/dl/$DEBIAN_ORIG" "$TMP_DIR/$TARBALL"
                    store "$TMP_DIR/$TARBALL"
                fi
                log "error: $DEBIAN_ORIG does not match the pinned hash"
                exit 1
            fi
            log "apt-get did not produce $DEBIAN_ORIG"
        else
            log "apt-get could not fetch the source package"
        fi
    else
        TRIED+=("Debian source package (no apt source for the main release found)")
        log "no apt repository for the main release found, skipping Debian"
    fi
fi

log "error: could not obtain $TARBALL (sha256 $SHA256). Tried:"
for t in "${TRIED[@]}"; do
    log "  - $t"
done
log "Download it by other means and pass -DFETH_LIBSSH_TARBALL=/path/to/$TARBALL"
log "(or set FETH_LIBSSH_TARBALL), or put it in $CACHE_DIR."
exit 1
