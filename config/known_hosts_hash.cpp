#include "config/known_hosts_hash.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

#include "base/error.hpp"

namespace feth::config {
namespace {

std::string base64(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

} // namespace

std::string hashed_known_hosts_name(std::string_view name, std::string_view salt)
{
    constexpr std::size_t kSaltLength = 20; // SHA-1's length, as ssh
    std::array<unsigned char, kSaltLength> random{};
    if (salt.empty()) {
        if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
            throw InputError("HashKnownHosts: no random salt (RAND_bytes failed)");
        salt = std::string_view(reinterpret_cast<const char*>(random.data()), random.size());
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
             name.size(), mac.data(), &mac_len) == nullptr)
        throw InputError("HashKnownHosts: HMAC-SHA1 failed");
    return "|1|" + base64(salt) + "|" + base64(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_len));
}

} // namespace feth::config
