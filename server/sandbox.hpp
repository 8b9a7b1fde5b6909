// The unprivileged child's sandbox (docs/security.md, "The child's
// sandbox"), and the server's closefrom at startup. sshd's counterparts:
// sandbox-seccomp-filter.c, sandbox-darwin.c, sandbox-rlimit.c, and the
// closefrom(REEXEC_DEVCRYPTO_RESERVED_FD) at the start of its main.
#pragma once

#include <string_view>

namespace feth::server {

// At the very start of main, before anything opens a descriptor: closes
// every descriptor above 2 that whoever started us left open (closefrom(3)
// semantics), so that none reaches a connection's child. One small
// function per OS (closefrom_linux.cpp, closefrom_darwin.cpp). Never fails:
// a descriptor that cannot be closed is not ours to report on.
void close_descriptors_from(int lowest);
inline void close_inherited_descriptors()
{
    close_descriptors_from(3);
}

// Upper bound on the child's descriptors (RLIMIT_NOFILE): stdio, the TCP
// socket, the monitor socket, syslog's socket, the signal pipe (2), and up
// to 10 tunnels with up to 2 descriptors each, plus one in flight from the
// monitor, with margin for libssh and OpenSSL.
inline constexpr unsigned kChildMaxDescriptors = 64;

// In the child, after drop_privileges and right before it serves the
// connection: rlimits (no file growth, kChildMaxDescriptors, no
// processes), an empty environment (TZ kept), then the platform's
// sandbox, which cannot be undone: on Linux a seccomp allowlist
// (sandbox_linux.cpp), on macOS Seatbelt (sandbox_darwin.cpp). Throws
// SystemError naming the step; the caller exits.
// `monitor_fd` is the child's monitor socket: on Linux the only one it may
// sendmsg on.
void enter_sandbox(int monitor_fd);

// The platform's part of enter_sandbox (sandbox_linux.cpp,
// sandbox_darwin.cpp).
void install_platform_sandbox(int monitor_fd);

// The text install_platform_sandbox hands the kernel, where it is a text:
// on macOS the Seatbelt profile (feth-sshd --print-sandbox-profile prints
// it; the macOS workflow compiles it with sandbox-exec). Empty on Linux,
// whose seccomp filter is built by code, not from a profile.
std::string_view platform_sandbox_profile();

// A name for what a signal that ended the child means, for the monitor's
// log line ("SIGSYS: its sandbox refused a system call").
const char* child_signal_meaning(int sig);

} // namespace feth::server
