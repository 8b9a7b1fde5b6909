// A failed authentication takes as long for an unknown user as for a known
// one (N14): OpenSSH's auth2.c user_specific_delay() and
// ensure_minimum_time_since(). Every answer but a success is held until a
// per-user minimum has passed since the request arrived: 5 ms plus 0 to
// 4.2 ms drawn from SHA-512 of a secret and the user name, so the same
// name always waits the same (a known and an unknown name alike), and the
// work done for a known user (its authorized_keys) hides below it. A
// request that took longer than the minimum waits for the next doubling
// of it; one that took more than 5 s is not held further.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace feth::server {

using Seconds = std::chrono::duration<double>;

// The per-user minimum for `user` under `secret`: 5 ms to about 9.3 ms.
Seconds user_specific_delay(std::uint64_t secret, std::string_view user);

// How much longer to wait when `elapsed` has passed of `minimum`: the rest
// of the first doubling of `minimum` not yet passed; zero past 5 s.
Seconds remaining_delay(Seconds elapsed, Seconds minimum);

// A random secret made once per process (the monitor's connection).
std::uint64_t timing_secret();

// Sleeps until user_specific_delay(timing_secret(), user) has passed since
// `start`.
void ensure_minimum_time_since(std::chrono::steady_clock::time_point start, std::string_view user);

} // namespace feth::server
