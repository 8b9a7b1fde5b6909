// authorized_keys lines, their options and the address matching of from=:
// parse, evaluate and decide for every input; nothing may crash, hang or
// leak. The first line is also used as a from= list against fixed peers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/authorized_keys.hpp"
#include "config/key_options.hpp"
#include "server/tunnel_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = feth::config::parse_authorized_keys(text);
    for (const auto& key : parsed.keys) {
        std::string error;
        auto options = feth::config::evaluate_key_options(key.options, error);
        if (!options) continue;
        std::string log;
        (void)feth::config::authorise_key(*options, "user", "198.18.0.2", "198.18.0.2", 1700000000, "fuzz:1", log);
        (void)feth::server::decide_tunnel({2, 0x7fffffff}, 3, &*options, 0);
        (void)feth::server::decide_tunnel({1, 0}, 1, &*options, 0);
    }
    std::string_view first = text.substr(0, text.find('\n'));
    if (first.size() <= 4096) {
        (void)feth::config::match_host_and_ip("198.18.0.2", "198.18.0.2", first);
        (void)feth::config::match_host_and_ip("2001:db8::1", "2001:db8::1", first);
        (void)feth::config::parse_expiry_time(first);
    }
    return 0;
}
