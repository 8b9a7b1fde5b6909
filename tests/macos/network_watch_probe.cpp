// The macOS workflow's probe of the network watch (.github/workflows/macos.yml,
// "The network watch sees an interface come"): opens the watch feth-ssh
// opens with --reconnect (client/network_watch_darwin.cpp on a Mac), says
// "watching" once it is open, and waits for it to report a change, which
// it prints as one line. The watch's debug lines (on stderr) name what
// changed, e.g. "network change: State:/Network/Interface/feth7/IPv4".
//
// Usage: network_watch_probe [SECONDS]  (default 60)
// Exit 0: a change was reported; 1: none within SECONDS; 2: the watch could
// not be opened (the reason is on stderr).
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/log.hpp"
#include "client/network_watch.hpp"

int main(int argc, char** argv)
{
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
    if (seconds <= 0) {
        std::fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
        return 2;
    }
    feth::log::Options lo;
    lo.ident = "network_watch_probe";
    lo.level = feth::log::Level::Debug1;
    feth::log::configure(lo);
    const auto watch = feth::client::open_network_watch(""); // no tunnel: every interface counts
    if (!watch) {
        std::fprintf(stderr, "network_watch_probe: the network watch could not be opened\n");
        return 2;
    }
    std::printf("watching\n");
    std::fflush(stdout);
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto until = start + std::chrono::seconds(seconds);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0) break;
        pollfd p{watch->fd(), POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno != EINTR) {
            std::perror("network_watch_probe: poll");
            return 2;
        }
        if (n > 0 && watch->changed()) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
            std::printf("network change reported after %lld ms\n", static_cast<long long>(ms));
            return 0;
        }
    }
    std::fprintf(stderr, "network_watch_probe: no network change within %d s\n", seconds);
    return 1;
}
