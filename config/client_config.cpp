// ssh_config(5) for feth-ssh, with the rules of OpenSSH's readconf.c: the
// keyword table, first value wins, Host/Match/Include, the value syntaxes.
// Config files are hostile input (Include can pull in anything the user can
// read): lines, files and include depth are bounded and every error names the
// origin, the line and the keyword, with hostile text escaped.
#include "config/client_config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netdb.h>
#include <pwd.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "config/algorithm_list.hpp"
#include "config/server_config.hpp"
#include "config/printable.hpp"
#include "tunnel/error.hpp"
#include "tunnel/fd.hpp"
#include "tunnel/log.hpp"
#include "tunnel/mtu.hpp"

namespace feth::config {

namespace {

constexpr std::size_t kMaxLineLength = 8192;
constexpr std::size_t kMaxFileSize = 1024 * 1024;
constexpr int kMaxIncludeDepth = 16;          // ssh's READCONF_MAX_DEPTH
constexpr std::size_t kMaxIdentityFiles = 100; // ssh's SSH_MAX_IDENTITY_FILES
constexpr std::size_t kMaxHostsFiles = 32;     // ssh's SSH_MAX_HOSTS_FILES
constexpr std::size_t kMaxIncludedFiles = 4096; // per top-level source
const std::string kCommandLine = "command-line"; // ssh's origin for -o

// Every keyword in OpenSSH's readconf.c keywords[] table (lower case), the
// deprecated and unsupported ones included: ssh accepts all of them. Those a
// tunnel client uses are handled below; the rest are accepted and ignored so
// that an existing ~/.ssh/config keeps working.
constexpr std::string_view kOpenSshKeywords[] = {
    "protocol", "cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
    "userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "afstokenpassing",
    "kerberosauthentication", "kerberostgtpassing", "rsaauthentication", "rhostsrsaauthentication",
    "compressionlevel", "gssapiauthentication", "gssapidelegatecredentials", "pkcs11provider",
    "smartcarddevice", "forwardagent", "forwardx11", "forwardx11trusted", "forwardx11timeout",
    "exitonforwardfailure", "xauthlocation", "gatewayports", "passwordauthentication",
    "kbdinteractiveauthentication", "kbdinteractivedevices", "challengeresponseauthentication",
    "skeyauthentication", "tisauthentication", "pubkeyauthentication", "dsaauthentication",
    "hostbasedauthentication", "identityfile", "identityfile2", "identitiesonly", "certificatefile",
    "addkeystoagent", "identityagent", "hostname", "hostkeyalias", "proxycommand", "port", "ciphers", "macs",
    "remoteforward", "localforward", "permitremoteopen", "user", "host", "match", "tag", "escapechar",
    "globalknownhostsfile", "userknownhostsfile", "connectionattempts", "batchmode", "checkhostip",
    "stricthostkeychecking", "compression", "tcpkeepalive", "keepalive", "numberofpasswordprompts",
    "syslogfacility", "loglevel", "logverbose", "dynamicforward", "preferredauthentications",
    "hostkeyalgorithms", "casignaturealgorithms", "bindaddress", "bindinterface", "clearallforwardings",
    "enablesshkeysign", "verifyhostkeydns", "nohostauthenticationforlocalhost", "rekeylimit", "connecttimeout",
    "addressfamily", "serveraliveinterval", "serveralivecountmax", "sendenv", "setenv", "controlpath",
    "controlmaster", "controlpersist", "hashknownhosts", "include", "tunnel", "tunneldevice", "localcommand",
    "permitlocalcommand", "remotecommand", "visualhostkey", "kexalgorithms", "ipqos", "requesttty",
    "sessiontype", "stdinnull", "forkafterauthentication", "proxyusefdpass", "canonicaldomains",
    "canonicalizefallbacklocal", "canonicalizehostname", "canonicalizemaxdots", "canonicalizepermittedcnames",
    "streamlocalbindmask", "streamlocalbindunlink", "revokedhostkeys", "fingerprinthash", "updatehostkeys",
    "hostbasedacceptedalgorithms", "hostbasedkeytypes", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
    "ignoreunknown", "proxyjump", "securitykeyprovider", "knownhostscommand", "requiredrsasize",
    "enableescapecommandline", "obscurekeystroketiming", "channeltimeout", "versionaddendum",
    "refuseconnection", "warnweakcrypto",
};
// Ours, not ssh's (ssh itself would reject them).
constexpr std::string_view kOwnKeywords[] = {"reconnect", "tunnelbackend", "tunnelupcommand", "tunneldowncommand",
                                             "tunnelcommandtimeout", "tunnelmtu"};
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

// Canonical spellings for messages.
struct Canonical {
    std::string_view lower;
    std::string_view name;
};
constexpr Canonical kCanonical[] = {
    {"hostname", "HostName"},
    {"user", "User"},
    {"port", "Port"},
    {"identityfile", "IdentityFile"},
    {"identitiesonly", "IdentitiesOnly"},
    {"identityagent", "IdentityAgent"},
    {"userknownhostsfile", "UserKnownHostsFile"},
    {"stricthostkeychecking", "StrictHostKeyChecking"},
    {"serveraliveinterval", "ServerAliveInterval"},
    {"serveralivecountmax", "ServerAliveCountMax"},
    {"exitonforwardfailure", "ExitOnForwardFailure"},
    {"connecttimeout", "ConnectTimeout"},
    {"tunnel", "Tunnel"},
    {"tunneldevice", "TunnelDevice"},
    {"addressfamily", "AddressFamily"},
    {"loglevel", "LogLevel"},
    {"reconnect", "Reconnect"},
    {"tunnelbackend", "TunnelBackend"},
    {"tunnelmtu", "TunnelMTU"},
    {"tunnelupcommand", "TunnelUpCommand"},
    {"tunneldowncommand", "TunnelDownCommand"},
    {"tunnelcommandtimeout", "TunnelCommandTimeout"},
    {"batchmode", "BatchMode"},
    {"ciphers", "Ciphers"},
    {"kexalgorithms", "KexAlgorithms"},
    {"rekeylimit", "RekeyLimit"},
    {"ignoreunknown", "IgnoreUnknown"},
    {"proxycommand", "ProxyCommand"},
    {"proxyjump", "ProxyJump"},
    {"host", "Host"},
    {"match", "Match"},
    {"include", "Include"},
};

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = to_lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && (a.empty() || ::strncasecmp(a.data(), b.data(), a.size()) == 0);
}

template <typename List>
bool contains(const List& list, std::string_view word)
{
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

std::string_view canonical_name(std::string_view lower_kw)
{
    for (const auto& c : kCanonical)
        if (c.lower == lower_kw) return c.name;
    return lower_kw;
}


// ssh's match_pattern: '*' and '?' over the whole string. Iterative with
// one backtrack point, so hostile patterns cost O(n*m) at worst.
bool match_one(std::string_view s, std::string_view p, bool fold)
{
    auto eq = [fold](char a, char b) { return fold ? to_lower(a) == to_lower(b) : a == b; };
    std::size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < p.size() && (p[pi] == '?' || eq(p[pi], s[si]))) {
            ++si;
            ++pi;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

// ssh's match_pattern_list: 1 on a match, 0 on none, -1 when a negated
// pattern matched (which overrides every positive match).
int match_list(std::string_view s, std::string_view list, bool fold, bool spaces_separate)
{
    int result = 0;
    std::string_view seps = spaces_separate ? std::string_view(", \t") : std::string_view(",");
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = list.find_first_of(seps, pos);
        std::string_view pat = list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        bool skip = spaces_separate && pat.empty();
        if (!skip) {
            bool negate = !pat.empty() && pat.front() == '!';
            if (negate) pat.remove_prefix(1);
            if (match_one(s, pat, fold)) {
                if (negate) return -1;
                result = 1;
            }
        }
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return result;
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

// Reads at most kMaxFileSize bytes. `missing` set when the file does not
// exist; a directory reads as empty (ssh's getline on one just stops).
std::string read_limited(const std::string& path, bool check_perm, bool& missing)
{
    missing = false;
    const std::string context = "config file " + printable(path, 4096);
    // O_NONBLOCK: a FIFO without writer must not hang us.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) {
            missing = true;
            return {};
        }
        throw_errno(context, "open");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno(context, "fstat");
    // ssh's SSHCONF_CHECKPERM for ~/.ssh/config and included files.
    if (check_perm && ((st.st_uid != 0 && st.st_uid != ::getuid()) || (st.st_mode & 022) != 0))
        throw InputError("Bad owner or permissions on " + printable(path, 4096));
    if (S_ISDIR(st.st_mode)) return {};
    std::string text;
    std::array<char, 8192> buf{};
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) throw_errno(context, "read");
        if (n == 0) break;
        text.append(buf.data(), static_cast<std::size_t>(n));
        if (text.size() > kMaxFileSize)
            throw InputError(printable(path, 4096) + ": file larger than " + std::to_string(kMaxFileSize) +
                             " bytes");
    }
    return text;
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
    return match_list(host, patterns, true, true) == 1;
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

ClientConfigParser::ClientConfigParser(ClientConfig& config, std::string host, std::string home,
                                       std::string local_user)
    : config_(config), host_(std::move(host)), home_(std::move(home)), local_user_(std::move(local_user))
{
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
    std::string text = read_limited(path, !required, missing);
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

// ProxyCommand and ProxyJump as ssh's readconf: first value wins, and they
// exclude each other (whichever is set first; "none" counts as set).
// ProxyCommand is the rest of the line, for /bin/sh; ProxyJump's syntax is
// checked in every block, its tokens (%h %n %p %r) where it applies.
void apply_proxy(const std::string& kw, std::string_view line, const std::string& v, const std::string& where,
                 bool active, ClientConfig& c)
{
    const bool taken = c.proxy_command || c.proxy_jump;
    if (kw == "proxycommand") {
        std::string cmd = rest_of_line(line);
        if (cmd.empty()) throw InputError(where + "missing argument for ProxyCommand");
        if (!active || taken) return;
        if (auto problem = check_tokens(cmd, "hnpr", false); !problem.empty())
            throw InputError(where + "bad value '" + printable(cmd, 80) + "' for ProxyCommand (" + problem + ")");
        c.proxy_command = cmd;
        return;
    }
    if (!iequals(v, "none")) {
        std::string_view rest = v;
        while (true) {
            auto comma = rest.find(',');
            if (!valid_jump_hop(rest.substr(0, comma)))
                throw InputError(where + "Invalid ProxyJump \"" + printable(v, 80) +
                                 "\" (expected [user@]host[:port] or ssh://[user@]host[:port], comma separated)");
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    if (active && !taken) c.proxy_jump = iequals(v, "none") ? std::string("none") : v;
}

} // namespace

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
    const std::string kw = lower(words[0]);
    const std::string name(canonical_name(kw));
    std::vector<std::string> args(words.begin() + 1, words.end());
    if (args.empty())
        throw InputError(ctx.where() + "no argument after keyword \"" + printable(words[0], 80) + "\"");

    // ssh looks the keyword up before anything else, also in blocks that do
    // not apply, so a typo is reported whatever host is given.
    if (!contains(kOpenSshKeywords, kw) && !contains(kOwnKeywords, kw)) {
        if (config_.ignore_unknown && match_list(kw, *config_.ignore_unknown, true, false) == 1) return;
        throw InputError(ctx.where() + "Bad configuration option: " + printable(words[0], 80));
    }
    if (kw == "host" || kw == "match" || kw == "include") {
        if (ctx.command_line) throw InputError(ctx.where() + name + " directive not supported as a command-line option");
        if (kw == "match") return apply_match(args, ctx, active);
        if (kw == "include") return apply_include(args, ctx, active);
        // Host: each argument is one pattern (ssh's match_pattern, case
        // sensitive, no comma lists); a negated match makes the line not
        // apply whatever else matched.
        active = false;
        for (const auto& pat : args) {
            if (pat.empty()) throw InputError(ctx.where() + "keyword Host empty argument");
            if (ctx.never_match) break;
            bool negate = pat[0] == '!';
            if (match_one(host_, std::string_view(pat).substr(negate ? 1 : 0), false)) {
                if (negate) {
                    active = false;
                    break;
                }
                active = true;
            }
        }
        return;
    }

    const std::string& v = args[0];
    auto bad = [&](const std::string& allowed) {
        return InputError(ctx.where() + "bad value '" + printable(v, 80) + "' for " + name + " (expected " + allowed +
                          ")");
    };
    auto single = [&] {
        if (v.empty()) throw InputError(ctx.where() + "missing argument for " + name);
        if (args.size() > 1) throw InputError(ctx.where() + "keyword " + name + " extra arguments at end of line");
    };
    // Values are checked in every block, as ssh does; stored only where the
    // block applies and nothing set the keyword before.
    auto store = [&](auto& field, auto value) {
        if (active && !field) field = std::move(value);
    };
    auto flag = [&](std::optional<bool>& field) {
        single();
        auto b = parse_flag(v);
        if (!b) throw bad("yes or no");
        store(field, *b);
    };
    auto seconds = [&](std::optional<unsigned>& field) {
        single();
        if (v == "none") return; // ssh: leaves the option unset
        auto s = parse_time_interval(v);
        if (!s) throw bad("seconds or a time such as 30s, 5m, 1h");
        store(field, *s);
    };

    if (kw == "hostname") {
        single();
        // ssh expands %h (the host as given) and %% in HostName, nothing else.
        if (auto problem = check_tokens(v, "h", false); !problem.empty()) throw bad("a host name; " + problem);
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '%') {
                out += v[++i] == 'h' ? host_ : std::string("%");
            } else {
                out += v[i];
            }
        }
        store(config_.host_name, out);
    } else if (kw == "user") {
        single();
        store(config_.user, v);
    } else if (kw == "port") {
        single();
        auto p = parse_port(v);
        if (!p) throw bad("a port from 1 to 65535 or a service name");
        store(config_.port, *p);
    } else if (kw == "identityfile") {
        single();
        if (auto problem = check_tokens(v, kPathTokens, true); !problem.empty()) throw bad("a path; " + problem);
        if (!active) return;
        // ssh: duplicates are dropped, the list is bounded.
        if (contains(config_.identity_files, v)) return;
        if (config_.identity_files.size() >= kMaxIdentityFiles)
            throw InputError(ctx.where() + "Too many identity files specified (max " +
                             std::to_string(kMaxIdentityFiles) + ")");
        config_.identity_files.push_back(v);
    } else if (kw == "identitiesonly") {
        flag(config_.identities_only);
    } else if (kw == "identityagent") {
        single();
        if (auto problem = check_tokens(v, kPathTokens, true); !problem.empty())
            throw bad("none, SSH_AUTH_SOCK, $VARIABLE or a path; " + problem);
        store(config_.identity_agent, v);
    } else if (kw == "userknownhostsfile") {
        std::vector<std::string> files;
        for (const auto& a : args) {
            if (a.empty()) throw InputError(ctx.where() + "keyword " + name + " empty argument");
            if (iequals(a, "none") && args.size() > 1)
                throw InputError(ctx.where() + "keyword " + name + " \"none\" argument must appear alone.");
            if (auto problem = check_tokens(a, kPathTokens, true); !problem.empty())
                throw InputError(ctx.where() + "bad value '" + printable(a, 80) + "' for " + name + " (expected paths; " +
                                 problem + ")");
            if (!iequals(a, "none")) files.push_back(a);
        }
        if (files.size() > kMaxHostsFiles) throw InputError(ctx.where() + "too many " + name + " entries.");
        store(config_.user_known_hosts_files, files);
    } else if (kw == "stricthostkeychecking") {
        single();
        std::optional<StrictHostKeyChecking> m;
        if (iequals(v, "yes") || iequals(v, "true")) m = StrictHostKeyChecking::Yes;
        else if (iequals(v, "no") || iequals(v, "false") || iequals(v, "off")) m = StrictHostKeyChecking::No;
        else if (iequals(v, "ask")) m = StrictHostKeyChecking::Ask;
        else if (iequals(v, "accept-new")) m = StrictHostKeyChecking::AcceptNew;
        else throw bad("yes, accept-new, no, off or ask");
        store(config_.strict_host_key_checking, *m);
    } else if (kw == "serveraliveinterval") {
        seconds(config_.server_alive_interval);
    } else if (kw == "connecttimeout") {
        seconds(config_.connect_timeout);
    } else if (kw == "serveralivecountmax") {
        single();
        unsigned long n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc{} || end != v.data() + v.size() || n > INT_MAX) throw bad("a count");
        store(config_.server_alive_count_max, static_cast<unsigned>(n));
    } else if (kw == "exitonforwardfailure") {
        flag(config_.exit_on_forward_failure);
    } else if (kw == "batchmode") {
        flag(config_.batch_mode);
    } else if (kw == "reconnect") {
        flag(config_.reconnect);
    } else if (kw == "tunnel") {
        single();
        std::optional<TunMode> mode;
        if (iequals(v, "yes") || iequals(v, "true") || iequals(v, "point-to-point")) mode = TunMode::PointToPoint;
        else if (iequals(v, "ethernet")) mode = TunMode::Ethernet;
        else if (!iequals(v, "no") && !iequals(v, "false")) throw bad("yes, point-to-point, ethernet or no");
        // "no" counts as set: a later "Tunnel yes" does not override it.
        if (active && !config_.tunnel && !config_.tunnel_disabled) {
            config_.tunnel = mode;
            config_.tunnel_disabled = !mode;
        }
    } else if (kw == "tunneldevice") {
        single();
        auto d = parse_tunnel_device(v);
        if (!d) throw bad("local[:remote], each a unit number up to " + std::to_string(kTunUnitMax) + " or any");
        store(config_.tunnel_device, *d);
    } else if (kw == "addressfamily") {
        single();
        std::optional<AddressFamily> af;
        if (iequals(v, "any")) af = AddressFamily::Any;
        else if (iequals(v, "inet")) af = AddressFamily::Inet;
        else if (iequals(v, "inet6")) af = AddressFamily::Inet6;
        else throw bad("any, inet or inet6");
        store(config_.address_family, *af);
    } else if (kw == "loglevel") {
        single();
        auto level = log::parse_level(v);
        if (!level) throw bad("QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3");
        std::string upper(v);
        for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        store(config_.log_level, upper);
    } else if (kw == "tunnelbackend") {
        single();
        static constexpr std::string_view kBackends[] = {"auto", "tap", "tun", "pair", "feth", "utun"};
        if (!contains(kBackends, v)) throw bad("auto, tap, tun, pair, feth or utun");
        store(config_.tunnel_backend, v);
    } else if (kw == "tunnelmtu") {
        single();
        auto m = mtu::parse(v);
        if (!m) throw bad(mtu::expected());
        store(config_.tunnel_mtu, *m);
    } else if (kw == "tunnelupcommand" || kw == "tunneldowncommand") {
        // The rest of the line, verbatim, for /bin/sh (as ssh's LocalCommand).
        std::string cmd = rest_of_line(line);
        if (iequals(cmd, "none")) cmd.clear();
        store(kw == "tunnelupcommand" ? config_.tunnel_up_command : config_.tunnel_down_command, cmd);
    } else if (kw == "tunnelcommandtimeout") {
        single();
        auto s = parse_time_interval(v);
        if (!s || *s == 0) throw bad("a time of at least 1 s, such as 30 or 2m");
        store(config_.tunnel_command_timeout, *s);
    } else if (kw == "ciphers" || kw == "kexalgorithms") {
        // ssh checks the names as it reads the line ("Bad SSH2 cipher
        // spec"); resolve_defaults() applies the value to the defaults.
        single();
        const auto kind = kw == "ciphers" ? AlgorithmKind::Cipher : AlgorithmKind::Kex;
        if (auto problem = algorithm_list_problem(v, kind, support_); !problem.empty())
            throw InputError(ctx.where() + bad_algorithm_list(kind, v, problem));
        store(kw == "ciphers" ? config_.ciphers : config_.kex_algorithms, v);
    } else if (kw == "rekeylimit") {
        // ssh: "default" or a size of at least 16 bytes, then an optional
        // time ("none" or a time), which we check and ignore.
        if (args.size() > 2) throw InputError(ctx.where() + "keyword " + name + " extra arguments at end of line");
        std::optional<std::uint64_t> bytes = v == "default" ? std::optional<std::uint64_t>(0) : parse_byte_size(v);
        if (!bytes || (*bytes != 0 && *bytes < 16)) throw bad("default or a size of at least 16, such as 1G");
        if (args.size() == 2 && args[1] != "none" && !parse_time_interval(args[1]))
            throw InputError(ctx.where() + "bad value '" + printable(args[1], 80) + "' for " + name +
                             " (expected none or a time such as 1h)");
        store(config_.rekey_limit, *bytes);
    } else if (kw == "proxycommand" || kw == "proxyjump") {
        apply_proxy(kw, line, v, ctx.where(), active, config_);
    } else if (kw == "ignoreunknown") {
        single();
        store(config_.ignore_unknown, v);
    }
    // Every other ssh keyword: accepted and ignored.
}

// ssh's match_cfg_line. Evaluated: all, host, originalhost, user, localuser.
// Criteria that need what a tunnel client does not have or must not do
// (exec runs a shell command; canonical and final need ssh's second pass;
// localnetwork, tagged, command, sessiontype, version refer to ssh's own
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
        std::string lattr = lower(attrib);
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
            unevaluated = true;
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
            r = match_list(host, arg, true, false) == 1;
        } else if (lattr == "originalhost") {
            r = match_list(host_, arg, true, false) == 1;
        } else if (lattr == "user") {
            r = match_list(ruser, arg, false, false) == 1;
        } else if (lattr == "localuser") {
            r = match_list(local_user_, arg, false, false) == 1;
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
    tokens.host_arg = host_;
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
        text = read_limited(path, true, missing);
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
        (*c.identity_agent)[0] != '$')
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
    // The effective lists: ssh's defaults that libssh implements, with the
    // +, -, ^ forms applied.
    c.ciphers = resolve_algorithm_list(c.ciphers.value_or(""), AlgorithmKind::Cipher, AlgorithmRole::Client, support);
    c.kex_algorithms =
        resolve_algorithm_list(c.kex_algorithms.value_or(""), AlgorithmKind::Kex, AlgorithmRole::Client, support);
}

} // namespace feth::config
