#include "client/proxy.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <cstdlib>
#include <memory>
#include <optional>

#include "base/error.hpp"
#include "base/hook.hpp"
#include "base/log.hpp"

extern char** environ;

namespace feth::client {
namespace {

constexpr int kStopWaitMs = 1000;   // SIGTERM, then this long before SIGKILL
constexpr int kFailureWaitMs = 1000; // how long a failed handshake waits for the proxy's exit
constexpr int kStepMs = 10;

void sleep_ms(int ms) { ::usleep(static_cast<useconds_t>(ms) * 1000); }

bool is_none(const std::optional<std::string>& v) { return !v || *v == "none" || *v == "NONE" || *v == "None"; }

// ssh's expand_proxy_command: %h %n %p %r and %% (ClientConfigParser
// checked the tokens).
std::string expand_command(const std::string& cmd, const Destination& d)
{
    const auto& c = d.config;
    std::string out;
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        if (cmd[i] != '%' || i + 1 >= cmd.size()) {
            out += cmd[i];
            continue;
        }
        switch (cmd[++i]) {
        case 'h': out += *c.host_name; break;
        case 'n': out += d.host_arg; break;
        case 'p': out += std::to_string(*c.port); break;
        case 'r': out += *c.user; break;
        case '%': out += '%'; break;
        default: throw InputError("ProxyCommand '" + cmd + "': unknown token %" + std::string(1, cmd[i]));
        }
    }
    return out;
}

struct Hop {
    std::string user, host, port;
};

// One hop as valid_jump_hop() in config/client_values.cpp accepted it.
Hop parse_hop(std::string s)
{
    Hop h;
    if (s.rfind("ssh://", 0) == 0) {
        s.erase(0, 6);
        if (!s.empty() && s.back() == '/') s.pop_back();
    }
    if (auto at = s.rfind('@'); at != std::string::npos) {
        h.user = s.substr(0, at);
        s.erase(0, at + 1);
    }
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        h.host = s.substr(1, close - 1);
        if (close + 1 < s.size()) h.port = s.substr(close + 2);
    } else if (auto colon = s.find(':'); colon != std::string::npos) {
        h.host = s.substr(0, colon);
        h.port = s.substr(colon + 1);
    } else {
        h.host = s;
    }
    return h;
}

std::string find_in_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        auto end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        std::string full = (dir.empty() ? std::string(".") : dir) + "/" + name;
        struct stat st {};
        if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
        start = end + 1;
    }
    return {};
}

std::string describe(const std::vector<std::string>& argv)
{
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

std::unique_ptr<ProxyProcess> g_current; // this connection attempt's proxy

} // namespace

bool uses_proxy(const config::ClientConfig& c)
{
    if (c.proxy_jump) return !is_none(c.proxy_jump);
    return !is_none(c.proxy_command);
}

std::vector<std::string> jump_hop_users(const std::string& jump, const std::string& default_user)
{
    std::vector<std::string> users;
    std::size_t start = 0;
    while (start <= jump.size()) {
        auto comma = jump.find(',', start);
        if (comma == std::string::npos) comma = jump.size();
        const Hop h = parse_hop(jump.substr(start, comma - start));
        users.push_back(h.user.empty() ? default_user : h.user);
        start = comma + 1;
    }
    return users;
}

std::vector<std::string> proxy_argv(const Destination& d)
{
    const auto& c = d.config;
    if (!c.proxy_jump || is_none(c.proxy_jump))
        return {"/bin/sh", "-c", "exec " + expand_command(*c.proxy_command, d)};
    const std::string& jump = *c.proxy_jump;
    auto comma = jump.rfind(',');
    Hop last = parse_hop(comma == std::string::npos ? jump : jump.substr(comma + 1));
    const std::string port = std::to_string(*c.port);
    if (last.host == *c.host_name && (last.port.empty() ? std::string("22") : last.port) == port &&
        (last.user.empty() || last.user == *c.user))
        throw InputError("jumphost loop via " + last.host);
    std::vector<std::string> argv{"ssh"};
    if (!last.user.empty()) argv.insert(argv.end(), {"-l", last.user});
    if (!last.port.empty()) argv.insert(argv.end(), {"-p", last.port});
    if (comma != std::string::npos) argv.insert(argv.end(), {"-J", jump.substr(0, comma)});
    if (!d.config_file.empty()) argv.insert(argv.end(), {"-F", d.config_file});
    if (d.verbose > 0) argv.push_back("-" + std::string(static_cast<std::size_t>(std::min(d.verbose, 3)), 'v'));
    argv.insert(argv.end(), {"-W", "[" + *c.host_name + "]:" + port, last.host});
    return argv;
}

ProxyProcess::ProxyProcess(std::vector<std::string> argv, int transport, std::string what) : what_(std::move(what))
{
    std::string exe = argv.at(0);
    if (exe.find('/') == std::string::npos) {
        exe = find_in_path(argv[0]);
        if (exe.empty()) throw InputError(what_ + ": " + argv[0] + " not found in PATH");
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string exec_failed = what_ + ": cannot execute " + exe + "\n";
    long open_max = ::sysconf(_SC_OPEN_MAX);
    const int max_fd = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;

    pid_ = ::fork();
    if (pid_ < 0) throw_errno(what_, "fork");
    if (pid_ == 0) {
        // Only async-signal-safe calls from here to execve.
        reset_signals_in_child();
#if defined(__linux__)
        (void)::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0); // the SSH part gone: so is its proxy
#endif
        if (::dup2(transport, 0) < 0 || ::dup2(transport, 1) < 0) ::_exit(127);
#if defined(__linux__) && defined(SYS_close_range)
        if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
        {
            for (int fd = 3; fd < max_fd; ++fd) (void)::close(fd);
        }
        ::execve(exe.c_str(), args.data(), environ);
        (void)!::write(2, exec_failed.data(), exec_failed.size());
        ::_exit(127);
    }
    LOG_DEBUG("%s: started (pid %ld): %s", what_.c_str(), static_cast<long>(pid_), describe(argv).c_str());
}

std::string ProxyProcess::failure()
{
    if (!reaped_) {
        int ws = 0;
        pid_t r;
        do r = ::waitpid(pid_, &ws, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == 0) return {};
        reaped_ = true;
        status_ = r == pid_ ? ws : -1;
    }
    if (status_ == -1) return what_ + " ended (status unknown)";
    if (WIFSIGNALED(status_)) return what_ + " killed by signal " + std::to_string(WTERMSIG(status_));
    return what_ + " exited with status " + std::to_string(WEXITSTATUS(status_));
}

ProxyProcess::~ProxyProcess()
{
    if (pid_ <= 0 || reaped_) return;
    if (!failure().empty()) return;
    (void)::kill(pid_, SIGTERM);
    for (int waited = 0; waited < kStopWaitMs; waited += kStepMs) {
        if (!failure().empty()) return;
        sleep_ms(kStepMs);
    }
    (void)::kill(pid_, SIGKILL);
    int ws = 0;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
    LOG_DEBUG("%s: killed (pid %ld)", what_.c_str(), static_cast<long>(pid_));
}

UniqueFd start_proxy(const Destination& d)
{
    stop_proxy();
    const auto& c = d.config;
    const bool jump = c.proxy_jump && !is_none(c.proxy_jump);
    const std::string what = jump ? "ProxyJump '" + *c.proxy_jump + "'" : "ProxyCommand '" + *c.proxy_command + "'";
    std::vector<std::string> argv;
    try {
        argv = proxy_argv(d);
    } catch (const InputError& e) {
        throw ConnectError(ConnectError::Kind::Auth, what + ": " + e.what()); // not retried
    }
    UniqueFd ours, theirs;
    if (open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, ours, theirs) != 0)
        throw ConnectError(ConnectError::Kind::Network, what + ": socketpair: " + errno_text(errno));
    try {
        g_current = std::make_unique<ProxyProcess>(std::move(argv), theirs.get(), what);
    } catch (const std::exception& e) {
        throw ConnectError(ConnectError::Kind::Network, e.what());
    }
    return ours; // `theirs` closes here: the proxy holds the only copy
}

std::string proxy_failure()
{
    if (!g_current) return {};
    for (int waited = 0; waited < kFailureWaitMs; waited += kStepMs) {
        if (auto f = g_current->failure(); !f.empty()) return f;
        sleep_ms(kStepMs);
    }
    return {};
}

void stop_proxy() { g_current.reset(); }

} // namespace feth::client
