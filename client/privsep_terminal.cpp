#include "privsep_terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <cerrno>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "privsep.hpp"

namespace feth::client {

void leave_terminal(int log_fd)
{
    if (::setsid() < 0) throw_errno("SSH part", "setsid");
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) throw_errno("SSH part", "open /dev/null");
    if (::dup2(null.get(), STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 || ::dup2(log_fd, STDERR_FILENO) < 0)
        throw_errno("SSH part", "dup2");
}

std::optional<std::string> ask_on_terminal(const std::string& prompt, bool echo, int signal_fd)
{
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!tty) return std::nullopt;
    // Echo off before the prompt is shown, as readpassphrase(3): TCSAFLUSH
    // drops what was typed before, never an answer to this prompt.
    struct termios old {};
    const bool restore = !echo && ::tcgetattr(tty.get(), &old) == 0;
    if (restore) {
        struct termios quiet = old;
        quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
        ::tcsetattr(tty.get(), TCSAFLUSH, &quiet);
    }
    (void)!::write(tty.get(), prompt.data(), prompt.size());
    std::string answer;
    bool complete = false;
    for (;;) {
        struct pollfd p[2] = {{tty.get(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
        const int n = ::poll(p, signal_fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (signal_fd >= 0 && p[1].revents != 0)) break;
        char ch = 0;
        const ssize_t r = ::read(tty.get(), &ch, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r != 1) break;
        if (ch == '\n' || ch == '\r') {
            complete = true;
            break;
        }
        if (answer.size() < 1024) answer += ch;
    }
    if (restore) {
        ::tcsetattr(tty.get(), TCSAFLUSH, &old);
        (void)!::write(tty.get(), "\n", 1);
    }
    if (!complete) return std::nullopt;
    return answer;
}

namespace {

// SSH_ASKPASS_REQUIRE and the environment decide, as ssh's read_passphrase:
// "never" never, "force" always (with SSH_ASKPASS set), otherwise only
// without a terminal and with a display to show it on.
bool use_askpass(bool have_tty)
{
    const char* askpass = std::getenv("SSH_ASKPASS");
    if (askpass == nullptr || *askpass == '\0') return false;
    const char* require = std::getenv("SSH_ASKPASS_REQUIRE");
    const std::string req = require != nullptr ? require : "";
    if (req == "never") return false;
    if (req == "force") return true;
    const bool display = std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr;
    return display && (!have_tty || req == "prefer");
}

// Runs $SSH_ASKPASS PROMPT and reads its first line: the answer when it
// exits 0 (a yes/no question is answered by typing yes, as ssh's confirm
// through askpass). A signal on `signal_fd` ends it (SIGTERM) unanswered.
std::optional<std::string> ask_with_askpass(const std::string& prompt, int signal_fd)
{
    UniqueFd rd;
    UniqueFd wr;
    if (open_pipe(IoMode::blocking, rd, wr) != 0) return std::nullopt;
    const char* program = std::getenv("SSH_ASKPASS");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        ::dup2(wr.get(), STDOUT_FILENO);
        ::execlp(program, program, prompt.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    wr.reset();
    std::string out;
    bool stopped = false;
    for (;;) {
        struct pollfd p[2] = {{rd.get(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
        const int n = ::poll(p, signal_fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (signal_fd >= 0 && p[1].revents != 0) {
            stopped = true;
            ::kill(pid, SIGTERM);
            break;
        }
        char buf[256];
        const ssize_t r = ::read(rd.get(), buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (out.size() < 1024) out.append(buf, static_cast<std::size_t>(r));
    }
    rd.reset();
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (stopped || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return std::nullopt;
    out = out.substr(0, out.find_first_of("\r\n"));
    return out.substr(0, 1024);
}

} // namespace

std::optional<std::string> ask_user(const std::string& prompt, bool echo, int signal_fd)
{
    UniqueFd probe(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    const bool have_tty = static_cast<bool>(probe);
    probe.reset();
    if (use_askpass(have_tty)) return ask_with_askpass(prompt, signal_fd);
    return ask_on_terminal(prompt, echo, signal_fd);
}

bool relay_output(int from, int to)
{
    char buf[4096];
    const ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(buf[i]);
        // C0 and DEL, and every byte from 0x80: C1 controls (0x9b is CSI)
        // and their UTF-8 forms included.
        if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f) buf[i] = '?';
    }
    (void)!::write(to, buf, static_cast<std::size_t>(n));
    return true;
}

} // namespace feth::client
