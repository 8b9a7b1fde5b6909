// The shared status table's MaxTunnels count (server/status.cpp).
#include <string>

#include "catch.hpp"
#include "server/status.hpp"

TEST_CASE("status table: MaxTunnels counts users whose name has 64 bytes or more", "[status]")
{
    feth::server::create_status_table();
    for (std::size_t length : {63u, 64u, 70u, 255u}) {
        const std::string user(length, 'u');
        unsigned in_use = 0;
        auto first = feth::server::StatusSlot::reserve(user, "198.18.0.2", 51000, 1, in_use);
        REQUIRE(first);
        CHECK(first->in_table());
        CHECK(in_use == 0);
        auto second = feth::server::StatusSlot::reserve(user, "198.18.0.2", 51001, 1, in_use);
        CHECK_FALSE(second); // the limit of 1 is reached
        CHECK(in_use == 1);
        // A name that differs only past byte 64 is another user.
        const std::string other = user.substr(0, length - 1) + "v";
        auto theirs = feth::server::StatusSlot::reserve(other, "198.18.0.2", 51002, 1, in_use);
        CHECK(theirs);
        CHECK(in_use == 0);
    }
}
