// The network program's seccomp filter (server/sandbox_linux.cpp) on
// x86_64 and aarch64, checked on any host: libseccomp builds each
// architecture's filter, exports it as the classic BPF the kernel would
// load, and a small interpreter below runs it over seccomp_data records as
// that kernel would pass them. (qemu-user cannot load a filter: it refuses
// PR_SET_SECCOMP. The arm64 workflow, .github/workflows/linux-arm64.yml,
// runs the real one.) Linux only.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/fd.hpp"
#include "catch.hpp"
#include "seccomp_filter.hpp"

namespace {

// --- the architectures ---------------------------------------------------

// System call numbers, written down from the kernel rather than taken from
// libseccomp (whose tables built the filter): x86_64 from
// arch/x86/entry/syscalls/syscall_64.tbl, aarch64 from
// include/uapi/asm-generic/unistd.h (arm64 has no table of its own). -1:
// the architecture has no such call. The test below checks both columns
// against libseccomp's tables too, so a typo here cannot pass silently.
struct SyscallNumber {
    const char* name;
    int x86_64;
    int aarch64;
};
constexpr SyscallNumber kNumbers[] = {
    {"read", 0, 63},
    {"write", 1, 64},
    {"open", 2, -1},
    {"close", 3, 57},
    {"poll", 7, -1},
    {"mmap", 9, 222},
    {"mprotect", 10, 226},
    {"munmap", 11, 215},
    {"brk", 12, 214},
    {"rt_sigaction", 13, 134},
    {"rt_sigreturn", 15, 139},
    {"ioctl", 16, 29},
    {"mremap", 25, 216},
    {"dup", 32, 23},
    {"alarm", 37, -1},
    {"setitimer", 38, 103},
    {"getpid", 39, 172},
    {"socket", 41, 198},
    {"connect", 42, 203},
    {"accept", 43, 202},
    {"sendto", 44, 206},
    {"recvfrom", 45, 207},
    {"sendmsg", 46, 211},
    {"recvmsg", 47, 212},
    {"bind", 49, 200},
    {"listen", 50, 201},
    {"setsockopt", 54, 208},
    {"getsockopt", 55, 209},
    {"clone", 56, 220},
    {"fork", 57, -1},
    {"vfork", 58, -1},
    {"execve", 59, 221},
    {"kill", 62, 129},
    {"fcntl", 72, 25},
    {"ptrace", 101, 117},
    {"prctl", 157, 167},
    {"setrlimit", 160, 164},
    {"chroot", 161, 51},
    {"mount", 165, 40},
    {"futex", 202, 98},
    {"exit_group", 231, 94},
    {"tgkill", 234, 131},
    {"openat", 257, 56},
    {"ppoll", 271, 73},
    {"unshare", 272, 97},
    {"dup3", 292, 24},
    {"pipe2", 293, 59},
    {"recvmmsg", 299, 243},
    {"prlimit64", 302, 261},
    {"process_vm_readv", 310, 270},
    {"process_vm_writev", 311, 271},
    {"getrandom", 318, 278},
    {"execveat", 322, 281},
    {"clone3", 435, 435},
};

struct Arch {
    const char* name;
    uint32_t scmp;  // libseccomp's token
    uint32_t audit; // seccomp_data.arch on this architecture
    uint32_t compat_audit; // its other ABI's seccomp_data.arch (i386, arm32)
    int SyscallNumber::*column;
};
const Arch kX86_64{"x86_64", SCMP_ARCH_X86_64, AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, &SyscallNumber::x86_64};
const Arch kAarch64{"aarch64", SCMP_ARCH_AARCH64, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, &SyscallNumber::aarch64};
const Arch* const kArches[] = {&kX86_64, &kAarch64};

int number(const Arch& arch, const std::string& name)
{
    for (const auto& n : kNumbers)
        if (name == n.name) return n.*arch.column;
    FAIL("no number written down for " << name);
    return -1;
}

// --- ioctl requests -------------------------------------------------------
// The same numbers on both: x86 and arm64 take asm/ioctl.h (the _IOC
// encoding), asm/ioctls.h (terminal requests) and asm/sockios.h from
// include/uapi/asm-generic (arm64's uapi/asm has none of the three, so
// Kbuild's mandatory-y generates them from asm-generic; x86's include the
// asm-generic ones); linux/sockios.h and linux/if_tun.h are the same on
// every architecture. Written out, and checked against this host's
// headers, so that the aarch64 case does not silently use a number only
// x86_64 has.
constexpr unsigned long kTCGETS = 0x5401;        // asm-generic/ioctls.h
constexpr unsigned long kTIOCSTI = 0x5412;       // asm-generic/ioctls.h
constexpr unsigned long kTUNSETPERSIST = 0x400454cb; // _IOW('T', 203, int)
constexpr unsigned long kTUNGETIFF = 0x800454d2;  // _IOR('T', 210, unsigned int)
constexpr unsigned long kSIOCGIFMTU = 0x8921;     // linux/sockios.h
constexpr unsigned long kSIOCSIFHWADDR = 0x8924;  // linux/sockios.h
constexpr unsigned long kFIONREAD = 0x541b;       // asm-generic/ioctls.h: one the child never makes

// Other arguments the rules look at, the same on both (asm-generic
// fcntl.h, socket.h, mman-common.h; linux/futex.h, netinet/tcp.h).
constexpr uint64_t kPROT_READ = 1, kPROT_WRITE = 2, kPROT_EXEC = 4;
constexpr uint64_t kF_DUPFD = 0, kF_GETFD = 1, kF_SETFD = 2, kF_GETFL = 3, kF_SETFL = 4, kF_DUPFD_CLOEXEC = 1030;
constexpr uint64_t kSOL_SOCKET = 1, kSO_KEEPALIVE = 9, kSO_RCVBUF = 8, kIPPROTO_TCP = 6, kTCP_NODELAY = 1,
                   kTCP_ULP = 31, kSOL_PACKET = 263;
constexpr uint64_t kFUTEX_WAKE_PRIVATE = 1 | 128, kFUTEX_WAIT_PRIVATE = 0 | 128, kFUTEX_LOCK_PI = 6;

// --- the filter as the kernel gets it ---------------------------------------

constexpr pid_t kSelf = 4242;

std::vector<sock_filter> exported_filter(const Arch& arch)
{
    const auto filter = feth::server::network_child_filter(arch.scmp, kSelf);
    feth::UniqueFd out(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
    REQUIRE(out.valid());
    REQUIRE(seccomp_export_bpf(static_cast<scmp_filter_ctx>(filter.get()), out.get()) == 0);
    const off_t size = ::lseek(out.get(), 0, SEEK_END);
    REQUIRE(size > 0);
    REQUIRE(size % static_cast<off_t>(sizeof(sock_filter)) == 0);
    std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
    REQUIRE(::pread(out.get(), program.data(), static_cast<size_t>(size), 0) == size);
    return program;
}

// Classic BPF as seccomp runs it: one accumulator, loads of 32-bit words
// of seccomp_data, forward jumps only, a RET ends it. Only the opcodes
// libseccomp emits; anything else fails the test, naming it.
uint32_t run(const std::vector<sock_filter>& program, const seccomp_data& data)
{
    unsigned char bytes[sizeof(seccomp_data)];
    std::memcpy(bytes, &data, sizeof bytes);
    uint32_t a = 0;
    for (size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter& insn = program[pc];
        auto jump = [&](bool taken) { pc += taken ? insn.jt : insn.jf; };
        switch (insn.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            REQUIRE(insn.k % 4 == 0);
            REQUIRE(insn.k + 4 <= sizeof bytes);
            std::memcpy(&a, bytes + insn.k, 4);
            break;
        case BPF_ALU | BPF_AND | BPF_K: a &= insn.k; break;
        case BPF_JMP | BPF_JA: pc += insn.k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: jump(a == insn.k); break;
        case BPF_JMP | BPF_JGT | BPF_K: jump(a > insn.k); break;
        case BPF_JMP | BPF_JGE | BPF_K: jump(a >= insn.k); break;
        case BPF_JMP | BPF_JSET | BPF_K: jump((a & insn.k) != 0); break;
        case BPF_RET | BPF_K: return insn.k;
        default: FAIL("opcode 0x" << std::hex << insn.code << " at " << std::dec << pc << ": not interpreted");
        }
    }
    FAIL("the filter ran past its end");
    return 0;
}

enum class Outcome { allowed, killed, eacces, eperm, enotty, other };

const char* describe(Outcome o)
{
    switch (o) {
    case Outcome::allowed: return "allowed";
    case Outcome::killed: return "killed";
    case Outcome::eacces: return "EACCES";
    case Outcome::eperm: return "EPERM";
    case Outcome::enotty: return "ENOTTY";
    default: return "other";
    }
}

Outcome outcome(uint32_t ret)
{
    if (ret == SECCOMP_RET_ALLOW) return Outcome::allowed;
    if (ret == SECCOMP_RET_KILL_PROCESS) return Outcome::killed;
    if ((ret & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO) {
        switch (ret & SECCOMP_RET_DATA) {
        case EACCES: return Outcome::eacces;
        case EPERM: return Outcome::eperm;
        case ENOTTY: return Outcome::enotty;
        default: return Outcome::other;
        }
    }
    return Outcome::other;
}

// One architecture's filter, asked about calls by name.
struct Filter {
    const Arch& arch;
    std::vector<sock_filter> program = exported_filter(arch);

    Outcome call_raw(uint32_t audit_arch, int nr, const std::vector<uint64_t>& args = {}) const
    {
        seccomp_data d{};
        d.nr = nr;
        d.arch = audit_arch;
        d.instruction_pointer = 0x400000;
        REQUIRE(args.size() <= 6);
        for (size_t i = 0; i < args.size(); ++i) d.args[i] = args[i];
        return outcome(run(program, d));
    }
    Outcome call(const std::string& name, const std::vector<uint64_t>& args = {}) const
    {
        const int nr = number(arch, name);
        REQUIRE(nr >= 0);
        return call_raw(arch.audit, nr, args);
    }
};

#define CHECK_CALL(filter, expected, ...)                                                                     \
    do {                                                                                                      \
        const Outcome got_ = (filter).call(__VA_ARGS__);                                                      \
        INFO((filter).arch.name << ": " << #__VA_ARGS__ << " is " << describe(got_) << ", expected "          \
                                << describe(expected));                                                       \
        CHECK(got_ == (expected));                                                                            \
    } while (0)

// --- what the child calls ---------------------------------------------------

// Every call the network program made once sandboxed, with the arguments
// the rules look at. Measured on x86_64 Debian 12 (glibc 2.36, kernel 6.1):
// feth-sshd run under strace -f -qq -e trace=all (so every feth-sshd-net
// it started was traced too), each child's calls after its
// seccomp(SECCOMP_SET_MODE_FILTER), in three e2e runs:
// e2e_feth_sshd_ethernet (tap tunnels, iperf3 both ways, a refused key, a
// refused tunnel type, a session without -N, client SIGKILL, server
// SIGTERM), e2e_point_to_point (tun) and e2e_feth_sshd_pair up to its
// monitor-SIGKILL case, where the run under strace stopped (the pair
// backend's packet sockets: recvmmsg, getsockopt SO_DOMAIN).
struct ChildCall {
    const char* x86_64;
    const char* aarch64; // the same, or what glibc calls there instead
    std::vector<uint64_t> args;
};
const std::vector<ChildCall> kChildCalls = {
    {"read", "read", {}},
    {"write", "write", {}},
    {"close", "close", {}},
    // glibc's poll() is ppoll where the kernel has no poll
    // (sysdeps/unix/sysv/linux/poll.c: #ifdef __NR_poll ... #else ppoll).
    {"poll", "ppoll", {}},
    {"recvfrom", "recvfrom", {}},
    {"recvmsg", "recvmsg", {}},
    {"recvmmsg", "recvmmsg", {}},
    {"getsockopt", "getsockopt", {7, kSOL_SOCKET, 39 /* SO_DOMAIN */}},
    {"sendto", "sendto", {3, 0, 16, 0x4000 /* MSG_NOSIGNAL */, 0, 0}},
    // alarm() is setitimer(ITIMER_REAL) where the kernel has no alarm
    // (glibc's sysdeps/unix/alarm.c, which Linux ports without __NR_alarm use).
    {"alarm", "setitimer", {}},
    {"brk", "brk", {}},
    {"mmap", "mmap", {0, 135168, kPROT_READ | kPROT_WRITE, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */}},
    {"munmap", "munmap", {}},
    {"mremap", "mremap", {}},
    {"fcntl", "fcntl", {3, kF_GETFD}},
    {"fcntl", "fcntl", {3, kF_SETFD, 1}},
    {"fcntl", "fcntl", {3, kF_GETFL}},
    {"fcntl", "fcntl", {3, kF_SETFL, 0x802}},
    {"futex", "futex", {0x1000, kFUTEX_WAKE_PRIVATE, 0x7fffffff}},
    {"ioctl", "ioctl", {5, kTUNGETIFF, 0x1000}},
    {"ioctl", "ioctl", {6, kSIOCGIFMTU, 0x1000}},
    {"getpid", "getpid", {}},
    {"getrandom", "getrandom", {}},
    // pipe() is pipe2(fds, 0) in glibc on every port (sysdeps/unix/sysv/linux/pipe.c).
    {"pipe2", "pipe2", {}},
    {"rt_sigaction", "rt_sigaction", {}},
    {"rt_sigreturn", "rt_sigreturn", {}},
    {"exit_group", "exit_group", {}},
};

} // namespace

TEST_CASE("seccomp filter: the written-down numbers are libseccomp's and the kernel's", "[seccomp]")
{
    for (const Arch* arch : kArches) {
        for (const auto& n : kNumbers) {
            const int expected = n.*arch->column;
            int got = seccomp_syscall_resolve_name_arch(arch->scmp, n.name);
            if (got < 0) got = -1; // libseccomp's pseudo numbers: not a call there
            INFO(arch->name << " " << n.name);
            CHECK(got == expected);
        }
    }
    // This host's own headers agree with the column for its architecture.
#if defined(__x86_64__)
    CHECK(number(kX86_64, "ppoll") == __NR_ppoll);
    CHECK(number(kX86_64, "clone3") == __NR_clone3);
#elif defined(__aarch64__)
    CHECK(number(kAarch64, "ppoll") == __NR_ppoll);
    CHECK(number(kAarch64, "clone3") == __NR_clone3);
#endif
    static_assert(kTCGETS == TCGETS && kTIOCSTI == TIOCSTI && kTUNSETPERSIST == TUNSETPERSIST &&
                  kTUNGETIFF == TUNGETIFF && kSIOCGIFMTU == SIOCGIFMTU && kSIOCSIFHWADDR == SIOCSIFHWADDR &&
                  kFIONREAD == FIONREAD);
    static_assert(kPROT_EXEC == PROT_EXEC && kF_DUPFD_CLOEXEC == F_DUPFD_CLOEXEC && kSO_KEEPALIVE == SO_KEEPALIVE &&
                  kTCP_ULP == TCP_ULP && kSOL_PACKET == SOL_PACKET && kFUTEX_LOCK_PI == FUTEX_LOCK_PI);
}

TEST_CASE("seccomp filter: every call the network program makes is allowed, on x86_64 and aarch64", "[seccomp]")
{
    for (const Arch* arch : kArches) {
        const Filter f{*arch};
        for (const auto& c : kChildCalls) {
            const std::string name = arch == &kX86_64 ? c.x86_64 : c.aarch64;
            const int nr = number(*arch, name);
            INFO(arch->name << ": " << name << " (the child's " << c.x86_64 << ")");
            REQUIRE(nr >= 0);
            CHECK(describe(f.call_raw(arch->audit, nr, c.args)) == std::string("allowed"));
        }
    }
}

TEST_CASE("seccomp filter: the argument rules, on x86_64 and aarch64", "[seccomp]")
{
    for (const Arch* arch : kArches) {
        const Filter f{*arch};
        // No new executable memory.
        CHECK_CALL(f, Outcome::allowed, "mmap", {0, 4096, kPROT_READ | kPROT_WRITE, 0x22});
        CHECK_CALL(f, Outcome::killed, "mmap", {0, 4096, kPROT_READ | kPROT_EXEC, 0x22});
        CHECK_CALL(f, Outcome::allowed, "mprotect", {0x1000, 4096, kPROT_READ});
        CHECK_CALL(f, Outcome::killed, "mprotect", {0x1000, 4096, kPROT_READ | kPROT_EXEC});
        // send() only: an address of its own would let a packet socket
        // send anywhere.
        CHECK_CALL(f, Outcome::allowed, "sendto", {3, 0x1000, 16, 0, 0, 0});
        CHECK_CALL(f, Outcome::killed, "sendto", {3, 0x1000, 16, 0, 0x2000, 16});
        CHECK_CALL(f, Outcome::killed, "sendmsg", {3, 0x1000, 0});
        // Descriptor flags only; F_DUPFD is a dup.
        CHECK_CALL(f, Outcome::killed, "fcntl", {3, kF_DUPFD, 10});
        CHECK_CALL(f, Outcome::killed, "fcntl", {3, kF_DUPFD_CLOEXEC, 10});
        // Two socket options.
        CHECK_CALL(f, Outcome::allowed, "setsockopt", {3, kIPPROTO_TCP, kTCP_NODELAY, 0x1000, 4});
        CHECK_CALL(f, Outcome::allowed, "setsockopt", {3, kSOL_SOCKET, kSO_KEEPALIVE, 0x1000, 4});
        CHECK_CALL(f, Outcome::killed, "setsockopt", {3, kIPPROTO_TCP, kTCP_ULP, 0x1000, 4});
        CHECK_CALL(f, Outcome::killed, "setsockopt", {3, kSOL_SOCKET, kSO_RCVBUF, 0x1000, 4});
        CHECK_CALL(f, Outcome::killed, "setsockopt", {3, kSOL_PACKET, 1, 0x1000, 4});
        CHECK_CALL(f, Outcome::killed, "setsockopt", {3, kSOL_SOCKET, kTCP_NODELAY, 0x1000, 4});
        // ioctl: two requests allowed, the dangerous ones refused, a
        // terminal probe told "not a terminal", any other kills.
        CHECK_CALL(f, Outcome::allowed, "ioctl", {5, kTUNGETIFF, 0x1000});
        CHECK_CALL(f, Outcome::allowed, "ioctl", {6, kSIOCGIFMTU, 0x1000});
        CHECK_CALL(f, Outcome::eperm, "ioctl", {0, kTIOCSTI, 0x1000});
        CHECK_CALL(f, Outcome::eperm, "ioctl", {5, kTUNSETPERSIST, 1});
        CHECK_CALL(f, Outcome::eperm, "ioctl", {6, kSIOCSIFHWADDR, 0x1000});
        CHECK_CALL(f, Outcome::enotty, "ioctl", {0, kTCGETS, 0x1000});
        CHECK_CALL(f, Outcome::killed, "ioctl", {3, kFIONREAD, 0x1000});
        // The kernel reads the request as 32 bits: upper bits change nothing.
        CHECK_CALL(f, Outcome::eperm, "ioctl", {0, kTIOCSTI | 0x100000000ull, 0x1000});
        // Signals to itself only.
        CHECK_CALL(f, Outcome::allowed, "kill", {kSelf, 6});
        CHECK_CALL(f, Outcome::killed, "kill", {kSelf + 1, 9});
        CHECK_CALL(f, Outcome::killed, "kill", {1, 9});
        CHECK_CALL(f, Outcome::allowed, "tgkill", {kSelf, kSelf, 6});
        CHECK_CALL(f, Outcome::killed, "tgkill", {kSelf + 1, kSelf + 1, 9});
        // futex: locks, not the PI operations.
        CHECK_CALL(f, Outcome::allowed, "futex", {0x1000, kFUTEX_WAIT_PRIVATE, 0});
        CHECK_CALL(f, Outcome::killed, "futex", {0x1000, kFUTEX_LOCK_PI, 0});
    }
}

TEST_CASE("seccomp filter: what must kill kills, probes get EACCES, on x86_64 and aarch64", "[seccomp]")
{
    for (const Arch* arch : kArches) {
        const Filter f{*arch};
        for (const char* name : {"execve", "execveat", "connect", "bind", "listen", "accept", "sendmsg", "ptrace",
                                 "clone", "clone3", "process_vm_readv", "process_vm_writev", "prctl", "setrlimit",
                                 "prlimit64", "chroot", "mount", "unshare"})
            CHECK_CALL(f, Outcome::killed, name);
        for (const char* name : {"openat", "socket", "dup", "dup3"}) CHECK_CALL(f, Outcome::eacces, name);
        // Calls only x86_64 has.
        if (arch == &kX86_64) {
            CHECK_CALL(f, Outcome::killed, "fork");
            CHECK_CALL(f, Outcome::killed, "vfork");
            CHECK_CALL(f, Outcome::eacces, "open");
        }
    }
}

TEST_CASE("seccomp filter: a call through the other ABI kills, whatever its number", "[seccomp]")
{
    for (const Arch* arch : kArches) {
        const Filter f{*arch};
        INFO(arch->name);
        // read is 3 on i386 and on arm32 (EABI): allowed natively, killed
        // through the compat ABI.
        CHECK(f.call_raw(arch->compat_audit, 3) == Outcome::killed);
        CHECK(f.call_raw(arch->compat_audit, 0) == Outcome::killed);
        // And the other architecture's records altogether.
        const Arch& other = arch == &kX86_64 ? kAarch64 : kX86_64;
        CHECK(f.call_raw(other.audit, number(other, "read")) == Outcome::killed);
    }
    // x32 on x86_64: the native audit arch, the number with bit 30 set.
    const Filter x86{kX86_64};
    CHECK(x86.call_raw(AUDIT_ARCH_X86_64, 0x40000000 | 0) == Outcome::killed);
}

TEST_CASE("seccomp filter: the interpreter sees a difference the filter makes", "[seccomp]")
{
    // The same record, read and write allowed, an unknown number killed:
    // the interpreter does not answer "allowed" whatever it is given.
    for (const Arch* arch : kArches) {
        const Filter f{*arch};
        INFO(arch->name);
        CHECK(f.call_raw(arch->audit, number(*arch, "read")) == Outcome::allowed);
        CHECK(f.call_raw(arch->audit, 999) == Outcome::killed);
    }
}
