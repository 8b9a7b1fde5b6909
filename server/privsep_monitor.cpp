// The per-connection monitor: root, never reads a byte from the network.
// It forks the unprivileged child, answers the few requests valid in the
// current state, and owns every tunnel device of the connection.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "auth.hpp"
#include "auth_delay.hpp"
#include "child_log.hpp"
#include "live_account.hpp"
#include "connection.hpp"
#include "handover.hpp"
#include "network_child.hpp"
#include "privsep.hpp"
#include "privsep_wire.hpp"
#include "sandbox.hpp"
#include "pubkey_auth.hpp"
#include "config/printable.hpp"
#include "source_limits.hpp"
#include "status.hpp"
#include "tunnel_policy.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/hook.hpp"
#include "tunnel/tun_open.hpp"
#include "base/log.hpp"
#include "base/signal_pipe.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

using privsep::Message;
using privsep::MsgType;

using Clock = std::chrono::steady_clock;

constexpr auto kChildExitGrace = std::chrono::seconds(3);
constexpr int kSendTimeoutSeconds = 10;
// Host key signatures an honest child asks for before authentication: the
// first key exchange, and a re-key a client may start at once.
constexpr unsigned kMaxPreauthSignatures = 4;
// Once the child has sent the first byte of a message, the rest must follow
// within this (and before authentication, within LoginGraceTime too):
// half a message must not hold the monitor, the connection and its
// MaxStartups slot.
constexpr auto kMessageDeadline = std::chrono::seconds(10);
// TunStats: an honest child sends at most one per tunnel per second (10
// tunnels at most); a child that keeps sending more than this is not ours.
constexpr double kStatsPerSecond = 20;
constexpr double kStatsBurst = 40;
// L5, N13: tunnels one connection may open per minute, hooks or not (each
// open makes and removes a root-created interface, and runs the hooks).
constexpr std::size_t kOpensPerMinute = 30;
constexpr auto kOpenWindow = std::chrono::seconds(60);

bool g_kernel_refuses_descriptors = true;

// A monitor-side tunnel: the device object that removes the interface (the
// backend deletes what it created whatever the child did to its copy of
// the descriptors), the environment its TunnelDownCommand runs with, and
// its line in feth-sshd -S. Members go in reverse: the slot first, the
// device last.
struct MonitorTunnel {
    std::unique_ptr<Device> device;
    HookEnv hook_env;
    std::unique_ptr<StatusSlot> status;
    // Its TunnelUpCommand while it runs: the child has been told the id
    // only (TunOpenAnswer); the descriptors go with TunUp once it succeeds.
    std::unique_ptr<HookProcess> up_hook;
};

class ProtocolViolation : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Monitor {
public:
    Monitor(const config::ServerConfig& cfg, const HostKeys& host_keys, const Peer& peer, pid_t child, UniqueFd sock,
            UniqueFd startup, UniqueFd child_log)
        : cfg_(cfg), peer_(peer), child_(child), sock_(std::move(sock)), startup_(std::move(startup)),
          child_log_(std::move(child_log)),
          relay_([this](const std::string& line) { log::write_verbatim(line + relay_marker()); },
                 "monitor: " + who_child()),
          host_keys_(host_keys)
    {
    }

    int run();

private:
    enum class State { PreAuth, Authenticated };

    using AuthAnswer = MonitorClient::AuthAnswer;

    void handle(Message& m);
    void hostkey_sign(Message& m);
    void key_allowed(Message& m);
    void pubkey_verify(Message& m);
    void begin_auth_request(const std::string& user, const char* what);
    void fix_user(const std::string& name);
    const config::KeyOptions* allowed_key(ssh_key key, const std::string& algorithm, const std::string& blob);
    AuthAnswer auth_failed(ssh_key key);
    void reply_auth(MsgType type, AuthAnswer answer);
    void refuse_verify(ssh_key key, Clock::time_point start);
    void tun_open(Message& m);
    DeviceRequest device_request(std::uint32_t mode, std::uint32_t unit) const;
    void tun_close(Message& m);
    void tun_stats(Message& m);
    HookSpec hook_spec(const char* name, const std::string& command, const HookEnv& env) const;
    void service_up_hooks();
    void tunnel_up(std::map<std::uint32_t, MonitorTunnel>::iterator it);
    void tunnel_up_failed(std::map<std::uint32_t, MonitorTunnel>::iterator it, const std::string& why);
    HookEnv hook_env(const Device& device, std::uint32_t mode, std::uint32_t unit) const;
    void start_down_hook(const HookEnv& env);
    void watch_down_hooks(std::vector<pollfd>& pfds, int& timeout) const;
    void service_down_hooks();
    void finish_down_hooks();
    bool open_rate_allows(TunnelDecision& d);
    void remove_tunnel(std::map<std::uint32_t, MonitorTunnel>::iterator it, const char* why);
    std::size_t tunnels_in_use();
    Clock::time_point message_deadline() const;
    void reply(const Message& m) { privsep::send_message(sock_.get(), m, who_child().c_str()); }
    std::string who_child() const { return "child " + std::to_string(child_) + " of " + peer_str(); }
    std::string peer_str() const { return peer_.address + " port " + std::to_string(peer_.port); }
    void end_child();
    void read_child_log(bool to_end);
    // What every line relayed from the child ends with, as sshd marks its
    // pre-authentication child's lines: said by the monitor, from its own
    // state, so that no line of the child's passes for one of ours (a
    // forged "Accepted publickey ..." included, N5).
    const char* relay_marker() const { return state_ == State::PreAuth ? " [preauth]" : " [postauth]"; }
    int exit_status() const;

    const config::ServerConfig& cfg_;
    const Peer& peer_;
    pid_t child_;
    bool child_reaped_ = false;
    int child_status_ = 0;
    // How the connection ended, for the listener's PerSourcePenalties
    // (exit_status): LoginGraceTime ran out, or the child broke the
    // protocol (a compromised child: counted as a crash).
    bool grace_exceeded_ = false;
    bool child_misbehaved_ = false;
    UniqueFd sock_;
    UniqueFd startup_;
    // The reading end of the child's stdout and stderr (child_log.hpp).
    UniqueFd child_log_;
    ChildLogRelay relay_;

    const HostKeys& host_keys_;
    State state_ = State::PreAuth;
    // The first exchange hash signed: the session id, fixed for the
    // connection (re-keys sign other hashes and change nothing), and the
    // host key it was signed with (what a hostbound request must name).
    std::string session_id_;
    std::string session_hostkey_blob_;
    unsigned preauth_signatures_ = 0;
    // The user, fixed by the first request (sshd: MONITOR_REQ_PWNAM once):
    // the name as the client sent it, and its password entry when it is a
    // user who may log in from here.
    bool user_fixed_ = false;
    std::string user_name_;
    std::optional<UserInfo> user_info_;
    unsigned auth_requests_ = 0;
    unsigned failures_ = 0;
    // Key blobs this monitor found in the user's authorized_keys, with the
    // options of their line.
    std::map<std::string, config::KeyOptions> approved_;
    std::string user_;
    config::KeyOptions key_options_;
    std::uint32_t next_id_ = 1;
    std::map<std::uint32_t, MonitorTunnel> tunnels_;
    // Interfaces this monitor created and tried to remove that are still
    // there (a utun lives while any descriptor to it does, and the child may
    // hold a dup): they count against the tunnel limit until they go.
    std::vector<std::string> lingering_;
    Clock::time_point grace_end_;
    std::deque<Clock::time_point> recent_opens_; // within the last kOpenWindow
    // TunnelDownCommands still running (start_down_hook).
    std::vector<std::unique_ptr<HookProcess>> down_hooks_;
    double stats_tokens_ = kStatsBurst;
    Clock::time_point stats_refilled_ = Clock::now();
};

void Monitor::handle(Message& m)
{
    const auto type = static_cast<MsgType>(m.type());
    switch (state_) {
    case State::PreAuth:
        if (type == MsgType::HostKeySign) return hostkey_sign(m);
        if (type == MsgType::KeyAllowed) return key_allowed(m);
        if (type == MsgType::PubkeyVerify) return pubkey_verify(m);
        break;
    case State::Authenticated:
        if (type == MsgType::HostKeySign) return hostkey_sign(m);
        if (type == MsgType::TunOpen) return tun_open(m);
        if (type == MsgType::TunClose) return tun_close(m);
        if (type == MsgType::TunStats) return tun_stats(m);
        break;
    }
    throw ProtocolViolation(std::string("request ") + std::to_string(m.type()) + " (" +
                            privsep::msg_type_name(m.type()) + ") is not valid " +
                            (state_ == State::PreAuth ? "before" : "after") + " authentication");
}

// SHA-1, SHA-256, SHA-384, SHA-512: the exchange hashes of the key
// exchange methods libssh implements. sshd's monitor checks the same.
bool is_exchange_hash_length(std::size_t n)
{
    return n == 20 || n == 32 || n == 48 || n == 64;
}

void Monitor::hostkey_sign(Message& m)
{
    std::string algorithm = m.get_string(privsep::kMaxName);
    std::string blob = m.get_string(privsep::kMaxKeyBlob);
    std::string hash = m.get_string(privsep::kMaxHashLen);
    m.expect_end();
    if (!is_exchange_hash_length(hash.size()))
        throw ProtocolViolation("asks to sign " + std::to_string(hash.size()) + " bytes, not an exchange hash");
    // Before authentication an honest child signs once (the first key
    // exchange), perhaps again if the client re-keys at once.
    if (state_ == State::PreAuth && ++preauth_signatures_ > kMaxPreauthSignatures)
        throw ProtocolViolation("asks for more than " + std::to_string(kMaxPreauthSignatures) +
                                " host key signatures before authentication");
    ssh_key key = host_keys_.find(blob);
    if (key == nullptr) throw ProtocolViolation("asks to sign with a host key this server does not have");
    ssh_string sig = nullptr;
    if (ssh_pki_sign_data_blob(key, algorithm.c_str(), reinterpret_cast<const unsigned char*>(hash.data()),
                               hash.size(), &sig) != SSH_OK ||
        sig == nullptr)
        throw ProtocolViolation("asks for a host key signature with algorithm " + config::printable(algorithm) +
                                ", which the key cannot make");
    std::string sig_blob(static_cast<const char*>(ssh_string_data(sig)), ssh_string_len(sig));
    ssh_string_burn(sig);
    ssh_string_free(sig);
    LOG_DEBUG("%s: host key signature for %s", who_child().c_str(),
              session_id_.empty() ? "the key exchange" : "a re-key");
    if (session_id_.empty()) {
        session_id_ = hash;
        session_hostkey_blob_ = blob;
    }
    Message a(MsgType::HostKeySignAnswer);
    a.put_string(sig_blob);
    reply(a);
}

// The first request fixes the user for the connection, as sshd does; a
// name getpwnam would read differently from AllowUsers (a NUL byte), or
// that the password database spells differently, ends the connection.
void Monitor::fix_user(const std::string& name)
{
    if (user_fixed_) {
        if (name != user_name_)
            throw ProtocolViolation("Change of username not allowed: " + config::printable(user_name_) + " -> " +
                                    config::printable(name));
        return;
    }
    const std::string problem = login_name_problem(name);
    if (!problem.empty())
        throw ProtocolViolation("user name \"" + config::printable(name) + "\" " + problem);
    user_fixed_ = true;
    user_name_ = name;
    auto info = lookup_user(name);
    if (info && info->name != name)
        throw ProtocolViolation("user name " + name + " is " + config::printable(info->name) +
                                " in the password database");
    if (!info) {
        LOG_AUTH("Invalid user %s from %s port %u", name.c_str(), peer_.address.c_str(), peer_.port);
        return;
    }
    // sshd's allowed_user() order: a live account first (live_account.hpp),
    // then DenyUsers/AllowUsers.
    if (!account_is_live(info->name)) return;
    const std::string denied = config::user_access_problem(cfg_, info->name, peer_.address);
    if (!denied.empty()) {
        LOG_AUTH("User %s from %s not allowed because %s", info->name.c_str(), peer_.address.c_str(), denied.c_str());
        return;
    }
    user_info_ = std::move(info);
}

// The options of the authorized_keys line that lets the fixed user log in
// with `key` for `algorithm` (empty: any algorithm we accept for its
// type), or nullptr: checked before any signature.
const config::KeyOptions* Monitor::allowed_key(ssh_key key, const std::string& algorithm, const std::string& blob)
{
    if (!user_info_ || key == nullptr) return nullptr;
    if (algorithm.empty() ? !user_key_type_accepted(key) : !user_key_algorithm_fits(algorithm, key)) {
        LOG_VERBOSE("%s: key algorithm %s is not accepted for %s", who_child().c_str(),
                    algorithm.empty() ? "(any)" : config::printable(algorithm).c_str(), describe_key(key).c_str());
        return nullptr;
    }
    auto it = approved_.find(blob);
    if (it != approved_.end()) return &it->second;
    auto match = find_authorized_key(cfg_, *user_info_, key, peer_.address);
    if (!match) return nullptr;
    LOG_DEBUG("key for %s matched %s line %zu", user_info_->name.c_str(), match->file.c_str(), match->line);
    return &approved_.emplace(blob, std::move(match->options)).first->second;
}

// Every failed request counts towards MaxAuthTries and is logged in sshd's
// words; at the limit the child is told to end the connection.
Monitor::AuthAnswer Monitor::auth_failed(ssh_key key)
{
    ++failures_;
    const std::string invalid = user_info_ ? "" : "invalid user ";
    LOG_AUTH("Failed publickey for %s%s from %s port %u ssh2: %s", invalid.c_str(), user_name_.c_str(),
             peer_.address.c_str(), peer_.port, key != nullptr ? describe_key(key).c_str() : "unreadable key");
    if (failures_ < cfg_.max_auth_tries) return AuthAnswer::Denied;
    LOG_AUTH("maximum authentication attempts exceeded for %s%s from %s port %u ssh2 [preauth]", invalid.c_str(),
             user_name_.c_str(), peer_.address.c_str(), peer_.port);
    LOG_AUTH("Disconnecting %s user %s %s port %u: Too many authentication failures [preauth]",
             user_info_ ? "authenticating" : "invalid", user_name_.c_str(), peer_.address.c_str(), peer_.port);
    return AuthAnswer::DeniedDisconnect;
}

void Monitor::reply_auth(MsgType type, AuthAnswer answer)
{
    Message a(type);
    a.put_u32(static_cast<std::uint32_t>(answer));
    reply(a);
}

// A refused signature: counted, then answered no sooner than the user's
// minimum (auth_delay.hpp), whoever the user is.
void Monitor::refuse_verify(ssh_key key, Clock::time_point start)
{
    const AuthAnswer answer = auth_failed(key);
    ensure_minimum_time_since(start, user_name_);
    reply_auth(MsgType::PubkeyVerifyAnswer, answer);
}

KeyPtr import_key_blob(const std::string& blob)
{
    ssh_string s = ssh_string_new(blob.size());
    if (s == nullptr) return nullptr;
    ssh_string_fill(s, blob.data(), blob.size());
    ssh_key raw = nullptr;
    const int rc = ssh_pki_import_pubkey_blob(s, &raw);
    ssh_string_free(s);
    return KeyPtr(rc == SSH_OK ? raw : nullptr);
}

// What every authentication request must meet before it is looked at: a
// key exchange done (there is a session id), MaxAuthTries not reached (the
// child was told to disconnect), a bounded number of requests, and the
// user fixed by the first one.
void Monitor::begin_auth_request(const std::string& user, const char* what)
{
    if (session_id_.empty()) throw ProtocolViolation(std::string(what) + " before the key exchange");
    if (failures_ >= cfg_.max_auth_tries) throw ProtocolViolation("goes on after too many authentication failures");
    if (++auth_requests_ > 4 * cfg_.max_auth_tries + 8)
        throw ProtocolViolation("too many authentication requests (" + std::to_string(auth_requests_) + ")");
    fix_user(user);
}

void Monitor::key_allowed(Message& m)
{
    std::string user = m.get_string(privsep::kMaxUserName);
    std::string blob = m.get_string(privsep::kMaxKeyBlob);
    m.expect_end();
    const auto start = Clock::now();
    begin_auth_request(user, "asks about a key");
    KeyPtr key = import_key_blob(blob);
    // A query names no algorithm we are told of (libssh's callback has
    // none): the key's type must be one we accept; the signed request that
    // follows is checked against its algorithm.
    const AuthAnswer answer =
        allowed_key(key.get(), {}, blob) == nullptr ? auth_failed(key.get()) : AuthAnswer::Accepted;
    // A query authenticates nobody: sshd holds its answer too.
    ensure_minimum_time_since(start, user_name_);
    reply_auth(MsgType::KeyAllowedAnswer, answer);
}

void Monitor::pubkey_verify(Message& m)
{
    std::string user = m.get_string(privsep::kMaxUserName);
    std::string service = m.get_string(privsep::kMaxName);
    std::string method = m.get_string(privsep::kMaxName);
    std::string algorithm = m.get_string(privsep::kMaxName);
    std::string blob = m.get_string(privsep::kMaxKeyBlob);
    std::string hostkey_blob = m.get_string(privsep::kMaxKeyBlob);
    std::string signature = m.get_string(privsep::kMaxSignature);
    m.expect_end();
    const auto start = Clock::now();
    begin_auth_request(user, "asks to verify a signature");
    KeyPtr key = import_key_blob(blob);
    const config::KeyOptions* options = allowed_key(key.get(), algorithm, blob);
    if (options == nullptr) return refuse_verify(key.get(), start);
    bool good = service == kServiceConnection;
    if (good && method == kMethodHostbound)
        good = hostkey_blob == session_hostkey_blob_; // the host key of this connection's first key exchange
    else if (good)
        good = method == kMethodPublickey && hostkey_blob.empty();
    if (good) {
        const auto data = userauth_signed_data(session_id_, user_name_, service, method, algorithm, blob, hostkey_blob);
        ssh_string sig = ssh_string_new(signature.size());
        if (sig == nullptr) throw ProtocolViolation("out of memory");
        ssh_string_fill(sig, signature.data(), signature.size());
        good = ssh_pki_verify_data_blob(key.get(), algorithm.c_str(), sig, data.data(), data.size()) == SSH_OK;
        ssh_string_free(sig);
    }
    LOG_DEBUG("%s: %s signature by %s for %s (%s): %s", who_child().c_str(), config::printable(algorithm).c_str(),
              describe_key(key.get()).c_str(), user_name_.c_str(), config::printable(method, 40).c_str(),
              good ? "verified" : "refused");
    if (!good) return refuse_verify(key.get(), start);

    state_ = State::Authenticated;
    user_ = user_info_->name;
    key_options_ = *options;
    approved_.clear();
    startup_.reset(); // MaxStartups: no longer an unauthenticated connection
    LOG_AUTH("Accepted publickey for %s from %s port %u ssh2: %s", user_.c_str(), peer_.address.c_str(), peer_.port,
             describe_key(key.get()).c_str());
    reply_auth(MsgType::PubkeyVerifyAnswer, AuthAnswer::Accepted);
}

void Monitor::tun_open(Message& m)
{
    std::uint32_t mode = m.get_u32();
    std::uint32_t unit = m.get_u32();
    m.expect_end();
    unsigned permit = config::effective_permit_tunnel(cfg_, user_, peer_.address);
    auto d = decide_tunnel({mode, unit}, permit, &key_options_, tunnels_in_use());
    if (d.allowed) open_rate_allows(d);
    // MaxTunnels counts this user's tunnels over every connection, in the
    // shared status table, and reserves a slot there before the device
    // exists, so that two connections opening at once cannot both pass.
    std::unique_ptr<StatusSlot> slot;
    if (d.allowed) {
        const unsigned limit = config::effective_max_tunnels(cfg_, user_, peer_.address);
        unsigned in_use = 0;
        slot = StatusSlot::reserve(user_, peer_.address, peer_.port, limit, in_use);
        // Without the table (or with it full) only this connection's own
        // tunnels can be counted.
        if (slot && !slot->in_table()) in_use = static_cast<unsigned>(tunnels_in_use());
        if (!slot || in_use >= limit) {
            slot.reset();
            d.allowed = false;
            d.debug_line = kTunnelFailedLine;
            d.reason = "user " + user_ + " has " + std::to_string(in_use) + " tunnels open (MaxTunnels " +
                       std::to_string(limit) + ")";
            LOG_INFO("Refused a tunnel for %s from %s: %s", user_.c_str(), peer_str().c_str(), d.reason.c_str());
        }
    }
    std::unique_ptr<Device> device;
    if (d.allowed) {
        try {
            device = open_device(device_request(mode, d.unit));
        } catch (const std::exception& e) {
            d.allowed = false;
            d.debug_line = kTunnelFailedLine;
            d.reason = e.what();
            LOG_INFO("Refused a tunnel for %s from %s: %s", user_.c_str(), peer_str().c_str(), e.what());
        }
    }
    Message a(MsgType::TunOpenAnswer);
    if (!d.allowed) {
        a.put_u32(0);
        a.put_string(d.debug_line.substr(0, privsep::kMaxText));
        a.put_string(d.reason.substr(0, privsep::kMaxText));
        return reply(a);
    }
    recent_opens_.push_back(Clock::now());
    const std::uint32_t id = next_id_++;
    MonitorTunnel& t = tunnels_[id];
    t.hook_env = hook_env(*device, mode, unit);
    slot->set_device(*device);
    t.status = std::move(slot);
    t.device = std::move(device);
    a.put_u32(1);
    a.put_u32(id);
    reply(a);
    auto it = tunnels_.find(id);
    if (cfg_.tunnel_up_command.empty()) return tunnel_up(it);
    // The up hook runs as root before the child gets the device and the
    // client hears of the tunnel; the monitor keeps serving the child (its
    // other tunnels, re-keys) meanwhile and watches the hook in its loop.
    // If it fails the tunnel is refused and the device goes.
    try {
        t.up_hook = std::make_unique<HookProcess>(hook_spec("TunnelUpCommand", cfg_.tunnel_up_command, t.hook_env));
    } catch (const std::exception& e) {
        LOG_ERROR("TunnelUpCommand for %s: %s", t.device->name().c_str(), e.what());
        tunnel_up_failed(it, "TunnelUpCommand failed for " + t.device->name());
    }
}

// Open/close churn (N13, L5): each open makes and removes a root-created
// interface (RTNL, udev, NetworkManager) and runs the hooks as root. Honest
// clients open a tunnel or two and keep it; past kOpensPerMinute in a
// minute this connection's opens are refused, with a log line.
bool Monitor::open_rate_allows(TunnelDecision& d)
{
    const auto now = Clock::now();
    while (!recent_opens_.empty() && now - recent_opens_.front() >= kOpenWindow) recent_opens_.pop_front();
    if (recent_opens_.size() < kOpensPerMinute) return true;
    d.allowed = false;
    d.debug_line = kTunnelFailedLine;
    d.reason = std::to_string(recent_opens_.size()) + " tunnels opened in the last minute on this connection (limit " +
               std::to_string(kOpensPerMinute) + ")";
    LOG_INFO("Refused a tunnel for %s from %s: %s", user_.c_str(), peer_str().c_str(), d.reason.c_str());
    return false;
}

// What the monitor asks the backend for: the user's MTU and whether an
// existing pair may be used (Match blocks), and who holds the device, for
// the refusal another tunnel asking for the same unit gets.
DeviceRequest Monitor::device_request(std::uint32_t mode, std::uint32_t unit) const
{
    DeviceRequest r(static_cast<TunMode>(mode), unit, cfg_.tunnel_backend,
                    config::effective_tunnel_mtu(cfg_, user_, peer_.address));
    r.adopt_existing = config::effective_tunnel_adopt_existing(cfg_, user_, peer_.address);
    r.owner = "feth-sshd: " + user_ + " from " + peer_str();
    return r;
}

// The tunnel is up (its hook succeeded, or it has none): the audit line,
// and the device's descriptors to the child.
void Monitor::tunnel_up(std::map<std::uint32_t, MonitorTunnel>::iterator it)
{
    MonitorTunnel& t = it->second;
    Device& device = *t.device;
    Message a(MsgType::TunUp);
    a.put_u32(it->first);
    a.put_u32(1);
    a.put_u32(static_cast<std::uint32_t>(device.mode()));
    a.put_string(device.name());
    a.put_string(device.io_name());
    a.put_string(device.backend());
    a.put_u32(device.read_buffer_size());
    a.add_fd(device.read_fd());
    if (device.write_fd() != device.read_fd()) a.add_fd(device.write_fd());
    // The audit line comes from here, not from the child, which could
    // forge or omit it.
    LOG_INFO("Tunnel %s (%s) opened for %s from %s", device.name().c_str(), tun_mode_name(device.mode()),
             user_.c_str(), peer_str().c_str());
    reply(a);
}

// The up hook failed: the device goes, its TunnelDownCommand runs, and
// the child hears the refusal to pass on.
void Monitor::tunnel_up_failed(std::map<std::uint32_t, MonitorTunnel>::iterator it, const std::string& why)
{
    const std::uint32_t id = it->first;
    HookEnv env = std::move(it->second.hook_env);
    tunnels_.erase(it); // the hook (already finished), the slot, the device
    start_down_hook(env);
    Message a(MsgType::TunUp);
    a.put_u32(id);
    a.put_u32(0);
    a.put_string(kTunnelFailedLine);
    a.put_string(why.substr(0, privsep::kMaxText));
    reply(a);
}

// Called on every wake-up of the monitor's loop: steps every running up
// hook (non-blocking) and acts on those that finished.
void Monitor::service_up_hooks()
{
    std::vector<std::uint32_t> done;
    for (auto& [id, t] : tunnels_)
        if (t.up_hook && t.up_hook->service()) done.push_back(id);
    for (std::uint32_t id : done) {
        auto it = tunnels_.find(id);
        if (it == tunnels_.end()) continue;
        const HookResult r = it->second.up_hook->result();
        const auto timeout = it->second.up_hook->spec().timeout;
        it->second.up_hook.reset();
        if (r.ok()) {
            tunnel_up(it);
            continue;
        }
        const std::string name = it->second.device->name();
        LOG_ERROR("TunnelUpCommand for %s of %s from %s %s", name.c_str(), user_.c_str(), peer_str().c_str(),
                  r.describe(timeout).c_str());
        tunnel_up_failed(it, "TunnelUpCommand failed for " + name);
    }
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
    c.oversize = m.get_u64();
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

HookSpec Monitor::hook_spec(const char* name, const std::string& command, const HookEnv& env) const
{
    HookSpec spec;
    spec.name = name;
    spec.command = command;
    spec.env = env;
    spec.inherit_environment = false; // a server passes nothing of its own on
    spec.timeout = std::chrono::seconds(cfg_.tunnel_command_timeout);
    return spec;
}

// TunnelDownCommand runs in the background like the up hook, with the same
// time limit (N13): the monitor keeps answering the child meanwhile (its
// re-keys, its other tunnels), and watches the hook in its loop.
void Monitor::start_down_hook(const HookEnv& env)
{
    if (cfg_.tunnel_down_command.empty()) return;
    try {
        down_hooks_.push_back(
            std::make_unique<HookProcess>(hook_spec("TunnelDownCommand", cfg_.tunnel_down_command, env)));
    } catch (const std::exception& e) {
        LOG_ERROR("TunnelDownCommand for %s: %s", env.front().second.c_str(), e.what());
    }
}

void Monitor::watch_down_hooks(std::vector<pollfd>& pfds, int& timeout) const
{
    for (const auto& h : down_hooks_) {
        if (h->fd() >= 0) pfds.push_back({h->fd(), POLLIN, 0});
        const int ht = h->poll_timeout_ms();
        if (ht >= 0) timeout = timeout < 0 ? ht : std::min(timeout, ht);
    }
}

// Steps every running down hook (non-blocking); logs and forgets those
// that finished.
void Monitor::service_down_hooks()
{
    std::erase_if(down_hooks_, [this](const std::unique_ptr<HookProcess>& h) {
        if (!h->service()) return false;
        if (!h->result().ok()) {
            const auto& env = h->spec().env;
            LOG_ERROR("TunnelDownCommand for %s of %s from %s %s", env.front().second.c_str(), user_.c_str(),
                      peer_str().c_str(), h->result().describe(h->spec().timeout).c_str());
        }
        return true;
    });
}

// The connection has ended: the hooks still running get their time limit
// to finish, as they would have had.
void Monitor::finish_down_hooks()
{
    for (auto& h : down_hooks_) h->wait();
    service_down_hooks();
}

// The slot and the device go first, then its TunnelDownCommand runs.
void Monitor::remove_tunnel(std::map<std::uint32_t, MonitorTunnel>::iterator it, const char* why)
{
    const std::string name = it->second.device->name();
    const std::string mode = tun_mode_name(it->second.device->mode());
    const bool created = it->second.device->created();
    HookEnv env = std::move(it->second.hook_env);
    if (it->second.up_hook) {
        // Its up hook still runs (the child closed it, or the connection
        // ended): its process group is stopped and reaped first.
        LOG_INFO("TunnelUpCommand for %s stopped: %s", name.c_str(), why);
        it->second.up_hook.reset();
    }
    tunnels_.erase(it);
    // The backend removed what it created; an interface still there is one
    // whose life the child's copy of a descriptor decides (utun).
    const bool lingers = created && ::if_nametoindex(name.c_str()) != 0;
    if (lingers) lingering_.push_back(name);
    LOG_INFO("Tunnel %s (%s) closed for %s from %s (%s)%s", name.c_str(), mode.c_str(), user_.c_str(),
             peer_str().c_str(), why,
             lingers ? "; the interface is still there, held open by the child, and counts as a tunnel until it goes"
                     : "");
    start_down_hook(env);
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
    if (WIFSIGNALED(child_status_) && WTERMSIG(child_status_) != SIGKILL) {
        const char* meaning = child_signal_meaning(WTERMSIG(child_status_));
        LOG_ERROR("%s ended by signal %d%s%s%s", who_child().c_str(), WTERMSIG(child_status_),
                  *meaning != '\0' ? " (" : "", meaning, *meaning != '\0' ? ")" : "");
    }
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
                grace_exceeded_ = true;
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
        std::vector<pollfd> pfds = {{sock_.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}, {child_log_.get(), POLLIN, 0}};
        // Running up hooks: their output, and their deadlines.
        for (const auto& [id, t] : tunnels_) {
            if (!t.up_hook) continue;
            if (t.up_hook->fd() >= 0) pfds.push_back({t.up_hook->fd(), POLLIN, 0});
            const int ht = t.up_hook->poll_timeout_ms();
            if (ht >= 0) timeout = timeout < 0 ? ht : std::min(timeout, ht);
        }
        watch_down_hooks(pfds, timeout);
        int n = ::poll(pfds.data(), static_cast<nfds_t>(pfds.size()), timeout);
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
        if (pfds[2].revents != 0) read_child_log(false);
        try {
            service_up_hooks();
            service_down_hooks();
        } catch (const std::exception& e) {
            LOG_ERROR("monitor: %s: %s; killing it", who_child().c_str(), e.what());
            ::kill(child_, SIGKILL);
            break;
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
            if (state_ == State::PreAuth && cfg_.login_grace_time > 0 && Clock::now() >= grace_end) {
                LOG_AUTH("Timeout before authentication for %s port %u", peer_.address.c_str(), peer_.port);
                grace_exceeded_ = true;
            }
            LOG_ERROR("monitor: %s; killing it", e.what());
            ::kill(child_, SIGKILL);
            break;
        } catch (const std::exception& e) {
            LOG_ERROR("monitor: %s: %s; killing it", who_child().c_str(), e.what());
            child_misbehaved_ = true;
            ::kill(child_, SIGKILL);
            break;
        }
    }
    end_child();
    read_child_log(true);
    while (!tunnels_.empty()) remove_tunnel(tunnels_.begin(), "connection ended");
    finish_down_hooks();
    return exit_status();
}

// What the child wrote to its stdout or stderr, to the monitor's log. At
// most 64 KiB a call while the child runs, so that a flood cannot starve
// its requests; `to_end` (the child is gone): until the pipe's end.
void Monitor::read_child_log(bool to_end)
{
    if (!child_log_) return;
    char buf[16384];
    for (std::size_t total = 0; to_end || total < 64 * 1024;) {
        ssize_t n = ::read(child_log_.get(), buf, sizeof buf);
        if (n > 0) {
            relay_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
            total += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return; // for now (to_end: nobody else may hold the pipe)
        if (n < 0) LOG_ERROR("monitor: log pipe of %s: read: %s", who_child().c_str(), errno_text(errno).c_str());
        relay_.finish();
        child_log_.reset();
        return;
    }
}

// The connection's outcome as the listener reads it (source_limits.hpp).
int Monitor::exit_status() const
{
    const bool child_crashed = WIFSIGNALED(child_status_) && WTERMSIG(child_status_) != SIGKILL;
    if (child_crashed || child_misbehaved_) return kExitChildCrash;
    if (state_ == State::Authenticated) return kExitAuthenticated;
    if (grace_exceeded_) return kExitLoginGrace;
    if (failures_ > 0 || auth_requests_ > 0) return kExitAuthFailed;
    return kExitNoAuth;
}

} // namespace

void set_monitor_kernel_descriptor_refusal(bool on)
{
    g_kernel_refuses_descriptors = on;
}

namespace {

// In the forked child, before its exec: its own session (no controlling
// terminal, never the listener's), the descriptors the network program
// expects (handover.hpp) and nothing else, then the fresh image. Only the
// hostile-child tests (launch.program empty) run it in the forked child.
[[noreturn]] void start_network_child(int conn, int log_write, int child_end, HostKeys& host_keys,
                                      const NetworkLaunch& launch)
{
    (void)::setsid();
    if (!arrange_descriptors({conn, conn, log_write, child_end})) ::_exit(kExitError);
    if (launch.program.empty()) {
        // Forked without exec: the private keys at least go.
        host_keys.forget();
        std::fflush(nullptr);
        ::_exit(network_child_main());
    }
    char* const argv[] = {const_cast<char*>("feth-sshd-net"), nullptr};
    ::execv(launch.program.c_str(), argv);
    std::fprintf(stderr, "exec %s: %s\n", launch.program.c_str(), errno_text(errno).c_str());
    std::fflush(stderr);
    ::_exit(kExitError);
}

} // namespace

int run_monitor(const config::ServerConfig& cfg, HostKeys& host_keys, UniqueFd conn_fd, const Peer& peer,
                const PrivsepIdentity& identity, UniqueFd startup_fd, const NetworkLaunch& launch)
{
    UniqueFd monitor_end;
    UniqueFd child_end;
    if (open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, monitor_end, child_end) != 0) {
        LOG_ERROR("connection from %s port %u: socketpair: %s", peer.address.c_str(), peer.port,
                  errno_text(errno).c_str());
        return kExitError;
    }
    // The child may pass no descriptor to the monitor: where the kernel can,
    // it refuses them itself, so that no reference to a file of the child's
    // (a socket lingering on close, say) ever reaches root; the monitor's
    // reads refuse them everywhere.
    if (g_kernel_refuses_descriptors) (void)privsep::refuse_descriptors_in_kernel(monitor_end.get());
    // The child's log (its stderr; stdout is the client's socket): a pipe
    // the monitor reads and copies to its own log (child_log.hpp), so that
    // the child writes no file and has no syslog socket. The reading end
    // non-blocking; both close on exec (no hook gets them).
    UniqueFd log_read;
    UniqueFd log_write;
    if (open_pipe(IoMode::blocking, log_read, log_write) != 0 || set_io_mode(log_read.get(), IoMode::nonblocking) != 0) {
        LOG_ERROR("connection from %s port %u: pipe (the child's log): %s", peer.address.c_str(), peer.port,
                  errno_text(errno).c_str());
        return kExitError;
    }
    std::fflush(nullptr); // nothing buffered for the monitor's stdio goes out twice
    pid_t pid = ::fork();
    if (pid < 0) {
        LOG_ERROR("connection from %s port %u: fork: %s", peer.address.c_str(), peer.port, errno_text(errno).c_str());
        return kExitError;
    }
    if (pid == 0) start_network_child(conn_fd.get(), log_write.get(), child_end.get(), host_keys, launch);
    // The monitor never touches the peer's bytes.
    conn_fd.reset();
    child_end.reset();
    log_write.reset();
    try {
        // What the network program serves with: the public half of it.
        NetworkSetup setup;
        setup.config = launch.config;
        setup.host_public_keys = host_keys.public_blobs();
        setup.peer = peer;
        setup.identity = identity;
        setup.log_level = log::level();
        send_network_setup(monitor_end.get(), setup, ("monitor: setup of child " + std::to_string(pid)).c_str());
        Monitor monitor(cfg, host_keys, peer, pid, std::move(monitor_end), std::move(startup_fd), std::move(log_read));
        return monitor.run();
    } catch (const std::exception& e) {
        LOG_ERROR("monitor for %s port %u: %s", peer.address.c_str(), peer.port, e.what());
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return kExitError;
    }
}

} // namespace feth::server
