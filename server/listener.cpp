#include "listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "handover.hpp"
#include "source_limits.hpp"
#include "status.hpp"
#include "privsep.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/secret.hpp"
#include "base/signal_pipe.hpp"

namespace feth::server {
namespace {

constexpr auto kChildExitGrace = std::chrono::seconds(5);

struct Listener {
    UniqueFd fd;
    std::string where; // "198.18.0.1 port 2222"
};

std::string numeric_host(const sockaddr* sa, socklen_t len, unsigned* port)
{
    char host[NI_MAXHOST] = "?";
    char serv[NI_MAXSERV] = "0";
    ::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    if (port != nullptr) *port = static_cast<unsigned>(std::strtoul(serv, nullptr, 10));
    std::string h = host;
    // An IPv4 client on a dual-stack socket: log it as IPv4, as sshd does.
    if (h.rfind("::ffff:", 0) == 0 && h.find('.') != std::string::npos) h = h.substr(7);
    return h;
}

std::vector<Listener> open_listeners(const config::ServerConfig& cfg)
{
    std::vector<Listener> out;
    for (const auto& ep : cfg.listen) {
        struct addrinfo hints {};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        struct addrinfo* res = nullptr;
        std::string port = std::to_string(ep.port);
        int gai = ::getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &res);
        if (gai != 0)
            throw InputError("ListenAddress " + ep.host + " port " + port + ": " + ::gai_strerror(gai));
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
        for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
            unsigned p = 0;
            std::string where = numeric_host(ai->ai_addr, ai->ai_addrlen, &p);
            where += " port " + std::to_string(p);
            UniqueFd fd = open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol, IoMode::nonblocking);
            if (!fd) throw_errno("listen on " + where, "socket");
            int one = 1;
            ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (ai->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) throw_errno("listen on " + where, "bind");
            if (::listen(fd.get(), 128) != 0) throw_errno("listen on " + where, "listen");
            LOG_INFO("Server listening on %s.", where.c_str());
            out.push_back({std::move(fd), std::move(where)});
        }
    }
    if (out.empty()) throw InputError("no address to listen on");
    return out;
}

class PidFile {
public:
    explicit PidFile(std::string path) : path_(std::move(path))
    {
        if (path_.empty()) return;
        std::string text = std::to_string(::getpid()) + "\n";
        UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw_errno("PidFile " + path_, "write");
    }
    ~PidFile()
    {
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

private:
    std::string path_;
};

// Unauthenticated connections, for MaxStartups: the read end of a pipe
// whose write end the connection's monitor closes on authentication.
using Startups = std::map<pid_t, UniqueFd>;

// The peer address of each connection process, for PerSourcePenalties and
// PerSourceMaxStartups.
using ChildSources = std::map<pid_t, std::string>;

// `limits` learns how each connection ended from its monitor's exit status
// (MonitorExit) and penalises its source (null: at shutdown, nobody is).
void reap(std::set<pid_t>& children, Startups& startups, ChildSources& sources, SourceLimits* limits)
{
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        children.erase(pid);
        startups.erase(pid);
        if (WIFSIGNALED(status))
            LOG_ERROR("connection process %d ended by signal %d", static_cast<int>(pid), WTERMSIG(status));
        if (auto it = sources.find(pid); it != sources.end()) {
            if (limits != nullptr)
                limits->penalise(it->second,
                                 penalty_for_exit(WIFEXITED(status) ? WEXITSTATUS(status) : kExitError,
                                                  WIFSIGNALED(status) ? WTERMSIG(status) : 0),
                                 SourceLimits::Clock::now());
            sources.erase(it);
        }
        // A monitor frees its slots as it removes its devices; one that was
        // killed could not.
        if (int n = release_status_slots(pid); n != 0)
            LOG_VERBOSE("connection process %d left %d status slots; freed", static_cast<int>(pid), n);
    }
}

// Asks every connection process to close its tunnels, and waits for them.
void stop_children(std::set<pid_t>& children, Startups& startups, ChildSources& sources)
{
    for (pid_t pid : children) ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + kChildExitGrace;
    while (!children.empty() && std::chrono::steady_clock::now() < deadline) {
        reap(children, startups, sources, nullptr);
        if (!children.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (pid_t pid : children) {
        LOG_ERROR("connection process %d did not exit in time; killing it", static_cast<int>(pid));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    children.clear();
}

// In the forked child: the session program from a fresh image, with the
// descriptors it expects (handover.hpp): 0 and 1 the client's socket, 2
// our stderr, 3 the setup socket, 4 the startup pipe, 5 the status table.
// Nothing else of the listener's (other peers, penalties, keys) goes along.
[[noreturn]] void exec_session(SignalPipe& signals, int conn, int setup, int startup, const ListenerPrograms& programs)
{
    signals.release_in_child();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // sshd: a session of its own (but under -d, where ^C must reach it).
    if (!programs.debug) (void)::setsid();
    if (!arrange_descriptors({conn, conn, STDERR_FILENO, setup, startup, status_table_fd()})) ::_exit(kExitError);
    char* const argv[] = {const_cast<char*>("feth-sshd-session"), nullptr};
    ::execv(programs.helpers.session.c_str(), argv);
    std::fprintf(stderr, "feth-sshd: exec %s: %s\n", programs.helpers.session.c_str(), errno_text(errno).c_str());
    ::_exit(kExitError);
}

// What the session program serves the connection with.
SessionSetup session_setup(const ServerSettings& settings, const Peer& peer, const PrivsepIdentity& identity,
                           const ListenerPrograms& programs)
{
    SessionSetup s;
    s.config = settings.source;
    for (const auto& k : settings.host_keys.texts())
        s.host_keys.push_back(HostKeyText{k.path, SecretText(k.text.str())});
    s.peer = peer;
    s.identity = identity;
    s.log.level = log::level();
    s.log.to_stderr = programs.log_to_stderr;
    s.network_program = programs.helpers.network;
    s.status_table = status_table_fd() >= 0;
    return s;
}

// sshd's drop_connection(): past `start` unauthenticated connections, drop
// with a probability rising linearly from rate% to 100% at `full`.
bool drop_connection(const config::MaxStartups& m, std::size_t startups, std::mt19937& rng)
{
    if (startups < m.start) return false;
    if (startups >= m.full) return true;
    unsigned p = 100 - m.rate;
    p *= static_cast<unsigned>(startups - m.start);
    p /= m.full - m.start;
    p += m.rate;
    return std::uniform_int_distribution<unsigned>(0, 99)(rng) < p;
}

// "[198.18.0.1]:2222", sshd's form for the local end in a drop line.
std::string local_end(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "[?]:0";
    unsigned port = 0;
    std::string host = numeric_host(reinterpret_cast<sockaddr*>(&ss), len, &port);
    return "[" + host + "]:" + std::to_string(port);
}

} // namespace

namespace {

bool same_endpoints(const config::ServerConfig& a, const config::ServerConfig& b)
{
    if (a.listen.size() != b.listen.size()) return false;
    for (std::size_t i = 0; i < a.listen.size(); ++i)
        if (a.listen[i].host != b.listen[i].host || a.listen[i].port != b.listen[i].port) return false;
    return true;
}

// SIGHUP: new settings for new connections, or the old ones kept with a
// log line saying why. Connections already running keep their own.
void reload_settings(ServerSettings& current, std::vector<Listener>& listeners, const ReloadSettings& reload,
                     SourceLimits& limits)
{
    try {
        ServerSettings next = reload();
        if (!same_endpoints(current.config, next.config)) listeners = open_listeners(next.config);
        if (next.config.pid_file != current.config.pid_file)
            LOG_INFO("PidFile changes take effect at the next start");
        current = std::move(next);
        limits.configure(current.config); // the penalties recorded so far stay
        LOG_INFO("Received SIGHUP; configuration reloaded for new connections.");
    } catch (const std::exception& e) {
        LOG_ERROR("Received SIGHUP; keeping the running configuration: %s", e.what());
    }
}

} // namespace

// The status socket's directory is made if missing; a socket that cannot be
// made is logged and the server runs without one.
static UniqueFd open_status(const std::string& path)
{
    if (path.empty()) return {};
    try {
        std::string dir = path.substr(0, path.rfind('/'));
        if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("StatusSocket " + dir, "mkdir");
        return open_status_socket(path);
    } catch (const std::exception& e) {
        LOG_ERROR("%s; feth-sshd -S will not work", e.what());
        return {};
    }
}

int run_listener(ServerSettings settings, const ReloadSettings& reload, const PrivsepIdentity& identity,
                 const ListenerPrograms& programs)
{
    std::vector<Listener> listeners = open_listeners(settings.config);
    const std::string pid_path = settings.config.pid_file;
    create_status_table();
    UniqueFd status_socket = open_status(settings.config.status_socket);
    SignalPipe signals({SIGTERM, SIGINT, SIGHUP, SIGCHLD});
    PidFile pid_file(pid_path);
    std::set<pid_t> children;
    Startups startups;
    ChildSources sources;
    SourceLimits limits(settings.config);
    std::mt19937 rng(std::random_device{}());

    std::vector<pollfd> pfds;
    for (;;) {
        pfds.clear();
        pfds.push_back({signals.fd(), POLLIN, 0});
        pfds.push_back({status_socket.get(), POLLIN, 0}); // -1 (none) is ignored by poll
        for (auto& l : listeners) pfds.push_back({l.fd.get(), POLLIN, 0});
        for (auto& [pid, fd] : startups) pfds.push_back({fd.get(), POLLIN, 0});
        int n = ::poll(pfds.data(), pfds.size(), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("listener", "poll");
        }
        if (pfds[0].revents != 0) {
            bool stop = false;
            for (int sig = signals.next(); sig != 0; sig = signals.next()) {
                if (sig == SIGCHLD) reap(children, startups, sources, &limits);
                else if (sig == SIGHUP) reload_settings(settings, listeners, reload, limits);
                else stop = true;
            }
            if (stop) {
                LOG_INFO("Received signal; terminating.");
                if (status_socket) ::unlink(settings.config.status_socket.c_str());
                listeners.clear();
                stop_children(children, startups, sources);
                return 0;
            }
        }
        if (pfds[1].revents != 0) answer_status_request(status_socket.get());
        // An authenticated connection (or one that ended) no longer counts.
        for (std::size_t i = 2 + listeners.size(); i < pfds.size(); ++i) {
            if (pfds[i].revents == 0) continue;
            for (auto it = startups.begin(); it != startups.end(); ++it)
                if (it->second.get() == pfds[i].fd) {
                    startups.erase(it);
                    break;
                }
        }
        for (std::size_t i = 2; i < 2 + listeners.size(); ++i) {
            if ((pfds[i].revents & POLLIN) == 0) continue;
            sockaddr_storage ss{};
            socklen_t slen = sizeof ss;
            // Blocking, as the connection process expects (libssh sets its own mode).
            UniqueFd conn = accept_socket(pfds[i].fd, reinterpret_cast<sockaddr*>(&ss), &slen, IoMode::blocking);
            if (!conn) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                    LOG_ERROR("accept on %s: %s", listeners[i - 2].where.c_str(), errno_text(errno).c_str());
                continue;
            }
            Peer peer;
            peer.address = numeric_host(reinterpret_cast<sockaddr*>(&ss), slen, &peer.port);
            const config::ServerConfig& cfg = settings.config;
            // sshd's drop_connection(): a penalised source first, then
            // MaxStartups, then PerSourceMaxStartups.
            std::string why = limits.penalty_refusal(peer.address, SourceLimits::Clock::now());
            if (why.empty() && drop_connection(cfg.max_startups, startups.size(), rng)) why = "past MaxStartups";
            if (why.empty() && cfg.per_source_max_startups != 0) {
                auto block = limits.block_of(peer.address);
                std::size_t same = 0;
                for (const auto& [pid, fd] : startups)
                    if (auto it = sources.find(pid); block && it != sources.end() && limits.block_of(it->second) == block)
                        ++same;
                if (!limits.startup_allowed(same)) why = "past PerSourceMaxStartups";
            }
            if (!why.empty()) {
                LOG_INFO("drop connection #%zu from [%s]:%u on %s %s", startups.size(), peer.address.c_str(),
                         peer.port, local_end(conn.get()).c_str(), why.c_str());
                // Best effort, as sshd: tell the client why, never wait.
                static constexpr char kNotAllowed[] = "Not allowed at this time\r\n";
                (void)::send(conn.get(), kNotAllowed, sizeof kNotAllowed - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                continue; // `conn` closes
            }
            LOG_VERBOSE("Connection from %s port %u", peer.address.c_str(), peer.port);
            // Every frame must leave at once (a ping waiting for Nagle costs
            // milliseconds); batching is the pump's job, which corks libssh
            // around a wake-up's frames. feth-ssh does the same on its side.
            int one = 1;
            ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            UniqueFd startup_read, startup_write;
            if (open_pipe(IoMode::blocking, startup_read, startup_write) != 0) {
                LOG_ERROR("pipe for %s port %u: %s", peer.address.c_str(), peer.port, errno_text(errno).c_str());
                continue;
            }
            UniqueFd setup_ours, setup_theirs;
            if (open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, setup_ours, setup_theirs) != 0) {
                LOG_ERROR("socketpair for %s port %u: %s", peer.address.c_str(), peer.port, errno_text(errno).c_str());
                continue;
            }
            std::fflush(nullptr);
            pid_t pid = ::fork();
            if (pid < 0) {
                LOG_ERROR("fork for %s port %u: %s", peer.address.c_str(), peer.port, errno_text(errno).c_str());
                continue;
            }
            if (pid == 0) exec_session(signals, conn.get(), setup_theirs.get(), startup_write.get(), programs);
            conn.reset();
            setup_theirs.reset();
            startup_write.reset();
            try {
                send_session_setup(setup_ours.get(), session_setup(settings, peer, identity, programs),
                                   ("setup of connection process " + std::to_string(pid)).c_str());
            } catch (const std::exception& e) {
                // It exits (the setup ended early) and is reaped as any.
                LOG_ERROR("%s", e.what());
            }
            children.insert(pid);
            sources[pid] = peer.address;
            startups[pid] = std::move(startup_read);
        }
    }
}

} // namespace feth::server
