// libFuzzer target for the authorized_keys parser. It reports problems in
// `errors` and never throws; every key it returns must be well formed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/authorized_keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = feth::config::parse_authorized_keys(text);
    for (const auto& key : result.keys) {
        // Invariants the server relies on: a type, a blob, a real line.
        if (key.type.empty() || key.base64.empty() || key.line == 0) __builtin_trap();
        for (const auto& option : key.options)
            if (option.name.empty()) __builtin_trap();
        (void)feth::config::is_supported_key_type(key.type);
    }
    return 0;
}
