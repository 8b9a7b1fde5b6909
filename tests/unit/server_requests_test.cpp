// feth-ssh refuses what a server opens towards it (client/server_requests):
// each open is answered at once with OPEN_FAILURE "administratively
// prohibited" and nothing is kept, so a flood of them leaves the client's
// memory flat (N16). The server is libssh's server API, over SessionPair.
#include <libssh/libssh.h>
#include <libssh/server.h>
#if defined(__APPLE__)
#include <malloc/malloc.h>
#else
#include <malloc.h>
#endif

#include <string>
#include <vector>

#include "catch.hpp"
#include "client/server_requests.hpp"
#include "ssh_session_pair.hpp"
#include "tunnel/ssh_handles.hpp"

using feth::test::SessionPair;

namespace {

constexpr int kRounds = 20000; // each at most 1 ms

// The server opens `count` forwarded-tcpip channels towards the client,
// `batch` at a time, each with a `host_bytes`-byte host name, and waits for
// every answer. Returns how many were refused as administratively
// prohibited (reason 1); -1 when an answer never came.
int flood(SessionPair& pair, int count, int batch, std::size_t host_bytes)
{
    const std::string host(host_bytes, 'h');
    int prohibited = 0;
    for (int done = 0; done < count; done += batch) {
        std::vector<feth::ChannelPtr> channels;
        std::vector<int> rc(static_cast<std::size_t>(batch), SSH_AGAIN);
        for (int i = 0; i < batch; ++i) channels.emplace_back(ssh_channel_new(pair.server()));
        const bool answered = pair.run(
            [&] {
                bool all = true;
                for (std::size_t i = 0; i < channels.size(); ++i) {
                    if (rc[i] == SSH_AGAIN)
                        rc[i] = ssh_channel_open_reverse_forward(channels[i].get(), host.c_str(), 8080,
                                                                 "198.18.0.1", 40000);
                    all = all && rc[i] != SSH_AGAIN;
                }
                return all;
            },
            [] { return 1; }, [] {}, kRounds);
        if (!answered) return -1;
        for (int r : rc)
            if (r == SSH_ERROR && std::string(ssh_get_error(pair.server())).find("error (1)") != std::string::npos)
                ++prohibited;
    }
    return prohibited;
}

// Bytes the allocator has handed out and not had back.
std::size_t heap_in_use()
{
#if defined(__APPLE__)
    return mstats().bytes_used;
#else
    return mallinfo2().uordblks;
#endif
}

} // namespace

TEST_CASE("feth-ssh refuses channels the server opens, at once and keeping nothing", "[client][server_requests]")
{
    SessionPair pair;
    feth::client::refuse_server_requests(pair.client());
    // Warm-up: libssh's buffers reach their working size.
    REQUIRE(flood(pair, 50, 50, 16 * 1024) == 50);
    const std::size_t before = heap_in_use();
    // 600 opens with 16 KiB host names: some 10 MiB if they were kept.
    CHECK(flood(pair, 600, 200, 16 * 1024) == 600);
    const std::size_t after = heap_in_use();
    INFO("heap in use before " << before << ", after " << after);
    CHECK(after < before + 2 * 1024 * 1024);
    // The tunnel channel is still open and the session up.
    CHECK(ssh_channel_is_open(pair.client_channel()));
    CHECK(ssh_is_connected(pair.client()));
}
