// libFuzzer target for the authorized_keys parser. It reports problems in
// `errors` and never throws; every key it returns must be well formed.
// The same bytes go to the host certificate parser (client/host_cert),
// which must refuse or parse them without reading past them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/host_cert.hpp"
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
    std::string why;
    if (const auto cert = feth::client::parse_host_certificate(text, why)) {
        // What the signature covers is the start of the blob, the rest
        // the signature itself.
        if (text.substr(0, cert->signed_part.size()) != cert->signed_part ||
            cert->signed_part.size() + 4 + cert->signature.size() != size || cert->principals.size() > 256)
            __builtin_trap();
        (void)feth::client::certificate_host_problem(*cert, "host.example", 1700000000);
        (void)feth::client::certificate_signature_problem(*cert);
    } else if (why.empty()) {
        __builtin_trap();
    }
    return 0;
}
