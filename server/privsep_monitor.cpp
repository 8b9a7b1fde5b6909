// The per-connection monitor: root, never reads a byte from the network.
// It forks the unprivileged child, answers the few requests valid in the
// current state, and owns every tunnel device of the connection.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "auth.hpp"
#include "connection.hpp"
#include "privsep.hpp"
#include "privsep_wire.hpp"
#include "status.hpp"
#include "tunnel/error.hpp"
#include "tunnel/fd.hpp"
#include "tunnel/hook.hpp"
#include "tunnel/log.hpp"
#include "tunnel/signal_pipe.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

using privsep::Message;
using privsep::MsgType;

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxTunnels = 10;
constexpr auto kChildExitGrace = std::chrono::seconds(3);
constexpr int kSendTimeoutSeconds = 10;
// Once the child has sent the first byte of a message, the rest must follow
// within this (and before authentication, within LoginGraceTime too):
// half a message must not hold the monitor, the connection and its
// MaxStartups slot.
constexpr auto kMessageDeadline = std::chrono::seconds(10);
// TunStats: an honest child sends at most one per tunnel per second (10
// tunnels at most); a child that keeps sending more than this is not ours.
constexpr double kStatsPerSecond = 20;
constexpr double kStatsBurst = 40;

bool g_kernel_refuses_descriptors = true;

using HookEnv = std::vector<std::pair<std::string, std::string>>;

// A monitor-side tunnel: the device object that removes the interface (the
// backend deletes what it created whatever the child did to its copy of
// the descriptors), the environment its TunnelDownCommand runs with, and
// its line in feth-sshd -S. Members go in reverse: the slot first, the
// device last.
struct MonitorTunnel {
    std::unique_ptr<Device> device;
    HookEnv hook_env;
    std::unique_ptr<StatusSlot> status;
};

class ProtocolViolation : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Monitor {
public:
    Monitor(const config::ServerConfig& cfg, const Peer& peer, pid_t child, UniqueFd sock, UniqueFd startup)
        : cfg_(cfg), peer_(peer), child_(child), sock_(std::move(sock)), startup_(std::move(startup))
    {
    }

    int run();

private:
    enum class State { PreAuth, Authenticated };

    void handle(Message& m);
    void key_allowed(Message& m);
    void auth_done(Message& m);
    void tun_open(Message& m);
    void tun_close(Message& m);
    void tun_stats(Message& m);
    HookEnv hook_env(const Device& device, std::uint32_t mode, std::uint32_t unit) const;
    bool run_tunnel_hook(const char* name, const std::string& command, const HookEnv& env) const;
    void remove_tunnel(std::map<std::uint32_t, MonitorTunnel>::iterator it, const char* why);
    std::size_t tunnels_in_use();
    Clock::time_point message_deadline() const;
    void reply(const Message& m) { privsep::send_message(sock_.get(), m, who_child().c_str()); }
    std::string who_child() const { return "child " + std::to_string(child_) + " of " + peer_str(); }
    std::string peer_str() const { return peer_.address + " port " + std::to_string(peer_.port); }
    void end_child();

    const config::ServerConfig& cfg_;
    const Peer& peer_;
    pid_t child_;
    bool child_reaped_ = false;
    int child_status_ = 0;
    UniqueFd sock_;
    UniqueFd startup_;

    State state_ = State::PreAuth;
    unsigned key_queries_ = 0;
    unsigned denials_ = 0;
    std::string invalid_user_logged_;
    // (user, key blob) pairs this monitor approved, with their options.
    std::map<std::pair<std::string, std::string>, config::KeyOptions> approved_;
    std::string user_;
    config::KeyOptions key_options_;
    std::uint32_t next_id_ = 1;
    std::map<std::uint32_t, MonitorTunnel> tunnels_;
    // Interfaces this monitor created and tried to remove that are still
    // there (a utun lives while any descriptor to it does, and the child may
    // hold a dup): they count against the tunnel limit until they go.
    std::vector<std::string> lingering_;
    Clock::time_point grace_end_;
    double stats_tokens_ = kStatsBurst;
    Clock::time_point stats_refilled_ = Clock::now();
};

void Monitor::handle(Message& m)
{
    const auto type = static_cast<MsgType>(m.type());
    switch (state_) {
    case State::PreAuth:
        if (type == MsgType::KeyAllowed) return key_allowed(m);
        if (type == MsgType::AuthDone) return auth_done(m);
        break;
    case State::Authenticated:
        if (type == MsgType::TunOpen) return tun_open(m);
        if (type == MsgType::TunClose) return tun_close(m);
        if (type == MsgType::TunStats) return tun_stats(m);
        break;
    }
    throw ProtocolViolation(std::string("request ") + std::to_string(m.type()) + " (" +
                            privsep::msg_type_name(m.type()) + ") is not valid " +
                            (state_ == State::PreAuth ? "before" : "after") + " authentication");
}

void Monitor::key_allowed(Message& m)
{
    std::string user = m.get_string(privsep::kMaxUserName);
    std::string blob = m.get_string(privsep::kMaxKeyBlob);
    m.expect_end();
    // The child enforces MaxAuthTries; a child that asks far more often is
    // not our child any more.
    if (++key_queries_ > 4 * cfg_.max_auth_tries + 8)
        throw ProtocolViolation("too many key queries (" + std::to_string(key_queries_) + ")");

    bool allowed = false;
    auto info = lookup_user(user);
    std::string problem = info ? config::user_access_problem(cfg_, user, peer_.address) : std::string();
    if (!info || !problem.empty()) {
        if (invalid_user_logged_ != user) {
            if (!info)
                LOG_AUTH("Invalid user %s from %s port %u", user.c_str(), peer_.address.c_str(), peer_.port);
            else
                LOG_AUTH("User %s from %s not allowed because %s", user.c_str(), peer_.address.c_str(),
                         problem.c_str());
            invalid_user_logged_ = user;
        }
    } else {
        // "<type> <base64>" from the child.
        ssh_key key_raw = nullptr;
        auto space = blob.find(' ');
        std::string type = blob.substr(0, space);
        std::string b64 = space == std::string::npos ? std::string() : blob.substr(space + 1);
        if (space != std::string::npos && config::is_supported_key_type(type) &&
            ssh_pki_import_pubkey_base64(b64.c_str(), ssh_key_type_from_name(type.c_str()), &key_raw) == SSH_OK) {
            KeyPtr key(key_raw);
            auto match = find_authorized_key(cfg_, *info, key.get(), peer_.address);
            if (match) {
                LOG_DEBUG("key for %s matched %s line %zu", user.c_str(), match->file.c_str(), match->line);
                approved_[{user, blob}] = std::move(match->options);
                allowed = true;
            }
        } else {
            LOG_INFO("%s sent a public key the monitor cannot decode", who_child().c_str());
        }
    }
    if (!allowed) ++denials_;
    Message a(MsgType::KeyAllowedAnswer);
    a.put_u32(allowed ? 1 : 0);
    reply(a);
}

void Monitor::auth_done(Message& m)
{
    std::string user = m.get_string(privsep::kMaxUserName);
    std::string blob = m.get_string(privsep::kMaxKeyBlob);
    m.expect_end();
    auto it = approved_.find({user, blob});
    if (it == approved_.end())
        throw ProtocolViolation("claims authentication of " + user + " with a key the monitor did not approve");
    state_ = State::Authenticated;
    user_ = user;
    key_options_ = it->second;
    approved_.clear();
    startup_.reset(); // MaxStartups: no longer an unauthenticated connection
    Message a(MsgType::AuthDoneAnswer);
    a.put_u32(1);
    reply(a);
}

void Monitor::tun_open(Message& m)
{
    std::uint32_t mode = m.get_u32();
    std::uint32_t unit = m.get_u32();
    m.expect_end();
    unsigned permit = config::effective_permit_tunnel(cfg_, user_, peer_.address);
    auto d = config::decide_tunnel(permit, &key_options_, mode, unit);
    if (d.allowed && tunnels_in_use() >= kMaxTunnels) {
        d.allowed = false;
        d.debug_line = "Failed to open the tunnel device.";
        d.reason = "too many tunnels on one connection (limit " + std::to_string(kMaxTunnels) + ")";
    }
    std::unique_ptr<Device> device;
    if (d.allowed) {
        try {
            device = open_device(DeviceRequest{static_cast<TunMode>(mode), d.unit, cfg_.tunnel_backend,
                                               config::effective_tunnel_mtu(cfg_, user_, peer_.address)});
        } catch (const std::exception& e) {
            d.allowed = false;
            d.debug_line = "Failed to open the tunnel device.";
            d.reason = e.what();
        }
    }
    HookEnv env;
    if (d.allowed) {
        env = hook_env(*device, mode, unit);
        // The up hook runs as root, before the client hears of the tunnel;
        // if it fails the tunnel is refused and the device goes.
        if (!run_tunnel_hook("TunnelUpCommand", cfg_.tunnel_up_command, env)) {
            d.allowed = false;
            d.debug_line = "Failed to open the tunnel device.";
            d.reason = "TunnelUpCommand failed for " + device->name();
            device.reset();
            run_tunnel_hook("TunnelDownCommand", cfg_.tunnel_down_command, env);
        }
    }
    Message a(MsgType::TunOpenAnswer);
    if (!d.allowed) {
        a.put_u32(0);
        a.put_string(d.debug_line.substr(0, privsep::kMaxText));
        a.put_string(d.reason.substr(0, privsep::kMaxText));
        return reply(a);
    }
    const std::uint32_t id = next_id_++;
    a.put_u32(1);
    a.put_u32(id);
    a.put_u32(mode);
    a.put_string(device->name());
    a.put_string(device->io_name());
    a.put_string(device->backend());
    a.add_fd(device->read_fd());
    if (device->write_fd() != device->read_fd()) a.add_fd(device->write_fd());
    // The audit line comes from here, not from the child, which could
    // forge or omit it.
    LOG_INFO("Tunnel %s (%s) opened for %s from %s", device->name().c_str(), tun_mode_name(device->mode()),
             user_.c_str(), peer_str().c_str());
    MonitorTunnel& t = tunnels_[id];
    t.status = std::make_unique<StatusSlot>(user_, peer_.address, peer_.port, *device);
    t.device = std::move(device);
    t.hook_env = std::move(env);
    reply(a);
}

void Monitor::tun_close(Message& m)
{
    std::uint32_t id = m.get_u32();
    m.expect_end();
    auto it = tunnels_.find(id);
    if (it == tunnels_.end()) throw ProtocolViolation("closes tunnel " + std::to_string(id) + ", which it does not have");
    remove_tunnel(it, "closed by the connection");
}

void Monitor::tun_stats(Message& m)
{
    std::uint32_t id = m.get_u32();
    TunnelCounters c;
    c.frames_out = m.get_u64();
    c.bytes_out = m.get_u64();
    c.frames_in = m.get_u64();
    c.bytes_in = m.get_u64();
    c.dropped = m.get_u64();
    c.device_busy = m.get_u64();
    m.expect_end();
    auto it = tunnels_.find(id);
    if (it == tunnels_.end())
        throw ProtocolViolation("reports counters of tunnel " + std::to_string(id) + ", which it does not have");
    // A token bucket: kStatsBurst at once, kStatsPerSecond sustained.
    const auto now = Clock::now();
    stats_tokens_ = std::min(kStatsBurst, stats_tokens_ + std::chrono::duration<double>(now - stats_refilled_).count() *
                                                              kStatsPerSecond);
    stats_refilled_ = now;
    if (stats_tokens_ < 1)
        throw ProtocolViolation("sends TunStats faster than " + std::to_string(static_cast<int>(kStatsPerSecond)) +
                                " a second");
    stats_tokens_ -= 1;
    // Display data only: the child may say anything here.
    if (it->second.status) it->second.status->update(c);
}

std::size_t Monitor::tunnels_in_use()
{
    std::erase_if(lingering_, [](const std::string& name) { return ::if_nametoindex(name.c_str()) == 0; });
    return tunnels_.size() + lingering_.size();
}

Clock::time_point Monitor::message_deadline() const
{
    auto deadline = Clock::now() + kMessageDeadline;
    if (state_ == State::PreAuth && cfg_.login_grace_time > 0) deadline = std::min(deadline, grace_end_);
    return deadline;
}

HookEnv Monitor::hook_env(const Device& device, std::uint32_t mode, std::uint32_t unit) const
{
    return {
        {"FETH_INTERFACE", device.name()},
        {"FETH_IO_INTERFACE", device.io_name()},
        {"FETH_MODE", mode == static_cast<std::uint32_t>(TunMode::Ethernet) ? "ethernet" : "point-to-point"},
        {"FETH_UNIT", unit == kTunUnitAny ? std::string("any") : std::to_string(unit)},
        {"FETH_USER", user_},
        {"FETH_REMOTE_ADDRESS", peer_.address},
        {"FETH_REMOTE_PORT", std::to_string(peer_.port)},
    };
}

bool Monitor::run_tunnel_hook(const char* name, const std::string& command, const HookEnv& env) const
{
    if (command.empty()) return true;
    HookSpec spec;
    spec.name = name;
    spec.command = command;
    spec.env = env;
    spec.inherit_environment = false; // a server passes nothing of its own on
    spec.timeout = std::chrono::seconds(cfg_.tunnel_command_timeout);
    try {
        HookResult r = run_hook(spec);
        if (r.ok()) return true;
        LOG_ERROR("%s for %s of %s from %s %s", name, env.front().second.c_str(), user_.c_str(), peer_str().c_str(),
                  r.describe(spec.timeout).c_str());
    } catch (const std::exception& e) {
        LOG_ERROR("%s for %s: %s", name, env.front().second.c_str(), e.what());
    }
    return false;
}

// The slot and the device go first, then its TunnelDownCommand runs.
void Monitor::remove_tunnel(std::map<std::uint32_t, MonitorTunnel>::iterator it, const char* why)
{
    const std::string name = it->second.device->name();
    const std::string mode = tun_mode_name(it->second.device->mode());
    const bool created = it->second.device->created();
    HookEnv env = std::move(it->second.hook_env);
    tunnels_.erase(it);
    // The backend removed what it created; an interface still there is one
    // whose life the child's copy of a descriptor decides (utun).
    const bool lingers = created && ::if_nametoindex(name.c_str()) != 0;
    if (lingers) lingering_.push_back(name);
    LOG_INFO("Tunnel %s (%s) closed for %s from %s (%s)%s", name.c_str(), mode.c_str(), user_.c_str(),
             peer_str().c_str(), why,
             lingers ? "; the interface is still there, held open by the child, and counts as a tunnel until it goes"
                     : "");
    run_tunnel_hook("TunnelDownCommand", cfg_.tunnel_down_command, env);
}

void Monitor::end_child()
{
    if (child_reaped_) return;
    auto deadline = std::chrono::steady_clock::now() + kChildExitGrace;
    for (;;) {
        pid_t r = ::waitpid(child_, &child_status_, WNOHANG);
        if (r == child_ || (r < 0 && errno != EINTR)) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            LOG_ERROR("%s did not exit in time; killing it", who_child().c_str());
            ::kill(child_, SIGKILL);
            ::waitpid(child_, &child_status_, 0);
            break;
        }
        ::usleep(20000);
    }
    child_reaped_ = true;
    if (WIFSIGNALED(child_status_) && WTERMSIG(child_status_) != SIGKILL)
        LOG_ERROR("%s ended by signal %d", who_child().c_str(), WTERMSIG(child_status_));
}

int Monitor::run()
{
    SignalPipe signals({SIGTERM, SIGINT, SIGHUP});
    timeval tv{kSendTimeoutSeconds, 0};
    ::setsockopt(sock_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    grace_end_ = Clock::now() + std::chrono::seconds(cfg_.login_grace_time);
    const auto grace_end = grace_end_;
    std::optional<Clock::time_point> kill_at;

    for (;;) {
        int timeout = -1;
        auto now = Clock::now();
        if (state_ == State::PreAuth && cfg_.login_grace_time > 0) {
            if (now >= grace_end) {
                LOG_AUTH("Timeout before authentication for %s port %u", peer_.address.c_str(), peer_.port);
                ::kill(child_, SIGKILL);
                break;
            }
            timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(grace_end - now).count()) + 1;
        }
        if (kill_at) {
            if (now >= *kill_at) {
                ::kill(child_, SIGKILL);
                break;
            }
            int t = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*kill_at - now).count()) + 1;
            timeout = timeout < 0 ? t : std::min(timeout, t);
        }
        pollfd pfds[2] = {{sock_.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
        int n = ::poll(pfds, 2, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            LOG_ERROR("monitor for %s: poll: %s", peer_str().c_str(), errno_text(errno).c_str());
            ::kill(child_, SIGKILL);
            break;
        }
        if (pfds[1].revents != 0) {
            for (int sig = signals.next(); sig != 0; sig = signals.next()) {
                if (kill_at) continue;
                // Let the child close its tunnels and tell the peer.
                ::kill(child_, SIGTERM);
                kill_at = Clock::now() + kChildExitGrace;
            }
        }
        if (pfds[0].revents == 0) continue;
        Message m;
        try {
            // No descriptors from the child, and a deadline for the whole
            // message once its first byte is here.
            privsep::RecvOptions options;
            options.descriptors = false;
            options.deadline = message_deadline();
            if (!privsep::recv_message(sock_.get(), m, who_child().c_str(), options)) break; // the child is gone
            handle(m);
        } catch (const privsep::MessageTimeout& e) {
            if (state_ == State::PreAuth && cfg_.login_grace_time > 0 && Clock::now() >= grace_end)
                LOG_AUTH("Timeout before authentication for %s port %u", peer_.address.c_str(), peer_.port);
            LOG_ERROR("monitor: %s; killing it", e.what());
            ::kill(child_, SIGKILL);
            break;
        } catch (const std::exception& e) {
            LOG_ERROR("monitor: %s: %s; killing it", who_child().c_str(), e.what());
            ::kill(child_, SIGKILL);
            break;
        }
    }
    end_child();
    while (!tunnels_.empty()) remove_tunnel(tunnels_.begin(), "connection ended");
    return 0;
}

// The child must not outlive its monitor, which alone removes its devices:
// Linux kills it when the monitor dies. The check of the parent closes the
// race with a monitor that died before prctl. Elsewhere the child watches
// its monitor socket instead (connection.cpp).
void die_with_monitor(pid_t monitor)
{
#if defined(__linux__)
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) throw_errno("connection child", "prctl(PR_SET_PDEATHSIG)");
#endif
    if (::getppid() != monitor) ::_exit(1);
}

} // namespace

void set_monitor_kernel_descriptor_refusal(bool on)
{
    g_kernel_refuses_descriptors = on;
}

int run_monitor(const config::ServerConfig& cfg, ssh_bind bind, UniqueFd conn_fd, const Peer& peer,
                const PrivsepIdentity& identity, UniqueFd startup_fd)
{
    UniqueFd monitor_end;
    UniqueFd child_end;
    if (open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, monitor_end, child_end) != 0) {
        LOG_ERROR("connection from %s port %u: socketpair: %s", peer.address.c_str(), peer.port,
                  errno_text(errno).c_str());
        return 1;
    }
    // The child may pass no descriptor to the monitor: where the kernel can,
    // it refuses them itself, so that no reference to a file of the child's
    // (a socket lingering on close, say) ever reaches root; the monitor's
    // reads refuse them everywhere.
    if (g_kernel_refuses_descriptors) (void)privsep::refuse_descriptors_in_kernel(monitor_end.get());
    const pid_t monitor_pid = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        LOG_ERROR("connection from %s port %u: fork: %s", peer.address.c_str(), peer.port, errno_text(errno).c_str());
        return 1;
    }
    if (pid == 0) {
        monitor_end.reset();
        startup_fd.reset();
        int status = 1;
        try {
            die_with_monitor(monitor_pid);
            unmap_status_table(); // the monitor owns the slots; the child never sees them
            drop_privileges(identity);
            // Again: changing the uid cleared PR_SET_PDEATHSIG.
            die_with_monitor(monitor_pid);
            MonitorClient monitor(std::move(child_end));
            status = serve_connection(cfg, bind, conn_fd.release(), peer, monitor);
        } catch (const std::exception& e) {
            LOG_ERROR("connection from %s port %u: %s", peer.address.c_str(), peer.port, e.what());
        }
        std::fflush(nullptr);
        ::_exit(status);
    }
    // The monitor never touches the peer's bytes.
    conn_fd.reset();
    child_end.reset();
    try {
        Monitor monitor(cfg, peer, pid, std::move(monitor_end), std::move(startup_fd));
        return monitor.run();
    } catch (const std::exception& e) {
        LOG_ERROR("monitor for %s port %u: %s", peer.address.c_str(), peer.port, e.what());
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return 1;
    }
}

} // namespace feth::server
