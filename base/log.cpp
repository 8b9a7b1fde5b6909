#include "log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <strings.h>

namespace feth::log {
namespace {

struct State {
    Options options;
    std::string suffix;
    bool syslog_open = false;
};

State& state()
{
    static State s;
    return s;
}

// The syslog priority of Level::Info lines (authentication, tunnels up and
// down, refusals) and of relayed ones. macOS's syslog(3) is a shim onto the
// unified log, which keeps (persists) what arrives at LOG_NOTICE or above
// and holds LOG_INFO in memory only (libsystem_asl's syslog.c,
// shim_syslog_to_log_type): at LOG_INFO those lines would be missing from
// `log show` afterwards. Linux's syslog daemons and journald keep
// LOG_INFO, where sshd logs them.
#if defined(__APPLE__)
constexpr int kInfoPriority = LOG_NOTICE;
#else
constexpr int kInfoPriority = LOG_INFO;
#endif

int syslog_priority(Level level)
{
    switch (level) {
    case Level::Fatal: return LOG_CRIT;
    case Level::Error: return LOG_ERR;
    case Level::Info: return kInfoPriority;
    case Level::Verbose: return LOG_INFO;
    default: return LOG_DEBUG;
    }
}

} // namespace

std::optional<Level> parse_level(std::string_view name)
{
    static constexpr struct {
        const char* name;
        Level level;
    } names[] = {
        {"QUIET", Level::Quiet},   {"FATAL", Level::Fatal},   {"ERROR", Level::Error},
        {"INFO", Level::Info},     {"VERBOSE", Level::Verbose}, {"DEBUG", Level::Debug1},
        {"DEBUG1", Level::Debug1}, {"DEBUG2", Level::Debug2}, {"DEBUG3", Level::Debug3},
    };
    for (const auto& n : names) {
        if (name.size() == std::strlen(n.name) && ::strncasecmp(name.data(), n.name, name.size()) == 0)
            return n.level;
    }
    return std::nullopt;
}

const char* level_name(Level level)
{
    switch (level) {
    case Level::Quiet: return "QUIET";
    case Level::Fatal: return "FATAL";
    case Level::Error: return "ERROR";
    case Level::Info: return "INFO";
    case Level::Verbose: return "VERBOSE";
    case Level::Debug1: return "DEBUG1";
    case Level::Debug2: return "DEBUG2";
    case Level::Debug3: return "DEBUG3";
    }
    return "INFO";
}

void configure(const Options& options)
{
    State& s = state();
    if (s.syslog_open) {
        ::closelog();
        s.syslog_open = false;
    }
    s.options = options;
    if (!options.to_stderr) {
        ::openlog(s.options.ident.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
        s.syslog_open = true;
    }
}

void to_syslog_only(const std::string& ident)
{
    Options o;
    o.level = level();
    o.to_stderr = false;
    o.ident = ident;
    configure(o);
}

Level level() { return state().options.level; }

bool enabled(Level lvl)
{
    return lvl != Level::Quiet && static_cast<int>(lvl) <= static_cast<int>(state().options.level);
}

void set_suffix(std::string suffix) { state().suffix = std::move(suffix); }

namespace {

std::string visible(std::string_view raw)
{
    std::string out;
    out.reserve(raw.size());
    for (unsigned char c : raw) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            continue;
        }
        switch (c) {
        case '\n': out += "\\n"; continue;
        case '\r': out += "\\r"; continue;
        case '\t': out += "\\t"; continue;
        default: break;
        }
        char oct[5];
        std::snprintf(oct, sizeof oct, "\\%03o", static_cast<unsigned>(c));
        out += oct;
    }
    return out;
}

} // namespace

void write(Level lvl, bool auth, const char* fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    // Peer-supplied strings (user names, banners) end up in log lines: never
    // let control characters forge extra lines or terminal escapes, nor
    // 8-bit bytes pass (C1 controls such as 0x9b, CSI on 8-bit terminals;
    // bidi or invisible characters): escaped as OpenSSH's log.c does with
    // strnvis (VIS_CSTYLE | VIS_OCTAL, N15).
    const std::string text = visible(msg);
    const State& s = state();
    if (s.options.to_stderr) {
        const char* prefix = "";
        if (lvl >= Level::Debug1) prefix = "debug: ";
        else if (lvl == Level::Error || lvl == Level::Fatal) prefix = "error: ";
        std::fprintf(stderr, "%s%s%s%s\n", prefix, text.c_str(), s.suffix.empty() ? "" : " ", s.suffix.c_str());
        std::fflush(stderr);
    } else {
        int facility = auth ? LOG_AUTH : LOG_DAEMON;
        ::syslog(facility | syslog_priority(lvl), "%s%s%s", text.c_str(), s.suffix.empty() ? "" : " ",
                 s.suffix.c_str());
    }
}

void write_verbatim(const std::string& line)
{
    const State& s = state();
    if (s.options.to_stderr) {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
    } else {
        ::syslog(LOG_DAEMON | kInfoPriority, "%s", line.c_str());
    }
}

} // namespace feth::log
