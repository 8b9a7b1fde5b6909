#!/usr/bin/env bash
# fetch-libssh.sh - obtain the pinned libssh release tarball and verify it.
#
# Prints the absolute path of a sha256-verified libssh-0.12.2.tar.xz on
# stdout; progress and errors go to stderr.  Sources, in order:
#
#   1. $FETH_LIBSSH_TARBALL (an existing file), or libssh-0.12.2.tar.xz in
#      $FETH_LIBSSH_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/feth-ssh)
#   2. the upstream release address, with curl
#   3. on Debian, the byte-identical orig tarball of the source package in
#      sid (unstable) or forky (testing), fetched with apt-get through a
#      private, temporary apt state directory (the mirror is taken from this
#      machine's own apt configuration; the system apt configuration is never
#      modified)
#
# Every candidate is sha256-verified (sha256sum, or shasum -a 256 where
# there is no sha256sum, as on macOS).  The Debian tarball's upstream
# signature is checked too when gpgv is installed; the hash stays the check
# that decides.  A downloaded tarball is stored in the cache directory, so
# later builds work offline.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

readonly VERSION="0.12.2"
readonly TARBALL="libssh-${VERSION}.tar.xz"
readonly SHA256="49560f677d96e3706a904ac2de1116e25f3680937d51e5c92198fcba4a1c1e9f"
readonly UPSTREAM_URL="https://www.libssh.org/files/0.12/${TARBALL}"
# Debian suites whose source package may carry this release, newest first;
# any Debian revision of it (0.12.2-1, 0.12.2-2, ...) ships the same orig
# tarball.
DEBIAN_SUITES=(sid forky)
readonly DEBIAN_ORIG="libssh_${VERSION}.orig.tar.xz"
# The libssh release key that signs upstream tarballs (Debian keeps it as
# debian/upstream/signing-key.asc and the signature as $DEBIAN_ORIG.asc).
readonly RELEASE_KEY_FPR="88A228D89B07C2C77D0C780903D5DF8CFDD3E8E7"

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

# sha256_of FILE: print FILE's sha256 with whichever tool this system has.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$1" | cut -d' ' -f1
    else
        log "error: neither sha256sum nor shasum is installed"
        return 1
    fi
}

# verify FILE: succeed if FILE has the pinned sha256; otherwise explain and
# fail.
verify() {
    local file="$1" actual
    actual="$(sha256_of "$file")" || return 1
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

# check_signature DIR: with gpgv at hand, check the upstream signature of
# the orig tarball in DIR (apt-get source put the tarball, its .asc and the
# Debian packaging there) against the release key Debian ships.  Only logs:
# the sha256 pin has already decided.
check_signature() {
    local dir="$1" debian_tar status
    if ! command -v gpgv >/dev/null 2>&1; then
        log "gpgv not found, not checking the upstream signature (the sha256 pin holds)"
        return 0
    fi
    debian_tar="$(find "$dir" -maxdepth 1 -name 'libssh_*.debian.tar.*' | head -n 1)"
    if [[ ! -f "$dir/$DEBIAN_ORIG.asc" || -z "$debian_tar" ]] ||
       ! tar -xf "$debian_tar" -C "$dir" debian/upstream/signing-key.asc 2>/dev/null; then
        log "no upstream signature or signing key in the source package, not checked"
        return 0
    fi
    # gpgv reads binary keyrings only: strip the ASCII armour.
    awk '/^-----BEGIN PGP PUBLIC KEY BLOCK-----/ { body = 1; next }
         /^-----END PGP PUBLIC KEY BLOCK-----/   { body = 0 }
         body && /^[A-Za-z0-9+\/]+=?=?$/' \
        "$dir/debian/upstream/signing-key.asc" |
        base64 -d > "$dir/release-key.gpg" 2>/dev/null || true
    status="$(gpgv --status-fd 1 --keyring "$dir/release-key.gpg" \
                  "$dir/$DEBIAN_ORIG.asc" "$dir/$DEBIAN_ORIG" 2>/dev/null)" || true
    if grep -q "^\[GNUPG:\] VALIDSIG $RELEASE_KEY_FPR " <<<"$status"; then
        log "upstream signature good (libssh release key $RELEASE_KEY_FPR)"
    else
        log "warning: upstream signature NOT verified with key $RELEASE_KEY_FPR"
        log "  (the tarball matches the pinned sha256 and is used anyway)"
    fi
}

# debian_source SUITE ARCHIVE: fetch this release's orig tarball from
# SUITE's libssh source package; store and report it on success, return
# non-zero if SUITE does not have it.  Uses a private apt state so nothing
# on the system changes.
debian_source() {
    local suite="$1" archive="$2" state version
    state="$TMP_DIR/apt-$suite"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/dl"
    printf 'deb-src %s %s main\n' "$archive" "$suite" > "$state/sources.list"
    local apt_opts=(
        -o "Dir::Etc::SourceList=$state/sources.list"
        -o "Dir::Etc::SourceParts=/nonexistent"
        -o "Dir::State::Lists=$state/lists"
        -o "Dir::Cache=$state/cache"
        -o "Acquire::Retries=0"
        -o "Acquire::http::Timeout=20"
        -o "Acquire::https::Timeout=20"
    )
    if [[ "$(id -u)" -eq 0 ]]; then
        # The private directories are not accessible to the _apt user.
        apt_opts+=(-o "APT::Sandbox::User=root")
    fi
    log "looking for libssh $VERSION in Debian $suite at $archive"
    if ! apt-get "${apt_opts[@]}" -q update >&2; then
        log "apt-get update for $suite failed"
        return 1
    fi
    version="$(apt-cache "${apt_opts[@]}" showsrc --only-source libssh 2>/dev/null |
               sed -n "s/^Version: \(${VERSION//./\\.}-[^ ]*\)$/\1/p" | head -n 1)"
    if [[ -z "$version" ]]; then
        log "Debian $suite has no libssh $VERSION source package"
        return 1
    fi
    log "fetching source package libssh=$version ($suite)"
    if ! (cd "$state/dl" &&
          apt-get "${apt_opts[@]}" -q source --download-only "libssh=$version") >&2; then
        log "apt-get could not fetch libssh=$version"
        return 1
    fi
    if [[ ! -f "$state/dl/$DEBIAN_ORIG" ]]; then
        log "apt-get did not produce $DEBIAN_ORIG"
        return 1
    fi
    if ! verify "$state/dl/$DEBIAN_ORIG"; then
        log "error: $DEBIAN_ORIG of libssh=$version does not match the pinned hash"
        exit 1
    fi
    check_signature "$state/dl"
    mv -- "$state/dl/$DEBIAN_ORIG" "$TMP_DIR/$TARBALL"
    store "$TMP_DIR/$TARBALL"
}

# 3. Debian: the source package in sid or forky ships the very same bytes
#    as the upstream release.
if command -v apt-get >/dev/null 2>&1; then
    if archive="$(debian_archive_uri)"; then
        tmp_dir
        for suite in "${DEBIAN_SUITES[@]}"; do
            TRIED+=("Debian $suite source package libssh $VERSION from $archive")
            debian_source "$suite" "$archive" || true
        done
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
