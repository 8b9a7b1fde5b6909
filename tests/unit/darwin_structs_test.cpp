#include "tunnel/darwin_structs.hpp"

#include <string>

#include "catch.hpp"

using namespace feth::darwin;

TEST_CASE("if_fake_request matches xnu's layout", "[darwin]")
{
    CHECK(sizeof(IfFakeRequest) == 160);
    CHECK(offsetof(IfFakeRequest, u) == 32);
    CHECK(sizeof(IfFakeRequest::u) == 128);
    CHECK(kIfFakeSetCmdSetPeer == 1);
    CHECK(kIfFakeGetCmdGetPeer == 1);
}

TEST_CASE("a set-peer request is zeroed and carries the name", "[darwin]")
{
    IfFakeRequest r = make_set_peer_request("feth5000");
    for (auto word : r.reserved) CHECK(word == 0);
    CHECK(std::string(r.u.peer_name) == "feth5000");
    for (std::size_t i = 8; i < sizeof r.u.buf; ++i) CHECK(r.u.buf[i] == 0);
    CHECK(peer_name_of(r) == "feth5000");

    SECTION("an empty name unpeers")
    {
        IfFakeRequest empty = make_set_peer_request("");
        CHECK(empty.u.peer_name[0] == '\0');
        CHECK(peer_name_of(empty).empty());
    }
    SECTION("an over-long name is cut to IFNAMSIZ - 1 and stays terminated")
    {
        IfFakeRequest longer = make_set_peer_request("feth12345678901234567");
        CHECK(peer_name_of(longer).size() == kIfNameSize - 1);
        CHECK(longer.u.peer_name[kIfNameSize - 1] == '\0');
    }
    SECTION("an unterminated answer is read only within the field")
    {
        IfFakeRequest answer{};
        for (std::size_t i = 0; i < sizeof answer.u.buf; ++i) answer.u.buf[i] = 'x';
        CHECK(peer_name_of(answer).size() == kIfNameSize);
    }
}

TEST_CASE("sockaddr_ndrv matches xnu's layout", "[darwin]")
{
    CHECK(sizeof(SockaddrNdrv) == 18);
    SockaddrNdrv sa = make_sockaddr_ndrv("feth5003");
    CHECK(sa.snd_len == 18);
    CHECK(sa.snd_family == 27);
    CHECK(std::string(sa.snd_name) == "feth5003");
    CHECK(sa.snd_name[kIfNameSize - 1] == '\0');
}

TEST_CASE("feth and utun constants", "[darwin]")
{
    CHECK(std::string(kUtunControlName) == "com.apple.net.utun_control");
    CHECK(kUtunOptIfname == 2);
    CHECK(kDarwinAfInet6 == 30);
    CHECK(kFethLargestMaxMtu == 16384 - 14);
    CHECK(kFethDefaultMaxMtu == 2048);
}
