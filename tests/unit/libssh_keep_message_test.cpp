// libssh patch 0007: a message callback that returns SSH_MESSAGE_KEEP keeps
// the message; libssh neither answers nor frees it, the session keeps
// working, and the application answers (accept or refuse) later.
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"
#include "ssh_session_pair.hpp"
#include "tunnel/ssh_handles.hpp"

using feth::test::SessionPair;

namespace {

using feth::MessagePtr;

struct Keeper {
    std::vector<MessagePtr> kept;
    static int on_message(ssh_session, ssh_message msg, void* userdata)
    {
        if (ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN || ssh_message_subtype(msg) != SSH_CHANNEL_TUN)
            return 1;
        static_cast<Keeper*>(userdata)->kept.emplace_back(msg);
        return SSH_MESSAGE_KEEP;
    }
};

constexpr int kRounds = 500; // each at most 20 ms

// Steps the client's open of `channel` and both events until it is no
// longer SSH_AGAIN or `rounds` ran; returns the last result.
int step_open(SessionPair& pair, ssh_channel channel, int rounds, const std::function<bool()>& stop = {})
{
    int rc = SSH_AGAIN;
    pair.run(
        [&] {
            rc = ssh_channel_open_tun(channel, SSH_TUN_MODE_ETHERNET, 1);
            return rc != SSH_AGAIN || (stop && stop());
        },
        [] { return 20; }, [] {}, rounds);
    return rc;
}

} // namespace

TEST_CASE("libssh 0007: a kept channel open is answered later; the session works meanwhile", "[libssh][keep]")
{
    SessionPair pair;
    Keeper keeper;
    ssh_set_message_callback(pair.server(), &Keeper::on_message, &keeper);

    feth::ChannelPtr second(ssh_channel_new(pair.client()));
    REQUIRE(second);
    // The open reaches the server, which keeps it: no answer, so the
    // client's open stays pending.
    int rc = step_open(pair, second.get(), kRounds, [&] { return !keeper.kept.empty(); });
    REQUIRE(keeper.kept.size() == 1);
    for (int i = 0; i < 20 && rc == SSH_AGAIN; ++i) rc = step_open(pair, second.get(), 1);
    CHECK(rc == SSH_AGAIN);

    // The first channel carries data both ways meanwhile.
    const std::string ping = "frame while the open waits";
    REQUIRE(ssh_channel_write(pair.client_channel(), ping.data(), static_cast<uint32_t>(ping.size())) ==
            static_cast<int>(ping.size()));
    std::string got;
    pair.run(
        [&] {
            char buf[256];
            int n = ssh_channel_read_nonblocking(pair.server_channel(), buf, sizeof buf, 0);
            if (n > 0) got.append(buf, static_cast<std::size_t>(n));
            return got.size() >= ping.size();
        },
        [] { return 20; }, [] {}, kRounds);
    CHECK(got == ping);
    CHECK(ssh_send_keepalive(pair.server()) == SSH_OK);

    // Now the answer: accepted, the client's channel opens.
    feth::ChannelPtr accepted(ssh_message_channel_request_open_reply_accept(keeper.kept.front().get()));
    REQUIRE(accepted);
    keeper.kept.clear(); // ours to free
    rc = step_open(pair, second.get(), kRounds);
    CHECK(rc == SSH_OK);
    CHECK(ssh_channel_is_open(second.get()));
}

TEST_CASE("libssh 0007: a kept channel open refused later fails the client's open", "[libssh][keep]")
{
    SessionPair pair;
    Keeper keeper;
    ssh_set_message_callback(pair.server(), &Keeper::on_message, &keeper);
    feth::ChannelPtr second(ssh_channel_new(pair.client()));
    REQUIRE(second);
    int rc = step_open(pair, second.get(), kRounds, [&] { return !keeper.kept.empty(); });
    REQUIRE(keeper.kept.size() == 1);
    CHECK(rc == SSH_AGAIN);
    REQUIRE(ssh_message_reply_default(keeper.kept.front().get()) == SSH_OK);
    keeper.kept.clear();
    rc = step_open(pair, second.get(), kRounds);
    CHECK(rc == SSH_ERROR);
    // The session is still up: the first channel is open.
    CHECK(ssh_channel_is_open(pair.client_channel()));
}

TEST_CASE("libssh 0007: 0 and 1 keep their meaning", "[libssh][keep]")
{
    SessionPair pair;
    // 1: libssh refuses (SessionPair's own callback refuses a second tunnel).
    feth::ChannelPtr second(ssh_channel_new(pair.client()));
    REQUIRE(second);
    CHECK(step_open(pair, second.get(), kRounds) == SSH_ERROR);
}
