// The value syntaxes ssh_config keywords share (client_values.hpp).
#include "config/client_values.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstdlib>

#include "base/error.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"

namespace feth::config::client_values {

using syntax::iequals;

// A command keyword's value is the rest of the line, verbatim (quotes and
// all, for /bin/sh), as ssh takes LocalCommand: after the keyword and its
// separator (spaces, or one '=' with spaces around it).
std::string rest_of_line(std::string_view line)
{
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos) return {};
    i = line.find_first_of(" \t=", i);
    if (i == std::string_view::npos) return {};
    i = line.find_first_not_of(" \t", i);
    if (i != std::string_view::npos && line[i] == '=') i = line.find_first_not_of(" \t", i + 1);
    if (i == std::string_view::npos) return {};
    std::string_view v = line.substr(i);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
    return std::string(v);
}

std::optional<bool> parse_flag(std::string_view v)
{
    if (iequals(v, "yes") || iequals(v, "true")) return true;
    if (iequals(v, "no") || iequals(v, "false")) return false;
    return std::nullopt;
}

namespace {

// The port of a TCP service name from the services database. getaddrinfo
// with no host looks only the service up (no DNS), and unlike getservbyname
// it is thread-safe on every platform; getservbyname_r is glibc's alone.
std::optional<std::uint16_t> tcp_service_port(const std::string& name)
{
    struct addrinfo hints {};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo* res = nullptr;
    if (::getaddrinfo(nullptr, name.c_str(), &hints, &res) != 0 || res == nullptr) return std::nullopt;
    std::uint16_t port = 0;
    if (res->ai_family == AF_INET && res->ai_addrlen >= sizeof(sockaddr_in))
        port = ntohs(reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_port);
    ::freeaddrinfo(res);
    if (port == 0) return std::nullopt;
    return port;
}

} // namespace

// ssh's a2port: a number from 1 to 65535 or a TCP service name.
std::optional<std::uint16_t> parse_port(const std::string& v)
{
    unsigned long p = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec == std::errc{} && end == v.data() + v.size()) {
        if (p == 0 || p > 65535) return std::nullopt;
        return static_cast<std::uint16_t>(p);
    }
    if (v.empty() || v.size() > 64 || v.find_first_of("/\\ \t") != std::string::npos) return std::nullopt;
    // A signed number that from_chars refused ("-1", "+22") is no service
    // name; getaddrinfo would read it with strtoul ("-1" as 65535).
    if (v.find_first_not_of("0123456789+-") == std::string::npos) return std::nullopt;
    return tcp_service_port(v);
}

// An algorithm list's shape: an optional +, - or ^, then comma-separated
// non-empty names of the characters algorithm names (and patterns) use.
std::string algorithm_shape_problem(std::string_view v)
{
    if (!v.empty() && (v[0] == '+' || v[0] == '-' || v[0] == '^')) v.remove_prefix(1);
    if (v.empty()) return "no names";
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = v.find(',', pos);
        std::string_view n = v.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (n.empty()) return "an empty name";
        for (char c : n)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("@.-_*?").find(c) != std::string_view::npos))
                return "'" + printable(n, 80) + "' is not an algorithm name";
        if (end == std::string_view::npos) return {};
        pos = end + 1;
    }
}

namespace {

std::string local_host_name(bool short_name)
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    std::string name(buf.data());
    if (short_name) name = name.substr(0, name.find('.'));
    return name;
}

// %C: ssh's ssh_connection_hash, the SHA-1 of %l%h%p%r%j in hex (%j, the
// ProxyJump, is empty here, as feth-ssh's %j).
std::string connection_hash(const TokenValues& v)
{
    const std::string text = local_host_name(false) + v.host + v.port + v.remote_user;
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha1(), nullptr) != 1)
        throw InputError("%C: SHA-1 is not available");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        hex += kHex[md[i] >> 4];
        hex += kHex[md[i] & 0xf];
    }
    return hex;
}

} // namespace

// Checks the %-tokens and ${VAR} references of `text`; returns a problem,
// empty when fine.
std::string check_tokens(std::string_view text, std::string_view allowed, bool dollar)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%') {
            if (i + 1 >= text.size()) return "a lone '%' at the end";
            char t = text[++i];
            if (t != '%' && allowed.find(t) == std::string_view::npos) {
                std::string known = "%%";
                for (char a : allowed) known += std::string(" %") + a;
                return std::string("unknown token %") + printable(std::string_view(&t, 1)) + " (known: " + known +
                       ")";
            }
        } else if (dollar && text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            auto close = text.find('}', i);
            if (close == std::string_view::npos) return "unterminated ${";
            std::string_view name = text.substr(i + 2, close - i - 2);
            if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                }))
                return "bad environment variable name in ${...}";
            i = close;
        }
    }
    return {};
}

// ssh's percent_expand (and, with `dollar`, its ${VAR} expansion) over
// tokens that check_tokens() accepted. Throws InputError for an unset VAR.
std::string expand_tokens(std::string_view text, const TokenValues& v, bool dollar, std::string_view what)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 1 < text.size()) {
            switch (text[++i]) {
            case '%': out += '%'; break;
            case 'C': out += connection_hash(v); break;
            case 'd': out += v.home; break;
            case 'h': out += v.host; break;
            case 'i': out += std::to_string(::getuid()); break;
            case 'j': break; // ProxyJump: ignored here, so none
            case 'k': out += v.host_arg; break; // HostKeyAlias: ignored here
            case 'L': out += local_host_name(true); break;
            case 'l': out += local_host_name(false); break;
            case 'n': out += v.host_arg; break;
            case 'p': out += v.port; break;
            case 'r': out += v.remote_user; break;
            case 'u': out += v.local_user; break;
            default:
                throw InputError(std::string(what) + " '" + printable(text, 80) + "': unknown token %" +
                                 printable(text.substr(i, 1)));
            }
        } else if (dollar && c == '$' && i + 1 < text.size() && text[i + 1] == '{' &&
                   text.find('}', i) != std::string_view::npos) {
            auto close = text.find('}', i);
            std::string name(text.substr(i + 2, close - i - 2));
            const char* value = std::getenv(name.c_str());
            if (value == nullptr)
                throw InputError(std::string(what) + " '" + printable(text, 80) + "': environment variable " +
                                 printable(name, 80) + " is not set");
            out += value;
            i = close;
        } else {
            out += c;
        }
    }
    return out;
}

// ssh's tilde_expand_filename: "~" and "~/x" are the user's home, "~user/x"
// another user's. Unknown users are an error.
std::string expand_tilde(const std::string& path, const std::string& home, std::string_view what)
{
    if (path.empty() || path[0] != '~') return path;
    std::size_t slash = path.find('/');
    std::string rest = slash == std::string::npos ? std::string() : path.substr(slash);
    if (slash == 1 || path.size() == 1) return home + rest;
    std::string name = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    passwd pw{};
    passwd* found = nullptr;
    std::array<char, 4096> buf{};
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        throw InputError(std::string(what) + " '" + printable(path, 80) + "': no such user " + printable(name, 80));
    return std::string(found->pw_dir) + rest;
}

// One ProxyJump hop as ssh's parse_ssh_uri / parse_user_host_port accept
// it: ssh://[user@]host[:port][/] or [user@]host[:port], host possibly
// [bracketed]. True when well-formed.
bool valid_jump_hop(std::string_view hop)
{
    const bool uri = hop.rfind("ssh://", 0) == 0;
    if (uri) {
        hop.remove_prefix(6);
        if (!hop.empty() && hop.back() == '/') hop.remove_suffix(1);
        if (hop.find('/') != std::string_view::npos) return false;
    }
    if (auto at = hop.rfind('@'); at != std::string_view::npos) {
        if (at == 0) return false;
        hop.remove_prefix(at + 1);
    }
    std::string_view host = hop, port;
    if (!hop.empty() && hop[0] == '[') {
        auto close = hop.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        host = hop.substr(1, close - 1);
        std::string_view rest = hop.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
    } else if (auto colon = hop.find(':'); colon != std::string_view::npos) {
        host = hop.substr(0, colon);
        port = hop.substr(colon + 1);
        if (port.empty()) return false;
    }
    if (host.empty() || host.find_first_of(" \t,@") != std::string_view::npos) return false;
    return port.empty() || parse_port(std::string(port)).has_value();
}

} // namespace feth::config::client_values
