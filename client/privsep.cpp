// The two halves of feth-ssh's privilege separation (privsep.hpp): the
// SSH part's calls (RemotePrivileged), the in-process stand-in when there is
// no root to separate (LocalPrivileged), and the root part's loop.
#include "privsep.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

#include <libssh/libssh.h>

#include "base/framed_messages.hpp"
#include "base/detach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/signal_pipe.hpp"
#include "host_key_check.hpp"
#include "privsep_terminal.hpp"

namespace feth::client {
namespace {

namespace wire = feth::framing;
using Clock = std::chrono::steady_clock;

// The client's messages, in feth-sshd's monitor framing (numbers of their
// own, far from the server's).
enum class Msg : std::uint32_t {
    // SSH part -> root part
    Open = 101,       // uint32 mode, uint32 unit, string backend, uint32 mtu, uint32 remote unit,
                      //   string TunnelUpCommand, string TunnelDownCommand, uint32 timeout s,
                      //   string user, string host name, string known_hosts path,
                      //   string known_hosts host name, string agent path (the last three
                      //   empty but as nobody), uint32 CheckHostIP port (0: no address lines),
                      //   the agent (root_agent.hpp; none but as nobody): uint32 n, n strings
                      //   identity files; uint32 n, n strings certificate files; uint32 n, n
                      //   strings remote users; uint32 offer root agent's keys (0/1); string
                      //   AddKeysToAgent, uint32 its lifetime; uint32 batch (0/1); uint32 a
                      //   socket for a proxy (0/1).
                      //   Once, first, before the network.
    TunnelUp = 103,   // string remote address (numeric), uint32 remote port, uint32 reconnect (0/1)
    TunnelDown = 104, // (empty)
    HookStop = 105,   // (empty): stop the running TunnelUpCommand
    Detach = 107,     // (empty): -f
    KnownHostsAdd = 109, // uint32 n (<= 8), n strings: known_hosts lines for the host of Open
    AgentConnect = 111,  // (empty)
    Ask = 113,           // string prompt (printable, newlines allowed, <= 2 KiB), uint32 echo (0/1)
    // root part -> SSH part
    OpenAnswer = 102, // uint32 ok; ok: uint32 mode, string name, string io name, string backend,
                      //   uint32 read buffer size (0: none), string the agent socket for a
                      //   proxy (empty: none), with 1 or 2 fds; refused: string reason
    HookDone = 106,   // uint32 which (1 up, 2 down), uint32 started, uint32 kind, uint32 status,
                      //   string error (not started)
    DetachDone = 108, // (empty)
    AgentAnswer = 112, // uint32 ok, with 1 fd when ok: a connection to the root part's agent
    AskAnswer = 114,   // uint32 answered, string answer
};

constexpr const char* kRootPeer = "feth-ssh root part";
constexpr const char* kSshPeer = "feth-ssh SSH part";
constexpr std::size_t kMaxCommand = 8192;
constexpr std::size_t kMaxHost = 1024;
constexpr std::size_t kMaxUser = 256;
constexpr std::uint32_t kMaxTimeout = 24 * 3600;
constexpr auto kMessageDeadline = std::chrono::seconds(10);
constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxKnownHostsLine = 16 * 1024;
constexpr std::uint32_t kMaxKnownHostsLines = 8;   // per message
constexpr std::uint32_t kMaxKnownHostsTotal = 64;  // per run
constexpr std::uint32_t kMaxAgentConnections = 10000;
constexpr std::size_t kMaxPrompt = 2048;
constexpr std::uint32_t kMaxAgentFiles = 64;  // identity or certificate files
constexpr std::uint32_t kMaxAgentUsers = 16;
constexpr std::uint32_t kMaxAgentLifetime = 365 * 24 * 3600;
constexpr std::uint32_t kMaxAsks = 32; // per run: passphrases and questions

// For errors ("sending TunnelUp to ...").
const char* msg_name(std::uint32_t type)
{
    switch (static_cast<Msg>(type)) {
    case Msg::Open: return "Open";
    case Msg::TunnelUp: return "TunnelUp";
    case Msg::TunnelDown: return "TunnelDown";
    case Msg::HookStop: return "HookStop";
    case Msg::Detach: return "Detach";
    case Msg::KnownHostsAdd: return "KnownHostsAdd";
    case Msg::AgentConnect: return "AgentConnect";
    case Msg::OpenAnswer: return "OpenAnswer";
    case Msg::HookDone: return "HookDone";
    case Msg::DetachDone: return "DetachDone";
    case Msg::AgentAnswer: return "AgentAnswer";
    case Msg::Ask: return "Ask";
    case Msg::AskAnswer: return "AskAnswer";
    }
    return nullptr;
}

wire::Message msg(Msg t) { return wire::Message(t); }

void send(int sock, const wire::Message& m, const char* peer) { wire::send_message(sock, m, peer, msg_name); }

bool is(const wire::Message& m, Msg t)
{
    return m.type() == static_cast<std::uint32_t>(t);
}

// Printable ASCII and nothing else (no NUL, newline or escape).
bool printable_text(const std::string& s)
{
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

// ---- no root: everything in-process --------------------------------------

class LocalHook final : public RunningHook {
public:
    explicit LocalHook(HookSpec spec) : p_(std::move(spec)) {}
    bool finished() const override { return p_.finished(); }
    bool service() override { return p_.service(); }
    int poll_timeout_ms() const override { return p_.poll_timeout_ms(); }
    const HookResult& result() const override { return p_.result(); }
    const HookResult& wait() override { return p_.wait(); }
    // Destroying the process stops and reaps it; the owner does next.
    void stop() override { LOG_INFO("Stopping TunnelUpCommand (pid %ld)", static_cast<long>(p_.pid())); }

private:
    HookProcess p_;
};

HookSpec hook_spec(const char* name, const std::string& command, const HookEnv& env, std::chrono::seconds timeout)
{
    HookSpec spec;
    spec.name = name;
    spec.command = command;
    spec.env = env;
    spec.timeout = timeout;
    spec.inherit_environment = true; // as ssh's LocalCommand
    return spec;
}

void run_down_hook(const std::string& command, const HookEnv& env, std::chrono::seconds timeout)
{
    if (command.empty()) return;
    try {
        HookResult r = run_hook(hook_spec("TunnelDownCommand", command, env, timeout));
        if (!r.ok()) LOG_ERROR("TunnelDownCommand %s", r.describe(timeout).c_str());
    } catch (const std::exception& e) {
        LOG_ERROR("TunnelDownCommand could not be started: %s", e.what());
    }
}

// feth-ssh's device: pairs that dead feth-ssh or feth-sshd processes left
// are removed first; the user's own existing pair may carry the tunnel
// (feth-ssh(1)), but never one another live process holds.
std::unique_ptr<Device> open_local_device(DeviceRequest r, const std::string& owner)
{
    sweep_leftover_devices();
    r.adopt_existing = true;
    r.owner = owner;
    return feth::open_device(r);
}

class LocalPrivileged final : public Privileged {
public:
    explicit LocalPrivileged(HookCommands h) : h_(std::move(h)) {}
    std::unique_ptr<Device> open_device(const DeviceRequest& r) override
    {
        return open_local_device(r, "feth-ssh pid " + std::to_string(::getpid()));
    }
    std::unique_ptr<RunningHook> tunnel_up(const HookEnv& env) override
    {
        if (h_.up.empty()) return nullptr;
        return std::make_unique<LocalHook>(hook_spec("TunnelUpCommand", h_.up, env, h_.timeout));
    }
    void tunnel_down(const HookEnv& env) override { run_down_hook(h_.down, env, h_.timeout); }
    void detach() override {}

private:
    HookCommands h_;
};

// ---- the SSH part's side --------------------------------------------------

class RemotePrivileged;

class RemoteHook final : public RunningHook {
public:
    explicit RemoteHook(RemotePrivileged& p) : p_(p) {}
    bool finished() const override;
    bool service() override;
    int poll_timeout_ms() const override { return 100; }
    const HookResult& result() const override;
    const HookResult& wait() override;
    void stop() override;

private:
    RemotePrivileged& p_;
    // As HookProcess: finished only once service() or wait() said so, even
    // when the root part's answer was read earlier (on_watch_ready), so
    // that the owner's "it just finished" branch runs.
    bool finished_ = false;
};

class RemotePrivileged final : public Privileged {
public:
    RemotePrivileged(UniqueFd sock, RootSetup setup) : sock_(std::move(sock)), setup_(std::move(setup)) {}

    std::unique_ptr<Device> open_device(const DeviceRequest& r) override
    {
        auto m = msg(Msg::Open);
        m.put_u32(static_cast<std::uint32_t>(r.mode));
        m.put_u32(r.unit);
        m.put_string(r.backend);
        m.put_u32(r.mtu);
        m.put_u32(setup_.remote_unit);
        m.put_string(setup_.hooks.up);
        m.put_string(setup_.hooks.down);
        m.put_u32(static_cast<std::uint32_t>(setup_.hooks.timeout.count()));
        m.put_string(setup_.user);
        m.put_string(setup_.host_name);
        m.put_string(setup_.known_hosts_path);
        m.put_string(setup_.known_hosts_name);
        m.put_string(setup_.agent_path);
        m.put_u32(setup_.check_host_ip_port);
        put_agent_setup(m);
        send(sock_.get(), m, kRootPeer);
        wire::Message a = next();
        if (!is(a, Msg::OpenAnswer)) throw InputError("the root part answered the device request with something else");
        if (a.get_u32() != 1) {
            std::string reason = a.get_string(wire::kMaxText);
            a.expect_end();
            throw InputError(reason);
        }
        AdoptRequest ad;
        const std::uint32_t mode = a.get_u32();
        if (mode != static_cast<std::uint32_t>(TunMode::Ethernet) &&
            mode != static_cast<std::uint32_t>(TunMode::PointToPoint))
            throw InputError("the root part sent a bad tunnel mode");
        ad.mode = static_cast<TunMode>(mode);
        ad.name = a.get_string(wire::kMaxText);
        ad.io_name = a.get_string(wire::kMaxText);
        ad.backend = a.get_string(wire::kMaxBackendName);
        ad.read_buffer_size = a.get_u32();
        const std::string bridge = a.get_string(wire::kMaxText);
        a.expect_end();
        ad.fds = std::move(a.fds());
        // A ProxyJump or ProxyCommand ssh (it inherits the environment)
        // reaches the root part's agent there.
        if (!bridge.empty()) ::setenv("SSH_AUTH_SOCK", bridge.c_str(), 1);
        return adopt_device(std::move(ad));
    }

    void put_agent_setup(wire::Message& m) const
    {
        const AgentSetup& a = setup_.agent;
        auto put_list = [&m](const std::vector<std::string>& list, std::uint32_t most) {
            const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(list.size(), most));
            m.put_u32(n);
            for (std::uint32_t i = 0; i < n; ++i) m.put_string(list[i]);
        };
        put_list(a.identity_files, kMaxAgentFiles);
        put_list(a.certificate_files, kMaxAgentFiles);
        put_list(a.users, kMaxAgentUsers);
        m.put_u32(a.real_agent_keys ? 1 : 0);
        m.put_string(a.add_keys_to_agent);
        m.put_u32(a.add_keys_lifetime);
        m.put_u32(a.batch ? 1 : 0);
        m.put_u32(setup_.agent_bridge ? 1 : 0);
    }

    std::unique_ptr<RunningHook> tunnel_up(const HookEnv& env) override
    {
        auto get = [&](const char* k) {
            for (const auto& [n, v] : env)
                if (n == k) return v;
            return std::string();
        };
        auto m = msg(Msg::TunnelUp);
        m.put_string(get("FETH_REMOTE_ADDRESS"));
        m.put_u32(static_cast<std::uint32_t>(std::strtoul(get("FETH_REMOTE_PORT").c_str(), nullptr, 10)));
        m.put_u32(get("FETH_RECONNECT") == "1" ? 1 : 0);
        send(sock_.get(), m, kRootPeer);
        if (setup_.hooks.up.empty()) return nullptr;
        up_result_.reset();
        up_error_.clear();
        auto h = std::make_unique<RemoteHook>(*this);
        // A hook the root part could not start is reported at once.
        poll_messages(0);
        if (!up_error_.empty()) throw InputError(up_error_);
        return h;
    }

    void tunnel_down(const HookEnv&) override
    {
        send(sock_.get(), msg(Msg::TunnelDown), kRootPeer);
        down_done_ = false;
        while (!down_done_) handle(next());
    }

    void detach() override
    {
        send(sock_.get(), msg(Msg::Detach), kRootPeer);
        wire::Message a = next();
        if (!is(a, Msg::DetachDone)) throw InputError("the root part did not go to the background");
    }

    int watch_fd() const override { return sock_.get(); }
    void on_watch_ready() override { poll_messages(0); }

    int agent_socket() override
    {
        if (setup_.agent_path.empty() && setup_.agent.identity_files.empty()) return -1;
        send(sock_.get(), msg(Msg::AgentConnect), kRootPeer);
        wire::Message a = next();
        if (!is(a, Msg::AgentAnswer)) throw InputError("the root part answered the agent request with something else");
        const bool ok = a.get_u32() == 1;
        a.expect_end();
        if (!ok || a.fds().size() != 1) {
            LOG_DEBUG("the root part gave no agent connection");
            return -1;
        }
        return a.fds().front().release();
    }

    std::optional<std::string> ask(const std::string& prompt, bool echo) override
    {
        auto m = msg(Msg::Ask);
        m.put_string(prompt.substr(0, kMaxPrompt));
        m.put_u32(echo ? 1 : 0);
        send(sock_.get(), m, kRootPeer);
        wire::Message a = next();
        if (!is(a, Msg::AskAnswer)) throw InputError("the root part answered a question with something else");
        const bool answered = a.get_u32() == 1;
        std::string answer = a.get_string(wire::kMaxText);
        a.expect_end();
        if (!answered) return std::nullopt;
        return answer;
    }

    void after_connect() override
    {
        if (!setup_.copies || setup_.known_hosts_path.empty()) return;
        std::vector<std::string> lines = setup_.copies->take_appended(setup_.known_hosts_path);
        for (std::size_t i = 0; i < lines.size(); i += kMaxKnownHostsLines) {
            auto m = msg(Msg::KnownHostsAdd);
            const std::size_t n = std::min<std::size_t>(kMaxKnownHostsLines, lines.size() - i);
            m.put_u32(static_cast<std::uint32_t>(n));
            for (std::size_t j = 0; j < n; ++j) m.put_string(lines[i + j].substr(0, kMaxKnownHostsLine));
            send(sock_.get(), m, kRootPeer);
        }
    }

    // Reads what has arrived (waiting at most `timeout_ms`).
    void poll_messages(int timeout_ms)
    {
        for (;;) {
            struct pollfd p {sock_.get(), POLLIN, 0};
            int n = ::poll(&p, 1, timeout_ms);
            if (n <= 0) return;
            handle(next());
            timeout_ms = 0;
        }
    }

    bool up_finished() const { return up_result_.has_value() || !up_error_.empty(); }
    const HookResult& up_result() const
    {
        static const HookResult failed{HookResult::Kind::Exited, 127};
        return up_result_ ? *up_result_ : failed;
    }
    void stop_up()
    {
        if (up_finished()) return; // the root part logs the stop, with the hook's pid
        send(sock_.get(), msg(Msg::HookStop), kRootPeer);
        while (!up_finished()) handle(next());
    }
    void wait_up()
    {
        while (!up_finished()) handle(next());
    }

private:
    wire::Message next()
    {
        wire::Message m;
        if (!wire::recv_message(sock_.get(), m, kRootPeer)) {
            LOG_ERROR("The root part of feth-ssh is gone: exiting");
            std::fflush(nullptr);
            ::_exit(255);
        }
        return m;
    }

    void handle(wire::Message m)
    {
        if (!is(m, Msg::HookDone)) throw InputError("unexpected message from the root part");
        const std::uint32_t which = m.get_u32();
        const std::uint32_t started = m.get_u32();
        HookResult r;
        r.kind = static_cast<HookResult::Kind>(std::min<std::uint32_t>(m.get_u32(), 2));
        r.status = static_cast<int>(m.get_u32());
        std::string error = m.get_string(wire::kMaxText);
        m.expect_end();
        if (which == 1) {
            if (started == 0) up_error_ = error.empty() ? "not started" : error;
            else up_result_ = r;
        } else {
            down_done_ = true;
        }
    }

    UniqueFd sock_;
    RootSetup setup_;
    std::optional<HookResult> up_result_;
    std::string up_error_;
    bool down_done_ = false;
};

bool RemoteHook::finished() const { return finished_; }
bool RemoteHook::service()
{
    p_.poll_messages(0);
    finished_ = p_.up_finished();
    return finished_;
}
const HookResult& RemoteHook::result() const { return p_.up_result(); }
const HookResult& RemoteHook::wait()
{
    p_.wait_up();
    finished_ = true;
    return p_.up_result();
}
void RemoteHook::stop()
{
    p_.stop_up();
    finished_ = true;
}

// ---- the root part --------------------------------------------------------

class MisbehavedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class RootPart {
public:
    RootPart(UniqueFd sock, pid_t child, UniqueFd detach_fd, UniqueFd child_log, uid_t child_uid, gid_t child_gid,
             std::string run_dir)
        : sock_(std::move(sock)), child_(child), detach_fd_(std::move(detach_fd)), child_log_(std::move(child_log)),
          child_uid_(child_uid), child_gid_(child_gid), run_dir_(std::move(run_dir))
    {
    }

    int run()
    {
        // What the user sends to the feth-ssh they started (this process)
        // goes on to the SSH part: the ends, and the status line.
        SignalPipe signals({SIGINT, SIGTERM, SIGHUP, SIGUSR1
#ifdef SIGINFO
                            ,
                            SIGINFO
#endif
        });
        signal_fd_ = signals.fd();
        timeval tv{10, 0};
        ::setsockopt(sock_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        (void)wire::refuse_descriptors_in_kernel(sock_.get());
        bool misbehaved = false;
        try {
            for (;;) {
                std::vector<pollfd> p = {{sock_.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0},
                                         {up_hook_ ? up_hook_->fd() : -1, POLLIN, 0}, {child_log_.get(), POLLIN, 0}};
                if (agent_) agent_->add_poll_fds(p);
                int timeout = up_hook_ ? up_hook_->poll_timeout_ms() : -1;
                int n = ::poll(p.data(), p.size(), timeout);
                if (n < 0 && errno != EINTR) throw_errno("root part", "poll");
                if (n > 0 && p[3].revents != 0 && !relay_output(child_log_.get(), STDERR_FILENO)) child_log_.reset();
                if (n > 0 && p[1].revents != 0)
                    for (int sig = signals.next(); sig != 0; sig = signals.next()) ::kill(child_, sig);
                if (up_hook_ && up_hook_->service()) up_hook_done();
                if (n > 0 && p[0].revents != 0) {
                    wire::Message m;
                    wire::RecvOptions o;
                    o.descriptors = false;
                    o.deadline = Clock::now() + kMessageDeadline;
                    try {
                        if (!wire::recv_message(sock_.get(), m, kSshPeer, o)) break; // the SSH part is gone
                    } catch (const InputError& e) {
                        throw MisbehavedError(e.what());
                    }
                    handle(m);
                }
                if (n > 0 && agent_ && p.size() > 4) agent_->service(p, 4);
            }
        } catch (const MisbehavedError& e) {
            LOG_ERROR("The SSH part of feth-ssh misbehaved (%s): ending it", e.what());
            misbehaved = true;
        } catch (const InputError& e) {
            LOG_ERROR("The SSH part of feth-ssh misbehaved (%s): ending it", e.what());
            misbehaved = true;
        } catch (const std::exception& e) {
            LOG_ERROR("feth-ssh root part: %s", e.what());
            misbehaved = true;
        }
        if (misbehaved) ::kill(child_, SIGKILL);
        sock_.reset();
        int status = reap(misbehaved);
        while (child_log_ && relay_output(child_log_.get(), STDERR_FILENO)) {
        }
        cleanup();
        return misbehaved ? 255 : status;
    }

private:
    void handle(wire::Message& m)
    {
        if (is(m, Msg::Open)) return open(m);
        if (!device_) throw MisbehavedError("a request before the device was opened");
        if (is(m, Msg::TunnelUp)) return tunnel_up(m);
        if (is(m, Msg::TunnelDown)) return tunnel_down(m);
        if (is(m, Msg::HookStop)) {
            m.expect_end();
            if (up_hook_) {
                LOG_INFO("Stopping TunnelUpCommand (pid %ld)", static_cast<long>(up_hook_->pid()));
                up_hook_.reset(); // stops and reaps it
                send_hook_done(1, true, HookResult{HookResult::Kind::Signaled, SIGTERM}, "");
            }
            return;
        }
        if (is(m, Msg::Detach)) return detach(m);
        if (is(m, Msg::KnownHostsAdd)) return known_hosts_add(m);
        if (is(m, Msg::AgentConnect)) return agent_connect(m);
        if (is(m, Msg::Ask)) return ask(m);
        throw MisbehavedError("unknown message type " + std::to_string(m.type()));
    }

    void open(wire::Message& m)
    {
        if (opened_) throw MisbehavedError("a second device request");
        opened_ = true;
        DeviceRequest r;
        const std::uint32_t mode = m.get_u32();
        if (mode != static_cast<std::uint32_t>(TunMode::Ethernet) &&
            mode != static_cast<std::uint32_t>(TunMode::PointToPoint))
            throw MisbehavedError("bad tunnel mode " + std::to_string(mode));
        r.mode = static_cast<TunMode>(mode);
        r.unit = m.get_u32();
        r.backend = m.get_string(wire::kMaxBackendName);
        r.mtu = m.get_u32();
        remote_unit_ = m.get_u32();
        hooks_.up = m.get_string(kMaxCommand);
        hooks_.down = m.get_string(kMaxCommand);
        const std::uint32_t t = m.get_u32();
        user_ = m.get_string(kMaxUser);
        host_ = m.get_string(kMaxHost);
        kh_path_ = m.get_string(kMaxPath);
        kh_name_ = m.get_string(kMaxHost + 8);
        agent_path_ = m.get_string(sizeof(sockaddr_un::sun_path) - 1);
        ip_port_ = m.get_u32();
        AgentSetup agent = get_agent_setup(m);
        const std::uint32_t bridge = m.get_u32();
        m.expect_end();
        if (bridge > 1) throw MisbehavedError("agent socket flag out of range");
        if (ip_port_ > 65535) throw MisbehavedError("CheckHostIP port out of range");
        if (!printable_text(kh_path_) || !printable_text(kh_name_) || !printable_text(agent_path_))
            throw MisbehavedError("control characters in a path");
        if (r.mtu > 65535) throw MisbehavedError("MTU out of range");
        if (t == 0 || t > kMaxTimeout) throw MisbehavedError("hook timeout out of range");
        if (hooks_.up.find('\0') != std::string::npos || hooks_.down.find('\0') != std::string::npos)
            throw MisbehavedError("NUL in a hook command");
        if (!printable_text(user_) || !printable_text(host_) || !printable_text(r.backend))
            throw MisbehavedError("control characters in the user, host or backend name");
        hooks_.timeout = std::chrono::seconds(t);
        agent.real_agent = agent_path_;
        agent.users.push_back(user_);
        std::string bridge_path;
        if (agent.active()) {
            agent_ = std::make_unique<RootAgent>(std::move(agent), [this](const std::string& prompt, bool echo) {
                return ask_user(prompt, echo, signal_fd_);
            });
            if (bridge == 1) {
                try {
                    bridge_path = agent_->open_bridge(child_uid_, child_gid_, run_dir_);
                } catch (const std::exception& e) {
                    LOG_ERROR("root part: no agent socket for the proxy (its ssh cannot use root's keys): %s",
                              e.what());
                }
            }
        }
        auto a = msg(Msg::OpenAnswer);
        try {
            device_ = open_local_device(r, "feth-ssh: " + user_ + " to " + host_);
        } catch (const std::exception& e) {
            a.put_u32(0);
            a.put_string(std::string(e.what()).substr(0, wire::kMaxText));
            send(sock_.get(), a, kSshPeer);
            return;
        }
        LOG_DEBUG("root part: device %s opened for the SSH part", device_->name().c_str());
        a.put_u32(1);
        a.put_u32(static_cast<std::uint32_t>(device_->mode()));
        a.put_string(device_->name());
        a.put_string(device_->io_name());
        a.put_string(device_->backend());
        // The descriptors come configured; a bpf reader's buffer size comes
        // with them (Device::read_buffer_size), as the server's TunUp.
        a.put_u32(device_->read_buffer_size());
        a.put_string(bridge_path);
        a.add_fd(device_->read_fd());
        if (device_->write_fd() != device_->read_fd()) a.add_fd(device_->write_fd());
        send(sock_.get(), a, kSshPeer);
    }

    // The agent's part of Open: bounded lists of printable paths and names.
    AgentSetup get_agent_setup(wire::Message& m)
    {
        auto get_list = [&m](std::uint32_t most, std::size_t longest, const char* what) {
            const std::uint32_t n = m.get_u32();
            if (n > most) throw MisbehavedError(std::string("too many ") + what);
            std::vector<std::string> list;
            for (std::uint32_t i = 0; i < n; ++i) {
                std::string v = m.get_string(longest);
                if (v.empty() || !printable_text(v)) throw MisbehavedError(std::string("control characters in ") + what);
                list.push_back(std::move(v));
            }
            return list;
        };
        AgentSetup a;
        a.identity_files = get_list(kMaxAgentFiles, kMaxPath, "identity files");
        a.certificate_files = get_list(kMaxAgentFiles, kMaxPath, "certificate files");
        a.users = get_list(kMaxAgentUsers, kMaxUser, "remote users");
        const std::uint32_t keys = m.get_u32();
        a.add_keys_to_agent = m.get_string(16);
        a.add_keys_lifetime = m.get_u32();
        const std::uint32_t batch = m.get_u32();
        if (keys > 1 || batch > 1) throw MisbehavedError("agent flag out of range");
        const std::string& add = a.add_keys_to_agent;
        if (!add.empty() && add != "no" && add != "yes" && add != "confirm" && add != "ask")
            throw MisbehavedError("AddKeysToAgent out of range");
        if (a.add_keys_lifetime > kMaxAgentLifetime) throw MisbehavedError("AddKeysToAgent lifetime out of range");
        a.real_agent_keys = keys == 1;
        a.batch = batch == 1;
        return a;
    }

    void tunnel_up(wire::Message& m)
    {
        std::string address = m.get_string(64);
        const std::uint32_t port = m.get_u32();
        const std::uint32_t reconnect = m.get_u32();
        m.expect_end();
        if (up_ || up_hook_) throw MisbehavedError("tunnel up twice");
        unsigned char buf[16];
        if (!address.empty() && ::inet_pton(AF_INET, address.c_str(), buf) != 1 &&
            ::inet_pton(AF_INET6, address.c_str(), buf) != 1)
            throw MisbehavedError("the remote address is not a numeric address");
        if (port == 0 || port > 65535 || reconnect > 1) throw MisbehavedError("port or reconnect flag out of range");
        up_ = true;
        env_ = {
            {"FETH_INTERFACE", device_->name()},
            {"FETH_IO_INTERFACE", device_->io_name()},
            {"FETH_MODE", tun_mode_name(device_->mode())},
            {"FETH_UNIT", remote_unit_ == kTunUnitAny ? std::string("any") : std::to_string(remote_unit_)},
            {"FETH_USER", user_},
            {"FETH_REMOTE_HOST", host_},
            {"FETH_REMOTE_ADDRESS", address},
            {"FETH_REMOTE_PORT", std::to_string(port)},
            {"FETH_RECONNECT", reconnect == 1 ? "1" : "0"},
        };
        if (hooks_.up.empty()) return;
        try {
            up_hook_ = std::make_unique<HookProcess>(hook_spec("TunnelUpCommand", hooks_.up, env_, hooks_.timeout));
        } catch (const std::exception& e) {
            send_hook_done(1, false, {}, e.what());
        }
    }

    // Lines libssh added to the SSH part's copy of known_hosts (accept-new,
    // or a "yes"): each must be one plain line that names exactly the
    // destination (host_key_check.hpp): the name of Open, or with CheckHostIP
    // an address the root part itself resolves the host name to; at most
    // kMaxKnownHostsTotal.
    void known_hosts_add(wire::Message& m)
    {
        if (kh_path_.empty() || kh_name_.empty()) throw MisbehavedError("known_hosts lines with no file to add to");
        const std::uint32_t n = m.get_u32();
        if (n == 0 || n > kMaxKnownHostsLines) throw MisbehavedError("known_hosts line count out of range");
        std::vector<std::string> lines;
        for (std::uint32_t i = 0; i < n; ++i) lines.push_back(m.get_string(kMaxKnownHostsLine));
        m.expect_end();
        kh_added_ += n;
        if (kh_added_ > kMaxKnownHostsTotal) throw MisbehavedError("too many known_hosts lines");
        std::string out;
        for (const auto& line : lines) {
            if (line.empty() || !printable_text(line)) throw MisbehavedError("a known_hosts line with control characters");
            std::string why = exact_known_hosts_line_problem(line, {kh_name_});
            if (!why.empty() && ip_port_ != 0) why = exact_known_hosts_line_problem(line, destination_names());
            if (!why.empty()) throw MisbehavedError("a known_hosts line that is not exactly for " + kh_name_ + ": " + why);
            out += line + "\n";
        }
        UniqueFd f(::open(kh_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f) {
            LOG_ERROR("Failed to add the host to the list of known hosts (%s): %s", kh_path_.c_str(),
                      errno_text(errno).c_str());
            return;
        }
        if (::write(f.get(), out.data(), out.size()) != static_cast<ssize_t>(out.size()))
            LOG_ERROR("Failed to add the host to the list of known hosts (%s): %s", kh_path_.c_str(),
                      errno_text(errno).c_str());
    }

    // The names a line may carry with CheckHostIP: the name of Open and
    // every address the host name resolves to here, with the port as ssh's
    // put_host_port writes it. Resolved once.
    const std::vector<std::string>& destination_names()
    {
        if (!ip_names_.empty()) return ip_names_;
        ip_names_.push_back(kh_name_);
        struct addrinfo hints {};
        hints.ai_socktype = SOCK_STREAM;
        struct addrinfo* res = nullptr;
        if (::getaddrinfo(host_.c_str(), nullptr, &hints, &res) != 0) return ip_names_;
        for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
            char ip[NI_MAXHOST] = {};
            if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) == 0)
                ip_names_.push_back(known_hosts_host_port(ip, ip_port_));
        }
        ::freeaddrinfo(res);
        return ip_names_;
    }

    // A passphrase or a question for the user, asked on the root part's
    // terminal or through SSH_ASKPASS, as ssh would: the SSH part has none. Printable text (and newlines) only, at
    // most kMaxAsks per run; a signal while it waits is the user's answer
    // (the SSH part gets it too, forwarded).
    void ask(wire::Message& m)
    {
        std::string prompt = m.get_string(kMaxPrompt);
        const std::uint32_t echo = m.get_u32();
        m.expect_end();
        if (echo > 1) throw MisbehavedError("echo flag out of range");
        if (++asks_ > kMaxAsks) throw MisbehavedError("too many questions");
        for (char c : prompt)
            if (c != '\n' && !printable_text(std::string(1, c))) throw MisbehavedError("control characters in a prompt");
        const auto answer = ask_user(prompt, echo == 1, signal_fd_);
        auto a = msg(Msg::AskAnswer);
        a.put_u32(answer ? 1 : 0);
        a.put_string(answer ? answer->substr(0, wire::kMaxText) : std::string());
        send(sock_.get(), a, kSshPeer);
    }

    // A new connection to the root part's agent (root_agent.hpp), for the
    // SSH part's next login.
    void agent_connect(wire::Message& m)
    {
        m.expect_end();
        if (!agent_) throw MisbehavedError("an agent request with no agent");
        if (++agent_connections_ > kMaxAgentConnections) throw MisbehavedError("too many agent requests");
        auto a = msg(Msg::AgentAnswer);
        UniqueFd s = agent_->connect();
        a.put_u32(s ? 1 : 0);
        if (s) a.add_fd(s.get());
        send(sock_.get(), a, kSshPeer);
    }

    void up_hook_done()
    {
        HookResult r = up_hook_->result();
        up_hook_.reset();
        send_hook_done(1, true, r, "");
    }

    void tunnel_down(wire::Message& m)
    {
        m.expect_end();
        if (!up_) throw MisbehavedError("tunnel down while not up");
        if (up_hook_) {
            up_hook_->wait();
            up_hook_done();
        }
        up_ = false;
        run_down_hook(hooks_.down, env_, hooks_.timeout);
        send_hook_done(2, true, {}, "");
    }

    void detach(wire::Message& m)
    {
        m.expect_end();
        if (!detach_fd_) throw MisbehavedError("a request to go to the background without -f");
#if defined(__linux__)
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0); // the foreground waiter exits now
#endif
        const char byte = 'd';
        (void)!::write(detach_fd_.get(), &byte, 1);
        detach_fd_.reset();
        detach_in_place("root part");
        log::to_syslog_only("feth-ssh");
        send(sock_.get(), msg(Msg::DetachDone), kSshPeer);
    }

    void send_hook_done(std::uint32_t which, bool started, const HookResult& r, const std::string& error)
    {
        auto a = msg(Msg::HookDone);
        a.put_u32(which);
        a.put_u32(started ? 1 : 0);
        a.put_u32(static_cast<std::uint32_t>(r.kind));
        a.put_u32(static_cast<std::uint32_t>(r.status));
        a.put_string(error.substr(0, wire::kMaxText));
        send(sock_.get(), a, kSshPeer);
    }

    // The SSH part has closed its end (or was killed): it is given a few
    // seconds to exit, then killed.
    int reap(bool killed)
    {
        int st = 0;
        auto deadline = Clock::now() + std::chrono::seconds(5);
        for (;;) {
            pid_t r = ::waitpid(child_, &st, WNOHANG);
            if (r == child_) break;
            if (r < 0 && errno != EINTR) return 255;
            if (Clock::now() >= deadline) {
                ::kill(child_, SIGKILL);
                ::waitpid(child_, &st, 0);
                return 255;
            }
            ::usleep(20000);
        }
        if (WIFEXITED(st)) return WEXITSTATUS(st);
        if (!killed)
            LOG_ERROR("The SSH part of feth-ssh ended by signal %d", WTERMSIG(st));
        return 255;
    }

    // Nothing is left: a running hook is stopped, a tunnel that was up gets
    // its TunnelDownCommand, and the device goes.
    void cleanup()
    {
        up_hook_.reset();
        if (up_) {
            up_ = false;
            run_down_hook(hooks_.down, env_, hooks_.timeout);
        }
        if (device_) LOG_DEBUG("root part: removing device %s", device_->name().c_str());
        device_.reset();
        agent_.reset(); // and with it the proxy's agent socket
    }

    UniqueFd sock_;
    pid_t child_;
    UniqueFd detach_fd_;
    bool opened_ = false;
    std::unique_ptr<Device> device_;
    HookCommands hooks_;
    std::uint32_t remote_unit_ = kTunUnitAny;
    std::string user_;
    std::string host_;
    std::string kh_path_;
    std::string kh_name_;
    std::string agent_path_;
    std::uint32_t ip_port_ = 0;
    std::vector<std::string> ip_names_;
    std::uint32_t kh_added_ = 0;
    std::uint32_t agent_connections_ = 0;
    UniqueFd child_log_;
    uid_t child_uid_ = 0;
    gid_t child_gid_ = 0;
    std::string run_dir_;
    std::unique_ptr<RootAgent> agent_;
    int signal_fd_ = -1;
    std::uint32_t asks_ = 0;
    bool up_ = false;
    HookEnv env_;
    std::unique_ptr<HookProcess> up_hook_;
};

} // namespace

std::unique_ptr<Privileged> local_privileged(HookCommands hooks)
{
    return std::make_unique<LocalPrivileged>(std::move(hooks));
}

std::unique_ptr<Privileged> remote_privileged(UniqueFd sock, RootSetup setup)
{
    return std::make_unique<RemotePrivileged>(std::move(sock), std::move(setup));
}

int run_root_part(UniqueFd sock, pid_t ssh_part, UniqueFd detach_fd, UniqueFd ssh_part_log, uid_t ssh_part_uid,
                  gid_t ssh_part_gid, const std::string& run_dir)
{
    RootPart part(std::move(sock), ssh_part, std::move(detach_fd), std::move(ssh_part_log), ssh_part_uid,
                  ssh_part_gid, run_dir);
    return part.run();
}

} // namespace feth::client
