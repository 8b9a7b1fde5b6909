// ssh_config text as a user's file (or an attacker's, through Include) may
// hold it. Include is resolved against an empty temporary home, so fuzz
// input never reads real files.
#include <unistd.h>

#include <cstdint>
#include <string>

#include "config/client_config.hpp"
#include "tunnel/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::string home = [] {
        char tmpl[] = "/tmp/feth-fuzz-home-XXXXXX";
        const char* dir = ::mkdtemp(tmpl);
        return std::string(dir != nullptr ? dir : "/nonexistent");
    }();
    feth::config::ClientConfig c;
    feth::config::ClientConfigParser p(c, "fuzz.example", home);
    try {
        p.apply_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
        feth::config::resolve_defaults(c, "fuzz.example", "fuzzer", home);
    } catch (const feth::InputError&) {
    } catch (const feth::SystemError&) {
    }
    return 0;
}
