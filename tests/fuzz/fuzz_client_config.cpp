// ssh_config text as a user's file (or an attacker's, through Include) may
// hold it. Include is resolved against an empty temporary home and confined
// to it, so fuzz input never reads real files (an absolute or ../ Include
// is skipped as if missing).
#include <unistd.h>

#include <cstdint>
#include <string>

#include "config/client_config.hpp"
#include "base/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::string home = [] {
        char tmpl[] = "/tmp/feth-fuzz-home-XXXXXX";
        const char* dir = ::mkdtemp(tmpl);
        return std::string(dir != nullptr ? dir : "/nonexistent");
    }();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    feth::config::ClientConfig c;
    feth::config::ClientConfigParser p(c, "fuzz.example", home, "fuzzer");
    p.confine_includes_to_home(true);
    try {
        // The first line also goes in as a -o option, the rest as a file.
        p.apply_option(text.substr(0, text.find('\n')));
    } catch (const feth::InputError&) {
    }
    try {
        p.apply_text(text, "fuzz");
        feth::config::resolve_defaults(c, "fuzz.example", "fuzzer", home);
    } catch (const feth::InputError&) {
    } catch (const feth::SystemError&) {
    }
    return 0;
}
