// --reconnect's backoff (client/backoff.hpp): 1 s doubling to 60 s, with
// jitter, never outside [1 s, 60 s], and back to 1 s after a tunnel was up.
#include "client/backoff.hpp"

#include <algorithm>

#include "catch.hpp"

using feth::client::Backoff;
using std::chrono::milliseconds;

TEST_CASE("backoff doubles from 1 s to a 60 s cap, jittered within bounds", "[backoff]")
{
    std::mt19937 rng(29);
    for (int run = 0; run < 200; ++run) {
        Backoff b;
        milliseconds nominal{1000};
        for (int i = 0; i < 12; ++i) {
            const milliseconds w = b.next(rng);
            CHECK(w >= Backoff::kFirst);
            CHECK(w <= Backoff::kCap);
            CHECK(w.count() >= nominal.count() * 3 / 4);
            CHECK(w.count() <= nominal.count() * 5 / 4);
            nominal = std::min(nominal * 2, Backoff::kCap);
        }
        CHECK(b.attempts() == 12);
    }
}

TEST_CASE("backoff jitter spreads the waits", "[backoff]")
{
    std::mt19937 rng(7);
    Backoff a;
    for (int i = 0; i < 8; ++i) a.next(rng); // at the cap
    milliseconds lo = Backoff::kCap, hi{0};
    for (int i = 0; i < 100; ++i) {
        const milliseconds w = a.next(rng);
        lo = std::min(lo, w);
        hi = std::max(hi, w);
    }
    CHECK(hi == Backoff::kCap);           // clamped at 60 s
    CHECK(lo < milliseconds(50000));      // not all the same wait
}

TEST_CASE("backoff starts over after reset", "[backoff]")
{
    std::mt19937 rng(1);
    Backoff b;
    for (int i = 0; i < 10; ++i) b.next(rng);
    b.reset();
    CHECK(b.attempts() == 0);
    const milliseconds w = b.next(rng);
    CHECK(w >= milliseconds(1000));
    CHECK(w <= milliseconds(1250));
    CHECK(b.attempts() == 1);
}
