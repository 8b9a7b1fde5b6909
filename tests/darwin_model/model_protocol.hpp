// The protocol between the model of xnu's daemon (darwin-modeld) and its
// client (model_client.cpp, tunnel/darwin/sys.hpp's implementation in the
// model build).
//
// Every modelled descriptor (a /dev/bpfN, an AF_NDRV, PF_SYSTEM or AF_INET
// socket) is an AF_UNIX SOCK_SEQPACKET socket connected to the daemon, which
// keeps the object's state. So the state follows the descriptor wherever it
// goes (fork, SCM_RIGHTS to the unprivileged child), O_NONBLOCK lives on
// the socket's open file as Darwin's fg_flag does, and the daemon sees the
// object closed only when every copy in every process is closed. Each call
// is one request and one answer on that very socket (read and write only,
// so it works under the child's seccomp filter). Between answers the daemon
// writes a Token when the object becomes readable, so poll() on the
// descriptor behaves as on Darwin; the client skips tokens while it waits
// for an answer, and the daemon sends a fresh one after an answer when the
// object is still readable.
//
// The daemon listens on an abstract socket, one per network namespace
// (abstract names are per namespace), so each test network has its own xnu.
#pragma once

#include <cstdint>

namespace feth::darwin_model {

inline constexpr char kSocketName[] = "feth-darwin-model"; // abstract: "\0feth-darwin-model"

enum class Op : std::uint32_t {
    OpenBpf = 1,    // a = minor
    Socket,         // a = domain, b = type, c = protocol
    Ioctl,          // a = request; payload: the argument (ifdrv: the struct, then ifd_len bytes)
    Read,           // a = size
    Recv,           // a = size
    Send,           // payload: the bytes
    SetSockopt,     // a = level, b = name; payload: the value
    GetSockopt,     // a = level, b = name, c = room
    Bind,           // payload: the address
    Connect,        // payload: the address
    Sysctl,         // a = room for the old value (0: none wanted); payload: name NUL, new value
    Fault,          // a = Fault, b = count; payload: an interface name
};

// Faults the kernel rarely shows, injected by tests (Op::Fault on a fresh
// connection; root only).
enum class Fault : std::uint32_t {
    NdrvEnobufs = 1, // the next b NDRV sends on interface <payload> fail with ENOBUFS
    BpfHoldFull,     // bpf readers of <payload> keep their hold buffer full for b captures (counted drops)
    RemoveInterface, // <payload> disappears under its readers (as if destroyed)
    BpfBatch,        // bpf readers of <payload> see nothing until b records wait: one read hands them all over
};

inline constexpr std::uint32_t kNonBlocking = 1; // Request::flags: the descriptor's O_NONBLOCK

struct Request {
    Op op;
    std::uint32_t flags;
    std::uint64_t a;
    std::uint64_t b;
    std::uint64_t c;
    // payload follows
};

enum class Kind : std::uint32_t { Answer = 1, Token = 2 };

struct Answer {
    Kind kind;
    std::int32_t result; // the call's return value; -1 with err set on failure
    std::int32_t err;
    std::uint32_t pad;
    // payload follows: what the call copies out
};

// The largest message: a bpf read of the largest buffer (xnu's
// bpf_maxbufsize, 512 KiB) plus the answer's header.
inline constexpr std::size_t kMaxMessage = 512 * 1024 + 64;

} // namespace feth::darwin_model
