// Logging in sshd's levels and wording. One sink per process: stderr (-e or
// foreground tools) or syslog. Nothing on the data path logs per frame.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace feth::log {

enum class Level { Quiet = 0, Fatal, Error, Info, Verbose, Debug1, Debug2, Debug3 };

// Parses sshd's LogLevel names (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG,
// DEBUG1, DEBUG2, DEBUG3), case-insensitively.
std::optional<Level> parse_level(std::string_view name);
const char* level_name(Level level);

struct Options {
    Level level = Level::Info;
    bool to_stderr = true;
    std::string ident = "feth";
};

void configure(const Options& options);
// Once stderr is /dev/null (a detached process): syslog only, under
// `ident`, at the current level.
void to_syslog_only(const std::string& ident);
Level level();
bool enabled(Level level);

// A prefix such as "[preauth]"-style context set per connection process.
void set_suffix(std::string suffix);

// Authentication lines go to syslog's auth facility so that tools that read
// sshd's auth log (fail2ban) see them.
void write(Level level, bool auth, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// A line another process logged, already made printable by the caller
// (the connection child's, relayed by its monitor: server/child_log.hpp):
// written as it is, with neither prefix nor suffix, to stderr, or to
// syslog at Level::Info's priority (LOG_INFO; LOG_NOTICE on macOS).
void write_verbatim(const std::string& line);

} // namespace feth::log

#define FETH_LOG(lvl, ...)                                                                         \
    do {                                                                                           \
        if (::feth::log::enabled(lvl)) ::feth::log::write(lvl, false, __VA_ARGS__);                 \
    } while (0)
#define LOG_FATAL(...) FETH_LOG(::feth::log::Level::Fatal, __VA_ARGS__)
#define LOG_ERROR(...) FETH_LOG(::feth::log::Level::Error, __VA_ARGS__)
#define LOG_INFO(...) FETH_LOG(::feth::log::Level::Info, __VA_ARGS__)
#define LOG_VERBOSE(...) FETH_LOG(::feth::log::Level::Verbose, __VA_ARGS__)
#define LOG_DEBUG(...) FETH_LOG(::feth::log::Level::Debug1, __VA_ARGS__)
#define LOG_DEBUG2(...) FETH_LOG(::feth::log::Level::Debug2, __VA_ARGS__)
#define LOG_AUTH(...)                                                                              \
    do {                                                                                           \
        if (::feth::log::enabled(::feth::log::Level::Info))                                        \
            ::feth::log::write(::feth::log::Level::Info, true, __VA_ARGS__);                      \
    } while (0)
