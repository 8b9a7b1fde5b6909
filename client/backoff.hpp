// The wait before each reconnect attempt (--reconnect): capped exponential
// backoff with jitter, so that a laptop's many clients coming back from the
// same outage do not knock on the server in step, and a server that keeps
// refusing (PermitTunnel, a unit still held by the stale session,
// PerSourcePenalties) is asked at most once a minute.
#pragma once

#include <chrono>
#include <random>

namespace feth::client {

class Backoff {
public:
    using milliseconds = std::chrono::milliseconds;
    static constexpr milliseconds kFirst{1000};
    static constexpr milliseconds kCap{60000};

    explicit Backoff(milliseconds first = kFirst, milliseconds cap = kCap) : first_(first), cap_(cap), nominal_(first) {}

    // The wait before the next attempt: the nominal delay (first, doubled
    // each time up to the cap) times a jitter from 0.75 to 1.25, kept within
    // [first, cap]. Counts the attempt.
    milliseconds next(std::mt19937& rng);

    // A tunnel was up: the next failure starts from `first` again.
    void reset()
    {
        nominal_ = first_;
        attempts_ = 0;
    }

    // Attempts since the last reset (1 for the first retry).
    unsigned attempts() const { return attempts_; }

private:
    milliseconds first_;
    milliseconds cap_;
    milliseconds nominal_;
    unsigned attempts_ = 0;
};

} // namespace feth::client
