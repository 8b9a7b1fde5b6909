// The child's seccomp allowlist (sandbox.hpp, docs/security.md): what the
// child calls once it serves a connection (measured under every e2e test;
// the calls strace saw are listed in tests/unit/seccomp_filter_test.cpp,
// which runs this filter for x86_64 and aarch64), nothing else. As sshd's
// sandbox-seccomp-filter.c, with libseccomp rather than hand-written BPF:
// it knows each architecture's numbers and audit
// arch (x86_64, aarch64, ...), kills calls made through another ABI (x32,
// i386 on x86_64), and compiles argument checks (mmap without PROT_EXEC,
// kill of the child itself only) that are easy to get wrong by hand.
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <termios.h>
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
#include "seccomp_filter.hpp"
#include "base/error.hpp"

namespace feth::server {
namespace {

constexpr const char* kWhat = "connection sandbox (seccomp)";

void check(int rc, const std::string& step)
{
    // libseccomp returns -errno.
    if (rc < 0) throw SystemError(std::string(kWhat) + ": " + step, "seccomp", -rc);
}

// The filter being built and the architecture it is for.
struct Filter {
    scmp_filter_ctx ctx;
    uint32_t arch;
};

// libseccomp takes a rule's call by the host's number and translates it,
// by name, to each architecture of the filter: the name is looked up on
// the filter's architecture to skip what it lacks, and on the host for the
// rule (a negative pseudo number there, as for poll on an aarch64 host
// building the x86_64 filter, translates by name the same way).
void rule(const Filter& f, uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args = {})
{
    if (seccomp_syscall_resolve_name_arch(f.arch, name) < 0) return; // not a system call there (alarm on aarch64, ...)
    const int host_nr = seccomp_syscall_resolve_name(name);
    check(seccomp_rule_add_array(f.ctx, action, host_nr, static_cast<unsigned>(args.size()), args.begin()),
          std::string("rule for ") + name);
}

// Argument `n` compared whole (64 bits): a caller setting the upper half
// of an int argument fails the check (the safe way). For MASKED_EQ, `a` is
// the mask and `b` the value.
scmp_arg_cmp arg(unsigned n, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0)
{
    return scmp_arg_cmp{n, op, a, b};
}

void allow(const Filter& f, std::initializer_list<const char*> names)
{
    for (const char* n : names) rule(f, SCMP_ACT_ALLOW, n);
}

// ioctl: only the requests the child makes (N3): TUNGETIFF (adopting a
// tap or tun the monitor opened, tunnel/linux/tuntap_device.cpp) and
// SIOCGIFMTU (the pump's MTU query, on the socket prepare_device_queries
// opened). Terminal and device-changing requests it could be tempted to
// make are refused with EPERM (TIOCSTI pushing a command into a terminal;
// the tap's persistence, owner, link type, name; another interface's
// address or the interface list); a terminal probe (isatty) is told
// "not a terminal". Any other request kills it. The kernel reads the
// request as 32 bits: the rules compare those. The numbers are this
// host's headers'; x86_64 and aarch64 share them (asm-generic), which
// tests/unit/seccomp_filter_test.cpp checks.
void ioctl_rules(const Filter& f)
{
    auto request = [](unsigned long r) { return arg(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, r & 0xffffffffu); };
    for (unsigned long r : {static_cast<unsigned long>(TUNGETIFF), static_cast<unsigned long>(SIOCGIFMTU)})
        rule(f, SCMP_ACT_ALLOW, "ioctl", {request(r)});
    rule(f, SCMP_ACT_ERRNO(ENOTTY), "ioctl", {request(TCGETS)});
    for (unsigned long r : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCSCTTY),
                            static_cast<unsigned long>(TIOCLINUX), static_cast<unsigned long>(TUNSETIFF),
                            static_cast<unsigned long>(TUNSETPERSIST), static_cast<unsigned long>(TUNSETOWNER),
                            static_cast<unsigned long>(TUNSETGROUP), static_cast<unsigned long>(TUNSETLINK),
                            static_cast<unsigned long>(TUNSETOFFLOAD), static_cast<unsigned long>(TUNSETTXFILTER),
                            static_cast<unsigned long>(TUNATTACHFILTER), static_cast<unsigned long>(TUNSETSTEERINGEBPF),
                            static_cast<unsigned long>(TUNSETFILTEREBPF), static_cast<unsigned long>(SIOCSIFHWADDR),
                            static_cast<unsigned long>(SIOCSIFFLAGS), static_cast<unsigned long>(SIOCSIFMTU),
                            static_cast<unsigned long>(SIOCSIFNAME), static_cast<unsigned long>(SIOCGIFCONF)})
        rule(f, SCMP_ACT_ERRNO(EPERM), "ioctl", {request(r)});
}

// The filter's one architecture: seccomp_init made it for the host's.
void set_architecture(scmp_filter_ctx ctx, uint32_t arch)
{
    if (arch == seccomp_arch_native()) return;
    check(seccomp_arch_add(ctx, arch), "add the architecture");
    check(seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE), "remove the host's architecture");
}

} // namespace

SeccompContext network_child_filter(uint32_t arch, pid_t self_pid)
{
    if (arch == SCMP_ARCH_NATIVE) arch = seccomp_arch_native();
    // A call outside the list kills the whole child with SIGSYS; the
    // monitor logs it, the kernel's audit log names the call.
    SeccompContext holder(seccomp_init(SCMP_ACT_KILL_PROCESS));
    if (!holder) throw SystemError(kWhat, "seccomp_init", ENOMEM);
    const Filter f{static_cast<scmp_filter_ctx>(holder.get()), arch};
    set_architecture(f.ctx, arch);
    // drop_privileges set it; the filter needs it (no privileged bypass).
    check(seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 1), "no_new_privs");
    // A call through another ABI (i386 or x32 on x86_64, arm32 on
    // aarch64): killed the same way, whatever its number.
    check(seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "foreign architectures");

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
        rule(f, refuse, n);

    allow(f, {
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
        // Memory (mmap and mprotect below, without PROT_EXEC).
        "brk", "munmap", "mremap", "madvise",
        // Time, randomness (OpenSSL: getrandom, never /dev/urandom), ids,
        // the end.
        "clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom", "getpid", "gettid", "getppid",
        "getuid", "geteuid", "getgid", "getegid", "uname", "sched_yield", "exit", "exit_group",
    });
    ioctl_rules(f);
    // Sending with an address of its own (sendto with one, sendmsg) would
    // let a packet socket of the pair backend inject on any interface of
    // the host: send() and sendto(..., NULL, 0) only. No sendmsg at all
    // (N11): the framing sends requests with send(), so the child cannot
    // attach a descriptor to one, on any kernel (sshd's filter has
    // neither).
    rule(f, SCMP_ACT_ALLOW, "sendto", {arg(4, SCMP_CMP_EQ, 0)});
    // Descriptor flags (non-blocking, close-on-exec) only; F_DUPFD is a dup.
    for (int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL})
        rule(f, SCMP_ACT_ALLOW, "fcntl", {arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd))});
    // Socket options: none but TCP_NODELAY and SO_KEEPALIVE on the
    // client's socket (N11: not TCP_ULP, the packet socket's SOL_PACKET
    // options, buffer sizes ...); anything else kills it.
    rule(f, SCMP_ACT_ALLOW, "setsockopt",
         {arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(IPPROTO_TCP)),
          arg(2, SCMP_CMP_EQ, static_cast<scmp_datum_t>(TCP_NODELAY))});
    rule(f, SCMP_ACT_ALLOW, "setsockopt",
         {arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(SOL_SOCKET)),
          arg(2, SCMP_CMP_EQ, static_cast<scmp_datum_t>(SO_KEEPALIVE))});
    // futex: the C library's and OpenSSL's locks, the operations sshd's
    // filter allows (private or not, either clock); not the PI, requeue-PI
    // or wake-op ones.
    constexpr scmp_datum_t kFutexCommand = 0xffffffffu & ~static_cast<scmp_datum_t>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    for (int op : {FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET})
        rule(f, SCMP_ACT_ALLOW, "futex", {arg(1, SCMP_CMP_MASKED_EQ, kFutexCommand, static_cast<scmp_datum_t>(op))});
    // No new executable memory (sshd: the same check).
    rule(f, SCMP_ACT_ALLOW, "mmap", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
    rule(f, SCMP_ACT_ALLOW, "mprotect", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
    // Signals to itself only (abort(), raise()): never to the monitor or
    // another connection's child, which share its uid.
    const auto self = static_cast<scmp_datum_t>(self_pid);
    rule(f, SCMP_ACT_ALLOW, "kill", {arg(0, SCMP_CMP_EQ, self)});
    rule(f, SCMP_ACT_ALLOW, "tgkill", {arg(0, SCMP_CMP_EQ, self)});
    rule(f, SCMP_ACT_ALLOW, "tkill", {arg(0, SCMP_CMP_EQ, self)});
    // Everything else, among it connect, bind, listen, accept, execve,
    // execveat, fork, vfork, clone, clone3, ptrace, process_vm_*, prctl,
    // setrlimit/prlimit64, chroot, mount, unshare, kills.
    return holder;
}

std::string_view platform_sandbox_profile() { return {}; }

void install_platform_sandbox(int /*monitor_fd*/)
{
    const SeccompContext filter = network_child_filter(SCMP_ARCH_NATIVE, ::getpid());
    check(seccomp_load(static_cast<scmp_filter_ctx>(filter.get())), "load");
}

} // namespace feth::server
