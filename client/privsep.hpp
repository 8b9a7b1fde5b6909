// feth-ssh's privilege separation (docs/security.md, "The client").
//
// Started as root (through sudo, or by root itself), feth-ssh splits in two:
//   - the root part (run_root_part) makes the tunnel device, runs the root
//     hooks (TunnelUpCommand, TunnelDownCommand) and removes the device; it
//     never reads the network, the configuration or a key;
//   - the SSH part (the rest of feth-ssh) runs as the invoking user (the
//     sudo user, verified against the password database; nobody when root
//     started it without sudo, after reading root's configuration and
//     known_hosts), and does everything else: configuration, known_hosts,
//     keys, agent, the libssh session and the pump, through every
//     reconnect, without ever regaining root. As nobody it never holds one
//     of root's private keys: the root part reads them and signs
//     user-authentication requests as an agent (root_agent.hpp).
// The device's descriptors cross from the root part to the SSH part by
// SCM_RIGHTS on a unix socketpair, in the framing feth-sshd's monitor uses
// too (base/framed_messages.hpp), with a message set of its own (below). The
// root part treats every message as hostile: bounded, validated, one
// device for the whole run, hooks only with the commands fixed by the first
// message (sent before the SSH part touches the network) and with values it
// checks itself. The two die together: the SSH part by PR_SET_PDEATHSIG
// (Linux) and by watching the socket; the root part when the socket closes,
// removing the device and reaping the SSH part.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tunnel/device.hpp"
#include "base/fd.hpp"
#include "base/hook.hpp"
#include "private_copies.hpp"
#include "root_agent.hpp"

namespace feth::client {

// Who the SSH part runs as.
struct Invoker {
    enum class Kind {
        Self,   // not root: no separation, feth-ssh runs as it was started
        User,   // the sudo user (or the real uid of a set-uid start)
        // root itself (no sudo): the SSH part is `nobody`, after reading
        // root's configuration and known_hosts (private copies:
        // private_copies.hpp); root's identity keys stay with the root
        // part, which signs as an agent (and reaches root's own agent), and
        // known_hosts lines it adds are written by the root part (validated).
        Nobody,
    };
    Kind kind = Kind::Self;
    std::string name; // the local user (%u, %l, Match localuser, default User)
    std::string home; // whose ~/.ssh is read
    uid_t uid = 0;    // what the SSH part runs as
    gid_t gid = 0;
    std::string drop_name; // the account the SSH part becomes (User)
};

// Decides from the uids, SUDO_USER/SUDO_UID/SUDO_GID (only when the real
// uid is 0) and the password database. Throws InputError when the SUDO_*
// variables disagree with the password database.
Invoker find_invoker();

// Becomes the invoker for good (groups, gid, uid; Linux: setresuid), and
// checks that root cannot come back. Throws SystemError/InputError.
void drop_to_invoker(const Invoker& who);

// The SSH part dies with the root part: PR_SET_PDEATHSIG on Linux (set
// again after every change of uid, which clears it), and the parent check
// that closes the race with a root part already gone.
void die_with_root_part(pid_t root_part);

// A TunnelUpCommand while it runs.
class RunningHook {
public:
    virtual ~RunningHook() = default;
    virtual bool finished() const = 0;
    virtual bool service() = 0; // non-blocking; true once finished
    virtual int poll_timeout_ms() const = 0;
    virtual const HookResult& result() const = 0;
    virtual const HookResult& wait() = 0;
    virtual void stop() = 0; // stops it (the user asked to end)
};

// What needs root: the device and the hooks. In-process when feth-ssh was
// not started as root; a message to the root part otherwise.
class Privileged {
public:
    virtual ~Privileged() = default;
    virtual std::unique_ptr<Device> open_device(const DeviceRequest& request) = 0;
    // A tunnel came up: starts TunnelUpCommand (nullptr when there is
    // none). Throws when it cannot be started.
    virtual std::unique_ptr<RunningHook> tunnel_up(const HookEnv& env) = 0;
    // The tunnel is down: runs TunnelDownCommand to its end (a failure is
    // logged).
    virtual void tunnel_down(const HookEnv& env) = 0;
    // -f: the root part (if any) goes to the background first.
    virtual void detach() = 0;
    // Nobody mode: a connection to the agent made by the root part (-1:
    // none), and lines libssh appended to the private known_hosts copy,
    // which the root part writes to the real file.
    virtual int agent_socket() { return -1; }
    virtual void after_connect() {}
    // Asks the user (a passphrase, with echo off, or a yes/no question):
    // the root part asks on its terminal. nullopt: no one to ask.
    virtual std::optional<std::string> ask(const std::string&, bool) { return std::nullopt; }
    // A descriptor to watch (the root part's socket), or -1.
    virtual int watch_fd() const { return -1; }
    // Called when watch_fd() is readable; exits when the root part is gone.
    virtual void on_watch_ready() {}
};

struct HookCommands {
    std::string up;
    std::string down;
    std::chrono::seconds timeout{30};
};

// What the root part is told once, before the SSH part touches the network.
struct RootSetup {
    HookCommands hooks;
    std::uint32_t remote_unit = kTunUnitAny; // FETH_UNIT
    std::string user;                         // FETH_USER
    std::string host_name;                    // FETH_REMOTE_HOST
    // Nobody mode (empty otherwise): the known_hosts file the root part
    // appends to, the host name its lines must be for, root's agent.
    std::string known_hosts_path;
    std::string known_hosts_name;
    std::string agent_path;
    // CheckHostIP on a direct connection: the port of address lines the
    // root part may write (0: none).
    std::uint32_t check_host_ip_port = 0;
    // Nobody mode: root's identities, which the root part reads and signs
    // with as an agent (root_agent.hpp; agent.real_agent is agent_path),
    // and whether a proxy ssh needs the agent at a socket of its own.
    AgentSetup agent;
    bool agent_bridge = false;
    std::shared_ptr<PrivateCopies> copies;
};

std::unique_ptr<Privileged> local_privileged(HookCommands hooks);
std::unique_ptr<Privileged> remote_privileged(UniqueFd sock, RootSetup setup);

// The SSH part leaves the terminal before it touches the network: a
// session of its own (no controlling terminal: no /dev/tty, no TIOCSTI, no
// terminal signals, which the root part forwards), fd 0 on /dev/null, fd 1
// and 2 on `log_fd`, a pipe the root part relays to its stderr. Throws
// SystemError.
void leave_terminal(int log_fd);

// The root part's loop. `detach_fd` is the write end of the pipe to the
// foreground waiter of -f (invalid without -f); `ssh_part_log` the read end
// of the SSH part's stdout/stderr pipe (leave_terminal), relayed to stderr
// with control characters but newline and tab replaced (invalid: none).
// Returns the exit status for feth-ssh: the SSH part's, or 255 when it
// misbehaved or died by a signal.
// `ssh_part_uid`/`gid`: whom the SSH part runs as, the owner of the agent
// socket a proxy ssh reaches the root part's agent at (root_agent.hpp), in
// `run_dir` (run_dir.hpp; empty: no such socket).
int run_root_part(UniqueFd sock, pid_t ssh_part, UniqueFd detach_fd, UniqueFd ssh_part_log = UniqueFd(),
                  uid_t ssh_part_uid = 0, gid_t ssh_part_gid = 0, const std::string& run_dir = "");

} // namespace feth::client
