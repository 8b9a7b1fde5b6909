#include "tunnel_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "client/backoff.hpp"
#include "client/first_errors.hpp"
#include "client/network_watch.hpp"
#include "client/proxy.hpp"
#include "base/detach.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/hook.hpp"
#include "tunnel/liveness.hpp"
#include "base/log.hpp"
#include "tunnel/pump.hpp"
#include "base/signal_pipe.hpp"
#include "goodbye.hpp"

namespace feth::client {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The goodbye (goodbye.hpp) waits at most this long for the server.
constexpr milliseconds kGoodbyeBound{2000};
// After a network change, how long the server has to answer a keepalive.
constexpr milliseconds kProbeDeadline{3000};

enum class Outcome {
    Signal,         // SIGINT/SIGTERM/SIGHUP: exit 0
    ChannelClosed,  // the server closed the tunnel, connection still fine
    ConnectionLost, // network loss, server gone, keepalive timeout
    HookFailed,     // TunnelUpCommand failed: exit 255, never retried
};

// SIGUSR1 everywhere, and SIGINFO (^T) where the system has it: one status
// line in the log.
bool is_status_signal(int sig)
{
#ifdef SIGINFO
    if (sig == SIGINFO) return true;
#endif
    return sig == SIGUSR1;
}

// The numeric address and port of the server this session is connected to;
// empty through a ProxyCommand/ProxyJump (a socketpair: the address is not known).
std::pair<std::string, std::string> peer_endpoint(ssh_session s)
{
    struct sockaddr_storage ss {};
    socklen_t len = sizeof ss;
    char host[NI_MAXHOST] = "";
    char serv[NI_MAXSERV] = "";
    socket_t fd = ssh_get_fd(s);
    if (fd == SSH_INVALID_SOCKET || ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
        ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return {"", ""};
    return {host, serv};
}

// Reads and counts frames while no tunnel is connected, so the device's
// queue never holds stale traffic and nothing is buffered without bound.
class DrainSink final : public FrameSink {
public:
    bool on_frame(std::span<const std::uint8_t>) override
    {
        ++dropped;
        return true;
    }
    std::uint64_t dropped = 0;
};

// -f. Under privilege separation the root part went first; this process
// is its child and must stay so (it dies with it), so it does not fork.
void detach_to_background(bool separated)
{
    if (separated)
        detach_in_place("-f");
    else
        detach_from_terminal("-f");
    log::to_syslog_only("feth-ssh");
}

class TunnelClient {
public:
    explicit TunnelClient(TunnelOptions& o)
        : opts_(o),
          signals_({SIGINT, SIGTERM, SIGHUP, SIGUSR1
#ifdef SIGINFO
                    ,
                    SIGINFO
#endif
          })
    {
    }

    int run()
    {
        const auto& c = opts_.dest.config;
        DeviceRequest req{*c.tunnel, c.tunnel_device->local, c.tunnel_backend.value_or("auto"),
                          c.tunnel_mtu.value_or(0)};
        separated_ = opts_.privileged != nullptr;
        if (!opts_.privileged)
            opts_.privileged = local_privileged(
                {*c.tunnel_up_command, *c.tunnel_down_command, std::chrono::seconds(*c.tunnel_command_timeout)});
        priv_ = opts_.privileged.get();
        try {
            device_ = priv_->open_device(req);
        } catch (const std::exception& e) {
            LOG_ERROR("%s", device_open_failure(e).c_str());
            return 255;
        }
        LOG_VERBOSE("Local tunnel device %s (%s)", device_->name().c_str(), tun_mode_name(*c.tunnel));
        if (c.reconnect.value_or(false)) network_ = open_network_watch(device_->name());

        // With Reconnect, every failure is retried but the user's own
        // mistakes (ConnectError::retryable) and a failed TunnelUpCommand;
        // each attempt is logged once, with why the last one ended.
        const bool reconnect = c.reconnect.value_or(false);
        for (;;) {
            Outcome out;
            std::string reason;
            const std::uint64_t tunnels_before = connections_;
            try {
                out = connect_and_pump(reason);
            } catch (const ConnectError& e) {
                priv_->after_connect(); // a host key accepted before the failure is kept
                if (!reconnect || !e.retryable()) {
                    LOG_ERROR("%s", e.what());
                    return 255;
                }
                out = Outcome::ConnectionLost;
                reason = e.what();
            } catch (const ForwardingRefused& e) {
                if (!reconnect) {
                    LOG_ERROR("%s", e.what());
                    return 255;
                }
                out = Outcome::ConnectionLost;
                reason = e.what();
            }
            if (connections_ != tunnels_before) backoff_.reset(); // a tunnel was up: start over
            if (out == Outcome::Signal) return 0;
            if (out == Outcome::HookFailed) return 255;
            if (!reconnect) return out == Outcome::ChannelClosed ? 0 : 255;
            if (!wait_before_retry(reason)) return 0;
        }
    }

private:
    struct ForwardingRefused : std::runtime_error {
        using std::runtime_error::runtime_error;
    };

    // One connection's life. Returns how it ended, and why in `reason`;
    // throws ConnectError or ForwardingRefused when it never got going.
    Outcome connect_and_pump(std::string& reason)
    {
        const auto& c = opts_.dest.config;
        ProxyScope proxy_scope; // this attempt's ProxyCommand/ProxyJump ends with its session
        std::optional<ServerDebugLines> server_said(std::in_place); // why a tunnel is refused
        SessionPtr session = connect_session(opts_.dest);
        priv_->after_connect();
        ssh_session s = session.get();

        ChannelPtr channel(ssh_channel_new(s));
        if (!channel) throw ConnectError(ConnectError::Kind::Network, "ssh_channel_new failed");
        const int mode = *c.tunnel == TunMode::Ethernet ? SSH_TUN_MODE_ETHERNET : SSH_TUN_MODE_POINTOPOINT;
        if (ssh_channel_open_tun(channel.get(), mode, c.tunnel_device->remote) != SSH_OK) {
            if (!ssh_is_connected(s))
                throw ConnectError(ConnectError::Kind::Network,
                                   std::string("connection lost while opening the tunnel: ") + ssh_get_error(s));
            throw ForwardingRefused(tunnel_refusal(opts_.dest.host_arg, *c.tunnel, c.tunnel_device->remote,
                                                   ssh_get_error(s), server_said->lines()));
        }
        server_said.reset();
        LOG_INFO("Tunnel up: %s <-> %s@%s (%s)", device_->name().c_str(), c.user->c_str(), c.host_name->c_str(),
                 tun_mode_name(*c.tunnel));
        ++connections_;
        up_since_ = Clock::now();
        const HookEnv env = hook_env(s);
        run_local_command(env);

        // TunnelUpCommand runs while the pump runs, so that the session
        // answers the server's keepalives however long the hook takes (up
        // to its timeout). With -f, feth-ssh goes to the background once the
        // hook has succeeded, so that a failure is reported in the
        // foreground.
        std::unique_ptr<RunningHook> up_hook;
        bool up_hook_failed = false;
        try {
            up_hook = priv_->tunnel_up(env);
        } catch (const std::exception& e) {
            LOG_ERROR("TunnelUpCommand could not be started: %s: closing the tunnel %s", e.what(),
                      device_->name().c_str());
            up_hook_failed = true;
        }
        if (!up_hook && !up_hook_failed) maybe_detach();

        ssh_set_blocking(s, 0);
        // As feth-sshd's connection: libssh leaves the socket blocking and
        // writes all it holds in one send() after POLLOUT, which would wait
        // in the kernel for a server that stopped reading.
        if (set_io_mode(ssh_get_fd(s), IoMode::nonblocking) != 0)
            throw ConnectError(ConnectError::Kind::Network,
                               std::string("socket to the server: fcntl(O_NONBLOCK): ") + std::strerror(errno));
        PeerLiveness alive(s, *c.server_alive_interval, *c.server_alive_count_max);
        EventPtr event(ssh_event_new());
        if (!event || ssh_event_add_session(event.get(), s) != SSH_OK)
            throw ConnectError(ConnectError::Kind::Network, "cannot set up the event loop");
        bool signal_ready = false;
        ssh_event_add_fd(event.get(), signals_.fd(), POLLIN, &TunnelClient::on_signal, &signal_ready);
        bool network_ready = false; // an address or a route changed
        if (network_) ssh_event_add_fd(event.get(), network_->fd(), POLLIN, &TunnelClient::on_signal, &network_ready);
        bool control_ready = false; // -O: a control client knocked
        if (control_fd() >= 0) ssh_event_add_fd(event.get(), control_fd(), POLLIN, &TunnelClient::on_signal, &control_ready);
        bool root_ready = false; // the root part wrote, or went away
        if (priv_->watch_fd() >= 0)
            ssh_event_add_fd(event.get(), priv_->watch_fd(), POLLIN, &TunnelClient::on_signal, &root_ready);

        Outcome outcome = up_hook_failed ? Outcome::HookFailed : Outcome::ConnectionLost;
        {
            // The pump asks the device for its MTU (the oversize rule); the
            // TunnelMTU asked for stands in where the device cannot tell.
            PumpLimits limits;
            limits.device_mtu = c.tunnel_mtu.value_or(0);
            TunnelPump pump(s, std::move(channel), *device_,
                            device_->name() + " to " + *c.host_name + " port " + std::to_string(*c.port), limits);
            pump.attach(event.get());
            while (!up_hook_failed) {
                int timeout = alive.timeout_ms();
                if (up_hook && !up_hook->finished()) {
                    // The hook's output and exit are looked at every
                    // wakeup, and at least every 100 ms while it runs.
                    int h = up_hook->poll_timeout_ms();
                    timeout = timeout < 0 ? h : std::min(timeout, h);
                }
                timeout = sooner_timeout(timeout, pump.poll_timeout_ms());
                int rc = ssh_event_dopoll(event.get(), timeout);
                pump.service();
                if (root_ready) {
                    root_ready = false;
                    priv_->on_watch_ready();
                }
                if (network_ready) {
                    network_ready = false;
                    if (network_->changed() && !alive.probing()) {
                        LOG_INFO("Network changed: checking the connection to %s", c.host_name->c_str());
                        alive.probe(kProbeDeadline);
                    }
                }
                if (control_ready) {
                    control_ready = false;
                    if (serve_control(&pump, event.get())) {
                        outcome = Outcome::Signal; // -O exit
                        break;
                    }
                }
                if (signal_ready) {
                    signal_ready = false;
                    bool stop = false;
                    for (int sig = signals_.next(); sig != 0; sig = signals_.next()) {
                        if (is_status_signal(sig)) log_status(&pump);
                        else stop = true;
                    }
                    if (stop) {
                        outcome = Outcome::Signal;
                        break;
                    }
                }
                if (up_hook && !up_hook->finished() && up_hook->service()) {
                    if (!up_hook->result().ok()) {
                        LOG_ERROR("TunnelUpCommand %s: closing the tunnel %s",
                                  up_hook->result().describe(hook_timeout()).c_str(),
                                  device_->name().c_str());
                        outcome = Outcome::HookFailed;
                        break;
                    }
                    LOG_VERBOSE("TunnelUpCommand succeeded");
                    maybe_detach();
                }
                if (rc == SSH_ERROR || !ssh_is_connected(s) ||
                    (ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0) {
                    reason = "Connection to " + *c.host_name + " closed by remote host.";
                    LOG_ERROR("%s", reason.c_str());
                    break;
                }
                if (pump.finished()) {
                    reason = "Tunnel " + device_->name() + " closed: " + pump.end_reason();
                    LOG_INFO("%s", reason.c_str());
                    outcome = Outcome::ChannelClosed;
                    break;
                }
                if (!alive.check()) {
                    reason = alive.probing() ? "No answer from " + *c.host_name + " within " +
                                                   std::to_string(kProbeDeadline.count() / 1000) +
                                                   " s after a network change."
                                             : "Timeout, server " + *c.host_name + " not responding.";
                    LOG_ERROR("%s", reason.c_str());
                    break;
                }
            }
            const PumpStats& st = pump.stats();
            LOG_VERBOSE("Tunnel %s: %llu frames out, %llu in, %llu dropped (%llu above the MTU)",
                        device_->name().c_str(), static_cast<unsigned long long>(st.frames_to_peer),
                        static_cast<unsigned long long>(st.frames_from_peer),
                        static_cast<unsigned long long>(st.dropped_from_device + st.dropped_from_peer +
                                                        st.dropped_device_full + st.dropped_oversize),
                        static_cast<unsigned long long>(st.dropped_oversize));
            if (outcome != Outcome::ConnectionLost)
                pump.close(outcome == Outcome::Signal       ? "signal"
                           : outcome == Outcome::HookFailed ? "TunnelUpCommand failed"
                                                            : "closed");
        }
        ssh_event_remove_fd(event.get(), signals_.fd());
        if (network_) ssh_event_remove_fd(event.get(), network_->fd());
        if (control_fd() >= 0) ssh_event_remove_fd(event.get(), control_fd());
        if (priv_->watch_fd() >= 0) ssh_event_remove_fd(event.get(), priv_->watch_fd());
        ssh_event_remove_session(event.get(), s);
        if (outcome != Outcome::ConnectionLost && ssh_is_connected(s))
            disconnect_cleanly(s, outcome == Outcome::Signal ? "disconnected by user" : nullptr, kGoodbyeBound);

        // An up hook still running when the tunnel ended: on a signal it is
        // stopped (the user wants out); otherwise it may finish, within its
        // timeout, before the down hook undoes it.
        if (up_hook && !up_hook->finished()) {
            if (outcome == Outcome::Signal) {
                up_hook->stop();
                up_hook.reset();
            } else if (!up_hook->wait().ok()) {
                LOG_ERROR("TunnelUpCommand %s", up_hook->result().describe(hook_timeout()).c_str());
                outcome = Outcome::HookFailed;
            }
        }
        // TunnelDownCommand: once per tunnel that came up, after it is down
        // (also after a failed up hook, to undo what it did). Bounded by its
        // timeout; its failure is logged and changes nothing else.
        priv_->tunnel_down(env);
        up_since_.reset();
        return outcome;
    }

    milliseconds hook_timeout() const { return std::chrono::seconds(*opts_.dest.config.tunnel_command_timeout); }

    HookSpec hook_spec(const char* name, const std::string& command, const HookEnv& env) const
    {
        HookSpec spec;
        spec.name = name;
        spec.command = command;
        spec.env = env;
        spec.timeout = hook_timeout();
        spec.inherit_environment = true; // as ssh's LocalCommand
        return spec;
    }

    // ssh's LocalCommand with PermitLocalCommand yes: once the connection
    // (here: the tunnel) is up, with ssh's %-tokens (%T the local device),
    // through /bin/sh, waited for as ssh does; a failure is logged and
    // changes nothing. Bounded by TunnelCommandTimeout, with the hooks'
    // environment.
    void run_local_command(const HookEnv& env) const
    {
        const auto& c = opts_.dest.config;
        if (!c.local_command || c.local_command->empty() || !c.permit_local_command.value_or(false)) return;
        config::LocalCommandTokens t;
        const struct passwd* pw = ::getpwuid(::getuid());
        t.home = pw != nullptr ? pw->pw_dir : "/"; // %d: as ssh, the password database, never $HOME
        t.local_user = pw != nullptr ? pw->pw_name : "";
        t.host = *c.host_name;
        t.host_arg = opts_.dest.host_arg;
        t.port = std::to_string(*c.port);
        t.remote_user = *c.user;
        t.tun_name = device_->name();
        t.host_key_alias = c.host_key_alias.value_or("");
        std::string command;
        try {
            command = config::expand_local_command(*c.local_command, t);
        } catch (const std::exception& e) {
            LOG_ERROR("LocalCommand not run: %s", e.what());
            return;
        }
        LOG_DEBUG("Executing local command: %s", command.c_str());
        HookResult r = run_hook(hook_spec("LocalCommand", command, env));
        if (!r.ok()) LOG_ERROR("LocalCommand %s", r.describe(hook_timeout()).c_str());
    }

    // What a hook learns about its tunnel (docs/hooks.md).
    HookEnv hook_env(ssh_session s) const
    {
        const auto& c = opts_.dest.config;
        auto [addr, port] = peer_endpoint(s);
        const std::uint32_t unit = c.tunnel_device->remote;
        return {
            {"FETH_INTERFACE", device_->name()},
            {"FETH_IO_INTERFACE", device_->io_name()},
            {"FETH_MODE", tun_mode_name(*c.tunnel)},
            {"FETH_UNIT", unit == kTunUnitAny ? std::string("any") : std::to_string(unit)},
            {"FETH_USER", *c.user},
            {"FETH_REMOTE_HOST", *c.host_name},
            {"FETH_REMOTE_ADDRESS", addr},
            {"FETH_REMOTE_PORT", port.empty() ? std::to_string(*c.port) : port},
            {"FETH_RECONNECT", connections_ > 1 ? "1" : "0"},
        };
    }

    void maybe_detach()
    {
        if (opts_.background && !detached_) {
            priv_->detach();
            detach_to_background(separated_);
            detached_ = true;
        }
    }

    // SIGUSR1/SIGINFO: one line whatever the log level (the user asked).
    void log_status(const TunnelPump* pump) const
    {
        const auto& c = opts_.dest.config;
        const std::string head = "Status: tunnel " + device_->name() + " <-> " + *c.user + "@" + *c.host_name +
                                 " port " + std::to_string(*c.port) + " (" + tun_mode_name(*c.tunnel) + ")";
        auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
        if (pump == nullptr || !up_since_) {
            log::write(log::Level::Info, false, "%s: not connected; %llu frames dropped while disconnected",
                       head.c_str(), u(dropped_while_down_));
            return;
        }
        const PumpStats& st = pump->stats();
        auto up = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *up_since_).count();
        log::write(log::Level::Info, false,
                   "%s: up %llu s (connection %llu); to server %llu frames %llu bytes; from server %llu frames "
                   "%llu bytes; dropped %llu from device, %llu from server, %llu above the MTU, %llu device full; "
                   "%llu queued; device busy %llu times; output full %llu times",
                   head.c_str(), static_cast<unsigned long long>(up), u(connections_), u(st.frames_to_peer),
                   u(st.bytes_to_peer), u(st.frames_from_peer), u(st.bytes_from_peer), u(st.dropped_from_device),
                   u(st.dropped_from_peer), u(st.dropped_oversize), u(st.dropped_device_full), u(st.queued_to_peer),
                   u(st.device_busy), u(st.output_paused));
    }

    // Sleeps for the backoff (client/backoff.hpp) while draining the
    // device, after one line saying when, which attempt and why. Returns
    // false when a signal asks us to stop.
    bool wait_before_retry(const std::string& reason)
    {
        const milliseconds wait = backoff_.next(rng_);
        const std::string why = reason.empty() ? "connection lost" : reason;
        LOG_INFO("Reconnecting to %s in %.1f s (attempt %u): %s", opts_.dest.config.host_name->c_str(),
                 static_cast<double>(wait.count()) / 1000.0, backoff_.attempts(),
                 why.c_str());
        auto until = Clock::now() + wait;
        DrainSink drain;
        for (;;) {
            auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
            if (left <= 0) break;
            struct pollfd p[5] = {{signals_.fd(), POLLIN, 0}, {device_->read_fd(), POLLIN, 0},
                                  {priv_->watch_fd(), POLLIN, 0}, {control_fd(), POLLIN, 0},
                                  {network_ ? network_->fd() : -1, POLLIN, 0}};
            int n = ::poll(p, 5, static_cast<int>(left));
            if (n > 0 && p[4].revents != 0 && network_->changed()) {
                LOG_INFO("Network changed: reconnecting to %s now", opts_.dest.config.host_name->c_str());
                break; // the network may be back: no reason to wait longer
            }
            if (n > 0 && p[2].revents != 0) priv_->on_watch_ready();
            if (n > 0 && p[3].revents != 0 && serve_control(nullptr, nullptr)) return false; // -O exit
            if (n > 0 && p[0].revents != 0) {
                for (int sig = signals_.next(); sig != 0; sig = signals_.next()) {
                    if (is_status_signal(sig)) log_status(nullptr);
                    else return false;
                }
            }
            if (n > 0 && p[1].revents != 0) {
                try {
                    // One bpf read hands over the whole hold buffer; what is
                    // past 256 records stays in the device, invisible to
                    // poll(), and would be forwarded after the reconnect.
                    do device_->read_frames(drain, 256);
                    while (device_->has_buffered_frames());
                } catch (const std::exception& e) {
                    LOG_ERROR("%s", e.what());
                    return false;
                }
            }
        }
        dropped_while_down_ += drain.dropped;
        if (drain.dropped > 0)
            LOG_VERBOSE("%llu frames dropped while disconnected", static_cast<unsigned long long>(drain.dropped));
        return true;
    }

    int control_fd() const { return opts_.control ? opts_.control->fd() : -1; }

    // -O: answers one control client; true when it asked feth-ssh to end.
    // -O stop: the socket leaves `event` (if any) and closes.
    bool serve_control(const TunnelPump* pump, ssh_event event)
    {
        ControlServer& control = *opts_.control;
        const auto r = control.serve([&] { return control_status(pump); });
        if (r == ControlServer::Request::Stop) {
            if (event != nullptr) ssh_event_remove_fd(event, control.fd());
            control.stop();
        }
        return r == ControlServer::Request::Exit;
    }

    ControlStatus control_status(const TunnelPump* pump) const
    {
        const auto& c = opts_.dest.config;
        ControlStatus s;
        s.device = device_->name();
        s.mode = tun_mode_name(*c.tunnel);
        s.peer = *c.user + "@" + *c.host_name + " port " + std::to_string(*c.port);
        s.connected = pump != nullptr && up_since_.has_value();
        if (s.connected) {
            s.uptime_s = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *up_since_).count());
            const PumpStats& st = pump->stats();
            s.bytes_out = st.bytes_to_peer;
            s.bytes_in = st.bytes_from_peer;
            s.frames_out = st.frames_to_peer;
            s.frames_in = st.frames_from_peer;
        }
        s.reconnects = connections_ > 0 ? connections_ - 1 : 0;
        s.dropped_while_down = dropped_while_down_;
        return s;
    }

    static int on_signal(socket_t, int, void* userdata)
    {
        *static_cast<bool*>(userdata) = true;
        return SSH_OK;
    }

    TunnelOptions& opts_;
    Privileged* priv_ = nullptr; // opts_.privileged
    bool separated_ = false;     // a root part of feth-ssh holds the device
    SignalPipe signals_;
    std::unique_ptr<Device> device_;
    std::unique_ptr<NetworkWatch> network_; // with Reconnect: changes trigger a probe
    bool detached_ = false;
    std::uint64_t dropped_while_down_ = 0;
    std::uint64_t connections_ = 0;             // tunnels that came up
    std::optional<Clock::time_point> up_since_; // the current tunnel's start
    std::mt19937 rng_{std::random_device{}()};
    Backoff backoff_;
};

} // namespace

int run_tunnel(TunnelOptions& options)
{
    TunnelClient client(options);
    return client.run();
}

} // namespace feth::client
