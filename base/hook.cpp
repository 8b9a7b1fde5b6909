#include "hook.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "error.hpp"
#include "log.hpp"

extern char** environ; // unistd.h declares it on Linux; macOS wants it declared

namespace feth {

void reset_signals_in_child()
{
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) (void)::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
}

namespace {

constexpr std::size_t kMaxLine = 1024;          // longer output lines are split
constexpr std::size_t kMaxLogged = 64 * 1024;   // output logged per run; the rest is read and dropped
constexpr int kReapIntervalMs = 100;            // how often a running command's exit is checked

// A descriptor moved above 0, 1 and 2 (close-on-exec), so that the child's
// dup2 onto 0-2 always makes a fresh, inheritable copy.
UniqueFd above_stdio(UniqueFd fd, const char* what)
{
    if (fd.get() > 2) return fd;
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) throw_errno(what, "fcntl(F_DUPFD_CLOEXEC)");
    return UniqueFd(moved);
}

// In the forked child: only async-signal-safe calls from here to execve.
[[noreturn]] void child_exec(const char* shell, char* const argv[], char* const envp[], int null_fd, int out_fd,
                             int max_fd, const char* exec_failed, std::size_t exec_failed_len)
{
    reset_signals_in_child();
    (void)::setpgid(0, 0);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(127);
#if defined(__linux__) && defined(SYS_close_range)
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
        for (int fd = 3; fd < max_fd; ++fd) (void)::close(fd);
    }
    ::execve(shell, argv, envp);
    (void)!::write(2, exec_failed, exec_failed_len);
    ::_exit(127);
}

bool name_is(const char* entry, const std::string& name)
{
    return std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=';
}

} // namespace

std::string HookResult::describe(std::chrono::milliseconds timeout) const
{
    switch (kind) {
    case Kind::Exited: return "exited with status " + std::to_string(status);
    case Kind::Signaled: return "killed by signal " + std::to_string(status);
    case Kind::TimedOut: {
        auto ms = timeout.count();
        return "timed out after " + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms");
    }
    }
    return "failed";
}

HookProcess::HookProcess(HookSpec spec) : spec_(std::move(spec))
{
    const std::string what = spec_.name.empty() ? std::string("hook") : spec_.name;

    // Everything the child needs is prepared here, before fork.
    std::vector<std::string> env;
    if (spec_.inherit_environment) {
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            bool replaced = std::any_of(spec_.env.begin(), spec_.env.end(),
                                        [&](const auto& kv) { return name_is(*e, kv.first); });
            if (!replaced) env.emplace_back(*e);
        }
    } else {
        bool has_path = std::any_of(spec_.env.begin(), spec_.env.end(), [](const auto& kv) { return kv.first == "PATH"; });
        if (!has_path) env.emplace_back("PATH=/usr/bin:/bin:/usr/sbin:/sbin");
    }
    for (const auto& [k, v] : spec_.env) env.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string arg0 = "sh", arg1 = "-c";
    char* argv[] = {arg0.data(), arg1.data(), spec_.command.data(), nullptr};
    const std::string exec_failed = what + ": cannot execute " + spec_.shell + "\n";
    long open_max = ::sysconf(_SC_OPEN_MAX);
    int max_fd = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;

    UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd) throw_errno(what, "open /dev/null");
    null_fd = above_stdio(std::move(null_fd), what.c_str());
    UniqueFd rd, wr;
    if (open_pipe(IoMode::blocking, rd, wr) != 0) throw_errno(what, "pipe");
    set_nonblocking_cloexec(rd.get(), what.c_str());
    rd = above_stdio(std::move(rd), what.c_str());
    wr = above_stdio(std::move(wr), what.c_str());

    deadline_ = Clock::now() + spec_.timeout;
    pid_ = ::fork();
    if (pid_ < 0) throw_errno(what, "fork");
    if (pid_ == 0)
        child_exec(spec_.shell.c_str(), argv, envp.data(), null_fd.get(), wr.get(), max_fd, exec_failed.c_str(),
                   exec_failed.size());
    (void)::setpgid(pid_, pid_); // also in the parent, so that a group kill never races the child's setpgid
    out_ = std::move(rd);
    LOG_DEBUG("%s: started (pid %ld): %s", what.c_str(), static_cast<long>(pid_), spec_.command.c_str());
}

HookProcess::~HookProcess()
{
    if (pid_ <= 0 || exited_) return;
    signal_group(SIGKILL);
    int ws = 0;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
    LOG_DEBUG("%s: stopped (pid %ld)", spec_.name.c_str(), static_cast<long>(pid_));
}

void HookProcess::signal_group(int sig)
{
    if (::kill(-pid_, sig) != 0) (void)::kill(pid_, sig);
}

int HookProcess::poll_timeout_ms() const
{
    if (finished_) return 0;
    auto until = terminated_ ? kill_at_ : deadline_;
    if (killed_) return kReapIntervalMs;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, kReapIntervalMs));
}

void HookProcess::emit_line(std::string_view line)
{
    if (logged_bytes_ >= kMaxLogged) {
        if (!truncated_noted_) {
            LOG_INFO("%s: (further output not logged)", spec_.name.c_str());
            truncated_noted_ = true;
        }
        return;
    }
    logged_bytes_ += line.size() + 1;
    LOG_INFO("%s: %.*s", spec_.name.c_str(), static_cast<int>(line.size()), line.data());
}

void HookProcess::read_output()
{
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(out_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            out_.reset(); // EIO and the like: stop reading
            break;
        }
        if (n == 0) {
            out_.reset();
            break;
        }
        for (ssize_t i = 0; i < n; ++i) {
            char c = buf[i];
            if (c == '\n') {
                emit_line(partial_);
                partial_.clear();
                continue;
            }
            partial_ += c;
            if (partial_.size() >= kMaxLine) {
                emit_line(partial_);
                partial_.clear();
            }
        }
    }
}

void HookProcess::reaped(int ws)
{
    exited_ = true;
    if (terminated_) {
        result_.kind = HookResult::Kind::TimedOut;
        result_.status = WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws);
    } else if (WIFSIGNALED(ws)) {
        result_.kind = HookResult::Kind::Signaled;
        result_.status = WTERMSIG(ws);
    } else {
        result_.kind = HookResult::Kind::Exited;
        result_.status = WEXITSTATUS(ws);
    }
}

bool HookProcess::service()
{
    if (finished_) return true;
    if (out_) read_output();
    if (!exited_) {
        int ws = 0;
        pid_t r;
        do {
            r = ::waitpid(pid_, &ws, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == pid_) reaped(ws);
        else if (r < 0) { // not our child any more (someone reaped it): nothing left to wait for
            exited_ = true;
            result_.kind = HookResult::Kind::Exited;
            result_.status = 127;
        }
    }
    if (exited_) {
        // What the command wrote is in the pipe already; a background child
        // that still holds the pipe does not keep the hook running.
        if (out_) read_output();
        if (!partial_.empty()) {
            emit_line(partial_);
            partial_.clear();
        }
        out_.reset();
        finished_ = true;
        LOG_DEBUG("%s: %s", spec_.name.c_str(), result_.describe(spec_.timeout).c_str());
        return true;
    }
    auto now = Clock::now();
    if (!terminated_ && now >= deadline_) {
        HookResult t{HookResult::Kind::TimedOut, 0};
        LOG_ERROR("%s: %s, stopping it", spec_.name.c_str(), t.describe(spec_.timeout).c_str());
        signal_group(SIGTERM);
        terminated_ = true;
        kill_at_ = now + spec_.kill_grace;
    } else if (terminated_ && !killed_ && now >= kill_at_) {
        signal_group(SIGKILL);
        killed_ = true;
    }
    return false;
}

const HookResult& HookProcess::wait()
{
    while (!service()) {
        struct pollfd p {out_.get(), POLLIN, 0};
        int timeout = poll_timeout_ms();
        if (out_) (void)::poll(&p, 1, timeout);
        else (void)::poll(nullptr, 0, timeout);
    }
    return result_;
}

HookResult run_hook(const HookSpec& spec)
{
    HookProcess p(spec);
    return p.wait();
}

} // namespace feth
