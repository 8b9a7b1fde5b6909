#include "auth_delay.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::server {
namespace {

constexpr Seconds kMinFailDelay{0.005};
constexpr Seconds kMaxFailDelay{5.0};

} // namespace

Seconds user_specific_delay(std::uint64_t secret, std::string_view user)
{
    const std::string text = std::to_string(secret) + std::string(user);
    std::array<unsigned char, 64> hash{};
    unsigned int len = 0;
    if (EVP_Digest(text.data(), text.size(), hash.data(), &len, EVP_sha512(), nullptr) != 1 || len != hash.size())
        throw InputError("user_specific_delay: SHA-512 failed");
    // The hash's first 32 bits, big-endian, as picoseconds: 0 to 4.2 ms.
    const std::uint32_t peek = (std::uint32_t{hash[0]} << 24) | (std::uint32_t{hash[1]} << 16) |
                               (std::uint32_t{hash[2]} << 8) | std::uint32_t{hash[3]};
    return kMinFailDelay + Seconds(static_cast<double>(peek) / 1e12);
}

Seconds remaining_delay(Seconds elapsed, Seconds minimum)
{
    if (elapsed > kMaxFailDelay) return Seconds(0);
    Seconds target = minimum;
    while (target - elapsed < Seconds(0)) target *= 2;
    return target - elapsed;
}

std::uint64_t timing_secret()
{
    static const std::uint64_t secret = [] {
        std::uint64_t s = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&s), sizeof s) != 1)
            throw InputError("timing secret: RAND_bytes failed");
        return s;
    }();
    return secret;
}

void ensure_minimum_time_since(std::chrono::steady_clock::time_point start, std::string_view user)
{
    const Seconds minimum = user_specific_delay(timing_secret(), user);
    const Seconds remain = remaining_delay(std::chrono::steady_clock::now() - start, minimum);
    FETH_LOG(::feth::log::Level::Debug3, "user specific delay %.3f ms, waiting %.3f ms", minimum.count() * 1000, remain.count() * 1000);
    if (remain > Seconds(0)) std::this_thread::sleep_for(remain);
}

} // namespace feth::server
