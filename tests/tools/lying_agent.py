#!/usr/bin/env python3
"""An ssh-agent that lies: it offers the public keys it is given and answers
every sign request with a signature that cannot verify (random bytes of the
right shape). Stock ssh sends what it gets, so a server sees a real client
send bad signatures: what MaxAuthTries and the "Failed publickey" log must
handle. Only the agent protocol's identities and sign requests are answered;
anything else gets SSH_AGENT_FAILURE.

usage: lying_agent.py SOCKET COUNT_FILE KEY.pub...
It counts the sign requests it answered in COUNT_FILE (rewritten each time).
"""
import base64
import os
import socket
import struct
import sys

SSH_AGENT_FAILURE = 5
SSH_AGENTC_REQUEST_IDENTITIES = 11
SSH_AGENT_IDENTITIES_ANSWER = 12
SSH_AGENTC_SIGN_REQUEST = 13
SSH_AGENT_SIGN_RESPONSE = 14


def sshstr(b):
    return struct.pack(">I", len(b)) + b


def read_exact(conn, n):
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def load_keys(paths):
    keys = []
    for p in paths:
        with open(p) as f:
            typ, b64 = f.read().split()[:2]
        if typ != "ssh-ed25519":
            sys.exit(f"lying_agent: {p}: only ssh-ed25519 keys are supported, not {typ}")
        keys.append(base64.b64decode(b64))
    return keys


def answer(msg, keys, counter):
    kind = msg[0]
    if kind == SSH_AGENTC_REQUEST_IDENTITIES:
        body = struct.pack(">I", len(keys)) + b"".join(sshstr(k) + sshstr(b"lying") for k in keys)
        return bytes([SSH_AGENT_IDENTITIES_ANSWER]) + body
    if kind == SSH_AGENTC_SIGN_REQUEST:
        counter[0] += 1
        sig = sshstr(b"ssh-ed25519") + sshstr(os.urandom(64))
        return bytes([SSH_AGENT_SIGN_RESPONSE]) + sshstr(sig)
    return bytes([SSH_AGENT_FAILURE])


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    path, count_file = sys.argv[1], sys.argv[2]
    keys = load_keys(sys.argv[3:])
    counter = [0]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o600)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        with conn:
            try:
                while True:
                    n = struct.unpack(">I", read_exact(conn, 4))[0]
                    if n == 0 or n > 256 * 1024:
                        break
                    reply = answer(read_exact(conn, n), keys, counter)
                    conn.sendall(struct.pack(">I", len(reply)) + reply)
                    with open(count_file + ".tmp", "w") as f:
                        f.write(f"{counter[0]}\n")
                    os.replace(count_file + ".tmp", count_file)
            except EOFError:
                pass


if __name__ == "__main__":
    main()
