// What crosses each exec of a connection (docs/security.md, "Processes"),
// as in OpenSSH 9.8+: the listener forks and execs the session program
// (feth-sshd-session, root: the connection's monitor) and hands it what the
// connection is served with (SessionSetup, sshd's send_rexec_state); the
// monitor forks and execs the network program (feth-sshd-net, dropped to
// the unprivileged user) and hands it the public part of that
// (NetworkSetup, as sshd-auth gets its configuration from its monitor).
// Neither program inherits its parent's memory: the network program never
// has a private host key, another connection's peer or the listener's
// state in its address space, not even freed.
//
// Each setup is one blob on a socket: uint32 length (big-endian, at most
// kMaxSetup), then fields in the framing's encoding
// (base/framed_messages.hpp). The sender is the more privileged side; the
// reader still checks every bound and throws InputError.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "connection.hpp"
#include "host_keys.hpp"
#include "privsep.hpp"
#include "base/log.hpp"

namespace feth::server {

inline constexpr std::size_t kMaxSetup = 4 * 1024 * 1024;

// Descriptors of the session program, set by the listener before its exec:
// 0 and 1 the client's socket (as sshd-session's), 2 the listener's stderr,
// then these. kSessionStatusFd is open only when SessionSetup says so.
inline constexpr int kSessionSetupFd = 3;   // SessionSetup, then closed
inline constexpr int kSessionStartupFd = 4; // closed on authentication (MaxStartups)
inline constexpr int kSessionStatusFd = 5;  // the status table (status.hpp)

// Descriptors of the network program, set by the monitor before its exec:
// 0 and 1 the client's socket (sshd-auth's), 2 the pipe of its log
// (child_log.hpp), 3 the monitor socket, on which NetworkSetup comes first.
inline constexpr int kNetworkSocketFd = 0;
inline constexpr int kNetworkMonitorFd = 3;

// The configuration's sources as the listener read them: the command
// line's options (-o, -p, -h as HostKey=) and the file's text. Each program
// parses them again with the same parser, so every process has the same
// configuration, Match blocks included, and none reads the file again (a
// SIGHUP's edit reaches new connections only, whole).
struct ConfigSource {
    std::vector<std::string> options;
    std::string file_name; // empty: no file
    std::string file_text;
};
config::ServerConfig parse_config(const ConfigSource& source);

// The listener's log settings, for the programs it starts.
struct LogSetup {
    log::Level level = log::Level::Info;
    bool to_stderr = false;
};

// listener -> session program.
struct SessionSetup {
    ConfigSource config;
    std::vector<HostKeyText> host_keys; // private: the monitor signs with them
    Peer peer;
    PrivsepIdentity identity;
    LogSetup log;
    std::string network_program; // feth-sshd-net's path (helper_programs)
    bool status_table = false;    // kSessionStatusFd is open
};

// monitor -> network program.
struct NetworkSetup {
    ConfigSource config;
    std::vector<std::string> host_public_keys; // blobs, wire format
    Peer peer;
    PrivsepIdentity identity;
    log::Level log_level = log::Level::Info;
};

// Blocking; throw SystemError/InputError naming `what`.
void send_session_setup(int fd, const SessionSetup& setup, const char* what);
SessionSetup recv_session_setup(int fd, const char* what);
void send_network_setup(int fd, const NetworkSetup& setup, const char* what);
NetworkSetup recv_network_setup(int fd, const char* what);

// The helper programs. Found once at startup, as sshd's SshdSessionPath and
// SshdAuthPath: next to the running feth-sshd when it runs from a build
// tree (both helpers beside it), else in the installed libexec directory
// (FETH_LIBEXEC_DIR). `argv0` is main's argv[0] (no /proc/self/exe: macOS
// has none). Throws InputError naming the path of a missing helper.
struct HelperPrograms {
    std::string session; // feth-sshd-session
    std::string network; // feth-sshd-net
};
HelperPrograms find_helper_programs(const char* argv0);

} // namespace feth::server

namespace feth::server {

// In a forked child before its exec: descriptor i becomes a copy of
// sources[i] (-1: /dev/null), every other descriptor is closed. Returns
// false (errno set) when a copy fails; the caller _exits.
bool arrange_descriptors(std::initializer_list<int> sources);

} // namespace feth::server
