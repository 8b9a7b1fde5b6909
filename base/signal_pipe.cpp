#include "signal_pipe.hpp"

#include <unistd.h>

#include <cerrno>

#include "error.hpp"

namespace feth {
namespace {

volatile sig_atomic_t g_write_fd = -1;

extern "C" void on_signal(int sig)
{
    int saved = errno;
    unsigned char byte = static_cast<unsigned char>(sig);
    if (g_write_fd >= 0) (void)!::write(g_write_fd, &byte, 1);
    errno = saved;
}

} // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals) : signals_(signals)
{
    if (open_pipe(IoMode::nonblocking, read_end_, write_end_) != 0) throw_errno("signal pipe", "pipe");
    g_write_fd = write_end_.get();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : signals_) {
        if (::sigaction(sig, &sa, nullptr) != 0) throw_errno("signal pipe", "sigaction");
    }
}

SignalPipe::~SignalPipe() { release_in_child(); }

void SignalPipe::release_in_child()
{
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig : signals_) ::sigaction(sig, &sa, nullptr);
    signals_.clear();
    g_write_fd = -1;
    read_end_.reset();
    write_end_.reset();
}

int SignalPipe::next()
{
    unsigned char byte = 0;
    for (;;) {
        ssize_t n = ::read(read_end_.get(), &byte, 1);
        if (n == 1) return byte;
        if (n < 0 && errno == EINTR) continue;
        return 0;
    }
}

} // namespace feth
