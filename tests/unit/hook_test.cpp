// base/hook: real /bin/sh processes: environment, exit status, signals,
// timeouts, output logging, no fd leaked, never a zombie. And the client's
// TunnelUpCommand / TunnelDownCommand / TunnelCommandTimeout keywords.
#include "base/hook.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "catch.hpp"
#include "config/client_config.hpp"
#include "base/error.hpp"
#include "base/log.hpp"

using namespace feth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir()
    {
        char tmpl[] = "/tmp/feth-hook-test.XXXXXX";
        const char* p = ::mkdtemp(tmpl);
        REQUIRE(p != nullptr);
        path = p;
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string slurp(const fs::path& p)
{
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Sends the log (stderr) to a file while alive; text() returns what was logged.
class CaptureLog {
public:
    CaptureLog() : file_(dir_.path / "log")
    {
        std::fflush(stderr);
        saved_ = ::dup(2);
        int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        ::dup2(fd, 2);
        ::close(fd);
        log::Options o;
        o.level = log::Level::Info;
        o.ident = "hook_test";
        log::configure(o);
    }
    ~CaptureLog() { restore(); }
    std::string text()
    {
        restore();
        return slurp(file_);
    }

private:
    void restore()
    {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    TempDir dir_;
    fs::path file_;
    int saved_ = -1;
};

HookSpec spec(std::string command, std::chrono::milliseconds timeout = 10s)
{
    HookSpec s;
    s.name = "TestHook";
    s.command = std::move(command);
    s.timeout = timeout;
    s.kill_grace = 300ms;
    return s;
}

bool has_line(const std::string& text, const std::string& line)
{
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        if (l == line) return true;
    return false;
}

// A pid that is gone or a zombie of someone else (re-parented to init).
bool process_gone(pid_t pid)
{
    for (int i = 0; i < 50; ++i) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
#ifdef __linux__
        std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
        auto close = stat.rfind(')');
        if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') return true;
#endif
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

} // namespace

TEST_CASE("hook: exit status and success", "[hook]")
{
    CHECK(run_hook(spec("true")).ok());
    HookResult r = run_hook(spec("exit 3"));
    CHECK_FALSE(r.ok());
    CHECK(r.kind == HookResult::Kind::Exited);
    CHECK(r.status == 3);
    CHECK(r.describe(10s) == "exited with status 3");
}

TEST_CASE("hook: killed by a signal", "[hook]")
{
    HookResult r = run_hook(spec("kill -KILL $$"));
    CHECK(r.kind == HookResult::Kind::Signaled);
    CHECK(r.status == SIGKILL);
    CHECK_FALSE(r.ok());
}

TEST_CASE("hook: environment set, replaced, inherited or not", "[hook]")
{
    TempDir dir;
    const std::string out = (dir.path / "env").string();
    ::setenv("FETH_HOOK_TEST_INHERITED", "from-parent", 1);
    ::setenv("FETH_INTERFACE", "stale", 1);
    HookSpec s = spec("env > '" + out + "'");
    s.env = {{"FETH_INTERFACE", "tap7"}, {"FETH_IO_INTERFACE", ""}, {"FETH_MODE", "ethernet"}};
    REQUIRE(run_hook(s).ok());
    std::string env = slurp(out);
    CHECK(has_line(env, "FETH_INTERFACE=tap7"));
    CHECK_FALSE(has_line(env, "FETH_INTERFACE=stale"));
    CHECK(has_line(env, "FETH_IO_INTERFACE="));
    CHECK(has_line(env, "FETH_MODE=ethernet"));
    CHECK(has_line(env, "FETH_HOOK_TEST_INHERITED=from-parent"));

    s.inherit_environment = false;
    REQUIRE(run_hook(s).ok());
    env = slurp(out);
    CHECK(has_line(env, "FETH_INTERFACE=tap7"));
    CHECK(has_line(env, "PATH=/usr/bin:/bin:/usr/sbin:/sbin"));
    CHECK_FALSE(has_line(env, "FETH_HOOK_TEST_INHERITED=from-parent"));
    ::unsetenv("FETH_HOOK_TEST_INHERITED");
    ::unsetenv("FETH_INTERFACE");
}

TEST_CASE("hook: output is logged line by line with the hook's name", "[hook]")
{
    CaptureLog cap;
    HookResult r = run_hook(spec("echo one; echo two >&2; printf 'split '; sleep 0.1; printf 'line\\n'; "
                                 "printf '\\033[31mred'"));
    std::string text = cap.text();
    CHECK(r.ok());
    CHECK(has_line(text, "TestHook: one"));
    CHECK(has_line(text, "TestHook: two"));
    CHECK(has_line(text, "TestHook: split line"));
    CHECK(has_line(text, "TestHook: \\033[31mred")); // control characters never reach the log (escaped, strnvis style)
}

TEST_CASE("hook: endless output neither blocks nor floods the log", "[hook]")
{
    CaptureLog cap;
    auto t0 = std::chrono::steady_clock::now();
    HookResult r = run_hook(spec("i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; "
                                 "head -c 300000 /dev/zero | tr '\\0' x"));
    std::string text = cap.text();
    CHECK(r.ok());
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);
    CHECK(text.find("TestHook: (further output not logged)") != std::string::npos);
    CHECK(text.size() < 200 * 1024);
}

TEST_CASE("hook: a hanging hook is stopped at the timeout, its whole group", "[hook]")
{
    TempDir dir;
    const std::string pidfile = (dir.path / "pid").string();
    auto t0 = std::chrono::steady_clock::now();
    HookResult r = run_hook(spec("sleep 30 & echo $! > '" + pidfile + "'; wait", 500ms));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.kind == HookResult::Kind::TimedOut);
    CHECK_FALSE(r.ok());
    CHECK(r.describe(500ms) == "timed out after 500 ms");
    CHECK(took >= 450ms);
    CHECK(took < 5s);
    pid_t child = static_cast<pid_t>(std::stol(slurp(pidfile)));
    CHECK(process_gone(child));
}

TEST_CASE("hook: a hook that ignores SIGTERM is killed after the grace", "[hook]")
{
    auto t0 = std::chrono::steady_clock::now();
    HookSpec s = spec("trap '' TERM; while :; do sleep 0.05; done", 300ms);
    HookResult r = run_hook(s);
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.kind == HookResult::Kind::TimedOut);
    CHECK(took >= 550ms); // timeout + grace
    CHECK(took < 5s);
}

TEST_CASE("hook: a background child holding the output does not keep the hook running", "[hook]")
{
    TempDir dir;
    const std::string pidfile = (dir.path / "pid").string();
    auto t0 = std::chrono::steady_clock::now();
    HookResult r = run_hook(spec("sleep 20 & echo $! > '" + pidfile + "'; echo started"));
    CHECK(r.ok());
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    pid_t child = static_cast<pid_t>(std::stol(slurp(pidfile)));
    ::kill(child, SIGKILL);
}

TEST_CASE("hook: exec failure is exit status 127 with a message", "[hook]")
{
    CaptureLog cap;
    HookSpec s = spec("true");
    s.shell = "/nonexistent/sh";
    HookResult r = run_hook(s);
    std::string text = cap.text();
    CHECK(r.kind == HookResult::Kind::Exited);
    CHECK(r.status == 127);
    CHECK(text.find("TestHook: TestHook: cannot execute /nonexistent/sh") != std::string::npos);
}

TEST_CASE("hook: destroyed while running: stopped and reaped, no zombie", "[hook]")
{
    pid_t pid;
    {
        HookProcess p(spec("exec sleep 30"));
        pid = p.pid();
        CHECK_FALSE(p.service());
        CHECK(p.poll_timeout_ms() <= 100);
    }
    errno = 0;
    CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
    CHECK(errno == ECHILD);
    CHECK(::kill(pid, 0) == -1);
}

#ifdef __linux__
TEST_CASE("hook: only fds 0, 1 and 2 reach the command; signals reset", "[hook]")
{
    // A descriptor without close-on-exec, as a careless library might leave.
    int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky >= 0);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    struct sigaction old {};
    ::sigaction(SIGPIPE, &ign, &old);

    HookProcess p(spec("exec sleep 30"));
    std::set<std::string> fds;
    std::string sigign;
    for (int i = 0; i < 100; ++i) { // wait for the exec
        std::error_code ec;
        if (fs::read_symlink("/proc/" + std::to_string(p.pid()) + "/exe", ec).filename() == "sleep") break;
        std::this_thread::sleep_for(20ms);
    }
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(p.pid()) + "/fd"))
        fds.insert(e.path().filename().string());
    std::istringstream status(slurp("/proc/" + std::to_string(p.pid()) + "/status"));
    for (std::string line; std::getline(status, line);)
        if (line.rfind("SigIgn:", 0) == 0) sigign = line;
    ::sigaction(SIGPIPE, &old, nullptr);
    ::close(leaky);

    CHECK(fds == std::set<std::string>{"0", "1", "2"});
    CHECK(sigign == "SigIgn:\t0000000000000000");
    CHECK(fs::read_symlink("/proc/" + std::to_string(p.pid()) + "/fd/0") == "/dev/null");
}
#endif

TEST_CASE("client config: TunnelUpCommand, TunnelDownCommand, TunnelCommandTimeout", "[hook][client_config]")
{
    using namespace feth::config;
    ClientConfig c;
    ClientConfigParser p(c, "example", "/nonexistent-home");
    p.apply_option("TunnelUpCommand=ip addr add 198.18.5.1/24 dev \"$FETH_INTERFACE\" && ip link set up dev "
                   "\"$FETH_INTERFACE\"  ");
    p.apply_text("Host example\n  TunnelDownCommand  /etc/feth/down.sh 'a b' # not a comment for sh\n"
                 "  TunnelUpCommand echo second\n  TunnelCommandTimeout 2m\n",
                 "test");
    resolve_defaults(c, "example", "alice", "/nonexistent-home");
    CHECK(*c.tunnel_up_command == "ip addr add 198.18.5.1/24 dev \"$FETH_INTERFACE\" && ip link set up dev "
                                  "\"$FETH_INTERFACE\"");
    CHECK(*c.tunnel_down_command == "/etc/feth/down.sh 'a b' # not a comment for sh");
    CHECK(*c.tunnel_command_timeout == 120);

    ClientConfig d;
    ClientConfigParser q(d, "other", "/nonexistent-home");
    q.apply_text("Host example\n  TunnelUpCommand echo no\nHost *\n  TunnelUpCommand none\n", "test");
    resolve_defaults(d, "other", "alice", "/nonexistent-home");
    CHECK(d.tunnel_up_command->empty());
    CHECK(d.tunnel_down_command->empty());
    CHECK(*d.tunnel_command_timeout == 30);

    ClientConfig e;
    ClientConfigParser r(e, "example", "/nonexistent-home");
    CHECK_THROWS_AS(r.apply_option("TunnelCommandTimeout=0"), InputError);
    CHECK_THROWS_AS(r.apply_option("TunnelCommandTimeout=soon"), InputError);
}
