// server/auth_delay: OpenSSH's user_specific_delay and
// ensure_minimum_time_since arithmetic (no clock involved).
#include "catch.hpp"
#include "server/auth_delay.hpp"

using feth::server::remaining_delay;
using feth::server::Seconds;
using feth::server::user_specific_delay;

TEST_CASE("auth delay: a per-user minimum of 5 to 9.3 ms, the same for a name whatever the account", "[auth]")
{
    for (const char* user : {"root", "alice", "no-such-user", ""}) {
        const Seconds d = user_specific_delay(42, user);
        CHECK(d.count() >= 0.005);
        CHECK(d.count() < 0.005 + 4.3e-3);
        CHECK(user_specific_delay(42, user) == d); // stable for a name
    }
    // The secret changes it (a name's delay is not known outside).
    bool differs = false;
    for (std::uint64_t secret = 1; secret < 20 && !differs; ++secret)
        differs = user_specific_delay(secret, "alice") != user_specific_delay(0, "alice");
    CHECK(differs);
}

TEST_CASE("auth delay: the rest of the minimum, doubled once passed, nothing past 5 s", "[auth]")
{
    const Seconds min{0.006};
    CHECK(remaining_delay(Seconds(0.001), min).count() == Approx(0.005));
    CHECK(remaining_delay(Seconds(0.0), min).count() == Approx(0.006));
    CHECK(remaining_delay(Seconds(0.007), min).count() == Approx(0.005)); // to 12 ms
    CHECK(remaining_delay(Seconds(0.030), min).count() == Approx(0.018)); // to 48 ms
    CHECK(remaining_delay(Seconds(5.5), min).count() == 0);
}
