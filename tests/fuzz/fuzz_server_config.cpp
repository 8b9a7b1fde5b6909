// libFuzzer target for the sshd_config parser: the whole input as a config
// file, its first line as a -o option and as a user name for AllowUsers and
// AuthorizedKeysFile expansion. Input errors are expected; anything else
// (crash, leak, sanitizer report, other exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/server_config.hpp"
#include "base/error.hpp"

namespace {

void exercise(std::string_view text, std::string_view first_line)
{
    using namespace feth::config;
    ServerConfig config;
    ConfigParser parser(config);
    try {
        parser.apply_option(first_line);
    } catch (const feth::InputError&) {
    }
    try {
        parser.apply_text(text, "fuzz");
        parser.finish();
    } catch (const feth::InputError&) {
        return;
    }
    for (const auto& e : config.listen)
        if (e.port == 0) __builtin_trap(); // finish() must give every endpoint a port
    (void)user_allowed(config.allow_users, first_line);
    for (const auto& pattern : config.authorized_keys_files) {
        try {
            (void)expand_authorized_keys_path(pattern, first_line, "/home/fuzz");
        } catch (const feth::InputError&) {
            __builtin_trap(); // the parser validated the escapes already
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string_view first_line = text.substr(0, text.find('\n'));
    try {
        (void)feth::config::split_arguments(first_line);
    } catch (const feth::InputError&) {
    }
    exercise(text, first_line);
    return 0;
}
