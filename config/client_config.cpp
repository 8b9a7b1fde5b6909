// ssh_config(5) for feth-ssh, with the rules of OpenSSH's readconf.c: the
// keyword table, first value wins, Host/Match/Include, the value syntaxes.
// Config files are hostile input (Include can pull in anything the user can
// read): lines, files and include depth are bounded and every error names the
// origin, the line and the keyword, with hostile text escaped.
#include "config/client_config.hpp"

#include <arpa/inet.h>
#include <glob.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "config/algorithm_list.hpp"
#include "config/match.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/mtu.hpp"

namespace feth::config {

namespace {

using syntax::ascii_lower;
using syntax::iequals;
using syntax::kMaxFileSize;
using syntax::kMaxLineLength;
constexpr int kMaxIncludeDepth = 16;          // ssh's READCONF_MAX_DEPTH
constexpr std::size_t kMaxIdentityFiles = 100; // ssh's SSH_MAX_IDENTITY_FILES
constexpr std::size_t kMaxHostsFiles = 32;     // ssh's SSH_MAX_HOSTS_FILES
constexpr std::size_t kMaxIncludedFiles = 4096; // per top-level source
const std::string kCommandLine = "command-line"; // ssh's origin for -o

constexpr unsigned kDefaultTunnelCommandTimeout = 30;

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


template <typename List>
bool contains(const List& list, std::string_view word)
{
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
}



std::optional<bool> parse_flag(std::string_view v)
{
    if (iequals(v, "yes") || iequals(v, "true")) return true;
    if (iequals(v, "no") || iequals(v, "false")) return false;
    return std::nullopt;
}

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

// Which %-tokens a path may hold (ssh's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS
// minus %C, the connection hash, which we do not compute).
constexpr std::string_view kPathTokens = "dhijkLlnpru";
// LocalCommand's: those and %T, the local tunnel device.
constexpr std::string_view kLocalCommandTokens = "dhijkLlnpruT";

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

struct TokenValues {
    std::string home, host, host_arg, port, remote_user, local_user;
};

std::string local_host_name(bool short_name)
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    std::string name(buf.data());
    if (short_name) name = name.substr(0, name.find('.'));
    return name;
}

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

std::string user_from_uid()
{
    passwd pw{};
    passwd* found = nullptr;
    std::array<char, 4096> buf{};
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {};
    return found->pw_name;
}

// ssh's reading of a config file: one that does not exist reads as empty
// with `missing` set, a directory as empty (ssh's getline on one just
// stops), a FIFO without a writer cannot hang us, and ~/.ssh/config and
// what it includes must pass SSHCONF_CHECKPERM (`check_perm`).
std::string read_config_file(const std::string& path, bool check_perm, bool& missing)
{
    syntax::ReadRules rules;
    rules.missing_is_empty = true;
    rules.directory_is_empty = true;
    rules.check_owner = check_perm;
    rules.nonblocking = true;
    syntax::BoundedFile file = syntax::read_bounded_file(path, "config file " + printable(path, 4096), rules);
    missing = file.missing;
    if (file.text.size() > kMaxFileSize)
        throw InputError(printable(path, 4096) + ": file larger than " + std::to_string(kMaxFileSize) + " bytes");
    return std::move(file.text);
}

} // namespace

struct ClientConfigParser::Context {
    const std::string& origin;
    std::size_t lineno;
    int depth;
    bool never_match;  // ssh's SSHCONF_NEVERMATCH: an Include read inside an inactive block
    bool command_line; // -o
    std::size_t* included; // files included so far from this top-level source
    std::string where() const { return printable(origin, 4096) + " line " + std::to_string(lineno) + ": "; }
};

bool match_host_patterns(std::string_view patterns, std::string_view host)
{
    // Whitespace separates patterns here as commas do: one comma list of
    // the non-empty pieces for match_pattern_list.
    std::string list;
    std::size_t i = 0;
    while (i < patterns.size()) {
        std::size_t end = patterns.find_first_of(", \t", i);
        if (end == std::string_view::npos) end = patterns.size();
        if (end > i) list.append(list.empty() ? "" : ",").append(patterns.substr(i, end - i));
        i = end + 1;
    }
    return !list.empty() && match_pattern_list(ascii_lower(host), list, true) == 1;
}

std::optional<TunnelDevice> parse_tunnel_device(std::string_view text)
{
    auto unit = [](std::string_view s) { return iequals(s, "any") ? std::optional(kTunUnitAny) : parse_tun_unit(s); };
    TunnelDevice dev;
    std::string_view local = text;
    std::string_view remote = "any";
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        local = text.substr(0, colon);
        remote = text.substr(colon + 1);
    }
    auto l = unit(local);
    auto r = unit(remote);
    if (!l || !r) return std::nullopt;
    dev.local = *l;
    dev.remote = *r;
    return dev;
}

// One line of an honoured keyword, as its parser sees it. Values are
// checked in every block, as ssh does; stored only where the block applies
// (`active`) and nothing set the keyword before (first value wins).
struct KeywordLine {
    ClientConfig& config;
    const AlgorithmSupport& support;
    const std::string& host;              // what Host lines match (HostName's %h)
    std::string_view line;                // the whole line, for the rest-of-line keywords
    const std::string& name;              // the keyword as the table spells it
    const std::vector<std::string>& args; // at least one
    const std::string& v;                 // args[0]
    std::string where;                    // "<origin> line <n>: "
    bool active;

    InputError bad(const std::string& allowed) const
    {
        return InputError(where + "bad value '" + printable(v, 80) + "' for " + name + " (expected " + allowed + ")");
    }
    InputError extra_arguments() const { return InputError(where + "keyword " + name + " extra arguments at end of line"); }
    void single() const
    {
        if (v.empty()) throw InputError(where + "missing argument for " + name);
        if (args.size() > 1) throw extra_arguments();
    }
    template <typename Field, typename Value>
    void store(Field& field, Value value) const
    {
        if (active && !field) field = std::move(value);
    }
    void flag(std::optional<bool>& field) const
    {
        single();
        auto b = parse_flag(v);
        if (!b) throw bad("yes or no");
        store(field, *b);
    }
    void seconds(std::optional<unsigned>& field) const
    {
        single();
        if (v == "none") return; // ssh: leaves the option unset
        auto s = parse_time_interval(v);
        if (!s) throw bad("seconds or a time such as 30s, 5m, 1h");
        store(field, *s);
    }
    // UserKnownHostsFile, GlobalKnownHostsFile: paths, or "none" alone
    // (the user list drops it: none; the global one keeps it, as -G shows).
    std::vector<std::string> hosts_files(bool keep_none) const
    {
        std::vector<std::string> files;
        for (const auto& a : args) {
            if (a.empty()) throw InputError(where + "keyword " + name + " empty argument");
            if (iequals(a, "none") && args.size() > 1)
                throw InputError(where + "keyword " + name + " \"none\" argument must appear alone.");
            if (auto problem = check_tokens(a, kPathTokens, true); !problem.empty())
                throw InputError(where + "bad value '" + printable(a, 80) + "' for " + name + " (expected paths; " +
                                 problem + ")");
            if (keep_none || !iequals(a, "none")) files.push_back(a);
        }
        if (files.size() > kMaxHostsFiles) throw InputError(where + "too many " + name + " entries.");
        return files;
    }
    // IdentityFile, CertificateFile: ssh drops duplicates and bounds the list.
    void add_file(std::vector<std::string>& files, std::string_view what) const
    {
        single();
        if (auto problem = check_tokens(v, kPathTokens, true); !problem.empty()) throw bad("a path; " + problem);
        if (!active || contains(files, v)) return;
        if (files.size() >= kMaxIdentityFiles)
            throw InputError(where + "Too many " + std::string(what) + " files specified (max " +
                             std::to_string(kMaxIdentityFiles) + ")");
        files.push_back(v);
    }
};

// What ssh -G prints from: the configuration before resolve_defaults()
// (`raw`, for the values ssh prints as written), after it, and the host as
// given.
struct DumpSource {
    const ClientConfig& raw;
    const ClientConfig& c;
    const std::string& host;
};

namespace {

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

// Each honoured keyword's parser: the value's syntax, then where it goes.
namespace parse {

// A value taken as written: User, BindAddress, IgnoreUnknown, HostKeyAlias
// (ssh takes even "none" as a name like any).
template <std::optional<std::string> ClientConfig::*Field>
void word(const KeywordLine& l)
{
    l.single();
    l.store(l.config.*Field, l.v);
}

template <std::optional<bool> ClientConfig::*Field>
void yes_no(const KeywordLine& l)
{
    l.flag(l.config.*Field);
}

template <std::optional<unsigned> ClientConfig::*Field>
void seconds(const KeywordLine& l)
{
    l.seconds(l.config.*Field);
}

void host_name(const KeywordLine& l)
{
    l.single();
    // ssh expands %h (the host as given) and %% in HostName, nothing else.
    if (auto problem = check_tokens(l.v, "h", false); !problem.empty()) throw l.bad("a host name; " + problem);
    std::string out;
    for (std::size_t i = 0; i < l.v.size(); ++i) {
        if (l.v[i] == '%') {
            out += l.v[++i] == 'h' ? l.host : std::string("%");
        } else {
            out += l.v[i];
        }
    }
    l.store(l.config.host_name, out);
}

void port(const KeywordLine& l)
{
    l.single();
    auto p = parse_port(l.v);
    if (!p) throw l.bad("a port from 1 to 65535 or a service name");
    l.store(l.config.port, *p);
}

void address_family(const KeywordLine& l)
{
    l.single();
    std::optional<AddressFamily> af;
    if (iequals(l.v, "any")) af = AddressFamily::Any;
    else if (iequals(l.v, "inet")) af = AddressFamily::Inet;
    else if (iequals(l.v, "inet6")) af = AddressFamily::Inet6;
    else throw l.bad("any, inet or inet6");
    l.store(l.config.address_family, *af);
}

void strict_host_key_checking(const KeywordLine& l)
{
    l.single();
    std::optional<StrictHostKeyChecking> m;
    const std::string& v = l.v;
    if (iequals(v, "yes") || iequals(v, "true")) m = StrictHostKeyChecking::Yes;
    else if (iequals(v, "no") || iequals(v, "false") || iequals(v, "off")) m = StrictHostKeyChecking::No;
    else if (iequals(v, "ask")) m = StrictHostKeyChecking::Ask;
    else if (iequals(v, "accept-new")) m = StrictHostKeyChecking::AcceptNew;
    else throw l.bad("yes, accept-new, no, off or ask");
    l.store(l.config.strict_host_key_checking, *m);
}

void tunnel(const KeywordLine& l)
{
    l.single();
    std::optional<TunMode> mode;
    const std::string& v = l.v;
    if (iequals(v, "yes") || iequals(v, "true") || iequals(v, "point-to-point")) mode = TunMode::PointToPoint;
    else if (iequals(v, "ethernet")) mode = TunMode::Ethernet;
    else if (!iequals(v, "no") && !iequals(v, "false")) throw l.bad("yes, point-to-point, ethernet or no");
    // "no" counts as set: a later "Tunnel yes" does not override it.
    if (l.active && !l.config.tunnel && !l.config.tunnel_disabled) {
        l.config.tunnel = mode;
        l.config.tunnel_disabled = !mode;
    }
}

// A count up to INT_MAX, at least `min`.
std::optional<unsigned> count(const std::string& v, unsigned long min)
{
    unsigned long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min || n > INT_MAX) return std::nullopt;
    return static_cast<unsigned>(n);
}

void connection_attempts(const KeywordLine& l)
{
    l.single();
    auto n = count(l.v, 1);
    if (!n) throw l.bad("a count of at least 1");
    l.store(l.config.connection_attempts, *n);
}

void server_alive_count_max(const KeywordLine& l)
{
    l.single();
    auto n = count(l.v, 0);
    if (!n) throw l.bad("a count");
    l.store(l.config.server_alive_count_max, *n);
}

// Ciphers, KexAlgorithms: ssh checks the names as it reads the line ("Bad
// SSH2 cipher spec"); resolve_defaults() applies the value to the defaults.
template <AlgorithmKind Kind, std::optional<std::string> ClientConfig::*Field>
void implemented_algorithms(const KeywordLine& l)
{
    l.single();
    if (auto problem = algorithm_list_problem(l.v, Kind, l.support); !problem.empty())
        throw InputError(l.where + bad_algorithm_list(Kind, l.v, problem));
    l.store(l.config.*Field, l.v);
}

// HostKeyAlgorithms, MACs, PubkeyAcceptedAlgorithms: the shape here; libssh
// checks the names against what it implements when the session takes them
// (connect.cpp).
template <std::optional<std::string> ClientConfig::*Field>
void algorithm_list(const KeywordLine& l)
{
    l.single();
    if (auto problem = algorithm_shape_problem(l.v); !problem.empty()) throw l.bad("an algorithm list; " + problem);
    l.store(l.config.*Field, l.v);
}

void identity_agent(const KeywordLine& l)
{
    l.single();
    if (auto problem = check_tokens(l.v, kPathTokens, true); !problem.empty())
        throw l.bad("none, SSH_AUTH_SOCK, $VARIABLE or a path; " + problem);
    l.store(l.config.identity_agent, l.v);
}

void local_command(const KeywordLine& l)
{
    // The rest of the line, verbatim (ssh), its tokens checked now.
    std::string cmd = rest_of_line(l.line);
    if (auto problem = check_tokens(cmd, kLocalCommandTokens, true); !problem.empty())
        throw l.bad("a command; " + problem);
    l.store(l.config.local_command, cmd);
}

void log_level(const KeywordLine& l)
{
    l.single();
    auto level = log::parse_level(l.v);
    if (!level) throw l.bad("QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3");
    std::string upper(l.v);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    l.store(l.config.log_level, upper);
}

void identity_file(const KeywordLine& l) { l.add_file(l.config.identity_files, "identity"); }

void certificate_file(const KeywordLine& l) { l.add_file(l.config.certificate_files, "certificate"); }

void global_known_hosts_file(const KeywordLine& l)
{
    l.store(l.config.global_known_hosts_files, l.hosts_files(true));
}

void user_known_hosts_file(const KeywordLine& l) { l.store(l.config.user_known_hosts_files, l.hosts_files(false)); }

void add_keys_to_agent(const KeywordLine& l)
{
    // ssh's forms: yes, no, ask, confirm; "confirm <time>"; a time alone
    // (yes, with that lifetime).
    if (l.args.size() > 2) throw l.extra_arguments();
    const std::string& v = l.v;
    std::string mode;
    if (iequals(v, "yes") || iequals(v, "true")) mode = "yes";
    else if (iequals(v, "no") || iequals(v, "false")) mode = "no";
    else if (iequals(v, "ask")) mode = "ask";
    else if (iequals(v, "confirm")) mode = "confirm";
    std::optional<unsigned> lifetime = 0u;
    if (mode == "confirm" && l.args.size() == 2) lifetime = parse_time_interval(l.args[1]);
    else if (mode.empty() && l.args.size() == 1) {
        lifetime = parse_time_interval(v);
        mode = "yes";
    } else if (l.args.size() == 2) lifetime.reset();
    if (mode.empty() || !lifetime) throw l.bad("yes, no, ask, confirm, confirm TIME or a TIME");
    if (l.active && !l.config.add_keys_to_agent) {
        l.config.add_keys_to_agent = mode;
        l.config.add_keys_to_agent_lifetime = *lifetime;
    }
}

void tunnel_device(const KeywordLine& l)
{
    l.single();
    auto d = parse_tunnel_device(l.v);
    if (!d) throw l.bad("local[:remote], each a unit number up to " + std::to_string(kTunUnitMax) + " or any");
    l.store(l.config.tunnel_device, *d);
}

void rekey_limit(const KeywordLine& l)
{
    // ssh: "default" or a size of at least 16 bytes, then an optional time
    // ("none" or a time), which we check and ignore.
    if (l.args.size() > 2) throw l.extra_arguments();
    std::optional<std::uint64_t> bytes = l.v == "default" ? std::optional<std::uint64_t>(0) : parse_byte_size(l.v);
    if (!bytes || (*bytes != 0 && *bytes < 16)) throw l.bad("default or a size of at least 16, such as 1G");
    if (l.args.size() == 2 && l.args[1] != "none" && !parse_time_interval(l.args[1]))
        throw InputError(l.where + "bad value '" + printable(l.args[1], 80) + "' for " + l.name +
                         " (expected none or a time such as 1h)");
    l.store(l.config.rekey_limit, *bytes);
}

// ProxyCommand and ProxyJump as ssh's readconf: first value wins, and they
// exclude each other (whichever is set first; "none" counts as set).
bool proxy_taken(const ClientConfig& c) { return c.proxy_command || c.proxy_jump; }

// ProxyJump's syntax is checked in every block, its tokens (%h %n %p %r)
// where it applies (client/proxy).
void proxy_jump(const KeywordLine& l)
{
    const std::string& v = l.v;
    if (!iequals(v, "none")) {
        std::string_view rest = v;
        while (true) {
            auto comma = rest.find(',');
            if (!valid_jump_hop(rest.substr(0, comma)))
                throw InputError(l.where + "Invalid ProxyJump \"" + printable(v, 80) +
                                 "\" (expected [user@]host[:port] or ssh://[user@]host[:port], comma separated)");
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    if (l.active && !proxy_taken(l.config)) l.config.proxy_jump = iequals(v, "none") ? std::string("none") : v;
}

// ProxyCommand is the rest of the line, for /bin/sh.
void proxy_command(const KeywordLine& l)
{
    std::string cmd = rest_of_line(l.line);
    if (cmd.empty()) throw InputError(l.where + "missing argument for ProxyCommand");
    if (!l.active || proxy_taken(l.config)) return;
    if (auto problem = check_tokens(cmd, "hnpr", false); !problem.empty())
        throw InputError(l.where + "bad value '" + printable(cmd, 80) + "' for ProxyCommand (" + problem + ")");
    l.config.proxy_command = cmd;
}

void tunnel_backend(const KeywordLine& l)
{
    l.single();
    static constexpr std::string_view kBackends[] = {"auto", "tap", "tun", "pair", "feth", "utun"};
    if (!contains(kBackends, l.v)) throw l.bad("auto, tap, tun, pair, feth or utun");
    l.store(l.config.tunnel_backend, l.v);
}

void tunnel_mtu(const KeywordLine& l)
{
    l.single();
    auto m = mtu::parse(l.v);
    if (!m) throw l.bad(mtu::expected());
    l.store(l.config.tunnel_mtu, *m);
}

// TunnelUpCommand, TunnelDownCommand: the rest of the line, verbatim, for
// /bin/sh (as ssh's LocalCommand); "none" is none.
template <std::optional<std::string> ClientConfig::*Field>
void hook_command(const KeywordLine& l)
{
    std::string cmd = rest_of_line(l.line);
    if (iequals(cmd, "none")) cmd.clear();
    l.store(l.config.*Field, cmd);
}

void tunnel_command_timeout(const KeywordLine& l)
{
    l.single();
    auto s = parse_time_interval(l.v);
    if (!s || *s == 0) throw l.bad("a time of at least 1 s, such as 30 or 2m");
    l.store(l.config.tunnel_command_timeout, *s);
}

} // namespace parse

// Each honoured keyword's ssh -G printer: its values in the resolved
// configuration, as ssh's dump_client_config prints them; none, no line.
namespace print {

using Values = std::vector<std::string>;

Values host(const DumpSource& d) { return {d.host}; }

// What resolve_defaults() always sets.
template <std::optional<std::string> ClientConfig::*Field>
Values resolved(const DumpSource& d)
{
    return {*(d.c.*Field)};
}

template <std::optional<std::string> ClientConfig::*Field>
Values if_set(const DumpSource& d)
{
    if (!(d.c.*Field)) return {};
    return {*(d.c.*Field)};
}

template <std::optional<bool> ClientConfig::*Field>
Values yes_no(const DumpSource& d)
{
    return {(d.c.*Field).value_or(false) ? "yes" : "no"};
}

template <std::optional<unsigned> ClientConfig::*Field>
Values number(const DumpSource& d)
{
    return {std::to_string(*(d.c.*Field))};
}

Values port(const DumpSource& d) { return {std::to_string(*d.c.port)}; }

Values address_family(const DumpSource& d)
{
    const AddressFamily af = *d.c.address_family;
    return {af == AddressFamily::Inet ? "inet" : af == AddressFamily::Inet6 ? "inet6" : "any"};
}

Values strict_host_key_checking(const DumpSource& d)
{
    using S = StrictHostKeyChecking;
    const S shk = *d.c.strict_host_key_checking;
    return {shk == S::Yes ? "true" : shk == S::No ? "false" : shk == S::Ask ? "ask" : "accept-new"};
}

Values tunnel(const DumpSource& d)
{
    return {!d.c.tunnel ? "false" : *d.c.tunnel == TunMode::PointToPoint ? "point-to-point" : "ethernet"};
}

Values log_level(const DumpSource& d) { return {d.c.log_level.value_or("INFO")}; }

// IdentityFile and CertificateFile as written, as ssh -G prints them (it
// expands them when it loads them); IdentityFile's defaults if none was.
Values identity_file(const DumpSource& d)
{
    return d.raw.identity_files.empty() ? d.c.identity_files : d.raw.identity_files;
}

Values certificate_file(const DumpSource& d) { return d.raw.certificate_files; }

// One line: the files space-separated, or none.
std::string file_list(const std::vector<std::string>& files)
{
    std::string s;
    for (const auto& f : files) s += (s.empty() ? "" : " ") + f;
    return s.empty() ? std::string("none") : s;
}

Values global_known_hosts_file(const DumpSource& d)
{
    return {file_list(d.raw.global_known_hosts_files ? *d.raw.global_known_hosts_files
                                                     : *d.c.global_known_hosts_files)};
}

Values user_known_hosts_file(const DumpSource& d) { return {file_list(*d.c.user_known_hosts_files)}; }

Values add_keys_to_agent(const DumpSource& d)
{
    const unsigned life = d.c.add_keys_to_agent_lifetime.value_or(0);
    const std::string& ak = *d.c.add_keys_to_agent;
    if (life == 0) return {ak == "yes" ? "true" : ak == "no" ? "false" : ak};
    return {(ak == "confirm" ? "confirm " : "") + std::to_string(life)};
}

Values connect_timeout(const DumpSource& d)
{
    return {*d.c.connect_timeout == 0 ? "none" : std::to_string(*d.c.connect_timeout)};
}

Values tunnel_device(const DumpSource& d)
{
    auto unit = [](std::uint32_t u) { return u == kTunUnitAny ? std::string("any") : std::to_string(u); };
    return {unit(d.c.tunnel_device->local) + ":" + unit(d.c.tunnel_device->remote)};
}

Values rekey_limit(const DumpSource& d) { return {std::to_string(d.c.rekey_limit.value_or(0)) + " 0"}; }

// ProxyJump wins when both were somehow set, as in ssh -G.
Values proxy_command(const DumpSource& d)
{
    if (!d.c.proxy_command || d.c.proxy_jump) return {};
    return {*d.c.proxy_command};
}

Values tunnel_backend(const DumpSource& d) { return {d.c.tunnel_backend.value_or("auto")}; }

Values tunnel_mtu(const DumpSource& d)
{
    return {d.c.tunnel_mtu && *d.c.tunnel_mtu != 0 ? std::to_string(*d.c.tunnel_mtu) : "default"};
}

template <std::optional<std::string> ClientConfig::*Field>
Values hook_command(const DumpSource& d)
{
    return {(d.c.*Field)->empty() ? "none" : *(d.c.*Field)};
}

} // namespace print

// Every keyword of OpenSSH's readconf.c keywords[] table (the deprecated
// and unsupported ones included: ssh accepts all of them), Apple's
// UseKeychain, and ours; each honoured, accepted and ignored, or refused
// (client_config.hpp). An honoured keyword comes with its parser and its
// -G printer, in the order ssh -G prints them (readconf.c
// dump_client_config), ours after ssh's: dump_client_config() walks the
// table. docs/feth-ssh.1 lists the three groups and
// tests/packaging/man_pages_test.sh checks it against this table: one entry
// a line, as `{"Name", H|I|R`.
constexpr auto H = KeywordClass::Honoured;
constexpr auto I = KeywordClass::Ignored;
constexpr auto R = KeywordClass::Refused;
using C = ClientConfig;
constexpr KeywordInfo kKeywords[] = {
    // The destination: ssh -G's first lines. Match and Include steer the
    // parser and print nothing.
    {"Host", H, "", "", false, nullptr, print::host},
    {"Match", H, "", "", false},
    {"Include", H, "", "", false},
    {"User", H, "", "", false, parse::word<&C::user>, print::resolved<&C::user>},
    {"HostName", H, "", "", false, parse::host_name, print::resolved<&C::host_name>},
    {"Port", H, "", "", false, parse::port, print::port},
    // Choices and flags.
    {"AddressFamily", H, "", "", false, parse::address_family, print::address_family},
    {"BatchMode", H, "", "", false, parse::yes_no<&C::batch_mode>, print::yes_no<&C::batch_mode>},
    {"CheckHostIP", H, "", "", false, parse::yes_no<&C::check_host_ip>, print::yes_no<&C::check_host_ip>},
    {"ExitOnForwardFailure", H, "", "", false, parse::yes_no<&C::exit_on_forward_failure>,
     print::yes_no<&C::exit_on_forward_failure>},
    {"HashKnownHosts", H, "", "", false, parse::yes_no<&C::hash_known_hosts>, print::yes_no<&C::hash_known_hosts>},
    {"IdentitiesOnly", H, "", "", false, parse::yes_no<&C::identities_only>, print::yes_no<&C::identities_only>},
    {"PermitLocalCommand", H, "", "", false, parse::yes_no<&C::permit_local_command>,
     print::yes_no<&C::permit_local_command>},
    {"StrictHostKeyChecking", H, "", "", false, parse::strict_host_key_checking, print::strict_host_key_checking},
    {"Tunnel", H, "", "", false, parse::tunnel, print::tunnel},
    // Numbers.
    {"ConnectionAttempts", H, "", "", false, parse::connection_attempts, print::number<&C::connection_attempts>},
    {"ServerAliveCountMax", H, "", "", false, parse::server_alive_count_max, print::number<&C::server_alive_count_max>},
    {"ServerAliveInterval", H, "", "", false, parse::seconds<&C::server_alive_interval>,
     print::number<&C::server_alive_interval>},
    // Strings and algorithm lists.
    {"BindAddress", H, "", "", false, parse::word<&C::bind_address>, print::if_set<&C::bind_address>},
    {"Ciphers", H, "", "", false, parse::implemented_algorithms<AlgorithmKind::Cipher, &C::ciphers>,
     print::resolved<&C::ciphers>},
    {"HostKeyAlgorithms", H, "", "", false, parse::algorithm_list<&C::host_key_algorithms>,
     print::if_set<&C::host_key_algorithms>},
    {"HostKeyAlias", H, "", "", false, parse::word<&C::host_key_alias>, print::if_set<&C::host_key_alias>},
    {"IdentityAgent", H, "", "", false, parse::identity_agent, print::if_set<&C::identity_agent>},
    {"IgnoreUnknown", H, "", "", false, parse::word<&C::ignore_unknown>, print::if_set<&C::ignore_unknown>},
    {"KexAlgorithms", H, "", "", false, parse::implemented_algorithms<AlgorithmKind::Kex, &C::kex_algorithms>,
     print::resolved<&C::kex_algorithms>},
    {"LocalCommand", H, "", "", false, parse::local_command, print::if_set<&C::local_command>},
    {"LogLevel", H, "", "", false, parse::log_level, print::log_level},
    {"MACs", H, "", "", false, parse::algorithm_list<&C::macs>, print::if_set<&C::macs>},
    {"PubkeyAcceptedAlgorithms", H, "", "", false, parse::algorithm_list<&C::pubkey_accepted_algorithms>,
     print::if_set<&C::pubkey_accepted_algorithms>},
    // ssh's old name for PubkeyAcceptedAlgorithms (printed under the new one).
    {"PubkeyAcceptedKeyTypes", H, "", "", false, parse::algorithm_list<&C::pubkey_accepted_algorithms>},
    // Files.
    {"IdentityFile", H, "", "", false, parse::identity_file, print::identity_file},
    {"CertificateFile", H, "", "", false, parse::certificate_file, print::certificate_file},
    {"GlobalKnownHostsFile", H, "", "", false, parse::global_known_hosts_file, print::global_known_hosts_file},
    {"UserKnownHostsFile", H, "", "", false, parse::user_known_hosts_file, print::user_known_hosts_file},
    // The rest of ssh's, in its -G order.
    {"AddKeysToAgent", H, "", "", false, parse::add_keys_to_agent, print::add_keys_to_agent},
    {"ConnectTimeout", H, "", "", false, parse::seconds<&C::connect_timeout>, print::connect_timeout},
    {"TunnelDevice", H, "", "", false, parse::tunnel_device, print::tunnel_device},
    {"RekeyLimit", H, "", "", false, parse::rekey_limit, print::rekey_limit},
    {"ProxyJump", H, "", "run by the connect path (client/proxy)", false, parse::proxy_jump,
     print::if_set<&C::proxy_jump>},
    {"ProxyCommand", H, "", "run by the connect path (client/proxy)", false, parse::proxy_command,
     print::proxy_command},
    // Ours, after ssh's.
    {"Reconnect", H, "", "", true, parse::yes_no<&C::reconnect>, print::yes_no<&C::reconnect>},
    {"TunnelBackend", H, "", "", true, parse::tunnel_backend, print::tunnel_backend},
    {"TunnelMTU", H, "", "", true, parse::tunnel_mtu, print::tunnel_mtu},
    {"TunnelUpCommand", H, "", "", true, parse::hook_command<&C::tunnel_up_command>,
     print::hook_command<&C::tunnel_up_command>},
    {"TunnelDownCommand", H, "", "", true, parse::hook_command<&C::tunnel_down_command>,
     print::hook_command<&C::tunnel_down_command>},
    {"TunnelCommandTimeout", H, "", "", true, parse::tunnel_command_timeout,
     print::number<&C::tunnel_command_timeout>},
    // Refused: security- or path-relevant, not implemented. The harmless
    // values ask for what feth-ssh does anyway.
    {"BindInterface", R, "", "binding to an interface is not implemented; BindAddress is", false},
    {"CanonicalizeHostname", R, "no|false", "host name canonicalisation is not implemented", false},
    {"CASignatureAlgorithms", R, "", "host certificates are not verified by feth-ssh", false},
    {"KnownHostsCommand", R, "none", "known_hosts commands are not run", false},
    {"PKCS11Provider", R, "none", "PKCS#11 keys are not supported", false},
    {"SmartcardDevice", R, "none", "PKCS#11 keys are not supported", false},
    {"SecurityKeyProvider", R, "internal", "FIDO security keys are not supported", false},
    {"PubkeyAuthentication", R, "yes|true|unbound|host-bound", "feth-ssh authenticates with public keys only", false},
    {"RevokedHostKeys", R, "none", "revoked host key lists are not checked", false},
    {"RequiredRSASize", R, "1024", "the RSA key size limit is libssh's own", false},
    {"VerifyHostKeyDNS", R, "no|false", "SSHFP lookups are not implemented", false},
    {"ProxyUseFdpass", R, "no|false", "the proxy command's socket is not passed back", false},
    {"RefuseConnection", R, "no|false", "feth-ssh refuses by not connecting", false},

    // Accepted and ignored: cannot matter to a tunnel (or only tighten
    // what feth-ssh does anyway).
    {"UseKeychain", I, "", "Apple's ssh: keys come from the agent or the files", false},
    {"CanonicalDomains", I, "", "", false},
    {"CanonicalizeFallbackLocal", I, "", "", false},
    {"CanonicalizeMaxDots", I, "", "", false},
    {"CanonicalizePermittedCNames", I, "", "", false},
    {"ChallengeResponseAuthentication", I, "", "", false},
    {"ChannelTimeout", I, "", "", false},
    {"ClearAllForwardings", I, "", "", false},
    {"Compression", I, "", "", false},
    {"CompressionLevel", I, "", "", false},
    {"ControlMaster", I, "", "", false},
    {"ControlPath", I, "", "", false},
    {"ControlPersist", I, "", "", false},
    {"DynamicForward", I, "", "", false},
    {"EnableEscapeCommandline", I, "", "", false},
    {"EnableSSHKeysign", I, "", "", false},
    {"EscapeChar", I, "", "", false},
    {"FingerprintHash", I, "", "", false},
    {"ForkAfterAuthentication", I, "", "", false},
    {"ForwardAgent", I, "", "", false},
    {"ForwardX11", I, "", "", false},
    {"ForwardX11Timeout", I, "", "", false},
    {"ForwardX11Trusted", I, "", "", false},
    {"GatewayPorts", I, "", "", false},
    {"GSSAPIAuthentication", I, "", "", false},
    {"GSSAPIDelegateCredentials", I, "", "", false},
    {"HostbasedAcceptedAlgorithms", I, "", "", false},
    {"HostbasedAuthentication", I, "", "", false},
    {"HostbasedKeyTypes", I, "", "", false},
    {"IPQoS", I, "", "", false},
    {"KbdInteractiveAuthentication", I, "", "", false},
    {"KbdInteractiveDevices", I, "", "", false},
    {"LocalForward", I, "", "", false},
    {"LogVerbose", I, "", "", false},
    {"NoHostAuthenticationForLocalhost", I, "", "", false},
    {"NumberOfPasswordPrompts", I, "", "", false},
    {"ObscureKeystrokeTiming", I, "", "", false},
    {"PasswordAuthentication", I, "", "", false},
    {"PermitRemoteOpen", I, "", "", false},
    {"PreferredAuthentications", I, "", "", false},
    {"RemoteCommand", I, "", "", false},
    {"RemoteForward", I, "", "", false},
    {"RequestTTY", I, "", "", false},
    {"SendEnv", I, "", "", false},
    {"SessionType", I, "", "", false},
    {"SetEnv", I, "", "", false},
    {"StdinNull", I, "", "", false},
    {"StreamLocalBindMask", I, "", "", false},
    {"StreamLocalBindUnlink", I, "", "", false},
    {"SyslogFacility", I, "", "", false},
    {"Tag", I, "", "", false},
    {"TCPKeepAlive", I, "", "", false},
    {"KeepAlive", I, "", "", false},
    {"UpdateHostKeys", I, "", "", false},
    {"VersionAddendum", I, "", "", false},
    {"VisualHostKey", I, "", "", false},
    {"WarnWeakCrypto", I, "", "", false},
    {"XAuthLocation", I, "", "", false},
    // Deprecated or unsupported in OpenSSH itself (it ignores them too).
    {"AFSTokenPassing", I, "", "", false},
    {"Cipher", I, "", "", false},
    {"DSAAuthentication", I, "", "", false},
    {"FallBackToRsh", I, "", "", false},
    {"GlobalKnownHostsFile2", I, "", "", false},
    {"IdentityFile2", I, "", "", false},
    {"KerberosAuthentication", I, "", "", false},
    {"KerberosTGTPassing", I, "", "", false},
    {"Protocol", I, "", "", false},
    {"RhostsAuthentication", I, "", "", false},
    {"RhostsRSAAuthentication", I, "", "", false},
    {"RSAAuthentication", I, "", "", false},
    {"SKeyAuthentication", I, "", "", false},
    {"TISAuthentication", I, "", "", false},
    {"UsePrivilegedPort", I, "", "", false},
    {"UseRoaming", I, "", "", false},
    {"UseRsh", I, "", "", false},
    {"UserKnownHostsFile2", I, "", "", false},
};

const KeywordInfo* find_keyword(std::string_view lower_kw) { return syntax::find_keyword(kKeywords, lower_kw); }

std::string_view canonical_name(std::string_view lower_kw)
{
    const KeywordInfo* k = find_keyword(lower_kw);
    return k != nullptr ? k->name : lower_kw;
}

// Host, Match and Include steer the parser itself (apply_line).
constexpr bool is_directive(std::string_view name) { return name == "Host" || name == "Match" || name == "Include"; }

// Every honoured keyword but the directives has a parser, and only
// honoured ones have a parser or a printer.
constexpr bool keyword_table_complete()
{
    for (const auto& k : kKeywords) {
        const bool honoured = k.kind == KeywordClass::Honoured;
        if (honoured && k.parse == nullptr && !is_directive(k.name)) return false;
        if (!honoured && (k.parse != nullptr || k.print != nullptr)) return false;
    }
    return true;
}
static_assert(keyword_table_complete(), "an honoured client keyword without its parser, or a parser on another");

} // namespace

ClientConfigParser::ClientConfigParser(ClientConfig& config, std::string host, std::string home,
                                       std::string local_user)
    : config_(config), host_(std::move(host)), home_(std::move(home)), local_user_(std::move(local_user))
{
    original_host_ = host_;
    if (local_user_.empty()) local_user_ = user_from_uid();
}

void ClientConfigParser::apply_option(std::string_view option)
{
    std::size_t included = 0;
    Context ctx{kCommandLine, 0, 0, false, true, &included};
    // One -o is one line: a newline would smuggle in a second one.
    if (option.find_first_of("\r\n") != std::string_view::npos)
        throw InputError(ctx.where() + "newline in option '" + printable(option, 80) + "'");
    bool active = true;
    apply_line(option, ctx, active);
}

void ClientConfigParser::apply_file(const std::string& path, bool required)
{
    if (required && path == "none") return; // ssh -F none
    bool missing = false;
    std::string text = read_config_file(path, !required, missing);
    if (missing) {
        if (required)
            throw InputError("Can't open user config file " + printable(path, 4096) + ": No such file or directory");
        return;
    }
    apply_text(text, path);
}

void ClientConfigParser::apply_text(std::string_view text, const std::string& origin)
{
    bool active = true; // lines before the first Host/Match apply to every host
    apply_lines(text, origin, 0, false, active);
}

void ClientConfigParser::apply_lines(std::string_view text, const std::string& origin, int depth, bool never_match,
                                     bool& active)
{
    if (text.size() > kMaxFileSize)
        throw InputError(printable(origin, 4096) + ": file larger than " + std::to_string(kMaxFileSize) + " bytes");
    std::size_t own_count = 0;
    std::size_t lineno = 0;
    while (!text.empty()) {
        ++lineno;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        Context ctx{origin, lineno, depth, never_match, false, &own_count};
        apply_line(line, ctx, active);
    }
}


void ClientConfigParser::apply_line(std::string_view line, const Context& ctx, bool& active)
{
    if (line.find('\0') != std::string_view::npos) throw InputError(ctx.where() + "NUL byte in line");
    if (line.size() > kMaxLineLength)
        throw InputError(ctx.where() + "line longer than " + std::to_string(kMaxLineLength) + " bytes");
    std::vector<std::string> words;
    try {
        words = split_arguments(line);
    } catch (const InputError& e) {
        throw InputError(ctx.where() + e.what());
    }
    if (words.empty()) return;
    const std::string kw = ascii_lower(words[0]);
    const std::string name(canonical_name(kw));
    std::vector<std::string> args(words.begin() + 1, words.end());
    if (args.empty())
        throw InputError(ctx.where() + "no argument after keyword \"" + printable(words[0], 80) + "\"");

    // ssh looks the keyword up before anything else, also in blocks that do
    // not apply, so a typo is reported whatever host is given.
    const KeywordInfo* info = find_keyword(kw);
    if (info == nullptr) {
        if (config_.ignore_unknown && match_pattern_list(kw, *config_.ignore_unknown, true) == 1) return;
        throw InputError(ctx.where() + "Bad configuration option: " + printable(words[0], 80));
    }
    if (info->kind == KeywordClass::Ignored) {
        if (kw == "usekeychain") LOG_DEBUG("%sUseKeychain accepted and ignored (Apple's ssh option)", ctx.where().c_str());
        return;
    }
    if (info->kind == KeywordClass::Refused) {
        // Only where the block applies: a Host block for another host
        // cannot stop this connection.
        if (!active || ctx.never_match) return;
        std::string value = ascii_lower(args[0]);
        for (std::size_t i = 1; i < args.size(); ++i) value += " " + ascii_lower(args[i]);
        std::string_view harmless = info->harmless;
        while (!harmless.empty()) {
            auto bar = harmless.find('|');
            if (harmless.substr(0, bar) == value) return;
            harmless = bar == std::string_view::npos ? std::string_view{} : harmless.substr(bar + 1);
        }
        throw InputError(ctx.where() + std::string(info->name) + " " + printable(args[0], 80) +
                         " is not supported by feth-ssh (" + std::string(info->note) +
                         ")");
    }
    if (is_directive(info->name)) {
        if (ctx.command_line) throw InputError(ctx.where() + name + " directive not supported as a command-line option");
        if (kw == "match") return apply_match(args, ctx, active);
        if (kw == "include") return apply_include(args, ctx, active);
        return apply_host(args, ctx, active);
    }
    info->parse(KeywordLine{config_, support_, host_, line, name, args, args[0], ctx.where(), active});
}

// Host: each argument is one pattern (ssh's match_pattern, case sensitive,
// no comma lists); a negated match makes the line not apply whatever else
// matched.
void ClientConfigParser::apply_host(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    active = false;
    for (const auto& pat : args) {
        if (pat.empty()) throw InputError(ctx.where() + "keyword Host empty argument");
        if (ctx.never_match) break;
        bool negate = pat[0] == '!';
        if (match_pattern(host_, std::string_view(pat).substr(negate ? 1 : 0))) {
            if (negate) {
                active = false;
                break;
            }
            active = true;
        }
    }
}

// ssh's match_cfg_line. Evaluated: all, host, originalhost, user, localuser,
// canonical and final (begin_final_pass()).
// Criteria that need what a tunnel client does not have or must not do
// (exec runs a shell command; localnetwork, tagged, command, sessiontype, version refer to ssh's own
// state) are recognised but treated as not matching, whatever '!' says, and
// never executed. A criterion ssh does not know (e.g. sshd's address,
// localaddress, localport, rdomain) is an error, as in ssh.
void ClientConfigParser::apply_match(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    static constexpr std::string_view kWithArgument[] = {"host",    "originalhost", "user",   "localuser",
                                                         "localnetwork", "version", "tagged", "command",
                                                         "exec",    "sessiontype"};
    static constexpr std::string_view kUnevaluated[] = {"localnetwork", "version", "tagged",
                                                        "command",      "exec",    "sessiontype"};
    auto fail = [&](const std::string& what) { throw InputError(ctx.where() + "Bad Match condition: " + what); };
    // Match host sees HostName once set (with %h expanded), as in ssh.
    const std::string& host = config_.host_name ? *config_.host_name : host_;
    const std::string& ruser = config_.user ? *config_.user : local_user_;
    bool result = true;
    bool unevaluated = false;
    std::size_t attributes = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string attrib = args[i];
        bool negate = !attrib.empty() && attrib[0] == '!';
        if (negate) attrib.erase(0, 1);
        std::string lattr = ascii_lower(attrib);
        if (lattr == "all") {
            // ssh: alone, or after canonical/final ("Match final all").
            if (attributes > 1 || i + 1 < args.size())
                fail("'" + printable(args[i], 80) + "' cannot be combined with other Match attributes");
            if (negate) result = false;
            // "Match all" alone counts as an attribute.
            ++attributes;
            break;
        }
        ++attributes;
        if (lattr == "canonical" || lattr == "final") {
            // ssh without host name canonicalisation (feth-ssh refuses
            // CanonicalizeHostname): both match in the second pass, which
            // a "Match final" asks for.
            if (lattr == "final") wants_final_pass_ = true;
            if (final_pass_ == negate) result = false;
            continue;
        }
        std::string arg;
        auto eq = lattr.find('=');
        if (eq != std::string::npos && contains(kWithArgument, std::string_view(lattr).substr(0, eq))) {
            arg = attrib.substr(eq + 1);
            lattr.resize(eq);
        } else if (!contains(kWithArgument, lattr)) {
            fail("Unsupported Match attribute " + printable(attrib, 80));
        } else if (i + 1 >= args.size()) {
            fail("missing argument for Match '" + printable(args[i], 80) + "'");
        } else {
            arg = args[++i];
        }
        if (arg.empty() && lattr != "tagged" && lattr != "command")
            fail("Missing Match criteria for " + printable(attrib, 80));
        bool r = false;
        if (lattr == "host") {
            r = match_pattern_list(ascii_lower(host), arg, true) == 1;
        } else if (lattr == "originalhost") {
            r = match_pattern_list(ascii_lower(original_host_), arg, true) == 1;
        } else if (lattr == "user") {
            r = match_pattern_list(ruser, arg, false) == 1;
        } else if (lattr == "localuser") {
            r = match_pattern_list(local_user_, arg, false) == 1;
        } else if (contains(kUnevaluated, lattr)) {
            unevaluated = true; // never executed, never looked up
            continue;
        }
        if (r == negate) result = false;
    }
    if (attributes == 0) fail("One or more attributes required for Match");
    active = !ctx.never_match && result && !unevaluated;
}

void ClientConfigParser::apply_include(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    if (ctx.depth >= kMaxIncludeDepth)
        throw InputError(ctx.where() + "Include nested too deeply (more than " + std::to_string(kMaxIncludeDepth) +
                         " levels)");
    TokenValues tokens;
    tokens.home = home_;
    tokens.host = config_.host_name ? *config_.host_name : host_;
    tokens.host_arg = original_host_;
    tokens.port = std::to_string(config_.port.value_or(22));
    tokens.remote_user = config_.user ? *config_.user : local_user_;
    tokens.local_user = local_user_;
    for (const auto& pattern : args) {
        if (pattern.empty()) throw InputError(ctx.where() + "keyword Include empty argument");
        if (auto problem = check_tokens(pattern, kPathTokens, true); !problem.empty())
            throw InputError(ctx.where() + "bad value '" + printable(pattern, 80) + "' for Include (" + problem + ")");
        std::string path;
        try {
            path = expand_tokens(pattern, tokens, true, "Include");
        } catch (const InputError& e) {
            throw InputError(ctx.where() + e.what());
        }
        // ssh: relative paths live in ~/.ssh; "~" is the user's home (ssh
        // lets glob's GLOB_TILDE do it; we expand ~ and ~/ ourselves, with
        // the home we were given, and ~user through getpwnam).
        if (path[0] == '~') {
            try {
                path = expand_tilde(path, home_, "Include");
            } catch (const InputError& e) {
                throw InputError(ctx.where() + e.what());
            }
        } else if (path[0] != '/') {
            path = home_ + "/.ssh/" + path;
        }
        glob_t g{};
        int r = ::glob(path.c_str(), 0, nullptr, &g);
        struct GlobFree {
            glob_t& g;
            ~GlobFree() { ::globfree(&g); }
        } free_glob{g};
        if (r == GLOB_NOMATCH) continue; // a missing include is fine
        if (r != 0) throw InputError(ctx.where() + "glob failed for " + printable(path, 4096));
        for (std::size_t i = 0; i < g.gl_pathc; ++i) include_file(g.gl_pathv[i], ctx, active);
    }
}

void ClientConfigParser::include_file(const std::string& path, const Context& ctx, bool& active)
{
    if (confine_includes_) {
        char* real = ::realpath(path.c_str(), nullptr);
        char* real_home = ::realpath(home_.c_str(), nullptr);
        bool inside = real != nullptr && real_home != nullptr &&
                      std::string_view(real).substr(0, std::strlen(real_home) + 1) == std::string(real_home) + "/";
        std::free(real);
        std::free(real_home);
        if (!inside) return;
    }
    if (++*ctx.included > kMaxIncludedFiles)
        throw InputError(ctx.where() + "more than " + std::to_string(kMaxIncludedFiles) + " included files");
    bool missing = false;
    std::string text;
    try {
        text = read_config_file(path, true, missing);
    } catch (const InputError& e) {
        throw InputError(ctx.where() + e.what());
    }
    if (missing) return;
    // As in ssh, the included file shares the includer's active state (a
    // Host line in it stays in force after it), and a file included from a
    // block that does not apply is parsed but none of its Host or Match
    // lines can match.
    bool never_match = ctx.never_match || !active;
    std::size_t lineno = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        ++lineno;
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        Context inner{path, lineno, ctx.depth + 1, never_match, false, ctx.included};
        apply_line(line, inner, active);
    }
}

void resolve_defaults(ClientConfig& c, const std::string& host, const std::string& local_user, const std::string& home,
                      const AlgorithmSupport& support)
{
    if (!c.host_name) c.host_name = host;
    if (!c.user) c.user = local_user;
    if (!c.port) c.port = 22;

    TokenValues tokens;
    tokens.home = home;
    tokens.host = *c.host_name;
    tokens.host_arg = host;
    tokens.port = std::to_string(*c.port);
    tokens.remote_user = *c.user;
    tokens.local_user = local_user;
    auto expand_path = [&](const std::string& p, std::string_view what) {
        return expand_tokens(expand_tilde(p, home, what), tokens, true, what);
    };

    // ssh: the defaults only when no IdentityFile was given at all, and
    // "IdentityFile none" then drops out, leaving possibly no file.
    if (c.identity_files.empty()) {
        for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) c.identity_files.push_back(home + "/.ssh/" + name);
    } else {
        std::vector<std::string> files;
        for (const auto& f : c.identity_files) {
            if (iequals(f, "none")) continue;
            std::string expanded = expand_path(f, "IdentityFile");
            if (!contains(files, expanded)) files.push_back(std::move(expanded));
        }
        c.identity_files = std::move(files);
    }
    if (!c.identities_only) c.identities_only = false;
    if (c.identity_agent && !iequals(*c.identity_agent, "none") && *c.identity_agent != "SSH_AUTH_SOCK" &&
        ((*c.identity_agent)[0] != '$' || c.identity_agent->compare(0, 2, "${") == 0))
        c.identity_agent = expand_path(*c.identity_agent, "IdentityAgent");
    if (c.user_known_hosts_files) {
        for (auto& f : *c.user_known_hosts_files) f = expand_path(f, "UserKnownHostsFile");
    } else {
        c.user_known_hosts_files = std::vector<std::string>{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"};
    }
    if (!c.strict_host_key_checking) c.strict_host_key_checking = StrictHostKeyChecking::Ask;
    if (!c.server_alive_interval) c.server_alive_interval = 0;
    if (!c.server_alive_count_max) c.server_alive_count_max = 3;
    if (!c.exit_on_forward_failure) c.exit_on_forward_failure = false;
    if (!c.connect_timeout) c.connect_timeout = 0;
    if (!c.tunnel && !c.tunnel_disabled) c.tunnel = TunMode::Ethernet;
    if (!c.tunnel_device) c.tunnel_device = TunnelDevice{};
    if (!c.address_family) c.address_family = AddressFamily::Any;
    if (!c.reconnect) c.reconnect = false;
    if (!c.batch_mode) c.batch_mode = false;
    if (!c.tunnel_up_command) c.tunnel_up_command = std::string();
    if (!c.tunnel_down_command) c.tunnel_down_command = std::string();
    if (!c.tunnel_command_timeout) c.tunnel_command_timeout = kDefaultTunnelCommandTimeout;
    for (auto& f : c.certificate_files) f = expand_path(f, "CertificateFile");
    if (c.global_known_hosts_files) {
        std::vector<std::string> files;
        for (const auto& f : *c.global_known_hosts_files)
            if (!iequals(f, "none")) files.push_back(expand_path(f, "GlobalKnownHostsFile"));
        c.global_known_hosts_files = std::move(files);
    } else {
        c.global_known_hosts_files = std::vector<std::string>{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"};
    }
    if (!c.connection_attempts) c.connection_attempts = 1;
    if (!c.check_host_ip) c.check_host_ip = false; // ssh 9.x's default
    if (!c.hash_known_hosts) c.hash_known_hosts = false;
    if (!c.permit_local_command) c.permit_local_command = false;
    if (!c.add_keys_to_agent) {
        c.add_keys_to_agent = "no";
        c.add_keys_to_agent_lifetime = 0;
    }
    // The effective lists: ssh's defaults that libssh implements, with the
    // +, -, ^ forms applied.
    c.ciphers = resolve_algorithm_list(c.ciphers.value_or(""), AlgorithmKind::Cipher, AlgorithmRole::Client, support);
    c.kex_algorithms =
        resolve_algorithm_list(c.kex_algorithms.value_or(""), AlgorithmKind::Kex, AlgorithmRole::Client, support);
}

std::span<const KeywordInfo> client_keywords() { return kKeywords; }

std::string expand_local_command(const std::string& command, const LocalCommandTokens& t)
{
    if (auto problem = check_tokens(command, kLocalCommandTokens, false); !problem.empty())
        throw InputError("LocalCommand '" + printable(command, 80) + "': " + problem);
    std::string out;
    for (std::size_t i = 0; i < command.size(); ++i) {
        if (command[i] != '%' || i + 1 >= command.size()) {
            out += command[i];
            continue;
        }
        switch (command[++i]) {
        case 'T': out += t.tun_name; break;
        case 'k': out += t.host_key_alias.empty() ? t.host_arg : t.host_key_alias; break;
        default: {
            TokenValues v{t.home, t.host, t.host_arg, t.port, t.remote_user, t.local_user};
            out += expand_tokens(command.substr(i - 1, 2), v, false, "LocalCommand");
        }
        }
    }
    return out;
}

std::string dump_client_config(const ClientConfig& raw, const ClientConfig& c, const std::string& host)
{
    const DumpSource source{raw, c, host};
    std::string out;
    for (const auto& k : kKeywords) {
        if (k.print == nullptr) continue;
        const std::string keyword = ascii_lower(k.name);
        for (const auto& value : k.print(source)) out.append(keyword).append(" ").append(value).append("\n");
    }
    return out;
}

} // namespace feth::config
