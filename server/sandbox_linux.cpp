// The child's seccomp allowlist (sandbox.hpp, docs/security.md): what the
// child calls once it serves a connection (measured under every e2e test),
// nothing else. As sshd's sandbox-seccomp-filter.c, with libseccomp rather
// than hand-written BPF: it knows each architecture's numbers and audit
// arch (x86_64, aarch64, ...), kills calls made through another ABI (x32,
// i386 on x86_64), and compiles argument checks (mmap without PROT_EXEC,
// kill of the child itself only) that are easy to get wrong by hand.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>

#include "sandbox.hpp"
#include "base/error.hpp"

namespace feth::server {
namespace {

constexpr const char* kWhat = "connection sandbox (seccomp)";

struct CtxRelease {
    void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};

void check(int rc, const std::string& step)
{
    // libseccomp returns -errno.
    if (rc < 0) throw SystemError(std::string(kWhat) + ": " + step, "seccomp", -rc);
}

void rule(scmp_filter_ctx ctx, uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args = {})
{
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return; // not a system call on this architecture (alarm on aarch64, ...)
    check(seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.begin()),
          std::string("rule for ") + name);
}

// Argument `n` compared whole (64 bits): a caller setting the upper half
// of an int argument fails the check (the safe way). For MASKED_EQ, `a` is
// the mask and `b` the value.
scmp_arg_cmp arg(unsigned n, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0)
{
    return scmp_arg_cmp{n, op, a, b};
}

void allow(scmp_filter_ctx ctx, std::initializer_list<const char*> names)
{
    for (const char* n : names) rule(ctx, SCMP_ACT_ALLOW, n);
}

} // namespace

std::string_view platform_sandbox_profile() { return {}; }

void install_platform_sandbox(int monitor_fd)
{
    // A call outside the list kills the whole child with SIGSYS; the
    // monitor logs it, the kernel's audit log names the call.
    std::unique_ptr<void, CtxRelease> holder(seccomp_init(SCMP_ACT_KILL_PROCESS));
    if (!holder) throw SystemError(kWhat, "seccomp_init", ENOMEM);
    auto ctx = static_cast<scmp_filter_ctx>(holder.get());
    // drop_privileges set it; the filter needs it (no privileged bypass).
    check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1), "no_new_privs");
    // A call through another ABI (i386 or x32 on x86_64, arm32 on
    // aarch64): killed the same way, whatever its number.
    check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "foreign architectures");

    // Harmless probes fail instead of killing (sshd: EACCES for open,
    // openat, stat): OpenSSL or the C library looking for a file (there is
    // none in the empty chroot anyway), glibc's syslog reconnecting after
    // syslogd restarted. Refused, not allowed: no new file, no new socket,
    // also not through a directory descriptor that leaked in.
    const uint32_t refuse = SCMP_ACT_ERRNO(EACCES);
    for (const char* n : {"open", "openat", "openat2", "creat", "stat", "lstat", "access", "faccessat", "faccessat2",
                          "readlink", "readlinkat", "socket", "socketpair",
                          // No copies of descriptors: the checks on descriptor
                          // numbers below hold only while a number keeps its
                          // file (close and dup could put a packet socket
                          // where the monitor socket was).
                          "dup", "dup2", "dup3"})
        rule(ctx, refuse, n);

    allow(ctx, {
        // Descriptors the child has: the TCP socket, the monitor socket
        // (requests, tunnel descriptors by SCM_RIGHTS), tunnel devices,
        // the signal pipe, stderr or syslog's socket; recvmmsg: the pair
        // backend reads its packet socket in batches.
        "read", "write", "readv", "writev", "recvfrom", "recvmsg", "recvmmsg", "close", "shutdown", "lseek", "fstat",
        "newfstatat", "statx", "getsockopt", "getsockname", "getpeername",
        // Waiting: libssh's event loop (poll), sleeps.
        "poll", "ppoll", "select", "pselect6", "nanosleep", "clock_nanosleep",
        // The signal pipe (base/signal_pipe.cpp) is made in
        // serve_connection; handlers and their return; LoginGraceTime's
        // alarm.
        "pipe", "pipe2", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "alarm", "setitimer",
        "getitimer", "restart_syscall",
        // Memory (mmap and mprotect below, without PROT_EXEC); futex: the
        // C library's and OpenSSL's locks.
        "brk", "munmap", "mremap", "madvise", "futex",
        // Time, randomness (OpenSSL: getrandom, never /dev/urandom), ids,
        // the end.
        "clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom", "getpid", "gettid", "getppid",
        "getuid", "geteuid", "getgid", "getegid", "uname", "sched_yield", "exit", "exit_group",
        // The tap's ioctls (TUNGETIFF...): the descriptor is the child's
        // already, and the monitor owns and removes the interface
        // whatever the child does with it (M1, hostile_child).
        "ioctl",
    });
    // Sending with an address of its own (sendto with one, sendmsg) would
    // let a packet socket of the pair backend inject on any interface of
    // the host: send() and sendto(..., NULL, 0) anywhere, sendmsg on the
    // monitor socket only (requests; descriptors go the other way).
    rule(ctx, SCMP_ACT_ALLOW, "sendto", {arg(4, SCMP_CMP_EQ, 0)});
    rule(ctx, SCMP_ACT_ALLOW, "sendmsg", {arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(monitor_fd))});
    // Descriptor flags (non-blocking, close-on-exec) only; F_DUPFD is a dup.
    for (int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL})
        rule(ctx, SCMP_ACT_ALLOW, "fcntl", {arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd))});
    // Socket options at the socket and TCP levels (libssh: TCP_NODELAY,
    // keepalives), not the packet socket's (SOL_PACKET: rings, fanout,
    // memberships).
    for (int level : {static_cast<int>(SOL_SOCKET), static_cast<int>(IPPROTO_TCP)})
        rule(ctx, SCMP_ACT_ALLOW, "setsockopt", {arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(level))});
    // No new executable memory (sshd: the same check).
    rule(ctx, SCMP_ACT_ALLOW, "mmap", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
    rule(ctx, SCMP_ACT_ALLOW, "mprotect", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
    // Signals to itself only (abort(), raise()): never to the monitor or
    // another connection's child, which share its uid.
    const auto self = static_cast<scmp_datum_t>(::getpid());
    rule(ctx, SCMP_ACT_ALLOW, "kill", {arg(0, SCMP_CMP_EQ, self)});
    rule(ctx, SCMP_ACT_ALLOW, "tgkill", {arg(0, SCMP_CMP_EQ, self)});
    rule(ctx, SCMP_ACT_ALLOW, "tkill", {arg(0, SCMP_CMP_EQ, self)});
    // Everything else, among it connect, bind, listen, accept, execve,
    // execveat, fork, vfork, clone, clone3, ptrace, process_vm_*, prctl,
    // setrlimit/prlimit64, chroot, mount, unshare, kills.

    check(seccomp_load(ctx), "load");
}

} // namespace feth::server
