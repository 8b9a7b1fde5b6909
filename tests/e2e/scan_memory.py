#!/usr/bin/env python3
"""Reads a process's whole memory (/proc/PID/mem, every readable mapping) and
looks for secrets that must never be there (docs/security.md): the private
parts of OpenSSH private key files, and strings such as another peer's
address.

usage: scan_memory.py PID [--key FILE]... [--forbid TEXT]...

For each key file (openssh-key-v1, unencrypted): ed25519: the 32-byte seed
and the 64-byte private field; RSA: d, p and q (big-endian, and the byte
order of an OpenSSL BIGNUM on a little-endian machine); and every
24-character window of the base64 that encodes the file's private section
(with or without the file's line breaks). Prints what it found; exit 1 if
anything, 0 if nothing, 2 on a usage or read error.
"""
import base64
import re
import sys

WINDOW = 24


# Larger mappings are reservations, not memory: a sanitizer's shadow and
# allocator regions (terabytes, mostly never touched). Reading them would
# take hours; they are counted and reported instead.
HUGE = 4 << 30
SKIPPED = []


def read_memory(pid):
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1]:
                continue
            name = parts[5] if len(parts) > 5 else ""
            if name in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo > HUGE:
                SKIPPED.append(hi - lo)
                continue
            try:
                mem.seek(lo)
                chunks.append(mem.read(hi - lo))
            except OSError:
                continue  # a mapping that went away, or a guard page
    if not chunks:
        raise OSError(f"nothing readable in process {pid}")
    return b"\0".join(chunks)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u32(self):
        v = int.from_bytes(self.data[self.pos:self.pos + 4], "big")
        self.pos += 4
        return v

    def string(self):
        n = self.u32()
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v


def key_secrets(path):
    """(name, bytes) secrets and the base64 text of the private section."""
    text = open(path).read()
    body = "".join(l for l in text.splitlines() if l and not l.startswith("-----"))
    blob = base64.b64decode(body)
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        raise ValueError(f"{path}: not an OpenSSH private key")
    r = Reader(blob)
    r.pos = len(magic)
    if r.string() != b"none":
        raise ValueError(f"{path}: encrypted")
    r.string(), r.string()  # kdf name, options
    if r.u32() != 1:
        raise ValueError(f"{path}: more than one key")
    r.string()  # public key
    private_start = r.pos + 4
    p = Reader(r.string())
    p.u32(), p.u32()  # check ints
    kind = p.string()
    secrets = []
    if kind == b"ssh-ed25519":
        p.string()  # public
        priv = p.string()
        secrets += [("ed25519 seed", priv[:32]), ("ed25519 private field", priv)]
    elif kind == b"ssh-rsa":
        p.string(), p.string()  # n, e
        d = p.string()
        p.string()  # iqmp
        pp, q = p.string(), p.string()
        for name, v in (("RSA d", d), ("RSA p", pp), ("RSA q", q)):
            v = v.lstrip(b"\0")
            secrets += [(name, v), (name + " (little-endian)", v[::-1])]
    else:
        raise ValueError(f"{path}: key type {kind!r} not handled")
    # The base64 characters that encode the private section (from the first
    # whole group of 3 bytes inside it).
    first_char = -(-private_start // 3) * 4
    return secrets, body[first_char:]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    pid, keys, forbidden = int(argv[1]), [], []
    args = argv[2:]
    while args:
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--key":
            keys.append(val)
        elif opt == "--forbid":
            forbidden.append(val)
        else:
            print(f"unknown option {opt}", file=sys.stderr)
            return 2
    try:
        mem = read_memory(pid)
    except OSError as e:
        print(f"cannot read the memory of {pid}: {e}", file=sys.stderr)
        return 2
    found = []
    windows = {}
    for path in keys:
        secrets, b64 = key_secrets(path)
        for name, value in secrets:
            if value in mem:
                found.append(f"{path}: {name} ({len(value)} bytes)")
        for i in range(len(b64) - WINDOW + 1):
            windows.setdefault(b64[i:i + WINDOW].encode(), (path, i))
    # Every run of base64 characters (line breaks allowed) in memory, and each
    # of its windows against the keys' windows.
    hits = set()
    for run in re.finditer(rb"[A-Za-z0-9+/\n]{%d,}" % WINDOW, mem):
        s = run.group(0).replace(b"\n", b"")
        for i in range(len(s) - WINDOW + 1):
            w = windows.get(s[i:i + WINDOW])
            if w is not None and w[0] not in hits:
                hits.add(w[0])
                found.append(f"{w[0]}: base64 of the private section (window at character {w[1]})")
    for text in forbidden:
        if text.encode() in mem:
            found.append(f"forbidden text {text!r}")
    skipped = f" (skipped {len(SKIPPED)} mappings larger than 4 GiB: sanitizer reservations)" if SKIPPED else ""
    print(f"scanned {len(mem)} bytes of process {pid}{skipped}: " + ("; ".join(found) if found else "nothing found"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
