// Privilege separation, as sshd does it (docs/security.md): per connection a
// privileged monitor (root) and an unprivileged child that parses every byte
// from the network. This header: the child's identity and how it drops to
// it, the monitor's entry point, and the child's client of the monitor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "config/server_config.hpp"
#include "host_keys.hpp"
#include "status.hpp"
#include "tunnel/device.hpp"
#include "base/fd.hpp"

namespace feth::server {

struct Peer;

// Who the child becomes, and where it is locked in.
struct PrivsepIdentity {
    bool enabled = false; // false when not running as root: nothing to drop
    std::string user;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string chroot_dir;
};

// The run directory is config::kRunDir (config/server_config.hpp).
inline constexpr const char* kPrivsepDir = config::kRunDir;
#if defined(__APPLE__)
// macOS has a read-only root volume; sshd there chroots into /var/empty,
// which the system provides root-owned and empty.
inline constexpr const char* kPrivsepEmptyDir = "/var/empty";
#else
inline constexpr const char* kPrivsepEmptyDir = FETH_SSHD_RUN_DIR "/empty";
#endif

// At startup, as root: resolves PrivilegeSeparationUser (default: the user
// "feth-sshd" if it exists, else "nobody"; never uid 0) and makes sure the
// empty chroot directory exists, root-owned, mode 0755. Throws InputError /
// SystemError naming the user or directory. Without root: enabled=false.
PrivsepIdentity prepare_privsep(const config::ServerConfig& config);

// In the child, before it reads a byte from the peer: chroot, drop every
// group and uid, check that root cannot be regained, no new privileges, not
// dumpable, no forks, no file writes. Throws SystemError; the caller exits.
void drop_privileges(const PrivsepIdentity& identity);

// How the monitor starts its network child (handover.hpp): the network
// program to exec, and the configuration's sources it parses.
struct ConfigSource;
struct NetworkLaunch {
    const ConfigSource& config;
    // feth-sshd-net's path. Empty: tests only (tests/privsep/hostile_child.cpp):
    // the forked child runs network_child_main without an exec, with the
    // same descriptors, setup, drop and sandbox.
    std::string program;
};

// The per-connection monitor (root, in feth-sshd-session): forks and execs
// the unprivileged network program that serves `conn_fd` (network_child.hpp,
// serve_connection), in a session of its own with the descriptors
// handover.hpp names, and sends it its NetworkSetup (the public host keys
// only); answers its requests, owns its tunnel devices and their status
// slots, writes the audit lines (authentication, tunnels), and removes the
// devices when the child closes them or the connection ends however it
// ends. Every message from the child has a deadline; a descriptor from it,
// a request out of state or a flood ends the connection (the child is
// killed). `host_keys` are the private keys: the monitor signs with them.
// `startup_fd` is closed when the user authenticates (MaxStartups
// accounting in the listener). Returns the exit status: how the connection
// ended, for the listener's PerSourcePenalties (MonitorExit,
// source_limits.hpp).
int run_monitor(const config::ServerConfig& config, HostKeys& host_keys, UniqueFd conn_fd, const Peer& peer,
                const PrivsepIdentity& identity, UniqueFd startup_fd, const NetworkLaunch& launch);

// Tests only (tests/privsep/hostile_child.cpp): whether run_monitor asks
// the kernel to refuse descriptors on the monitor's socket
// (privsep::refuse_descriptors_in_kernel, Linux 6.16+); on by default. Off,
// the monitor's own check (its reads have no control buffer) is what stops
// them, as on older kernels.
void set_monitor_kernel_descriptor_refusal(bool on);

// The child's side of the monitor socket. Every call blocks for the answer;
// any protocol or I/O problem throws, which ends the connection. The one
// message the monitor sends unasked, TunUp (a tunnel's up hook finished),
// is queued wherever it arrives: while a call waits for its answer, or
// read by read_unsolicited() when the child's event loop sees the socket
// readable; take_tun_up() hands them out.
class MonitorClient {
public:
    explicit MonitorClient(UniqueFd sock) : sock_(std::move(sock)) {}

    // The monitor's answer to an authentication request.
    enum class AuthAnswer : std::uint32_t {
        Denied = 0,
        Accepted = 1,
        DeniedDisconnect = 2, // MaxAuthTries reached: end the connection
    };

    // Signs the exchange hash with the host key whose public blob is
    // `hostkey_blob`, for `algorithm`; returns the signature blob. The
    // first hash signed becomes the connection's session id.
    std::string sign_exchange_hash(const std::string& algorithm, const std::string& hostkey_blob,
                                   const std::string& hash);
    // "May `user` log in with this key?" (a publickey query without a
    // signature): the monitor reads authorized_keys and applies
    // AllowUsers/DenyUsers and the key's options.
    AuthAnswer key_allowed(const std::string& user, const std::string& key_blob);
    // A signed publickey request, as the client sent it: the monitor checks
    // the key is allowed, then verifies the signature over data it builds
    // from its own session id. Only Accepted authenticates.
    AuthAnswer verify_publickey(const std::string& user, const std::string& service, const std::string& method,
                                const std::string& algorithm, const std::string& key_blob,
                                const std::string& hostkey_blob, const std::string& signature);

    struct Tunnel {
        bool ok = false;
        std::uint32_t id = 0;
        std::unique_ptr<Device> device; // TunUp ok only
        std::string debug_line; // refused: what to tell the peer
        std::string reason;     // refused: why, for our log
    };
    // The monitor checks the policy itself and opens the device. ok: the
    // tunnel `id` exists and its TunnelUpCommand runs; its TunUp (with the
    // device, or refused) comes later. Not ok: refused now (no TunUp).
    Tunnel open_tunnel(std::uint32_t mode, std::uint32_t unit);
    // Reads one message the monitor sent unasked (the socket is readable):
    // a TunUp, queued. Returns false on the monitor's EOF; throws for
    // anything else.
    bool read_unsolicited();
    // The next queued TunUp, if any.
    std::optional<Tunnel> take_tun_up();
    // Blocks for tunnel `id`'s TunUp (others are queued).
    Tunnel wait_tun_up(std::uint32_t id);
    // open_tunnel, then wait_tun_up: the tunnel with its device, or refused
    // (the hostile-child tests).
    Tunnel open_tunnel_and_wait(std::uint32_t mode, std::uint32_t unit);
    // The tunnel ended: the monitor removes its device.
    void close_tunnel(std::uint32_t id);
    // The tunnel's counters for feth-sshd -S (TunStats, no answer). The
    // monitor ends a connection that sends these much more often than
    // once a second per tunnel.
    void report_stats(std::uint32_t id, const TunnelCounters& counters);

    // The socket itself: the child's event loop watches it for the
    // monitor's end, and the hostile-child tests speak raw messages on it.
    int socket_fd() const { return sock_.get(); }

private:
    UniqueFd sock_;
    std::deque<Tunnel> tun_ups_;
};

// A device whose descriptors came from the monitor (SCM_RIGHTS), wrapped by
// `backend` (the one the monitor opened it with): frames in and out only;
// the monitor keeps the interface and removes it. Throws InputError for an
// unknown backend or a wrong descriptor count.
inline std::unique_ptr<Device> make_received_device(std::string backend, std::string name, std::string io_name,
                                                    TunMode mode, std::vector<UniqueFd> fds,
                                                    unsigned read_buffer_size = 0)
{
    AdoptRequest request;
    request.backend = std::move(backend);
    request.mode = mode;
    request.name = std::move(name);
    request.io_name = std::move(io_name);
    request.fds = std::move(fds);
    request.read_buffer_size = read_buffer_size;
    return adopt_device(std::move(request));
}

} // namespace feth::server
