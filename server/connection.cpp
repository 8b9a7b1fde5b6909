#include "connection.hpp"

#include <libssh/callbacks.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <vector>

#include "auth.hpp"
#include "config/printable.hpp"
#include "privsep.hpp"
#include "pubkey_auth.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "status.hpp"
#include "tunnel_policy.hpp"
#include "tunnel/liveness.hpp"
#include "base/log.hpp"
#include "tunnel/pump.hpp"
#include "base/signal_pipe.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "tunnel/ssh_handles.hpp"
#include "tunnel/tun_open.hpp"

namespace feth::server {
namespace {

// TunStats: at most one per tunnel this often, and only when the counters
// moved (the monitor ends a connection that floods it).
constexpr auto kStatsInterval = std::chrono::seconds(1);

using Clock = std::chrono::steady_clock;

// A tunnel and the descriptors the monitor gave it. The pump is declared
// after the device so that it is destroyed first: channel closed, then the
// fds, then the monitor removes the interface (close_tunnel).
struct ServerTunnel {
    std::uint32_t id = 0;
    std::unique_ptr<Device> device;
    std::unique_ptr<TunnelPump> pump;
    // What the monitor last heard for this tunnel's line in feth-sshd -S.
    TunnelCounters reported{};
    std::optional<Clock::time_point> reported_at;
};

// A tunnel channel open the child keeps (SSH_MESSAGE_KEEP) until the
// monitor's TunUp: its up hook runs meanwhile, and the connection goes on.
struct PendingTunnel {
    std::uint32_t id = 0;
    MessagePtr msg;
};

// A session channel: stock `ssh -w` without -N opens one after the tunnel.
// It prints one line and lives as long as the connection's tunnels.
struct SessionChannel {
    ChannelPtr channel;
    ssh_channel_callbacks_struct callbacks{};
    bool want_banner = false;
    bool banner_sent = false;
    bool had_tunnel = false;
};

class Connection {
public:
    Connection(const config::ServerConfig& cfg, ssh_bind bind, int fd, Peer peer, MonitorClient& monitor)
        : cfg_(cfg), bind_(bind), fd_(fd), peer_(std::move(peer)), monitor_(monitor)
    {
    }

    int run();

private:
    // libssh callbacks (C entry points).
    static int on_auth_pubkey(ssh_session, const char* user, ssh_key key, char state, void* userdata);
    static int on_auth_pubkey_signature(ssh_session, const char* user, const char* service, const char* method,
                                        const char* algorithm, ssh_string key_blob, ssh_string hostkey_blob,
                                        ssh_string signature, void* userdata);
    static void on_auth_pubkey_unreadable(ssh_session, const char* user, const char* method, const char* algorithm,
                                          ssh_string key_blob, void* userdata);
    static ssh_string on_sign_exchange_hash(ssh_session, ssh_key hostkey, const char* algorithm,
                                            const unsigned char* hash, size_t hash_len, void* userdata);
    static ssh_channel on_session_open(ssh_session, void* userdata);
    static int on_message(ssh_session, ssh_message msg, void* userdata);
    static int on_signal_fd(socket_t fd, int revents, void* userdata);
    static int on_monitor_fd(socket_t fd, int revents, void* userdata);
    static int on_pty(ssh_session, ssh_channel, const char*, int, int, int, int, void*) { return 0; }
    static int on_shell(ssh_session, ssh_channel channel, void* userdata);
    static int on_exec(ssh_session, ssh_channel channel, const char*, void* userdata);
    static int on_session_data(ssh_session, ssh_channel, void*, uint32_t len, int, void*)
    {
        return static_cast<int>(len);
    }
    static int on_window_change(ssh_session, ssh_channel, int, int, int, int, void*) { return 0; }

    int auth_pubkey(const std::string& user, ssh_key key, char state);
    int auth_answer(MonitorClient::AuthAnswer answer, const std::string& user);
    bool handle_tun_open(ssh_message msg);
    void tunnel_up(MonitorClient::Tunnel up);
    void take_tun_ups();
    void refuse_tun(ssh_message msg, const char* debug_line, const std::string& why);
    void mark_banner(ssh_channel channel);
    void service();
    void service_sessions();
    void report_stats(ServerTunnel& t);
    int stats_timeout_ms() const;
    template <typename F>
    void tell_monitor(F&& f);
    std::string who() const;

    const config::ServerConfig& cfg_;
    ssh_bind bind_;
    int fd_;
    Peer peer_;
    MonitorClient& monitor_;
    SessionPtr session_;
    EventPtr event_;
    ssh_server_callbacks_struct server_cb_{};

    std::optional<UserInfo> user_;
    // Set when the connection must end (authentication failed, SIGTERM),
    // with the reason logged; ClientAlive* lives in run() (PeerLiveness).
    bool terminate_ = false;
    std::string terminate_reason_;
    // The monitor's socket closed (or it broke the protocol): nothing more
    // is said to it, and the connection ends.
    bool monitor_gone_ = false;

    std::vector<ServerTunnel> tunnels_;
    std::vector<ServerTunnel> new_tunnels_; // attached outside callbacks
    std::vector<PendingTunnel> pending_;   // waiting for their TunUp
    std::vector<std::unique_ptr<SessionChannel>> sessions_;
    bool ever_had_tunnel_ = false;
};

std::string Connection::who() const
{
    std::string user = user_ ? user_->name : std::string("unauthenticated user");
    return user + " from " + peer_.address + " port " + std::to_string(peer_.port);
}

// ---- authentication --------------------------------------------------------

// Strings from libssh's callbacks, which may be NULL.
std::string str(const char* s)
{
    return s != nullptr ? s : "";
}

std::string str(ssh_string s)
{
    return s != nullptr ? std::string(static_cast<const char*>(ssh_string_data(s)), ssh_string_len(s)) : "";
}

// The key exchange's host key signature, made by the monitor, which holds
// the private keys (this process's bind has the public halves only).
ssh_string Connection::on_sign_exchange_hash(ssh_session, ssh_key hostkey, const char* algorithm,
                                             const unsigned char* hash, size_t hash_len, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    try {
        const std::string sig = self->monitor_.sign_exchange_hash(
            str(algorithm), public_key_blob(hostkey), std::string(reinterpret_cast<const char*>(hash), hash_len));
        ssh_string out = ssh_string_new(sig.size());
        if (out != nullptr) ssh_string_fill(out, sig.data(), sig.size());
        return out;
    } catch (const std::exception& e) {
        LOG_ERROR("host key signature for %s failed: %s", self->who().c_str(), e.what());
        return nullptr;
    }
}

int Connection::on_auth_pubkey(ssh_session, const char* user, ssh_key key, char state, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    try {
        return self->auth_pubkey(str(user), key, state);
    } catch (const std::exception& e) {
        LOG_ERROR("authentication of %s failed: %s", self->who().c_str(), e.what());
        self->terminate_ = true;
        self->terminate_reason_ = "authentication failed";
        return SSH_AUTH_DENIED;
    }
}

// What the monitor said, as libssh's answer; at MaxAuthTries the
// connection ends, with sshd's reason.
int Connection::auth_answer(MonitorClient::AuthAnswer answer, const std::string& user)
{
    if (answer == MonitorClient::AuthAnswer::DeniedDisconnect) {
        terminate_ = true;
        terminate_reason_ = "Too many authentication failures";
        ssh_session_set_disconnect_message(session_.get(), "Too many authentication failures");
    }
    if (answer != MonitorClient::AuthAnswer::Accepted) return SSH_AUTH_DENIED;
    if (!user.empty()) {
        user_ = UserInfo{user, "/", 0, 0};
        ::alarm(0);
    }
    return SSH_AUTH_SUCCESS;
}

// A publickey query (no signature): does the monitor accept this key for
// this user? The monitor logs and counts a refusal.
int Connection::auth_pubkey(const std::string& user_name, ssh_key key, char state)
{
    if (user_) return SSH_AUTH_DENIED; // already authenticated
    // MaxAuthTries reached: the monitor said disconnect and would kill us
    // for asking again; the client gets sshd's disconnect when this
    // callback returns (a client may send its next request meanwhile).
    if (terminate_) return SSH_AUTH_DENIED;
    // With the signature callback set libssh sends only queries here; no
    // other state ever authenticates (a signed request goes to the monitor).
    if (state != SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_DENIED;
    return auth_answer(monitor_.key_allowed(user_name, public_key_blob(key)), std::string());
}

// A signed publickey request, unverified: the monitor verifies it.
int Connection::on_auth_pubkey_signature(ssh_session, const char* user, const char* service, const char* method,
                                         const char* algorithm, ssh_string key_blob, ssh_string hostkey_blob,
                                         ssh_string signature, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    try {
        if (self->user_ || self->terminate_) return SSH_AUTH_DENIED; // see auth_pubkey
        const std::string name = str(user);
        auto answer = self->monitor_.verify_publickey(name, str(service), str(method), str(algorithm),
                                                      str(key_blob), str(hostkey_blob), str(signature));
        return self->auth_answer(answer, name);
    } catch (const std::exception& e) {
        LOG_ERROR("authentication of %s failed: %s", self->who().c_str(), e.what());
        self->terminate_ = true;
        self->terminate_reason_ = "authentication failed";
        return SSH_AUTH_DENIED;
    }
}

// A complete publickey request whose key blob libssh cannot read: sshd
// counts it as a failed attempt, so it goes to the monitor as a query with
// that blob, which the monitor refuses, logs and counts towards
// MaxAuthTries. libssh answers USERAUTH_FAILURE. (A request that does not
// parse at all ends the connection inside libssh: a protocol error.)
void Connection::on_auth_pubkey_unreadable(ssh_session, const char* user, const char*, const char*,
                                           ssh_string key_blob, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    try {
        if (self->user_ || self->terminate_) return; // see auth_pubkey
        self->auth_answer(self->monitor_.key_allowed(str(user), str(key_blob)), std::string());
    } catch (const std::exception& e) {
        LOG_ERROR("authentication of %s failed: %s", self->who().c_str(), e.what());
        self->terminate_ = true;
        self->terminate_reason_ = "authentication failed";
    }
}

// ---- tunnel channels -------------------------------------------------------

int Connection::on_message(ssh_session, ssh_message msg, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    if (ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN) return 1; // libssh's default answer
    if (ssh_message_subtype(msg) == SSH_CHANNEL_TUN) {
        try {
            if (self->handle_tun_open(msg)) return SSH_MESSAGE_KEEP; // answered on its TunUp
        } catch (const std::exception& e) {
            LOG_ERROR("tunnel request of %s: %s", self->who().c_str(), e.what());
            ssh_message_reply_default(msg);
        }
        return 0;
    }
    LOG_VERBOSE("Refused channel open of type %d for %s: this server carries tunnels only", ssh_message_subtype(msg),
                self->who().c_str());
    return 1;
}

void Connection::refuse_tun(ssh_message msg, const char* debug_line, const std::string& why)
{
    LOG_INFO("Refused tunnel forwarding for %s: %s", who().c_str(), why.c_str());
    // The stock client shows these SSH_MSG_DEBUG lines with -v, as sshd's.
    ssh_send_debug(session_.get(), debug_line, 0);
    ssh_message_reply_default(msg);
}

// Returns true when `msg` is kept for the monitor's TunUp (the caller
// returns SSH_MESSAGE_KEEP); false: answered (refused) here.
bool Connection::handle_tun_open(ssh_message msg)
{
    const int raw_mode = ssh_message_channel_request_open_tun_mode(msg);
    const std::uint32_t unit = ssh_message_channel_request_open_tun_unit(msg);
    if (!user_) {
        refuse_tun(msg, "Server has rejected tunnel device forwarding", "not authenticated");
        return false;
    }
    // Mode and unit as sshd reads them (tunnel/tun_open.hpp). An unknown mode
    // is refused here; a unit out of range is left to the monitor, which
    // checks PermitTunnel first, as sshd does (a forbidden mode is answered
    // "Server has rejected ..." whatever the unit).
    const TunOpenRequest req = check_tun_open(raw_mode > 0 ? static_cast<std::uint32_t>(raw_mode) : 0, unit);
    if (req.error == TunOpenError::UnsupportedMode) {
        refuse_tun(msg, tun_open_debug_line(req.error), "unsupported tunnel mode " + std::to_string(raw_mode));
        return false;
    }
    if (tunnels_.size() + new_tunnels_.size() + pending_.size() >= kMaxTunnelsPerConnection) {
        refuse_tun(msg, kTunnelFailedLine, "too many tunnels on one connection");
        return false;
    }

    // The monitor applies PermitTunnel (with Match) and the key's options
    // itself and opens the device; its TunnelUpCommand runs while this
    // loop goes on, and its TunUp (take_tun_ups) brings the descriptors
    // or the refusal.
    auto t = monitor_.open_tunnel(static_cast<std::uint32_t>(req.mode), unit);
    if (!t.ok) {
        refuse_tun(msg, t.debug_line.c_str(), t.reason);
        return false;
    }
    pending_.push_back(PendingTunnel{t.id, MessagePtr(msg)});
    return true;
}

// The monitor's TunUp for a pending tunnel: accept the client's channel
// open with the device, or refuse it.
void Connection::tunnel_up(MonitorClient::Tunnel up)
{
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const PendingTunnel& p) { return p.id == up.id; });
    if (it == pending_.end()) throw InputError("the monitor sent TunUp for tunnel " + std::to_string(up.id) +
                                               ", which is not waiting for it");
    MessagePtr msg = std::move(it->msg);
    pending_.erase(it);
    if (!up.ok) return refuse_tun(msg.get(), up.debug_line.c_str(), up.reason);
    ssh_channel raw = ssh_message_channel_request_open_reply_accept(msg.get());
    if (raw == nullptr) {
        LOG_ERROR("accepting the tunnel channel of %s failed: %s", who().c_str(), ssh_get_error(session_.get()));
        up.device.reset();
        tell_monitor([&] { monitor_.close_tunnel(up.id); });
        return;
    }
    Device& device = *up.device;
    // The monitor logged "Tunnel ... opened"; this process's lines are not
    // the audit record.
    std::string label = device.name() + " for " + who();
    // The pump asks the device for its MTU (the oversize rule); should the
    // kernel not answer here, the TunnelMTU the monitor set stands in.
    PumpLimits limits;
    limits.device_mtu = config::effective_tunnel_mtu(cfg_, user_->name, peer_.address);
    auto pump = std::make_unique<TunnelPump>(session_.get(), ChannelPtr(raw), device, std::move(label), limits);
    new_tunnels_.push_back(ServerTunnel{up.id, std::move(up.device), std::move(pump), {}, std::nullopt});
    ever_had_tunnel_ = true;
}

void Connection::take_tun_ups()
{
    if (monitor_gone_) return;
    try {
        while (auto up = monitor_.take_tun_up()) tunnel_up(std::move(*up));
    } catch (const std::exception& e) {
        LOG_ERROR("connection of %s: %s", who().c_str(), e.what());
        monitor_gone_ = true;
        terminate_ = true;
        terminate_reason_ = "privileged monitor gone";
    }
}

// ---- session channels -----------------------------------------------------

ssh_channel Connection::on_session_open(ssh_session session, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    if (self->sessions_.size() >= self->cfg_.max_sessions) return nullptr;
    ssh_channel raw = ssh_channel_new(session);
    if (raw == nullptr) return nullptr;
    auto sc = std::make_unique<SessionChannel>();
    sc->channel.reset(raw);
    ssh_callbacks_init(&sc->callbacks);
    sc->callbacks.userdata = self;
    sc->callbacks.channel_pty_request_function = &Connection::on_pty;
    sc->callbacks.channel_shell_request_function = &Connection::on_shell;
    sc->callbacks.channel_exec_request_function = &Connection::on_exec;
    sc->callbacks.channel_data_function = &Connection::on_session_data;
    sc->callbacks.channel_pty_window_change_function = &Connection::on_window_change;
    ssh_set_channel_callbacks(raw, &sc->callbacks);
    self->sessions_.push_back(std::move(sc));
    return raw;
}

void Connection::mark_banner(ssh_channel channel)
{
    for (auto& sc : sessions_)
        if (sc->channel.get() == channel) sc->want_banner = true;
}

int Connection::on_shell(ssh_session, ssh_channel channel, void* userdata)
{
    static_cast<Connection*>(userdata)->mark_banner(channel);
    return 0;
}

int Connection::on_exec(ssh_session, ssh_channel channel, const char*, void* userdata)
{
    static_cast<Connection*>(userdata)->mark_banner(channel);
    return 0;
}

void Connection::service_sessions()
{
    // Called after every wake-up; with ssh -N there is no session at all,
    // so build nothing on the data path.
    if (sessions_.empty()) return;
    std::string devices;
    for (const auto& t : tunnels_) {
        if (t.pump->finished()) continue;
        if (!devices.empty()) devices += ", ";
        devices += t.device->name();
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        SessionChannel& sc = **it;
        ssh_channel ch = sc.channel.get();
        if (ssh_channel_is_closed(ch)) {
            it = sessions_.erase(it);
            continue;
        }
        // A tunnel whose up hook still runs: its line waits for the result.
        if (sc.want_banner && !sc.banner_sent && pending_.empty()) {
            sc.banner_sent = true;
            std::string line = devices.empty()
                                   ? "feth-sshd: this server carries tunnels only, and this connection has no tunnel "
                                     "open (try ssh -o Tunnel=ethernet -w any:any).\r\n"
                                   : "feth-sshd: this server carries tunnels only; your tunnel is on " + devices +
                                         ". Press Ctrl-C or close ssh to end it.\r\n";
            ssh_channel_write(ch, line.data(), static_cast<uint32_t>(line.size()));
            sc.had_tunnel = !devices.empty();
            if (devices.empty()) {
                ssh_channel_request_send_exit_status(ch, 1);
                ssh_channel_send_eof(ch);
                ssh_channel_close(ch);
            }
        } else if (sc.banner_sent && sc.had_tunnel && devices.empty() && ssh_channel_is_open(ch)) {
            // The tunnel this session reported on has ended: so does the session.
            ssh_channel_request_send_exit_status(ch, 0);
            ssh_channel_send_eof(ch);
            ssh_channel_close(ch);
        }
        ++it;
    }
}

// ---- the loop ---------------------------------------------------------------

int Connection::on_signal_fd(socket_t, int, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    self->terminate_ = true;
    self->terminate_reason_ = "server shutting down";
    return SSH_OK;
}

// The monitor (root) owns the device and the -S line, and trusts nothing we
// say: its socket going away means the connection ends, not that the
// tunnels may stay.
int Connection::on_monitor_fd(socket_t fd, int, void* userdata)
{
    auto* self = static_cast<Connection*>(userdata);
    // It speaks unasked only to say a tunnel is up (TunUp, queued here and
    // taken in service()); every answer is read where it was asked for.
    // Anything else here is its end (EOF) or a broken monitor.
    char byte = 0;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return SSH_OK;
    if (self->monitor_gone_) return SSH_OK;
    std::string what = "the monitor is gone";
    if (n > 0) {
        try {
            if (self->monitor_.read_unsolicited()) return SSH_OK;
        } catch (const std::exception& e) {
            what = e.what();
        }
    }
    LOG_ERROR("connection of %s: %s", self->who().c_str(), what.c_str());
    self->monitor_gone_ = true;
    self->terminate_ = true;
    self->terminate_reason_ = "privileged monitor gone";
    return SSH_OK;
}

template <typename F>
void Connection::tell_monitor(F&& f)
{
    if (monitor_gone_) return;
    try {
        f();
    } catch (const std::exception& e) {
        LOG_ERROR("connection of %s: %s", who().c_str(), e.what());
        monitor_gone_ = true;
        terminate_ = true;
        terminate_reason_ = "privileged monitor gone";
    }
}

void Connection::report_stats(ServerTunnel& t)
{
    const TunnelCounters now = counters_of(t.pump->stats());
    if (now == t.reported) return;
    const auto clock = Clock::now();
    if (t.reported_at && clock - *t.reported_at < kStatsInterval) return; // stats_timeout_ms() wakes us
    tell_monitor([&] { monitor_.report_stats(t.id, now); });
    t.reported = now;
    t.reported_at = clock;
}

// When the next TunStats is due for a tunnel whose counters moved since the
// last one; -1: none.
int Connection::stats_timeout_ms() const
{
    int timeout = -1;
    const auto clock = Clock::now();
    for (const auto& t : tunnels_) {
        if (!t.reported_at || counters_of(t.pump->stats()) == t.reported) continue;
        auto due = std::chrono::duration_cast<std::chrono::milliseconds>(*t.reported_at + kStatsInterval - clock);
        timeout = sooner_timeout(timeout, static_cast<int>(std::max<long long>(0, due.count()) + 1));
    }
    return timeout;
}

void Connection::service()
{
    take_tun_ups();
    for (auto& t : new_tunnels_) {
        t.pump->attach(event_.get());
        tunnels_.push_back(std::move(t));
    }
    new_tunnels_.clear();
    for (auto it = tunnels_.begin(); it != tunnels_.end();) {
        TunnelPump& t = *it->pump;
        t.service();
        report_stats(*it);
        if (!t.finished()) {
            ++it;
            continue;
        }
        const PumpStats& s = t.stats();
        LOG_INFO("Tunnel %s closed (%s): %llu frames out, %llu in, %llu dropped (%llu above the MTU), device busy "
                 "%llu times, output full %llu times",
                 t.label().c_str(), t.end_reason().c_str(), static_cast<unsigned long long>(s.frames_to_peer),
                 static_cast<unsigned long long>(s.frames_from_peer),
                 static_cast<unsigned long long>(s.dropped_from_device + s.dropped_from_peer + s.dropped_device_full +
                                                 s.dropped_oversize),
                 static_cast<unsigned long long>(s.dropped_oversize), static_cast<unsigned long long>(s.device_busy),
                 static_cast<unsigned long long>(s.output_paused));
        it->pump.reset(); // the channel first,
        const std::uint32_t id = it->id;
        it = tunnels_.erase(it); // then our descriptors,
        tell_monitor([&] { monitor_.close_tunnel(id); }); // then the monitor removes the interface
    }
    service_sessions();
}

// libssh's ssh_disconnect() (0.11, and still 0.12.2) queues
// SSH_MSG_DISCONNECT and closes the socket at once. After each send the
// socket waits for POLLOUT before it writes again, so right after another
// packet (the EXT_INFO that ends the key exchange, say) the message never
// leaves and the peer sees only the end of the stream. One poll first (the
// socket is writable at once) lets it out. Without our message callback, a
// tun open the peer sends meanwhile gets libssh's default refusal, not a
// device. The session must not be in another event.
void disconnect_flushed(ssh_session session)
{
    ssh_set_message_callback(session, nullptr, nullptr);
    EventPtr event(ssh_event_new());
    const bool polled = event && ssh_event_add_session(event.get(), session) == SSH_OK;
    if (polled) ssh_event_dopoll(event.get(), 100);
    if (ssh_is_connected(session)) ssh_disconnect(session);
    if (polled) ssh_event_remove_session(event.get(), session);
}

// What libssh saw when a peer broke the protocol (a channel open before
// authentication, a malformed packet); empty when the peer closed or reset
// the TCP connection ("Socket error: ..." from libssh's socket layer) or
// said goodbye.
std::string protocol_violation(ssh_session session)
{
    if (ssh_get_error_code(session) != SSH_FATAL) return {};
    const std::string err = ssh_get_error(session);
    if (err.empty() || err.rfind("Socket error:", 0) == 0 || err.rfind("Received SSH_MSG_DISCONNECT", 0) == 0)
        return {};
    return config::printable(err, 200);
}

int Connection::run()
{
    SignalPipe signals({SIGTERM, SIGINT, SIGHUP});
    // An unauthenticated client gets LoginGraceTime, as with sshd; nothing
    // privileged exists yet, so the default action (exit) is safe.
    // The monitor enforces it too, and logs; this is the child's own stop.
    ::signal(SIGALRM, SIG_DFL);
    if (cfg_.login_grace_time > 0) ::alarm(cfg_.login_grace_time + 1);

    session_.reset(ssh_new());
    if (!session_) throw InputError("ssh_new failed");
    if (ssh_bind_accept_fd(bind_, session_.get(), fd_) != SSH_OK) {
        LOG_ERROR("accepting the connection from %s port %u failed: %s", peer_.address.c_str(), peer_.port,
                  ssh_get_error(bind_));
        return 1;
    }
    // RekeyLimit: libssh re-keys on its own once either limit is reached,
    // as sshd does; unset, it keeps the cipher's safe default.
    if (cfg_.rekey_limit_bytes != 0) {
        std::uint64_t bytes = cfg_.rekey_limit_bytes;
        ssh_options_set(session_.get(), SSH_OPTIONS_REKEY_DATA, &bytes);
    }
    if (cfg_.rekey_limit_seconds != 0) {
        std::uint32_t seconds = cfg_.rekey_limit_seconds;
        ssh_options_set(session_.get(), SSH_OPTIONS_REKEY_TIME, &seconds);
    }
    if (ssh_server_set_hostkey_sign_callback(session_.get(), &Connection::on_sign_exchange_hash, this) != SSH_OK)
        throw InputError("cannot hand host key signatures to the monitor");
    ssh_callbacks_init(&server_cb_);
    server_cb_.userdata = this;
    server_cb_.auth_pubkey_function = &Connection::on_auth_pubkey;
    server_cb_.auth_pubkey_signature_function = &Connection::on_auth_pubkey_signature;
    server_cb_.auth_pubkey_unreadable_function = &Connection::on_auth_pubkey_unreadable;
    server_cb_.channel_open_request_session_function = &Connection::on_session_open;
    ssh_set_server_callbacks(session_.get(), &server_cb_);
    ssh_set_auth_methods(session_.get(), SSH_AUTH_METHOD_PUBLICKEY);
    ssh_set_message_callback(session_.get(), &Connection::on_message, this);

    if (ssh_handle_key_exchange(session_.get()) != SSH_OK) {
        // A packet the filter rejects can arrive in the same read as the
        // client's NEWKEYS (an early channel open does, now and then) and so
        // end the key exchange: answer and log it as the same packet after
        // the exchange (SSH_MSG_DISCONNECT, "Protocol error").
        const std::string violation = protocol_violation(session_.get());
        if (violation.empty()) {
            LOG_INFO("Connection closed by %s port %u during key exchange: %s", peer_.address.c_str(),
                     peer_.port, ssh_get_error(session_.get()));
            return 1;
        }
        if (ssh_is_connected(session_.get())) disconnect_flushed(session_.get());
        LOG_INFO("Protocol error from %s port %u: %s", peer_.address.c_str(), peer_.port, violation.c_str());
        return 1;
    }
    log_negotiated_algorithms(session_.get());
    ssh_set_blocking(session_.get(), 0);
    // libssh hands its whole output buffer to one send() once poll() saw
    // POLLOUT, and leaves the accepted socket blocking: a send() larger
    // than the room the kernel has then waits inside the kernel until the
    // peer reads, and a peer that stopped reading freezes this process
    // (every tunnel, keepalives, signals) with less than the output bound
    // queued. Non-blocking, send() takes what fits (POLLOUT said there is
    // room) and libssh keeps the rest for the next POLLOUT.
    if (set_io_mode(ssh_get_fd(session_.get()), IoMode::nonblocking) != 0)
        throw_errno("connection from " + who(), "fcntl(O_NONBLOCK)");

    event_.reset(ssh_event_new());
    // The monitor's socket too: its end is ours (Linux also has
    // PR_SET_PDEATHSIG; macOS has only this).
    if (!event_ || ssh_event_add_session(event_.get(), session_.get()) != SSH_OK ||
        ssh_event_add_fd(event_.get(), signals.fd(), POLLIN, &Connection::on_signal_fd, this) != SSH_OK ||
        ssh_event_add_fd(event_.get(), monitor_.socket_fd(), POLLIN, &Connection::on_monitor_fd, this) != SSH_OK)
        throw InputError("cannot set up the event loop");

    // sshd's ClientAliveInterval/CountMax, from authentication on.
    std::optional<PeerLiveness> alive;
    while (!terminate_) {
        if (user_ && !alive) alive.emplace(session_.get(), cfg_.client_alive_interval, cfg_.client_alive_count_max);
        int timeout = alive ? alive->timeout_ms() : -1;
        if (timeout >= 0) ++timeout; // wake after the keepalive deadline, not just before
        for (const auto& t : tunnels_) timeout = sooner_timeout(timeout, t.pump->poll_timeout_ms());
        timeout = sooner_timeout(timeout, stats_timeout_ms());
        int rc = ssh_event_dopoll(event_.get(), timeout);
        service();
        if (alive && !alive->check()) {
            LOG_INFO("Timeout, client not responding from %s", who().c_str());
            terminate_ = true;
            terminate_reason_ = "Timeout, client not responding";
        }
        if (rc == SSH_ERROR) break;
        int status = ssh_get_status(session_.get());
        if ((status & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0 || !ssh_is_connected(session_.get())) break;
    }
    ssh_event_remove_fd(event_.get(), signals.fd());
    ssh_event_remove_fd(event_.get(), monitor_.socket_fd());

    const bool by_us = terminate_;
    const std::string why = terminate_reason_.empty() ? "connection closed" : terminate_reason_;
    // A peer that broke the protocol is not a peer that closed: say what
    // libssh saw.
    const std::string violation = protocol_violation(session_.get());
    // Opens still waiting for their TunUp: the messages go with the
    // session; the monitor stops their hooks when this process ends.
    pending_.clear();
    while (!monitor_gone_ && monitor_.take_tun_up()) {
    }
    for (auto& t : tunnels_) t.pump->close(why);
    for (auto& t : new_tunnels_) t.pump->close(why);
    service(); // logs and frees every tunnel: devices go now
    ssh_event_remove_session(event_.get(), session_.get());
    if (ssh_is_connected(session_.get())) {
        if (terminate_reason_ == "Timeout, client not responding")
            ssh_silent_disconnect(session_.get()); // the peer is not listening
        else
            disconnect_flushed(session_.get());
    }
    if (user_ && !violation.empty())
        LOG_INFO("Disconnected from user %s %s port %u (protocol error: %s)", user_->name.c_str(),
                 peer_.address.c_str(), peer_.port, violation.c_str());
    else if (user_)
        LOG_INFO("Disconnected from user %s %s port %u%s", user_->name.c_str(), peer_.address.c_str(), peer_.port,
                 by_us ? (" (" + terminate_reason_ + ")").c_str() : "");
    else if (!violation.empty())
        LOG_INFO("Protocol error from %s port %u: %s", peer_.address.c_str(), peer_.port, violation.c_str());
    else if (by_us)
        LOG_VERBOSE("Closed the connection from %s port %u: %s", peer_.address.c_str(), peer_.port,
                    terminate_reason_.c_str());
    else
        LOG_INFO("Connection closed by %s port %u", peer_.address.c_str(), peer_.port);
    return 0;
}

} // namespace

int serve_connection(const config::ServerConfig& cfg, ssh_bind bind, int fd, const Peer& peer,
                     MonitorClient& monitor)
{
    log::set_suffix(""); // per-connection lines carry the peer themselves
    try {
        Connection conn(cfg, bind, fd, peer, monitor);
        return conn.run();
    } catch (const std::exception& e) {
        LOG_ERROR("connection from %s port %u: %s", peer.address.c_str(), peer.port, e.what());
        return 1;
    }
}

} // namespace feth::server
