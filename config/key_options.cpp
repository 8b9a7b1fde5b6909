#include "config/key_options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "config/match.hpp"
#include "config/openssh_syntax.hpp"
#include "tunnel/wire.hpp"

namespace feth::config {
namespace {

using syntax::iequals;

// OpenSSH's SSH_AUTHOPT_ENV_MAX and SSH_AUTHOPT_PERMIT_MAX.
constexpr std::size_t kEnvMax = 1024;
constexpr std::size_t kPermitMax = 4096;

bool is_digits(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// a2tun without the remote part: "any" or 0..SSH_TUNID_MAX.
std::optional<std::uint32_t> parse_tun(std::string_view s)
{
    if (iequals(s, "any")) return kTunUnitAny;
    if (!is_digits(s) || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > kTunUnitMax) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

bool valid_env_name(std::string_view name)
{
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// handle_permit's syntax check: host:port, port a number 1..65535 or '*';
// permitlisten also takes a bare port.
bool valid_permit(std::string value, bool allow_bare_port)
{
    if (allow_bare_port && value.find(':') == std::string::npos) value = "*:" + value;
    std::string host, port;
    if (!value.empty() && value.front() == '[') {
        auto close = value.find(']');
        if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') return false;
        host = value.substr(1, close - 1);
        port = value.substr(close + 2);
    } else {
        auto colon = value.find(':');
        if (colon == std::string::npos) return false;
        host = value.substr(0, colon);
        port = value.substr(colon + 1);
    }
    if (host.empty() || host.size() >= 1025) return false;
    if (port == "*") return true;
    if (!is_digits(port) || port.size() > 5) return false;
    unsigned p = static_cast<unsigned>(std::stoul(port));
    return p >= 1 && p <= 65535;
}

struct Flag {
    std::string_view name;
    bool negatable;
};

} // namespace

std::optional<KeyOptions> evaluate_key_options(const std::vector<KeyOption>& options, std::string& error)
{
    KeyOptions out;
    error.clear();
    auto fail = [&](const char* why) {
        error = why;
        return std::nullopt;
    };
    for (const auto& opt : options) {
        std::string_view name = opt.name; // already lower-cased by the parser
        if (!opt.value) {
            // Flags. A flag with a value, or a value option without one, is
            // "unknown key option" in OpenSSH's grammar.
            bool negate = false;
            std::string_view base = name;
            if (base.starts_with("no-")) {
                negate = true;
                base.remove_prefix(3);
            }
            if (!negate && base == "restrict") {
                out.restricted = true;
                out.port_forwarding = out.agent_forwarding = out.x11_forwarding = out.pty = out.user_rc = false;
            } else if (!negate && base == "cert-authority") {
                out.cert_authority = true;
            } else if (base == "port-forwarding") {
                out.port_forwarding = !negate;
            } else if (base == "agent-forwarding") {
                out.agent_forwarding = !negate;
            } else if (base == "x11-forwarding") {
                out.x11_forwarding = !negate;
            } else if (base == "touch-required") {
                out.no_require_user_presence = negate;
            } else if (base == "verify-required") {
                out.require_verify = !negate;
            } else if (base == "pty") {
                out.pty = !negate;
            } else if (base == "user-rc") {
                out.user_rc = !negate;
            } else {
                return fail("unknown key option");
            }
            continue;
        }
        const std::string& value = *opt.value;
        if (name == "command") {
            if (out.command) return fail("multiple \"command\" clauses");
            out.command = value;
        } else if (name == "principals") {
            if (out.principals) return fail("multiple \"principals\" clauses");
            out.principals = value;
        } else if (name == "from") {
            if (out.from) return fail("multiple \"from\" clauses");
            out.from = value;
        } else if (name == "expiry-time") {
            auto t = parse_expiry_time(value);
            if (!t || *t == 0) return fail("invalid expires time");
            if (out.valid_before == 0 || *t < out.valid_before) out.valid_before = *t;
        } else if (name == "environment") {
            if (out.environment.size() > kEnvMax) return fail("too many environment strings");
            auto eq = value.find('=');
            if (eq == std::string::npos || !valid_env_name(std::string_view(value).substr(0, eq)))
                return fail("invalid environment string");
            std::string_view var = std::string_view(value).substr(0, eq + 1);
            bool dup = std::any_of(out.environment.begin(), out.environment.end(),
                                   [&](const std::string& e) { return e.starts_with(var); });
            if (!dup) out.environment.push_back(value); // first match wins
        } else if (name == "permitopen" || name == "permitlisten") {
            auto& list = name == "permitopen" ? out.permitopen : out.permitlisten;
            if (list.size() > kPermitMax) return fail("too many permission directives");
            if (!valid_permit(value, name == "permitlisten")) return fail("invalid permission port");
            list.push_back(value);
        } else if (name == "tunnel") {
            auto unit = parse_tun(value);
            if (!unit) return fail("invalid tun device");
            out.tunnel = *unit; // the last one wins, as in OpenSSH
        } else {
            return fail("unknown key option");
        }
    }
    return out;
}

std::optional<std::uint64_t> parse_expiry_time(std::string_view s)
{
    bool utc = false;
    if (s.size() > 1 && (s.back() == 'Z' || s.back() == 'z')) {
        utc = true;
        s.remove_suffix(1);
    } else if (s.size() > 3 && iequals(s.substr(s.size() - 3), "UTC")) {
        utc = true;
        s.remove_suffix(3);
    }
    if ((s.size() != 8 && s.size() != 12 && s.size() != 14) || !is_digits(s)) return std::nullopt;
    auto num = [&](std::size_t at, std::size_t len) {
        int v = 0;
        for (std::size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(4, 2) - 1;
    tm.tm_mday = num(6, 2);
    if (s.size() >= 12) {
        tm.tm_hour = num(8, 2);
        tm.tm_min = num(10, 2);
    }
    if (s.size() == 14) tm.tm_sec = num(12, 2);
    // strptime's ranges: a month 1-12, a day 1-31, hour 0-23, minute 0-59,
    // second 0-60 (it accepts a leap second).
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    tm.tm_isdst = -1;
    tm.tm_wday = -1;
    std::time_t t = utc ? ::timegm(&tm) : std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) && tm.tm_wday == -1) return std::nullopt;
    if (t < 0) return std::nullopt;
    return static_cast<std::uint64_t>(t);
}

bool authorise_key(const KeyOptions& o, std::string_view user, std::string_view ip, std::string_view host,
                   std::time_t now, std::string_view loc, std::string& log)
{
    log.clear();
    const std::string where(loc);
    if (o.valid_before != 0 && now > 0 && o.valid_before < static_cast<std::uint64_t>(now)) {
        std::time_t t = static_cast<std::time_t>(o.valid_before);
        std::tm tm{};
        char buf[64] = "?";
        if (::localtime_r(&t, &tm) != nullptr) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        log = where + ": entry expired at " + buf;
        return false;
    }
    if (o.principals && !o.cert_authority) {
        log = where + ": principals on non-CA key";
        return false;
    }
    if (o.cert_authority) {
        // A CA line never matches a plain key in OpenSSH; we accept no certificates.
        log = where + ": cert-authority key: certificates are not supported";
        return false;
    }
    if (o.from) {
        int m = match_host_and_ip(host, ip, *o.from);
        if (m != 1) {
            if (m == -1) log = where + ": invalid from criteria; ";
            log += where + ": Authentication tried for " + std::string(user).substr(0, 100) +
                   " with correct key but not from a permitted host (host=" + std::string(host).substr(0, 200) +
                   ", ip=" + std::string(ip).substr(0, 200) + ", required=" + o.from->substr(0, 200) + ").";
            return false;
        }
    }
    return true;
}

} // namespace feth::config
