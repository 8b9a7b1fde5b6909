#include "privsep_terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

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
    (void)!::write(tty.get(), prompt.data(), prompt.size());
    struct termios old {};
    const bool restore = !echo && ::tcgetattr(tty.get(), &old) == 0;
    if (restore) {
        struct termios quiet = old;
        quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
        ::tcsetattr(tty.get(), TCSAFLUSH, &quiet);
    }
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
